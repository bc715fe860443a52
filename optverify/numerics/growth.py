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
Where both are rejected, the points need a power prefactor: y ~ x^c e^(r x); the comparison also
gives the rate r of that encompassing model with its interval (optverify.verdict judges it then).
"""

from __future__ import annotations

import numpy as np

from scipy import stats

from optverify.numerics.asymptotic import correction_fit
from optverify.numerics.fit import (
    JUDGING_LEVEL,
    ConfidenceInterval,
    GrowthComparison,
    nested_f_p_value,
    rounding_rss,
)

GROWTH_ALPHA = 0.01
"""Each F-test at 1%, the kit's judging level per side (optverify.numerics.fit.JUDGING_LEVEL):
a power law is called exponential growth (or the reverse) at most 1% of the time."""
MIN_POINTS = 4
MIN_POINTS_FOR_FINITE_SIZE = 6
"""Four parameters (constant, x, log x, the finite-size term) leave two residual degrees of
freedom at six points."""


def _least_squares(design: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """(coefficients, rss, standard errors) of the ordinary least-squares fit of v on design."""
    coefficients, *_ = np.linalg.lstsq(design, v, rcond=None)
    residuals = v - design @ coefficients
    rss = float(residuals @ residuals)
    dof = max(design.shape[0] - design.shape[1], 1)
    covariance = np.linalg.pinv(design.T @ design) * (rss / dof)
    return coefficients, rss, np.sqrt(np.clip(np.diag(covariance), 0.0, None))


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

    def fit(*columns: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        design = np.column_stack([ones, *columns])
        if finite_size:
            regression = correction_fit(design, term, v, ones)
            return regression.coefficients, regression.rss, regression.stderr
        return _least_squares(design, v)

    (coefficients, full, stderr), floor = fit(x, u), rounding_rss(v)
    dof = x.size - 3 - finite_size
    p_power = nested_f_p_value(fit(u)[1], full, dof, floor)
    p_exponential = nested_f_p_value(fit(x)[1], full, dof, floor)
    slope = float(np.polyfit(u, v, 1)[0])
    rate, half = float(coefficients[1]), float(stats.t.ppf((1 + JUDGING_LEVEL) / 2, dof)) * float(
        stderr[1])
    return GrowthComparison(slope, p_power, p_exponential, p_power < GROWTH_ALPHA,
                            p_exponential < GROWTH_ALPHA, finite_size, rate,
                            ConfidenceInterval(rate - half, rate + half, JUDGING_LEVEL))
