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

EXPONENT_RESOLUTION = 0.02
"""The exponent resolution a verdict claims: an interval within 0.02 of the claimed exponent is
consistent with it. Fixed before any measurement, and small against the gaps a referee needs to
resolve (a slower T^-0.45 against a claimed T^-0.5 is 0.05 apart; 3.5 against 4 is 0.5). It also
widens the tail interval of an asymptotic fit (optverify.numerics.asymptotic)."""

JUDGING_LEVEL = 0.98
"""The one confidence level every kit judge decides at: two-sided 98% intervals, 1% on each side.
A verdict is one of two one-sided tests, each at 1%: violated when the interval lies beyond the
claim (a true claim is called violated at most 1% of the time per side), consistent when it lies
within the claim's margin (a claim false beyond that margin is called consistent at most 1% of the
time: the two one-sided tests of an equivalence test, Schuirmann 1987). Fixed before measuring, at
the false-pass target of issue 18 (<= 1%)."""

EXPONENT_MARGIN = 0.05
"""The margin within which a consistent verdict confirms a power-law exponent: the claim's interval
must lie within 0.05 of the claimed exponent (toward the bound's side for O and Omega). The gap a
referee needs to resolve (a slower T^-0.45 against a claimed T^-0.5) is 0.05; a claim false by more
is called consistent at most 1% of the time (JUDGING_LEVEL). Data that cannot pin the exponent that
closely are inconclusive, never consistent."""

RELATIVE_RATE_MARGIN = 0.05
"""The margin of an exponential rate, relative to the claimed rate: 5% of |a| in exp(a x), the
exponential counterpart of EXPONENT_MARGIN (0.05 at rates near 1)."""

RELATIVE_RATE_RESOLUTION = 0.02
"""The resolution of an exponential rate, relative to the claimed rate: 2% of |a| in exp(a x).
An absolute 0.02 means nothing for a rate of 0.001 (any decay passes) and is needlessly fine
for a rate of 50; 2% matches the power-law resolution at rates near 1."""


class FitScale(str, Enum):
    """Which axes are logarithmic in the fit."""

    LOG_LOG = "log-log"  # log y = exponent * log x + intercept  (power law y ~ x^exponent)
    LOG_LINEAR = "log-linear"  # log y = exponent * x + intercept  (exponential y ~ e^(exponent x))


