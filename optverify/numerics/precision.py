"""Precision floors: when a computed quantity is below what its dtype can resolve.

A quantity computed in a floating-point type carries a rounding error of about eps * scale, where
eps is the type's machine epsilon and scale the magnitude of the terms that produced it (e.g. the
squared norm of the gradients whose mean is being measured). A value below `ulps * eps * scale` is
rounding noise: it is reported as "below precision", never as a number.

mpmath floors and tolerances (10^-(digits - 10) at `--precision digits`) stay mpmath numbers from
where they are made to where a verdict compares them: a Python float ends at about 10^-308 (and
10^-324 denormal), so 10^-1990 as a float is 0.0 and a comparison against it flips. For a report,
`reportable` gives the float where one holds the number, else its mpmath decimal string.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import mpmath
import numpy as np

BELOW_PRECISION = "below precision"

MIN_RESOLVED_POINTS = 3
"""A rate is fitted on at least 3 points above precision (through two a line leaves no residual
and so no interval; `fit_rate` refuses fewer): with fewer, `Session.rate` records the check as
inconclusive, below precision."""

_EPSILON = {
    "float16": float(np.finfo(np.float16).eps),
    "bfloat16": 2.0**-7,
    "float32": float(np.finfo(np.float32).eps),
    "float64": float(np.finfo(np.float64).eps),
}


def machine_epsilon(dtype: str) -> float:
    """Machine epsilon of a floating dtype named as in torch/numpy ('float32', 'float64', ...)."""
    name = str(dtype).removeprefix("torch.")
    if name not in _EPSILON:
        raise ValueError(f"unknown floating dtype {dtype!r}; known: {', '.join(_EPSILON)}")
    return _EPSILON[name]


def mp_epsilon(digits: int) -> mpmath.mpf:
    """Relative resolution of an mpmath computation at `digits` decimal digits, 10^-digits, an
    mpmath number computed at `digits` digits (a float would be 0.0 beyond 323 digits)."""
    with mpmath.workdps(digits):
        return mpmath.mpf(10) ** -digits


REPORT_DIGITS = 6
"""Significant digits of an mpmath number that a float cannot hold, in its report string."""


def reportable(value) -> float | str:
    """`value` for a report: a float when a float holds it (0, or a finite magnitude within the
    normal float range), else mpmath's decimal string with REPORT_DIGITS digits ("1.0e-1990"),
    never a float that rounded it to 0.0 or inf."""
    if isinstance(value, float) or value == 0:
        return float(value)
    magnitude = abs(mpmath.mpf(value))
    if not mpmath.isfinite(magnitude) or sys.float_info.min <= magnitude <= sys.float_info.max:
        return float(value)
    return mpmath.nstr(mpmath.mpf(value), REPORT_DIGITS)


def describe_number(value, significant: int = 3) -> str:
    """`value` in words with `significant` digits: `format(value, ".{significant}g")` where a
    float holds it, else mpmath's decimal string ("1.0e-1990")."""
    shown = reportable(value)
    if isinstance(shown, str):
        return mpmath.nstr(mpmath.mpf(value), significant)
    return format(shown, f".{significant}g")


@dataclass(frozen=True)
class Resolved:
    """A measured value together with the floor below which it is rounding noise.

    value: the measured number, or None when it is below the floor.
    floor: ulps * eps(dtype) * scale, the smallest magnitude the computation resolves.
    dtype: the floating type the value was computed in.
    """

    value: float | None
    floor: float
    dtype: str

    @property
    def below_precision(self) -> bool:
        return self.value is None

    def describe(self, fmt: str = ".3g") -> str:
        return BELOW_PRECISION if self.value is None else format(self.value, fmt)


def resolve(value: float, scale: float, dtype: str, ulps: float = 16.0) -> Resolved:
    """Keep `value` if its magnitude exceeds the rounding floor of its computation, else None."""
    if not (math.isfinite(value) and math.isfinite(scale)):
        raise ValueError(f"non-finite value {value!r} or scale {scale!r}")
    floor = ulps * machine_epsilon(dtype) * abs(scale)
    return Resolved(value if abs(value) > floor else None, floor, str(dtype).removeprefix("torch."))
