"""Exponential or power law: which growth model the points support.

A claim that y decays (or grows) exponentially in x is not confirmed by a negative slope of log y
against x: a power law x^-a has one too. Both models are nested in log y = a + r x + c log x; an
F-test of that encompassing model against each two-parameter model asks whether the other term is
needed. The rule, fixed before any measurement (level GROWTH_ALPHA):
- exponential supported: the power law alone is rejected (the x term is needed);
- power law supported: the power law is not rejected while the exponential alone is (the log x
  term is needed and the x term is not);
- otherwise the points cannot tell them apart.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from optverify.numerics.fit import GrowthComparison, rounding_rss

GROWTH_ALPHA = 0.05
MIN_POINTS = 4


def _rss(design: np.ndarray, v: np.ndarray) -> float:
    coefficients, *_ = np.linalg.lstsq(design, v, rcond=None)
    residuals = v - design @ coefficients
    return float(residuals @ residuals)


def _p_value(rss_reduced: float, rss_full: float, n: int, floor: float) -> float:
    if rss_reduced <= floor:
        return 1.0
    if rss_full <= floor:
        return 0.0
    f = max(rss_reduced - rss_full, 0.0) / (rss_full / (n - 3))
    return float(stats.f.sf(f, 1, n - 3))


def compare_growth(x, y) -> GrowthComparison:
    """Test exponential against power-law growth of y in x (x > 0, y > 0; module docstring)."""
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if x.size < MIN_POINTS:
        raise ValueError(f"comparing growth models needs at least {MIN_POINTS} points, got "
                         f"{x.size}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("comparing growth models needs positive x and y")
    u, v = np.log(x), np.log(y)
    ones = np.ones_like(x)
    full, floor = _rss(np.column_stack([ones, x, u]), v), rounding_rss(v)
    power = np.column_stack([ones, u])
    p_power = _p_value(_rss(power, v), full, x.size, floor)
    p_exponential = _p_value(_rss(np.column_stack([ones, x]), v), full, x.size, floor)
    slope = float(np.linalg.lstsq(power, v, rcond=None)[0][1])
    return GrowthComparison(slope, p_power, p_exponential, p_power < GROWTH_ALPHA,
                            p_exponential < GROWTH_ALPHA)
