"""False-alternative runs: the data a negative control feeds through a check's own judging path.

The controls of a convergence claim (issue 18, item 8; optverify.controls for the rate controls)
keep recurring across claims: a run that stops at its start, a linear convergence at a smaller
rate, a sublinear convergence at the same initial speed, a power law through a sweep's end points.
Each lives here once. The run builders take float arrays (time along axis 0, any further axes are
instances) or mpmath numbers (a tuple comes back, computed at the working precision):

- `stopped_run`: l(t) = l(0);
- `geometric_run`: l(0) (1 - x)^t, a linear convergence with per-step decrease x (for floats as
  exp(t log1p(-x)), accurate for tiny x; for mpmath numbers as the exact power);
- `sublinear_run`: l(0) / (1 + x t), the O(1/t) convergence that starts as fast;
- `log_power_law_through` / `log_power_law_through_end_points`: log of C x^p anchored at a sweep's
  first point, with p given or through the first and last points (the steepest power law the end
  points allow).
"""

from __future__ import annotations

import math
import numpy as np


def _is_array(*values) -> bool:
    return any(isinstance(value, np.ndarray) for value in values)


def stopped_run(values):
    """The alternative 'a run that stops at its start': every value equals the first (a float
    array: a new array of the same shape; a sequence of mpmath numbers: a tuple)."""
    if _is_array(values):
        return np.broadcast_to(values[:1], values.shape).copy()
    return tuple(values[0] for _ in values)


def _steps(count: int, start: np.ndarray) -> np.ndarray:
    """0 .. count - 1 along axis 0, broadcasting against `start`'s instance axes."""
    return np.arange(count).reshape((-1,) + (1,) * np.ndim(start))


def geometric_run(start, decrease, count: int):
    """l(0) (1 - x)^t for t = 0 .. count - 1 (start = l(0), decrease = x, each a float array of
    instances or an mpmath number)."""
    if _is_array(start, decrease):
        return start * np.exp(_steps(count, start) * np.log1p(-decrease))
    factor = 1 - decrease
    return tuple(start * factor**t for t in range(count))


def sublinear_run(start, decrease, count: int):
    """l(0) / (1 + x t) for t = 0 .. count - 1 (arguments as for `geometric_run`)."""
    if _is_array(start, decrease):
        return start / (1 + decrease * _steps(count, start))
    return tuple(start / (1 + decrease * t) for t in range(count))


def log_power_law_through(x: np.ndarray, log_y: np.ndarray, exponent: float) -> np.ndarray:
    """log of C x^exponent, C set by the measured value at the first (smallest) x."""
    return log_y[0] + exponent * np.log(x / x[0])


def log_power_law_through_end_points(x: np.ndarray, log_y: np.ndarray) -> np.ndarray:
    """log of the power law through the measured values at the first and the last x."""
    exponent = (log_y[-1] - log_y[0]) / math.log(x[-1] / x[0])
    return log_power_law_through(x, log_y, exponent)

