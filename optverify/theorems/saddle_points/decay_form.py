"""The decay form of the Kac-Rice minima fraction f(d) of `saddle-points`' random quartic: the power
a of d in f(d) = C d^alpha exp(-theta d^a) (1 + o(1)), with the power prefactor d^alpha free.

Source: Dauphin et al. (2014), arXiv:1406.2572, Section 3, after Bray and Dean (2007): minima are
exponentially rarer than saddles as the dimension grows, f(d) = C d^alpha exp(-theta d) (1 + o(1)),
a = 1. The false alternatives: the Gaussian-orthant form exp(-theta d^2) of a GOE matrix's
positive-definite probability (Dean and Majumdar 2006, 2008), a = 2, and the stretched and
compressed forms exp(-theta d^0.75), exp(-theta d^1.25).

Model: log f(d) = c + alpha log d - theta (d / d_max)^a [+ b / d], by weighted least squares with
weights 1 / sd_d^2 (sd_d: the standard deviation of log f(d) from its Monte Carlo, quadrature and
tail errors; the dimensions are computed from independent draws). For a fixed a the model is linear
in (c, alpha, theta[, b]), so chi^2 is profiled over a on the grid `EXPONENT_GRID`; the interval of
a is {a : chi^2(a) - chi^2_min <= q s^2}, q the chi^2_1 quantile at the kit's judging level (98%)
and s^2 = max(1, chi^2_min / dof) (a Birge ratio: the interval widens when the points scatter more
than their errors say, never narrows). An interval that reaches an end of the grid stops there (the
ends lie far beyond the margin, so no verdict depends on them).
Two models, as the kit's asymptotic judge tries several (optverify.verdict): without and with the
finite-size term b / d, the leading o(1) of the claim. The term-free model is plausible unless the
term lowers chi^2 by more than the chi^2_1 quantile at 99% times s^2; the verdicts of the plausible
models must agree (`Session.fitted_rate` judges the models as the kit judges an asymptotic fit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from optverify.kit import ConfidenceInterval, FitScale, RateFit
from optverify.numerics.fit import JUDGING_LEVEL, ModelFit
from optverify.numerics.validation import require, require_finite, require_positive

EXPONENT_GRID = np.round(np.arange(0.05, 4.0 + 1e-9, 0.005), 3)
"""The powers a of d profiled: from near a power law (a -> 0 turns theta d^a into a constant plus
a log d) to twice the Gaussian-orthant form."""
PLAUSIBILITY_LEVEL = 0.99
"""The term-free model is dropped when the finite-size term b / d is needed at this level."""
FINITE_SIZE_TERM = "correction d^-1"
NO_FINITE_SIZE_TERM = "no finite-size term"


@dataclass(frozen=True)
class ProfileFit:
    """One model's profile over a: the best a, its interval, chi^2 at the best a and the best
    coefficients (c, alpha, theta[, b]) there, with the profile chi^2 on `EXPONENT_GRID`."""

    name: str
    exponent: float
    ci: ConfidenceInterval
    chi_squared: float
    dof: int
    coefficients: tuple[float, ...]
    profile: tuple[float, ...]

    @property
    def scatter(self) -> float:
        """s^2 = max(1, chi^2_min / dof)."""
        return max(1.0, self.chi_squared / self.dof)


def design(dims: np.ndarray, power: float, finite_size: bool) -> np.ndarray:
    """Columns 1, log d, -(d / d_max)^a and, with the finite-size term, 1 / d."""
    columns = [np.ones_like(dims), np.log(dims), -(dims / dims.max()) ** power]
    if finite_size:
        columns.append(1 / dims)
    return np.column_stack(columns)


def weighted_fit(dims: np.ndarray, log_fraction: np.ndarray, sd: np.ndarray, power: float,
                 finite_size: bool) -> tuple[float, np.ndarray]:
    """(chi^2, coefficients) of the model at a fixed power a."""
    matrix = design(dims, power, finite_size)
    coefficients, *_ = np.linalg.lstsq(matrix / sd[:, None], log_fraction / sd, rcond=None)
    residual = (log_fraction - matrix @ coefficients) / sd
    return float(residual @ residual), coefficients


def profile_fit(dims, log_fraction, sd, finite_size: bool,
                level: float = JUDGING_LEVEL) -> ProfileFit:
    """The profile likelihood interval of a for one model (module docstring)."""
    dims, log_fraction, sd = (np.asarray(v, dtype=float) for v in (dims, log_fraction, sd))
    parameters = 4 + finite_size
    require(dims.size > parameters, lambda: f"a decay-form fit needs more than {parameters} "
            f"dimensions, got {dims.size}")
    require_positive("the decay-form fit's dimensions d", dims)
    require_positive("the decay-form fit's errors of log f", sd)
    require_finite("the decay-form fit's log fractions", log_fraction)
    profile = np.array([weighted_fit(dims, log_fraction, sd, a, finite_size)[0]
                        for a in EXPONENT_GRID])
    best = int(profile.argmin())
    dof = dims.size - parameters
    scatter = max(1.0, profile[best] / dof)
    inside = EXPONENT_GRID[profile - profile[best] <= stats.chi2.ppf(level, 1) * scatter]
    _, coefficients = weighted_fit(dims, log_fraction, sd, EXPONENT_GRID[best], finite_size)
    return ProfileFit(FINITE_SIZE_TERM if finite_size else NO_FINITE_SIZE_TERM,
                      float(EXPONENT_GRID[best]),
                      ConfidenceInterval(float(inside.min()), float(inside.max()), level),
                      float(profile[best]), dof, tuple(float(c) for c in coefficients),
                      tuple(float(v) for v in profile))


def term_free_plausible(without: ProfileFit, with_term: ProfileFit) -> bool:
    """The term-free model stays plausible unless b / d lowers chi^2 by more than the chi^2_1
    quantile at PLAUSIBILITY_LEVEL (times the fuller model's s^2)."""
    drop = without.chi_squared - with_term.chi_squared
    return bool(drop <= stats.chi2.ppf(PLAUSIBILITY_LEVEL, 1) * with_term.scatter)


def decay_form_fit(dims, log_fraction, sd) -> RateFit:
    """Both models' profile intervals of a as a `RateFit` for `Session.fitted_rate`: exponent and
    ci are the best plausible model's a and the union of the plausible models' intervals; x is d."""
    dims = np.asarray(dims, dtype=float)
    without = profile_fit(dims, log_fraction, sd, finite_size=False)
    with_term = profile_fit(dims, log_fraction, sd, finite_size=True)
    plausible = {NO_FINITE_SIZE_TERM: term_free_plausible(without, with_term),
                 FINITE_SIZE_TERM: True}
    models = tuple(ModelFit(fit.name, fit.exponent, fit.ci, fit.chi_squared, plausible[fit.name])
                   for fit in (without, with_term))
    kept = [fit for fit in (without, with_term) if plausible[fit.name]]
    best = min(kept, key=lambda fit: fit.chi_squared / fit.dof)
    low = min(fit.ci.low for fit in kept)
    high = max(fit.ci.high for fit in kept)
    z = stats.norm.ppf((1 + JUDGING_LEVEL) / 2)
    return RateFit(exponent=best.exponent, intercept=best.coefficients[0],
                   stderr=(high - low) / (2 * z), ci=ConfidenceInterval(low, high),
                   n_points=int(dims.size), x_min=float(dims.min()), x_max=float(dims.max()),
                   scale=FitScale.LOG_LOG, local_slopes=(), r_squared=math.nan, models=models)


def redrawn_form(dims, log_fraction, sd, power: float) -> np.ndarray:
    """log f redrawn under exp(-theta d^power) with the power prefactor and finite-size term: the
    weighted fit at that power plus the residuals of the claimed fit (power 1), which keeps the
    points' scatter (the negative controls)."""
    dims, log_fraction, sd = (np.asarray(v, dtype=float) for v in (dims, log_fraction, sd))
    curves = {}
    for a in (1.0, power):
        _, coefficients = weighted_fit(dims, log_fraction, sd, a, finite_size=True)
        curves[a] = design(dims, a, True) @ coefficients
    return curves[power] + (log_fraction - curves[1.0])
