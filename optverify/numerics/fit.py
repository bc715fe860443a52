"""Rate fitting: least-squares slopes in log-log (power laws) or log-linear (exponential rates).

A measured rate is reported the way scipy.stats reports a regression: a frozen result object with
the slope, its standard error and a Student-t confidence interval (`scipy.stats.linregress` plus
`scipy.stats.t.ppf`). The fit range and the local (consecutive-point) slopes are kept so a report
can show whether the sweep has reached its asymptotic regime.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
from scipy import stats


class FitScale(str, Enum):
    """Which axes are logarithmic in the fit."""

    LOG_LOG = "log-log"  # log y = exponent * log x + intercept  (power law y ~ x^exponent)
    LOG_LINEAR = "log-linear"  # log y = exponent * x + intercept  (exponential y ~ e^(exponent x))


@dataclass(frozen=True)
class ConfidenceInterval:
    """A two-sided interval [low, high] at the stated confidence level."""

    low: float
    high: float
    level: float = 0.95

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass(frozen=True)
class FiniteSizeCorrection:
    """The correction term b (x / x_ref)^(-q) of an asymptotic fit.

    power: q; coefficient: b (natural log units of y); reference: x_ref.
    size_at_x_min / size_at_x_max: |b (x / x_ref)^(-q)| at the ends of the sweep, the correction
        to log y there (where the asymptote is reached, this is the smaller one).
    straight_exponent: the slope of the straight log-log line on the same points.
    f_statistic, p_value: the F-test of the corrected model against the straight line.
    applied: whether the rule kept the correction (see optverify.numerics.asymptotic).
    """

    power: float
    coefficient: float
    reference: float
    size_at_x_min: float
    size_at_x_max: float
    straight_exponent: float
    f_statistic: float
    p_value: float
    applied: bool

    def describe(self) -> str:
        state = "applied" if self.applied else "not significant, straight line kept"
        return (f"finite-size correction b (x/x_ref)^{-self.power:g}: {state} (F-test p = "
                f"{self.p_value:.3g}); its size in log y is {self.size_at_x_min:.3g} at the "
                f"smallest x and {self.size_at_x_max:.3g} at the largest; straight-line slope "
                f"{self.straight_exponent:.4g}")


@dataclass(frozen=True)
class GrowthComparison:
    """Exponential against power-law growth on the same points (optverify.numerics.growth).

    power_law_exponent: the slope of log y against log x.
    p_value_power_law: F-test p-value of the encompassing model log y = a + r x + c log x against
        the power law alone (small: the power law is rejected).
    p_value_exponential: the same against the exponential alone (small: the exponential is
        rejected, a log x term is needed).
    power_law_rejected / exponential_rejected: the p-values below the level fixed in `growth`.
    """

    power_law_exponent: float
    p_value_power_law: float
    p_value_exponential: float
    power_law_rejected: bool
    exponential_rejected: bool

    def describe(self) -> str:
        power = "rejected" if self.power_law_rejected else "not rejected"
        exponential = "rejected" if self.exponential_rejected else "not rejected"
        return (f"against a power law (slope {self.power_law_exponent:.3g} in log-log): power law "
                f"{power} (p = {self.p_value_power_law:.3g}), exponential {exponential} "
                f"(p = {self.p_value_exponential:.3g})")


@dataclass(frozen=True)
class RateFit:
    """A fitted rate.

    exponent: the slope of log y against log x (LOG_LOG) or against x (LOG_LINEAR).
    intercept: the fitted log y at log x = 0 (LOG_LOG) or x = 0 (LOG_LINEAR), natural log.
    stderr: standard error of the slope under the usual iid Gaussian-residual assumption.
    ci: Student-t confidence interval of the slope with n_points - 2 degrees of freedom.
    n_points, x_min, x_max: the fit range (in the original x units).
    local_slopes: slopes between consecutive points, to show drift towards the asymptote.
    r_squared: coefficient of determination of the linear fit on the transformed axes.
    correction: for an asymptotic power-law fit, the finite-size correction that was modelled
        (optverify.numerics.asymptotic); exponent, intercept, stderr and ci are then the corrected
        model's when `correction.applied`, the straight line's otherwise.
    comparison: for an exponential rate, the test of an exponential against a power law on the same
        points (optverify.numerics.growth).
    """

    exponent: float
    intercept: float
    stderr: float
    ci: ConfidenceInterval
    n_points: int
    x_min: float
    x_max: float
    scale: FitScale
    local_slopes: tuple[float, ...]
    r_squared: float
    correction: FiniteSizeCorrection | None = None
    comparison: GrowthComparison | None = None

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The fitted curve evaluated at x (original units)."""
        x = np.asarray(x, dtype=float)
        if self.scale is FitScale.LOG_LOG:
            return np.exp(self.intercept) * x**self.exponent
        return np.exp(self.intercept + self.exponent * x)


