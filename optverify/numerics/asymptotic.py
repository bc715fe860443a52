"""Asymptotic exponents: a power-law fit that models its own finite-size correction.

A sweep over a finite range sees y = C x^p (1 + corrections); a straight log-log line then returns
an effective exponent that drifts towards p, and judging that line against p with a generous
allowance either passes a wrong exponent or fails a right one. Here the correction is modelled:

    log y = p log x + c + b (x / x_ref)^(-q),   q in CORRECTION_POWERS (both signs: the correction
                                               may vanish at large x or at small x)

Each q is an ordinary least-squares fit (x_ref is the geometric mean of x, for conditioning). The
rule, fixed before any measurement: the q with the smallest residual sum of squares is kept, and
the correction is applied only when an F-test of the corrected against the straight line rejects
the straight line at level CORRECTION_ALPHA (0.05 over the number of candidates) with at least
MIN_POINTS_FOR_CORRECTION points (three parameters leave two residual degrees of freedom). The
asymptotic exponent p then carries a Student-t interval with n - 3 degrees of freedom: the union
of the intervals of every correction power that the data do not tell from the best one, so that
choosing q widens the interval rather than narrowing it by selection. Otherwise the straight
line's fit and interval stand. The size of the correction at both ends of the sweep is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from optverify.numerics.fit import (
    ConfidenceInterval,
    FiniteSizeCorrection,
    FitScale,
    RateFit,
    fit_rate,
    rounding_rss,
)

CORRECTION_POWERS = (0.5, 1.0, 2.0, -0.5, -1.0, -2.0)
"""Candidate q in b (x / x_ref)^(-q): first-order corrections in 1/sqrt(x), 1/x, 1/x^2 at large x
(positive q) or in sqrt(x), x, x^2 at small x (negative q)."""

CORRECTION_ALPHA = 0.05 / len(CORRECTION_POWERS)
"""The F-test level, Bonferroni-corrected for choosing q among the candidates: a sweep with no
correction keeps its straight line 95% of the time."""
MIN_POINTS_FOR_CORRECTION = 5


@dataclass(frozen=True)
class _Regression:
    coefficients: np.ndarray
    rss: float
    stderr_slope: float


def _regress(design: np.ndarray, v: np.ndarray) -> _Regression:
    coefficients, *_ = np.linalg.lstsq(design, v, rcond=None)
    residuals = v - design @ coefficients
    rss = float(residuals @ residuals)
    dof = design.shape[0] - design.shape[1]
    covariance = np.linalg.pinv(design.T @ design) * (rss / dof)
    return _Regression(coefficients, rss, float(np.sqrt(max(covariance[1, 1], 0.0))))


def _f_test(rss_straight: float, rss_corrected: float, n: int,
            floor: float) -> tuple[float, float]:
    if rss_straight <= floor:
        return 0.0, 1.0
    if rss_corrected <= floor:
        return np.inf, 0.0
    f = max(rss_straight - rss_corrected, 0.0) / (rss_corrected / (n - 3))
    return float(f), float(stats.f.sf(f, 1, n - 3))


def fit_asymptotic_power_law(x, y, level: float = 0.95) -> RateFit:
    """The asymptotic exponent p of y ~ C x^p, with the finite-size correction modelled (module
    docstring); the returned RateFit's `correction` says which model was kept and its size."""
    straight = fit_rate(x, y, FitScale.LOG_LOG, level)
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    order = np.argsort(x)
    x, y = x[order], y[order]
    if x.size < MIN_POINTS_FOR_CORRECTION:
        return straight
    u, v = np.log(x), np.log(y)
    reference = float(np.exp(u.mean()))
    base = np.column_stack([np.ones_like(u), u])
    straight_rss = _regress(base, v).rss
    candidates = []
    for power in CORRECTION_POWERS:
        term = (x / reference) ** (-power)
        candidates.append((_regress(np.column_stack([base, term]), v), power, term))
    best, power, term = min(candidates, key=lambda candidate: candidate[0].rss)
    f_statistic, p_value = _f_test(straight_rss, best.rss, x.size, rounding_rss(v))
    applied = p_value < CORRECTION_ALPHA
    b = float(best.coefficients[2])
    correction = FiniteSizeCorrection(
        power=power, coefficient=b, reference=reference, size_at_x_min=abs(b * term[0]),
        size_at_x_max=abs(b * term[-1]), straight_exponent=straight.exponent,
        f_statistic=f_statistic, p_value=p_value, applied=applied)
    if not applied:
        return replace(straight, correction=correction)
    quantile = float(stats.t.ppf(0.5 + level / 2, x.size - 3))
    plausible = [fit for fit, _, _ in candidates if _indistinct(fit.rss, best.rss, x.size, level)]
    low = min(fit.coefficients[1] - quantile * fit.stderr_slope for fit in plausible)
    high = max(fit.coefficients[1] + quantile * fit.stderr_slope for fit in plausible)
    return replace(straight, exponent=float(best.coefficients[1]),
                   intercept=float(best.coefficients[0]), stderr=best.stderr_slope,
                   ci=ConfidenceInterval(float(low), float(high), level), correction=correction)


def _indistinct(rss: float, best_rss: float, n: int, level: float) -> bool:
    """A correction power whose fit the data do not tell from the best one (F-type ratio of the
    residual sums below its `level` quantile)."""
    if best_rss <= 0.0:
        return rss <= 0.0
    return (rss - best_rss) / (best_rss / (n - 3)) < float(stats.f.ppf(level, 1, n - 3))
