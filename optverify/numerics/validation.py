"""Argument checks shared by the claims: one clear ValueError naming the argument."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np


def require_int(name: str, value, minimum: int | None = None) -> None:
    """`value` is an integer (not a bool), at least `minimum` when one is given."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


def require_positive(name: str, value) -> None:
    """`value` is a finite real number > 0."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
            or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def require_finite(name: str, values) -> None:
    """Every entry of an array or tensor is finite."""
    array = values.detach().cpu().numpy() if hasattr(values, "detach") else np.asarray(values)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} has non-finite entries")
