"""Argument checks, in one place: small functions that each raise one clear ValueError.

Every claim checks its inputs with these (the model: hypothesis's `internal/validation.py`). Each
names the argument the way its docstring does ("the step size eta", "depth N") and says what it
must be and what it got (the message is built only when the check fails: these run inside
loops, on tensors that may live on a GPU). They compose: `require_depth` is `require_int` with a
minimum of 2, `require_widths` a length and `require_int` per width, and `require(condition,
message)` states any other condition in the same way. Values may be Python or numpy numbers, mpmath numbers (kept as
mpmath: they may lie outside the float range), or, where the check says entries, arrays, torch
tensors (checked on their device) and mpmath matrices.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from numbers import Integral

import mpmath
import numpy as np
from mpmath import mp


def require(condition: bool, message: str | Callable[[], str]) -> None:
    """Raise ValueError(message) unless `condition` holds; `message` may be a function that
    builds it (called only then)."""
    if not condition:
        raise ValueError(message() if callable(message) else message)


SHOWN_ENTRIES = 8
"""A message quotes an array's entries up to 8 of them, and its shape beyond."""


def _shown(value) -> str:
    """A value for a message: its repr, an array's or tensor's entries (a few) or shape."""
    if isinstance(value, mpmath.matrix):
        return f"an mpmath matrix of shape ({value.rows}, {value.cols})"
    shape = tuple(getattr(value, "shape", ()))
    if not shape:
        return repr(value.item() if hasattr(value, "item") and shape == () else value)
    if int(np.prod(shape)) <= SHOWN_ENTRIES and hasattr(value, "tolist"):
        return repr(value.tolist())
    return f"an array of shape {shape}"


def _is_tensor(values) -> bool:
    return hasattr(values, "detach") and hasattr(values, "isfinite")


def _entries(values) -> np.ndarray:
    """The entries of a number, sequence, numpy array or mpmath matrix as a flat numpy array
    (object dtype for mpmath numbers)."""
    if isinstance(values, mpmath.matrix):
        return np.array(values.tolist(), dtype=object).ravel()
    return np.asarray(values).ravel()


def _every(values, test: Callable) -> bool:
    """Whether `test` holds for every entry: on a tensor's device for a torch tensor, and False
    for a bool or anything that is not a number."""
    if isinstance(values, (bool, np.bool_, str)):
        return False
    if _is_tensor(values):
        return values.numel() == 0 or bool(test(values).all())
    entries = _entries(values)
    if entries.dtype.kind == "b" or entries.dtype.kind in "USV":
        return False
    try:
        return all(bool(test(entry)) for entry in entries) if entries.dtype == object \
            else bool(np.all(test(entries)))
    except TypeError:
        return False


def _finite(values):
    if _is_tensor(values):
        return values.isfinite()
    if isinstance(values, np.ndarray):
        return np.isfinite(values)
    return mp.isfinite(values)


def require_finite(name: str, values) -> None:
    """`values` (a number, or every entry of an array, tensor or mpmath matrix) is finite."""
    def message() -> str:
        if not isinstance(values, mpmath.matrix) and np.ndim(values) == 0:
            return f"{name} must be finite, got {_shown(values)}"
        return f"{name} has non-finite entries"

    require(_every(values, _finite), message)


def require_positive(name: str, value) -> None:
    """`value` (or every entry) is a finite number > 0."""
    require(_every(value, lambda v: _finite(v) & (v > 0)),
            lambda: f"{name} must be a positive finite number, got {_shown(value)}")


def require_non_negative(name: str, value) -> None:
    """`value` (or every entry) is a finite number >= 0."""
    require(_every(value, lambda v: _finite(v) & (v >= 0)),
            lambda: f"{name} must be a finite non-negative number, got {_shown(value)}")


def require_between(name: str, value, low, high, *, low_closed: bool = False,
                    high_closed: bool = False) -> None:
    """`value` (or every entry) lies in the interval from `low` to `high`, open at each end
    unless that end is closed; None leaves an end unbounded."""
    def inside(v):
        above = True if low is None else (v >= low if low_closed else v > low)
        below = True if high is None else (v <= high if high_closed else v < high)
        return _finite(v) & above & below

    def message() -> str:
        interval = (f"{'[' if low_closed else '('}{'-inf' if low is None else low}, "
                    f"{'inf' if high is None else high}{']' if high_closed else ')'}")
        return f"{name} must lie in {interval}, got {_shown(value)}"

    require(_every(value, inside), message)


def require_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> None:
    """`value` is an integer (Python or numpy; not a bool), within [minimum, maximum] where
    given."""
    require(isinstance(value, Integral) and not isinstance(value, (bool, np.bool_)),
            f"{name} must be an integer, got {value!r}")
    require(minimum is None or value >= minimum,
            f"{name} must be at least {minimum}, got {value}")
    require(maximum is None or value <= maximum,
            f"{name} must be at most {maximum}, got {value}")


def require_depth(value, name: str = "depth N", minimum: int = 2) -> None:
    """A deep network's depth: an integer number of weight layers >= 2 (one hidden layer at
    least), or >= `minimum` where the claim needs more."""
    require_int(name, value, minimum=minimum)


def require_one_of(name: str, value, options: Collection) -> None:
    """`value` is one of `options`."""
    require(value in options,
            lambda: f"{name} must be one of {', '.join(map(str, options))}, got {value!r}")


def require_shape(name: str, values, shape: Sequence[int | None]) -> None:
    """`values` has `shape`, where None matches any length in that dimension."""
    actual = tuple(getattr(values, "shape", np.shape(values)))
    fits = len(actual) == len(shape) and all(
        expected is None or expected == length for expected, length in zip(shape, actual))
    require(fits, lambda: f"{name} must have shape "
                          f"({' x '.join('any' if n is None else str(n) for n in shape)}), "
                          f"got {actual}")


def require_widths(name: str, widths: Sequence[int], minimum_depth: int = 2) -> None:
    """Layer widths d_0, ..., d_N of a deep network: positive integers, depth N at least
    `minimum_depth` (N + 1 widths)."""
    require(len(widths) >= minimum_depth + 1,
            f"{name} must list d_0..d_N for depth N >= {minimum_depth}, got {tuple(widths)}")
    for width in widths:
        require_int(f"each of {name}", width, minimum=1)
