"""Precision floors: when a computed quantity is below what its dtype can resolve.

A quantity computed in a floating-point type carries a rounding error of about eps * scale, where
eps is the type's machine epsilon and scale the magnitude of the terms that produced it (e.g. the
squared norm of the gradients whose mean is being measured). A value below `ulps * eps * scale` is
rounding noise: it is reported as "below precision", never as a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BELOW_PRECISION = "below precision"

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


def mp_epsilon(digits: int) -> float:
    """Relative resolution of an mpmath computation at `digits` decimal digits."""
    return 10.0 ** (-digits)


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