@dataclass(frozen=True)
class ConfidenceInterval:
    """A two-sided interval [low, high] at the stated confidence level."""

    low: float
    high: float
    level: float = JUDGING_LEVEL

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
    finite_size_term: whether every model held a vanishing finite-size correction
        (1 + b (x / x_ref)^-1) of y.
    encompassing_rate, encompassing_ci: the rate r of the encompassing model y ~ x^c e^(r x) and
        its Student-t interval at the judging level: what the points say about the exponential
        rate once a power prefactor is allowed (judged where both models alone are rejected).
    """

    power_law_exponent: float
    p_value_power_law: float
    p_value_exponential: float
    power_law_rejected: bool
    exponential_rejected: bool
    finite_size_term: bool = False
    encompassing_rate: float | None = None
    encompassing_ci: ConfidenceInterval | None = None

    def describe(self) -> str:
        power = "rejected" if self.power_law_rejected else "not rejected"
        exponential = "rejected" if self.exponential_rejected else "not rejected"
        return (f"against a power law (slope {self.power_law_exponent:.3g} in log-log): power law "
                f"{power} (p = {self.p_value_power_law:.3g}), exponential {exponential} "
                f"(p = {self.p_value_exponential:.3g})"
                + ("; both with a finite-size term 1/x" if self.finite_size_term else ""))


@dataclass(frozen=True)
class TailSlope:
    """A straight log-log fit over the last third of a sweep toward its limit.

    slope: the least-squares slope there; ci: its interval (Student-t with n_points - 2 degrees of
        freedom, or the bootstrap percentile interval over the sweep's independent units).
    x_from, x_to: the window's ends, in the order toward the limit.
    local_first, local_last: the first and the last consecutive-point slope in the window, which
        show whether the slope still moves there.
    """

    slope: float
    ci: ConfidenceInterval
    x_from: float
    x_to: float
    n_points: int
    local_first: float
    local_last: float

    def describe(self) -> str:
        return (f"tail slope {self.slope:.4g} [{self.ci.low:.4g}, {self.ci.high:.4g}] over the "
                f"last {self.n_points} points (x {self.x_from:.3g} to {self.x_to:.3g}; local "
                f"slopes {self.local_first:.4g} to {self.local_last:.4g})")


@dataclass(frozen=True)
class ModelFit:
    """One candidate model of an asymptotic power-law fit (optverify.numerics.asymptotic).

    name: "straight line", "correction x^-1" (a term b (x/x_ref)^-1 in log y, vanishing at the
        limit), or "log factor" (a free term k log|log x| in log y).
    exponent, ci: the fitted exponent p and its interval.
    log_power, log_power_ci: for the log-factor model, the fitted k of x^p |log x|^k beyond the
        stated log power, and its interval; None for the other models.
    rss: the residual sum of squares (weighted when the fit is).
    plausible: the data do not reject it against the best model (F-tests, fixed levels).
    tail_slope: the slope the model predicts over the tail window (its fitted curve's least-squares
        slope there); None without a tail window.
    describes_tail: tail_slope lies in the tail interval widened by the exponent resolution (True
        without a tail window).
    """

    name: str
    exponent: float
    ci: ConfidenceInterval
    rss: float
    plausible: bool
    describes_tail: bool = True
    tail_slope: float | None = None
    log_power: float | None = None
    log_power_ci: ConfidenceInterval | None = None

    @property
    def survives(self) -> bool:
        """Plausible and bears out the tail: its verdict counts."""
        return self.plausible and self.describes_tail

    @property
    def extrapolation(self) -> float:
        """How far the model carries its exponent beyond what its own curve shows over the tail
        window: |exponent - tail_slope| (0 without a tail window, and for the straight line). The
        part of the exponent the data nearest the limit do not show (optverify.verdict)."""
        return 0.0 if self.tail_slope is None else abs(self.exponent - self.tail_slope)

    def describe(self) -> str:
        text = f"{self.name}: exponent {self.exponent:.4g} [{self.ci.low:.4g}, {self.ci.high:.4g}]"
        if self.log_power_ci is not None:
            text += (f", log power {self.log_power:.3g} [{self.log_power_ci.low:.3g}, "
                     f"{self.log_power_ci.high:.3g}]")
        return text


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
    models: for an asymptotic fit, every candidate model tried (which were plausible, which bore
        out the tail); exponent is then the best surviving model's and ci the union of the
        surviving models' intervals (of the plausible ones where none survives).
    tail: for an asymptotic fit of at least MIN_POINTS_FOR_TAIL points, the tail slope.
    limit: "infinity" or "zero", the limit of x the fit is about.
    log_power: the log power L stated by the claim (x^p |log x|^L); y was divided by |log x|^L.
    interval: "t" (regression intervals) or "bootstrap" (resampled independent units).
    offset: the fitted limit a of y = a + C x^p where the claim states an offset (the rate is
        then that of |y - a|, local_slopes and models too); None otherwise.
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
    models: tuple[ModelFit, ...] = ()
    tail: TailSlope | None = None
    limit: str = "infinity"
    log_power: float = 0.0
    interval: str = "t"
    offset: float | None = None

    @property
    def surviving(self) -> tuple[ModelFit, ...]:
        return tuple(model for model in self.models if model.survives)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The fitted curve evaluated at x (original units)."""
        x = np.asarray(x, dtype=float)
        if self.scale is FitScale.LOG_LOG:
            return np.exp(self.intercept) * x**self.exponent
        return np.exp(self.intercept + self.exponent * x)


def nested_f_p_value(rss_reduced: float, rss_full: float, dof: int, floor: float) -> float:
    """The p-value of the F-test of a model against one more term (`dof` residual degrees of freedom
    of the fuller model): 1 where the reduced model already fits to rounding (`floor`), 0 where only
    the fuller one does."""
    if rss_reduced <= floor:
        return 1.0
    if rss_full <= floor:
        return 0.0
    f = max(rss_reduced - rss_full, 0.0) / (rss_full / dof)
    return float(stats.f.sf(f, 1, dof))


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


def validated_weights(weights, n: int) -> np.ndarray:
    """Per-point weights of a weighted least-squares fit: positive and finite, one per point; None
    gives equal weights."""
    if weights is None:
        return np.ones(n)
    weights = np.asarray(weights, dtype=float).ravel()
    if weights.size != n:
        raise ValueError(f"fit needs one weight per point, got {weights.size} for {n} points")
    if not (np.all(np.isfinite(weights)) and np.all(weights > 0)):
        raise ValueError("fit needs positive finite weights")
    return weights


def weighted_slopes(u: np.ndarray, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted least-squares slopes of `values` (along the last axis, one row per sweep) against
    u: the slope of each row in one product."""
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    centred = u - w @ u
    return (values * (w * centred)).sum(axis=-1) / float(w @ centred**2)


def fit_rate(x, y, scale: FitScale = FitScale.LOG_LOG, level: float = JUDGING_LEVEL,
             weights=None) -> RateFit:
    """Least-squares slope of log y against log x (or x), with a `level` confidence interval;
    weights: per-point weights (weighted least squares, e.g. inverse variances of log y)."""
    x, y = _validated(x, y, scale)
    w = validated_weights(weights, x.size)
    order = np.argsort(x)
    x, y, w = x[order], y[order], w[order]
    u = np.log(x) if scale is FitScale.LOG_LOG else x
    v = np.log(y)
    dof = x.size - 2
    # Weighted least squares in closed form; the slope's standard error from the residuals
    # (linregress derives it from 1 - r^2, which cancels to sqrt(eps) ~ 1e-8 on near-exact data
    # and is undefined for constant y).
    w = w / w.sum()
    u_mean, v_mean = float(w @ u), float(w @ v)
    spread = float(w @ (u - u_mean) ** 2)
    slope = float(w @ ((u - u_mean) * (v - v_mean)) / spread)
    intercept = v_mean - slope * u_mean
    residuals = v - (intercept + slope * u)
    weighted_rss = float(w @ residuals**2)
    stderr = float(np.sqrt(weighted_rss / dof / spread))
    total = float(w @ (v - v_mean) ** 2)
    r_squared = 1.0 if total == 0 else float(1 - weighted_rss / total)
    half_width = float(stats.t.ppf(0.5 + level / 2, dof)) * stderr
    du = np.diff(u)
    local = np.diff(v)[du > 0] / du[du > 0]
    return RateFit(
        exponent=slope,
        intercept=float(intercept),
        stderr=stderr,
        ci=ConfidenceInterval(slope - half_width, slope + half_width, level),
        n_points=int(x.size),
        x_min=float(x[0]),
        x_max=float(x[-1]),
        scale=scale,
        local_slopes=tuple(float(s) for s in local),
        r_squared=r_squared,
    )


def fit_power_law(x, y, level: float = JUDGING_LEVEL) -> RateFit:
    """Fit y ~ C x^exponent by least squares in log-log."""
    return fit_rate(x, y, FitScale.LOG_LOG, level)


def fit_exponential_rate(x, y, level: float = JUDGING_LEVEL) -> RateFit:
    """Fit y ~ C exp(exponent x) by least squares in log-linear."""
    return fit_rate(x, y, FitScale.LOG_LINEAR, level)