def rounding_rss(v: np.ndarray) -> float:
    """A residual sum of squares this small is float64 rounding of log y, not a misfit."""
    return v.size * (64 * np.finfo(float).eps * max(1.0, float(np.max(np.abs(v))))) ** 2


def _validated(x: np.ndarray, y: np.ndarray, scale: FitScale) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"fit needs x and y of one length, got {x.size} and {y.size}")
    if x.size < 3:
        raise ValueError(f"fit needs at least 3 points, got {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("fit needs finite x and y values")
    if np.any(y <= 0):
        raise ValueError("fit needs positive y values (the fit is in log y)")
    if scale is FitScale.LOG_LOG and np.any(x <= 0):
        raise ValueError("a log-log fit needs positive x values")
    if np.unique(x).size < 2:
        raise ValueError("fit needs at least two distinct x values")
    return x, y


def fit_rate(x, y, scale: FitScale = FitScale.LOG_LOG, level: float = 0.95) -> RateFit:
    """Least-squares slope of log y against log x (or x), with a `level` confidence interval."""
    x, y = _validated(x, y, scale)
    order = np.argsort(x)
    x, y = x[order], y[order]
    u = np.log(x) if scale is FitScale.LOG_LOG else x
    v = np.log(y)
    regression = stats.linregress(u, v)
    dof = x.size - 2
    # The slope's standard error from the residuals: linregress derives it from 1 - r^2, which
    # cancels to sqrt(eps) ~ 1e-8 on near-exact data and is undefined for constant y.
    residuals = v - (regression.intercept + regression.slope * u)
    spread = np.sum((u - u.mean()) ** 2)
    stderr = float(np.sqrt(np.sum(residuals**2) / dof / spread))
    total = np.sum((v - v.mean()) ** 2)
    r_squared = 1.0 if total == 0 else float(1 - np.sum(residuals**2) / total)
    half_width = float(stats.t.ppf(0.5 + level / 2, dof)) * stderr
    slope = float(regression.slope)
    du = np.diff(u)
    local = np.diff(v)[du > 0] / du[du > 0]
    return RateFit(
        exponent=slope,
        intercept=float(regression.intercept),
        stderr=stderr,
        ci=ConfidenceInterval(slope - half_width, slope + half_width, level),
        n_points=int(x.size),
        x_min=float(x[0]),
        x_max=float(x[-1]),
        scale=scale,
        local_slopes=tuple(float(s) for s in local),
        r_squared=r_squared,
    )


def fit_power_law(x, y, level: float = 0.95) -> RateFit:
    """Fit y ~ C x^exponent by least squares in log-log."""
    return fit_rate(x, y, FitScale.LOG_LOG, level)


def fit_exponential_rate(x, y, level: float = 0.95) -> RateFit:
    """Fit y ~ C exp(exponent x) by least squares in log-linear."""
    return fit_rate(x, y, FitScale.LOG_LINEAR, level)
