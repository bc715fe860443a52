"""The growth rate of log ||J_T ... J_1 v|| for iid N(0, sigma^2/n) Jacobians: Newman's (1986)
lambda_1 = log sigma + (1/2)(log(2/n) + digamma(n/2)), for Pascanu, Mikolov, Bengio (2013),
arXiv:1211.5063, Section 2.1. The per-path estimate at the largest T within a Bonferroni-corrected
CI of lambda_1 (ruling out the annealed rate log sigma), and the exponential law itself: the
geometric-mean norm on a grid of T, each point from its own block of paths, fitted log-linearly
against lambda_1 and against a power law.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy
import torch

from optverify.kit import BELOW_PRECISION, Bound, Panel, Series, Session
from optverify.theorems.jacobian_products.config import ExperimentConfig
from optverify.theorems.jacobian_products.gaussian_products import GaussianSweep
from optverify.theorems.jacobian_products.products import lyapunov_exponent


def annealed_rate(sigma: float) -> float:
    """(1/2) log E ||G u||^2 = log sigma for a unit u: the growth rate of the mean squared norm,
    above lambda_1 by Jensen's gap (1/2)(log(n/2) - digamma(n/2)). The false alternative that the
    per-path growth-rate check rules out."""
    return math.log(sigma)


@dataclass(frozen=True)
class GrowthRate:
    """The growth rate of log ||J_T ... J_1 v|| at one (n, sigma): the closed-form lambda_1, the
    per-path estimate log ||prod v|| / T at the largest T (all paths) with its standard error,
    and the units of the exponential-law fit: every path's log-norm at the depth-grid points
    (paths, grid), whose mean is log of the geometric-mean norm."""

    sigma: float
    exact: float
    estimate: float
    error: float
    units: np.ndarray

    @property
    def mean_log(self) -> np.ndarray:
        return self.units.mean(axis=0)

    def representable(self, dtype: str) -> bool:
        """Whether the geometric-mean norm stays inside the range of `dtype` (else no fit)."""
        smallest = math.log(float(torch.finfo(getattr(torch, dtype)).tiny))
        return not (self.mean_log.min() < smallest or self.mean_log.max() > -smallest)


def geometric_mean_norms(units: np.ndarray) -> np.ndarray:
    """The statistic of the exponential-law fit: exp(mean over the units of log ||prod v||)."""
    return np.exp(units.mean(axis=0))


def growth_rate(sweep: GaussianSweep, config: ExperimentConfig, index: int) -> GrowthRate:
    sigma = config.sigmas[index]
    final = sweep.log_norms[-1, index] / config.depth
    units = sweep.log_norms[config.depth_grid - 1, index].T
    return GrowthRate(sigma, lyapunov_exponent(sigma, sweep.dimension), float(final.mean()),
                      float(final.std(ddof=1) / np.sqrt(final.size)), units)


def record_growth_rate(s: Session, sweep: GaussianSweep, config: ExperimentConfig,
                        rate: GrowthRate, z: float) -> tuple:
    """Record the per-path rate check and the exponential-law fit; return the table row."""
    where = f"n = {sweep.dimension}, sigma = {rate.sigma:g}"
    annealed = annealed_rate(rate.sigma)
    s.identity(f"lyapunov-n{sweep.dimension}-sigma{rate.sigma:g}",
               f"{where}: the per-path growth rate log ||J_T ... J_1 v|| / T at T = "
               f"{config.depth}, averaged over {config.paths} products, equals lambda_1 = log "
               f"sigma + (1/2)(log(2/n) + digamma(n/2)) = {rate.exact:.6g} within its "
               f"Bonferroni-corrected 98% CI (z = {z:.3g} standard errors)",
               abs(rate.estimate - rate.exact), z * rate.error,
               controls={f"the annealed rate log sigma = {annealed:.6g} (the growth of the mean "
                         "squared norm)": abs(rate.estimate - annealed)},
               values={"measured_rate": rate.estimate, "lyapunov_exponent": rate.exact,
                       "standard_error": rate.error})
    name = f"growth-fit-n{sweep.dimension}-sigma{rate.sigma:g}"
    words = (f"{where}: the geometric-mean norm exp(E log ||prod v||) on {len(config.depth_grid)} "
             f"depths T in [1, {config.depth}], all from the same {config.paths} products (the "
             "interval from resampling them), grows exponentially at the rate lambda_1: "
             "log-linear fit against lambda_1, and a power law in T rejected on the same points")
    representable = rate.representable(s.dtype)
    check = s.rate(name, words, config.depth_grid, None,
                   Bound.tight("T", sympy.Float(rate.exact, 6), exponential=True),
                   units=rate.units, statistic=geometric_mean_norms, decisive=representable,
                   below_precision="" if representable else
                   f"the geometric-mean norm leaves the {s.dtype} range; no fit")
    return (sweep.dimension, rate.sigma, rate.exact, rate.estimate, rate.error,
            check.fit.exponent if check.fit is not None else BELOW_PRECISION)


def growth_panel(sweep: GaussianSweep, config: ExperimentConfig) -> Panel:
    depths = tuple(float(t) for t in range(1, config.depth + 1))
    series = []
    for index, sigma in enumerate(config.sigmas):
        exact = lyapunov_exponent(sigma, sweep.dimension)
        mean = sweep.log_norms[:, index].mean(-1)
        slope, intercept = np.polyfit(depths, mean, 1)
        series += [
            Series(f"sigma = {sigma:g} (mean over paths)", depths, tuple(float(v) for v in mean)),
            Series(f"fit, slope {slope:.4g}", depths,
                   tuple(float(intercept + slope * t) for t in depths), "line"),
            Series(f"T lambda_1 = T {exact:.4g}", depths, tuple(t * exact for t in depths),
                   "dashed"),
        ]
    return Panel(f"n = {sweep.dimension}", "T (number of Jacobians)",
                 "E log ||J_T ... J_1 v||", tuple(series), xscale="linear", yscale="linear")
