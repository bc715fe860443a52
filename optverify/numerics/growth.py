"""Exponential or power law: which growth model the points support.

A claim that y decays (or grows) exponentially in x is not confirmed by a negative slope of log y
against x: a power law x^-a has one too. Both models are nested in log y = a + r x + c log x; an
F-test of that encompassing model against each two-parameter model asks whether the other term is
needed. A finite sweep also carries a finite-size correction, which a missing term would otherwise
have to absorb: from MIN_POINTS_FOR_FINITE_SIZE points on, every model of the comparison also
holds a vanishing multiplicative correction (1 + b (x / x_ref)^-1) of y (x_ref the geometric mean
of x; fitted as in optverify.numerics.asymptotic; the F-tests then have n - 4 residual degrees of
freedom). The rule, fixed before any measurement (level GROWTH_ALPHA):
- exponential supported: the power law alone is rejected (the x term is needed);
- power law supported: the power law is not rejected while the exponential alone is (the log x
  term is needed and the x term is not);
- otherwise the points cannot tell them apart.
"""

from __future__ import annotations

import numpy as np

from optverify.numerics.asymptotic import correction_fit
from optverify.numerics.fit import GrowthComparison, nested_f_p_value, rounding_rss

GROWTH_ALPHA = 0.01
"""Each F-test at 1%, the kit's judging level per side (optverify.numerics.fit.JUDGING_LEVEL):
a power law is called exponential growth (or the reverse) at most 1% of the time."""
MIN_POINTS = 4
MIN_POINTS_FOR_FINITE_SIZE = 6
"""Four parameters (constant, x, log x, the finite-size term) leave two residual degrees of
freedom at six points."""


def _rss(design: np.ndarray, v: np.ndarray) -> float:
    coefficients, *_ = np.linalg.lstsq(design, v, rcond=None)
    residuals = v - design @ coefficients
    return float(residuals @ residuals)


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
    finite_size = x.size >= MIN_POINTS_FOR_FINITE_SIZE
    term = (x / np.exp(u.mean())) ** -1.0

    def rss(*columns: np.ndarray) -> float:
        design = np.column_stack([ones, *columns])
        if finite_size:
            return correction_fit(design, term, v, ones).rss
        return _rss(design, v)

    full, floor = rss(x, u), rounding_rss(v)
    dof = x.size - 3 - finite_size
    p_power = nested_f_p_value(rss(u), full, dof, floor)
    p_exponential = nested_f_p_value(rss(x), full, dof, floor)
    slope = float(np.polyfit(u, v, 1)[0])
    return GrowthComparison(slope, p_power, p_exponential, p_power < GROWTH_ALPHA,
                            p_exponential < GROWTH_ALPHA, finite_size)
