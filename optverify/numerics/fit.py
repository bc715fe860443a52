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
class RateFit:
    """A fitted rate.

    exponent: the slope of log y against log x (LOG_LOG) or against x (LOG_LINEAR).
    intercept: the fitted log y at log x = 0 (LOG_LOG) or x = 0 (LOG_LINEAR), natural log.
    stderr: standard error of the slope under the usual iid Gaussian-residual assumption.
    ci: Student-t confidence interval of the slope with n_points - 2 degrees of freedom.
    n_points, x_min, x_max: the fit range (in the original x units).
    local_slopes: slopes between consecutive points, to show drift towards the asymptote.
    r_squared: coefficient of determination of the linear fit on the transformed axes.
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

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The fitted curve evaluated at x (original units)."""
        x = np.asarray(x, dtype=float)
        if self.scale is FitScale.LOG_LOG:
            return np.exp(self.intercept) * x**self.exponent
        return np.exp(self.intercept + self.exponent * x)


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
