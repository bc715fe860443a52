"""Newman's (1986) variance law for products of iid N(0, sigma^2/n) Jacobians, for Pascanu,
Mikolov, Bengio (2013), arXiv:1211.5063: Var(log ||J_T ... J_1 v||) = T trigamma(n/2)/4, a
TIGHT exponent 1 in T (every depth from the same products, so its interval comes from resampling
the products: `variance_units`), and its constant trigamma(n/2)/4 against the delta-method 1/(2n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optverify.kit import Bound, Panel, RateFit, Session, rate_panel
from optverify.theorems.jacobian_products.config import ExperimentConfig
from optverify.theorems.jacobian_products.gaussian_products import GaussianSweep
from optverify.theorems.jacobian_products.products import log_norm_variance_per_step

VARIANCE_LAW = Bound.tight("T", 1)
"""Newman's variance law: Var(log ||J_T ... J_1 v||) = Theta(T) (exactly T trigamma(n/2)/4)."""


def variance_standard_error(samples: np.ndarray) -> float:
    """Standard error of the unbiased sample variance from the fourth central moment."""
    count = samples.size
    centred = samples - samples.mean()
    variance = centred.var(ddof=1)
    fourth = np.mean(centred**4)
    return float(np.sqrt(max(fourth - variance**2 * (count - 3) / (count - 1), 0.0) / count))


def delta_method_variance(dimension: int) -> float:
    """(1/4) Var(log chi^2_n) ~ (1/4)(2/n) = 1/(2n): the delta-method (large-n) value of the
    per-step log-norm variance, the false alternative of the variance-constant check."""
    return 1 / (2 * dimension)


def variance_units(sweep: GaussianSweep, setup: ExperimentConfig) -> np.ndarray:
    """The independent units of the variance law: one row per product (every path of every
    sigma), log ||J_t ... J_1 v|| - t log sigma at the depth-grid points t (columns). The shift
    t log sigma is exact (the Jacobians are sigma times standard ones), so every row is a draw of
    the sigma = 1 law, and all the points of a row share that row's path."""
    grid = setup.depth_grid
    shift = grid[:, None, None] * np.log(np.asarray(setup.sigmas))[None, :, None]
    return (sweep.log_norms[grid - 1] - shift).reshape(len(grid), -1).T


def sample_variances(units: np.ndarray) -> np.ndarray:
    """The statistic of the variance law: the unbiased variance over the units, per point, from
    one pass of sums (sum u and sum u^2; a third of np.var's time, which matters under 999
    resamples). The cancellation costs (mean / sd)^2 eps relative, below 1e-12 here."""
    count = units.shape[0]
    total = units.sum(axis=0)
    return (np.einsum("ij,ij->j", units, units) - total * total / count) / (count - 1)


@dataclass(frozen=True)
class VarianceLaw:
    """Var(log ||prod v||) on the depth grid from the pooled units (`variance_units`), and the
    per-step variance at the largest T with its standard error, against trigamma(n/2)/4."""

    grid: np.ndarray
    units: np.ndarray
    per_step: float
    measured: float
    error: float

    @property
    def variances(self) -> np.ndarray:
        return sample_variances(self.units)


def variance_law(sweep: GaussianSweep, setup: ExperimentConfig) -> VarianceLaw:
    units = variance_units(sweep, setup)
    final = units[:, -1]
    return VarianceLaw(setup.depth_grid, units, log_norm_variance_per_step(sweep.dimension),
                       float(final.var(ddof=1)) / setup.depth,
                       variance_standard_error(final) / setup.depth)


VARIANCE_ALTERNATIVES = (0.5, 0.75, 1.25, 2.0)
"""The exponents the variance law rules out: T^2, a ballistic spread (per-path growth rates that
differ from path to path), T^(1/2), and the default quarter either side of 1."""


def record_variance_law(s: Session, sweep: GaussianSweep, setup: ExperimentConfig,
                         law: VarianceLaw, z: float) -> RateFit:
    """Record the exponent (interval from resampling the products, which every depth shares) and
    the constant of the variance law; return the exponent's fit."""
    where = (f"n = {sweep.dimension}, {law.units.shape[0]} Gaussian products ({setup.paths} per "
             f"sigma in {setup.sigmas}, log-norms shifted by -T log sigma)")
    check = s.rate(f"log-variance-law-n{sweep.dimension}",
                   f"{where}: Var(log ||J_T ... J_1 v||) grows like T (fitted power of T over "
                   f"T in [1, {setup.depth}]; every depth is computed from the same products, so "
                   "the interval comes from resampling the products); rules out a ballistic "
                   "spread T^2 (path-dependent growth rates), T^(1/2), and exponents a quarter "
                   "off", law.grid, None, VARIANCE_LAW, units=law.units,
                   statistic=sample_variances, rules_out=VARIANCE_ALTERNATIVES)
    alternative = delta_method_variance(sweep.dimension)
    s.identity(f"log-variance-constant-n{sweep.dimension}",
               f"{where}: Var(log ||prod v||) / T at T = {setup.depth} equals Newman's "
               f"trigamma(n/2)/4 = {law.per_step:.6g} within its Bonferroni-corrected 95% CI "
               f"(z = {z:.3g}; standard error from the fourth moment over the independent "
               "products)", abs(law.measured - law.per_step), z * law.error,
               controls={f"the delta-method value 1/(2n) = {alternative:.6g}":
                         abs(law.measured - alternative)},
               values={"measured_variance_per_step": law.measured, "standard_error": law.error,
                       "trigamma_over_4": law.per_step})
    return check.fit


def variance_panel(sweep: GaussianSweep, law: VarianceLaw, fit: RateFit) -> Panel:
    return rate_panel(f"n = {sweep.dimension}", "T (number of Jacobians)",
                      "Var(log ||J_T ... J_1 v||)", law.grid, law.variances, fit, VARIANCE_LAW)
