"""Experiment layer of `jacobian-products`: the main check on tanh and sigmoid RNNs
(`rnn_bounds`), then batched torch products of T random Jacobians.

Sources: Pascanu, Mikolov, Bengio (2013), arXiv:1211.5063, Section 2.1 eq. (5)-(7) and Section 3
(clipping, Algorithm 1; orthogonal initialization as a remedy); Newman (1986) for
lambda_1 = log sigma + (1/2)(log(2/n) + digamma(n/2)) of iid N(0, sigma^2/n) Jacobians.

For a unit v and iid Gaussian Jacobians, log ||J_T ... J_1 v|| is a sum of T iid terms
(1/2) log((sigma^2/n) chi^2_n) by rotation invariance, so its mean is T lambda_1 and its variance
T trigamma(n/2)/4 at every T, not only asymptotically. Measured here, with paths as a leading
batch dimension and the scales sigma as a second one:
- the growth rate per (n, sigma): the per-path estimate log||prod v|| / T at the largest T against
  lambda_1, within a Bonferroni-corrected 95% CI (decisive; it rules out the annealed rate
  log sigma), and the exponential law itself: the geometric-mean norm on a grid of T, each point
  from its own block of paths (independent points), fitted log-linearly against lambda_1 and
  against a power law (decisive);
- the variance law Var(log ||prod v||) = Theta(T) (TIGHT 1; every depth is computed from the
  same products, so its interval comes from resampling the products: `variance_units`) and its
  constant trigamma(n/2)/4 (ruling out the delta-method value 1/(2n));
- the renormalized log-norm against the plain product wherever the plain product is a vector of
  normal floats, within a first-order rounding bound (`first_order_rounding_bounds`);
- sanity checks (they hold by construction, up to rounding): sigma_min^T <= ||prod v|| / ||v|| <=
  sigma_max^T for Jacobians with prescribed singular values; Haar orthogonal Jacobians keep
  log ||prod v|| = 0 (the orthogonal-initialization remedy); the tanh RNN gradient obeys
  log ||dL/ds_{T-t}|| <= t log ||W||_2 (|1 - s^2| <= 1); gradient-norm clipping caps the update
  norm at the threshold and keeps its direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy
import torch
from scipy import stats

from optverify.kit import (
    BELOW_PRECISION,
    Bound,
    Panel,
    RateFit,
    Series,
    Session,
    machine_epsilon,
    rate_panel,
)
from optverify.numerics.haar import haar_orthogonal
from optverify.numerics.validation import require_int, require_positive
from optverify.theorems.jacobian_products import rnn_bounds
from optverify.theorems.jacobian_products.products import (
    as_numpy,
    clip_by_norm,
    direct_log_norms,
    direct_products,
    first_order_rounding_bounds,
    gaussian_jacobians,
    log_norm_variance_per_step,
    lyapunov_exponent,
    prescribed_singular_values,
    renormalized_log_norms,
    spectral_norm,
    squared_log_norm,
    tanh_rnn_gradient_log_norms,
    tanh_rnn_states,
)

VARIANCE_LAW = Bound.tight("T", 1)
"""Newman's variance law: Var(log ||J_T ... J_1 v||) = Theta(T) (exactly T trigamma(n/2)/4)."""

LOG_ROUNDING_ULPS = 16
"""Each renormalized step adds a relative rounding of a few eps to the step's norm, so a log-norm
after T steps carries at most LOG_ROUNDING_ULPS * eps * T of rounding (used by the sanity checks,
e.g. for orthogonal matrices that are orthogonal to a few eps)."""

FAMILY_LEVEL = 0.05
"""Family-wise error rate of the CI checks of one run (Bonferroni over all of them)."""


RESAMPLED_PATHS = 20
"""The fewest products per (n, sigma) the variance-law and growth fits accept: their intervals
come from resampling the products, which needs more than a handful of them."""

FIRST_ORDER_LIMIT = 1e-2
"""The twin compares the points where the first-order rounding bound is below 1e-2: there the
neglected second-order terms, of the order of the bound's square, are below 1% of it."""

RANGE_SIGMA = 2.0**-16
"""The twin's deep-range scale: products of N(0, 2^-32 / n) Jacobians shrink by about 2^-16 per
step, so over T = 64 they cross the whole float64 range (the squared norm underflows from
T ~ 32, the product itself at T ~ 63) and the float32 range in 8 steps. A power of 2, so the
scaling itself is exact."""


@dataclass(frozen=True)
class ExperimentConfig:
    """paths: products per (n, sigma); depth: the largest T; dimensions, sigmas: the Gaussian
    sweep. bound_paths, bound_dimension, contracting, expanding: the singular-value ranges.
    rnn_paths, rnn_dimension, rnn_norms: the tanh RNN (||W||_2 values; inputs N(0, 1)).
    clip_sigma, clip_depth, clip_threshold: the exploding products that are clipped.
    twin_paths: products per (n, sigma) of the renormalized-vs-direct twin (the sweep's sigmas
    and RANGE_SIGMA)."""

    paths: int
    depth: int
    dimensions: tuple[int, ...]
    sigmas: tuple[float, ...]
    bound_paths: int
    bound_dimension: int
    contracting: tuple[float, float]
    expanding: tuple[float, float]
    rnn_paths: int
    rnn_dimension: int
    rnn_norms: tuple[float, ...]
    clip_sigma: float
    clip_depth: int
    clip_threshold: float
    twin_paths: int = 100

    def __post_init__(self) -> None:
        for depth in (self.depth, self.clip_depth):
            require_int("the number of Jacobians T", depth, minimum=1)
        for dimension in (*self.dimensions, self.bound_dimension, self.rnn_dimension):
            require_int("the dimension n", dimension, minimum=2)
        for paths in (self.bound_paths, self.rnn_paths, self.twin_paths):
            require_int("the paths of each sweep", paths, minimum=2)
        require_int("the paths of the resampled fits", self.paths, minimum=RESAMPLED_PATHS)
        require_positive("sigmas, weight norms and the threshold",
                         np.array((*self.sigmas, *self.rnn_norms, self.clip_sigma,
                                   self.clip_threshold)))
        if not self.contracting[1] < 1 < self.expanding[0]:
            raise ValueError("the contracting range must lie below 1 and the expanding above 1")

    @classmethod
    def quick(cls) -> ExperimentConfig:
        return cls(2000, 64, (2, 8), (0.5, 1.0, 2.0), 200, 4, (0.5, 0.9), (1.1, 2.0),
                   200, 16, (0.5, 0.9, 1.5, 3.0), 2.0, 48, 1.0)

    @classmethod
    def full(cls) -> ExperimentConfig:
        return cls(8000, 256, (2, 4, 8), (0.25, 0.5, 1.0, 2.0), 1000, 8, (0.5, 0.9),
                   (1.1, 2.0), 1000, 32, (0.5, 0.9, 1.0, 1.5, 3.0), 2.0, 64, 1.0, twin_paths=200)

    @property
    def depth_grid(self) -> np.ndarray:
        """Geometric grid of T values (1-based) for the power-law fit of the variance."""
        return np.unique(np.geomspace(1, self.depth, 12).round().astype(int))


@dataclass(frozen=True)
class GaussianSweep:
    """Renormalized log-norms (T, sigmas, paths) of products of Gaussian Jacobians for one n."""

    dimension: int
    log_norms: np.ndarray


def gaussian_sweep(s: Session, setup: ExperimentConfig, dimension: int) -> GaussianSweep:
    """One renormalized pass, drawing the Jacobians step by step (no pass stores all T)."""
    purpose = f"gaussian-n{dimension}"
    sigmas = torch.tensor(setup.sigmas, dtype=s.torch_dtype, device=s.device)[:, None]
    shape = (len(setup.sigmas), setup.paths)
    vector = torch.randn(*shape, dimension, generator=s.generator(f"{purpose}-start"),
                         dtype=s.torch_dtype, device=s.device)
    generator = s.generator(purpose)
    renormalized = renormalized_log_norms(
        vector, lambda step: gaussian_jacobians(generator, shape, dimension, sigmas,
                                                s.torch_dtype, s.device), setup.depth)
    start = torch.linalg.vector_norm(vector, dim=-1).log()
    return GaussianSweep(dimension, as_numpy(renormalized - start))


def bonferroni_z(checks: int) -> float:
    return float(stats.norm.ppf(1 - FAMILY_LEVEL / (2 * checks)))


def variance_standard_error(samples: np.ndarray) -> float:
    """Standard error of the unbiased sample variance from the fourth central moment."""
    count = samples.size
    centred = samples - samples.mean()
    variance = centred.var(ddof=1)
    fourth = np.mean(centred**4)
    return float(np.sqrt(max(fourth - variance**2 * (count - 3) / (count - 1), 0.0) / count))


def annealed_rate(sigma: float) -> float:
    """(1/2) log E ||G u||^2 = log sigma for a unit u: the growth rate of the mean squared norm,
    above lambda_1 by Jensen's gap (1/2)(log(n/2) - digamma(n/2)). The false alternative that the
    per-path growth-rate check rules out."""
    return math.log(sigma)


def delta_method_variance(dimension: int) -> float:
    """(1/4) Var(log chi^2_n) ~ (1/4)(2/n) = 1/(2n): the delta-method (large-n) value of the
    per-step log-norm variance, the false alternative of the variance-constant check."""
    return 1 / (2 * dimension)


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


def growth_rate(sweep: GaussianSweep, setup: ExperimentConfig, index: int) -> GrowthRate:
    sigma = setup.sigmas[index]
    final = sweep.log_norms[-1, index] / setup.depth
    units = sweep.log_norms[setup.depth_grid - 1, index].T
    return GrowthRate(sigma, lyapunov_exponent(sigma, sweep.dimension), float(final.mean()),
                      float(final.std(ddof=1) / np.sqrt(final.size)), units)


def _record_growth_rate(s: Session, sweep: GaussianSweep, setup: ExperimentConfig,
                        rate: GrowthRate, z: float) -> tuple:
    """Record the per-path rate check and the exponential-law fit; return the table row."""
    where = f"n = {sweep.dimension}, sigma = {rate.sigma:g}"
    annealed = annealed_rate(rate.sigma)
    s.identity(f"lyapunov-n{sweep.dimension}-sigma{rate.sigma:g}",
               f"{where}: the per-path growth rate log ||J_T ... J_1 v|| / T at T = "
               f"{setup.depth}, averaged over {setup.paths} products, equals lambda_1 = log sigma "
               f"+ (1/2)(log(2/n) + digamma(n/2)) = {rate.exact:.6g} within its "
               f"Bonferroni-corrected 95% CI (z = {z:.3g} standard errors)",
               abs(rate.estimate - rate.exact), z * rate.error,
               controls={f"the annealed rate log sigma = {annealed:.6g} (the growth of the mean "
                         "squared norm)": abs(rate.estimate - annealed)},
               values={"measured_rate": rate.estimate, "lyapunov_exponent": rate.exact,
                       "standard_error": rate.error})
    name = f"growth-fit-n{sweep.dimension}-sigma{rate.sigma:g}"
    words = (f"{where}: the geometric-mean norm exp(E log ||prod v||) on {len(setup.depth_grid)} "
             f"depths T in [1, {setup.depth}], all from the same {setup.paths} products (the "
             "interval from resampling them), grows exponentially at the rate lambda_1: "
             "log-linear fit against lambda_1, and a power law in T rejected on the same points")
    representable = rate.representable(s.dtype)
    check = s.rate(name, words, setup.depth_grid, None,
                   Bound.tight("T", sympy.Float(rate.exact, 6), exponential=True),
                   units=rate.units, statistic=geometric_mean_norms, decisive=representable,
                   below_precision="" if representable else
                   f"the geometric-mean norm leaves the {s.dtype} range; no fit")
    return (sweep.dimension, rate.sigma, rate.exact, rate.estimate, rate.error,
            check.fit.exponent if check.fit is not None else BELOW_PRECISION)


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


def _record_variance_law(s: Session, sweep: GaussianSweep, setup: ExperimentConfig,
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


@dataclass(frozen=True)
class TwinBatch:
    """Products of Gaussian Jacobians for one n, computed renormalized and directly (T, sigmas,
    paths): the log-norms, the direct one's plain squared-norm variant (the control), whether the
    direct product has stayed a vector of normal floats, and the first-order bound on the
    difference of the two."""

    dimension: int
    sigmas: tuple[float, ...]
    renormalized: np.ndarray
    direct: np.ndarray
    squared: np.ndarray
    normal: np.ndarray
    bound: np.ndarray


def twin_batch(s: Session, setup: ExperimentConfig, dimension: int) -> TwinBatch:
    sigmas = (*setup.sigmas, RANGE_SIGMA)
    generator = s.generator(f"twin-n{dimension}")
    scales = torch.tensor(sigmas, dtype=s.torch_dtype, device=s.device)[:, None]
    shape = (len(sigmas), setup.twin_paths)
    jacobians = gaussian_jacobians(generator, (setup.depth, *shape), dimension, scales,
                                   s.torch_dtype, s.device)
    vector = torch.randn(*shape, dimension, generator=generator, dtype=s.torch_dtype,
                         device=s.device)
    step = lambda t: jacobians[t - 1]
    start = torch.linalg.vector_norm(vector, dim=-1).log()
    renormalized = renormalized_log_norms(vector, step, setup.depth) - start
    direct = direct_products(vector, step, setup.depth)
    squared = direct_log_norms(vector, step, setup.depth, squared_log_norm) - start
    bound = first_order_rounding_bounds(vector, jacobians, machine_epsilon(s.dtype))
    return TwinBatch(dimension, sigmas, as_numpy(renormalized), as_numpy(direct.log_norms - start),
                     as_numpy(squared), as_numpy(direct.normal), as_numpy(bound))


@dataclass(frozen=True)
class TwinComparison:
    """The renormalized against the direct log-norms, over every twin batch: the worst difference
    over its first-order bound (and the same for the squared-norm control, over the compared
    points where it is finite), the largest difference, the points compared, those where the
    direct product left the normal range, those with a bound above FIRST_ORDER_LIMIT, and the
    largest T compared at each n."""

    ratio: float
    control_ratio: float
    largest: float
    compared: int
    outside_range: int
    uninformative: int
    deepest: dict[int, int]


def compare_twins(batches: list[TwinBatch]) -> TwinComparison:
    ratio, control, largest, compared, outside, loose, deepest = 0.0, 0.0, 0.0, 0, 0, 0, {}
    for batch in batches:
        outside += int((~batch.normal).sum())
        informative = batch.bound < FIRST_ORDER_LIMIT
        loose += int((batch.normal & ~informative).sum())
        kept = batch.normal & informative
        compared += int(kept.sum())
        if not kept.any():
            continue
        deepest[batch.dimension] = int(np.nonzero(kept.any(axis=(1, 2)))[0].max()) + 1
        difference = np.abs(batch.direct - batch.renormalized)[kept]
        ratio = max(ratio, float(np.max(difference / batch.bound[kept])))
        largest = max(largest, float(difference.max()))
        faulty = np.abs(batch.squared - batch.renormalized)[kept] / batch.bound[kept]
        if np.isfinite(faulty).any():
            control = max(control, float(np.max(faulty[np.isfinite(faulty)])))
    return TwinComparison(ratio, control, largest, compared, outside, loose, deepest)


def _record_twin(s: Session, setup: ExperimentConfig, twins: TwinComparison) -> None:
    statement = (
        "the renormalized log-norm equals the log-norm of the plain product wherever the plain "
        f"product is a vector of normal {s.dtype} numbers (every T up to the first underflow or "
        "overflow of the path), within the first-order rounding bound of the two computations "
        "(`first_order_rounding_bounds`: the adjoint's gain times the per-step rounding; "
        "residual: the worst difference / bound, allowed 1; "
        f"{setup.twin_paths} products per n in {setup.dimensions} and sigma in "
        f"{(*setup.sigmas, RANGE_SIGMA)}, sigma = 2^-16 crossing the whole range, T <= "
        f"{setup.depth}; points with a bound above {FIRST_ORDER_LIMIT:g} are left out)")
    values = {"largest_log_norm_difference": twins.largest, "points_compared": twins.compared,
              "direct_products_outside_normal_range": twins.outside_range,
              "points_with_bound_above_limit": twins.uninformative,
              **{f"deepest_T_compared_n{n}": t for n, t in twins.deepest.items()}}
    s.identity(
        "renormalized-equals-direct", statement, twins.ratio, 1.0,
        controls={"the plain product's log-norm through the squared norm, which underflows below "
                  "sqrt(smallest normal) (the defect of issue 9; its finite points)":
                  twins.control_ratio},
        values=values, decisive=twins.compared > 0,
        below_precision="" if twins.compared else
        f"no point to compare: every bound exceeds {FIRST_ORDER_LIMIT:g} or the direct products "
        "leave the normal range")


@dataclass(frozen=True)
class SingularValueRun:
    """Products of Jacobians U diag(s) V^T with s uniform in [low, high]: the log margins of the
    singular-value bounds at every T, of the exponential rate high^T (contracting) or low^T
    (expanding), and the mean log-norm at each T."""

    label: str
    low: float
    high: float
    upper_margin: float
    lower_margin: float
    regime_margin: float
    mean_log_norm_at_T: float
    mean_log_norms: np.ndarray

    @property
    def contracting(self) -> bool:
        return self.label == "contracting"


def singular_value_runs(s: Session, setup: ExperimentConfig) -> list[SingularValueRun]:
    generator = s.generator("singular-values")
    depths = torch.arange(1, setup.depth + 1, dtype=s.torch_dtype, device=s.device)[:, None]
    runs = []
    for label, (low, high) in (("contracting", setup.contracting), ("expanding", setup.expanding)):
        jacobians = prescribed_singular_values(
            generator, (setup.depth, setup.bound_paths), setup.bound_dimension, low, high,
            s.torch_dtype, s.device)
        vector = torch.randn(setup.bound_paths, setup.bound_dimension, generator=generator,
                             dtype=s.torch_dtype, device=s.device)
        logs = renormalized_log_norms(vector, lambda t, stack=jacobians: stack[t - 1], setup.depth)
        logs = logs - torch.linalg.vector_norm(vector, dim=-1).log()
        values = torch.linalg.svdvals(jacobians).log()
        regime = (depths * math.log(high) - logs if label == "contracting"
                  else logs - depths * math.log(low))
        runs.append(SingularValueRun(
            label, low, high, float((values[..., 0].cumsum(0) - logs).min()),
            float((logs - values[..., -1].cumsum(0)).min()), float(regime.min()),
            float(logs[-1].mean()), as_numpy(logs.mean(-1))))
    return runs


def _record_singular_values(s: Session, setup: ExperimentConfig,
                            run: SingularValueRun) -> None:
    eps = machine_epsilon(s.dtype)
    tolerance = LOG_ROUNDING_ULPS * eps * setup.depth * max(1.0, math.log(2.0) * setup.depth)
    where = (f"{setup.bound_paths} products of {setup.bound_dimension} x "
             f"{setup.bound_dimension} Jacobians U diag(s) V^T, s uniform in [{run.low}, "
             f"{run.high}], T <= {setup.depth}")
    s.inequality(f"singular-value-bounds-{run.label}",
                 f"{where}: sum_k log sigma_min(J_k) <= log(||J_T ... J_1 v|| / ||v||) <= sum_k log "
                 "sigma_max(J_k) at every T (worst of the two log margins). A sanity check: "
                 "sigma_min ||w|| <= ||J w|| <= sigma_max ||w|| holds for every matrix (proved in "
                 "the symbolic layer), so only rounding can break it",
                 min(run.upper_margin, run.lower_margin), tolerance, sanity=True,
                 values={"upper_margin": run.upper_margin, "lower_margin": run.lower_margin})
    rate_words = ("shrinks at least like sigma_max^T" if run.contracting
                  else "grows at least like sigma_min^T")
    s.inequality(f"{run.label}-exponential-rate",
                 f"{where}: with all singular values {'below' if run.contracting else 'above'} "
                 f"1 the product {rate_words} ({'high' if run.contracting else 'low'} = "
                 f"{run.high if run.contracting else run.low}) at every T (log margin). A sanity "
                 "check: the singular values are drawn inside the range, so the bound holds by "
                 "construction", run.regime_margin, tolerance, sanity=True,
                 values={"mean_log_norm_at_T": run.mean_log_norm_at_T,
                         "T_log_high": setup.depth * math.log(run.high),
                         "T_log_low": setup.depth * math.log(run.low)})


def orthogonal_log_norms(s: Session, setup: ExperimentConfig) -> torch.Tensor:
    """log ||J_t ... J_1 v|| / ||v|| for Haar orthogonal J_k, t = 1..T."""
    generator = s.generator("orthogonal")
    jacobians = haar_orthogonal(setup.bound_dimension, generator,
                                (setup.depth, setup.bound_paths), s.torch_dtype, s.device)
    vector = torch.randn(setup.bound_paths, setup.bound_dimension, generator=generator,
                         dtype=s.torch_dtype, device=s.device)
    logs = renormalized_log_norms(vector, lambda t: jacobians[t - 1], setup.depth)
    return logs - torch.linalg.vector_norm(vector, dim=-1).log()


def _record_orthogonal(s: Session, setup: ExperimentConfig, logs: torch.Tensor) -> None:
    s.identity(
        "orthogonal-rate-zero",
        f"{setup.bound_paths} products of Haar orthogonal {setup.bound_dimension} x "
        f"{setup.bound_dimension} Jacobians (orthogonal initialization): log ||J_T ... J_1 v|| = "
        f"log ||v|| at every T <= {setup.depth}, growth rate exactly 0 (worst |log-norm|). A "
        "sanity check: ||Q v|| = ||v|| for orthogonal Q, so only rounding (and the orthogonality "
        "of the generated Q to a few eps) enters",
        float(logs.abs().max()), LOG_ROUNDING_ULPS * machine_epsilon(s.dtype) * setup.depth,
        sanity=True)


@dataclass(frozen=True)
class RnnRun:
    """Gradient log-norms (t, paths) back-propagated t steps through a tanh RNN."""

    label: str
    weight_norm: float
    log_norms: np.ndarray

    @property
    def rate(self) -> float:
        depths = np.arange(1, self.log_norms.shape[0] + 1)
        return float(np.polyfit(depths, self.log_norms.mean(-1), 1)[0])


def _rnn_weights(s: Session, generator: torch.Generator, setup: ExperimentConfig, norm: float,
                 orthogonal: bool) -> torch.Tensor:
    shape = (setup.rnn_paths,)
    if orthogonal:
        return norm * haar_orthogonal(setup.rnn_dimension, generator, shape, s.torch_dtype,
                                      s.device)
    raw = torch.randn(*shape, setup.rnn_dimension, setup.rnn_dimension, generator=generator,
                      dtype=s.torch_dtype, device=s.device)
    return norm * raw / spectral_norm(raw)[:, None, None]


def rnn_runs(s: Session, setup: ExperimentConfig) -> list[RnnRun]:
    generator = s.generator("rnn")
    inputs = torch.randn(setup.depth, setup.rnn_paths, setup.rnn_dimension, generator=generator,
                         dtype=s.torch_dtype, device=s.device)
    final = torch.randn(setup.rnn_paths, setup.rnn_dimension, generator=generator,
                        dtype=s.torch_dtype, device=s.device)
    start = torch.linalg.vector_norm(final, dim=-1).log()
    runs = []
    for norm, orthogonal in [*((n, False) for n in setup.rnn_norms), (1.0, True)]:
        weight = _rnn_weights(s, generator, setup, norm, orthogonal)
        logs = tanh_rnn_gradient_log_norms(weight, tanh_rnn_states(weight, inputs), final)
        label = f"{'orthogonal' if orthogonal else 'Gaussian'} W, ||W||_2 = {norm:g}"
        runs.append(RnnRun(label, norm, as_numpy(logs - start)))
    return runs


def _record_rnn_bound(s: Session, runs: list[RnnRun], setup: ExperimentConfig) -> None:
    contracting = [r for r in runs if r.weight_norm < 1]
    margins = []
    for r in contracting:
        depths = np.arange(1, r.log_norms.shape[0] + 1)[:, None]
        margins.append(float((depths * np.log(r.weight_norm) - r.log_norms).min()))
    s.inequality(
        "tanh-rnn-gradient-bound",
        f"tanh RNN (n = {setup.rnn_dimension}, {setup.rnn_paths} paths, inputs N(0, 1)) with "
        f"||W||_2 in {[r.weight_norm for r in contracting]}: log ||dL/ds_(T-t)|| - log "
        "||dL/ds_T|| <= t log ||W||_2 at every t (worst log margin). A sanity check: each "
        "Jacobian diag(1 - s_k^2) W has norm <= ||W||_2 because |1 - s^2| <= 1, so only "
        "rounding can break it",
        min(margins), LOG_ROUNDING_ULPS * machine_epsilon(s.dtype) * setup.depth * setup.depth,
        sanity=True,
        values={f"rate_{r.label}": r.rate for r in runs})


@dataclass(frozen=True)
class ClippedGradients:
    """Gradients back-propagated through exploding Gaussian Jacobians, before and after
    clipping: the largest norms, the fraction clipped and the worst change of direction."""

    largest_clipped_norm: float
    largest_unclipped_norm: float
    fraction_clipped: float
    worst_direction_change: float


def clipped_gradients(s: Session, setup: ExperimentConfig, dimension: int) -> ClippedGradients:
    generator = s.generator("clipping")
    jacobians = gaussian_jacobians(generator, (setup.clip_depth, setup.bound_paths), dimension,
                                   setup.clip_sigma, s.torch_dtype, s.device)
    gradient = torch.randn(setup.bound_paths, dimension, generator=generator,
                           dtype=s.torch_dtype, device=s.device)
    gradients = []
    for jacobian in jacobians:
        gradient = (jacobian @ gradient[..., None])[..., 0]
        gradients.append(gradient)
    stacked = torch.stack(gradients)
    clipped = clip_by_norm(stacked, setup.clip_threshold)
    norms = torch.linalg.vector_norm(stacked, dim=-1)
    clipped_norms = torch.linalg.vector_norm(clipped, dim=-1)
    cosine = (clipped * stacked).sum(-1) / (clipped_norms * norms)
    return ClippedGradients(float(clipped_norms.max()), float(norms.max()),
                            float((norms > setup.clip_threshold).double().mean()),
                            float((1 - cosine).abs().max()))


def _record_clipping(s: Session, setup: ExperimentConfig, dimension: int,
                     clipping: ClippedGradients) -> None:
    tolerance = 4 * machine_epsilon(s.dtype)
    s.inequality(
        "clipping-bounds-update",
        f"gradients through T <= {setup.clip_depth} Gaussian Jacobians with sigma = "
        f"{setup.clip_sigma} (exploding, lambda_1 = "
        f"{lyapunov_exponent(setup.clip_sigma, dimension):.3g}; {clipping.fraction_clipped:.3g} "
        f"of them clipped) clipped by norm at {setup.clip_threshold} (Algorithm 1 of "
        "arXiv:1211.5063): every clipped update has norm <= threshold and keeps its direction "
        "(margin: the worse of 1 - largest clipped norm / threshold and -(1 - cos(clipped, "
        "unclipped)), worst over the updates; tolerance 4 eps). A sanity check: Algorithm 1 rescales g by "
        "min(1, threshold / ||g||), which caps the norm and keeps the direction by construction",
        min(1 - clipping.largest_clipped_norm / setup.clip_threshold,
            -clipping.worst_direction_change), tolerance, sanity=True,
        values={"largest_unclipped_norm": clipping.largest_unclipped_norm,
                "fraction_clipped": clipping.fraction_clipped,
                "worst_direction_change": clipping.worst_direction_change})


def verify(s: Session) -> None:
    rnn_bounds.verify(s)
    setup = s.preset(quick=ExperimentConfig.quick(), full=ExperimentConfig.full())
    sweeps = s.map(lambda n: gaussian_sweep(s, setup, n), setup.dimensions,
                   "torch: Gaussian Jacobian products")
    z = bonferroni_z(len(setup.dimensions) * (len(setup.sigmas) + 1))
    rows, growth_panels, variance_panels = [], [], []
    for sweep in sweeps:
        law = variance_law(sweep, setup)
        fit = _record_variance_law(s, sweep, setup, law, z)
        rows += [_record_growth_rate(s, sweep, setup, growth_rate(sweep, setup, index), z)
                 for index in range(len(setup.sigmas))]
        growth_panels.append(_growth_panel(sweep, setup))
        variance_panels.append(_variance_panel(sweep, law, fit))
    _record_twin(s, setup, compare_twins(
        s.map(lambda n: twin_batch(s, setup, n), setup.dimensions, "torch: twin products")))
    bounds = singular_value_runs(s, setup)
    for run in bounds:
        _record_singular_values(s, setup, run)
    _record_orthogonal(s, setup, orthogonal_log_norms(s, setup))
    runs = rnn_runs(s, setup)
    _record_rnn_bound(s, runs, setup)
    dimension = setup.dimensions[-1]
    _record_clipping(s, setup, dimension, clipped_gradients(s, setup, dimension))
    _record_figures(s, growth_panels, variance_panels, _bounds_panel(bounds, setup),
                    _rnn_panel(runs))
    _record_tables(s, rows, runs)
    s.note(f"{s.dtype} on {s.device}; log-norms accumulated with renormalization at every "
           "step; CI checks Bonferroni-corrected to a 5% family-wise level.")


def _record_figures(s: Session, growth_panels: list[Panel], variance_panels: list[Panel],
                    bounds_panel: Panel, rnn_panel: Panel) -> None:
    s.figure("log-norm-vs-T", "Log-norm of products of T Gaussian Jacobians", growth_panels,
             columns=len(growth_panels))
    s.figure("log-variance-vs-T", "Variance of the log-norm against T", variance_panels,
             columns=len(variance_panels))
    s.figure("bounds-and-rnn", "Singular-value bounds and tanh RNN gradients",
             (bounds_panel, rnn_panel), columns=2)


def _record_tables(s: Session, rows: list[tuple], runs: list[RnnRun]) -> None:
    s.table("lyapunov-rates", "Growth rate of log ||J_T ... J_1 v|| per step: closed form "
            "lambda_1, per-path estimate at the largest T, and the log-linear fit",
            ("n", "sigma", "lambda_1", "per-path rate", "standard error", "fitted rate"), rows)
    s.table("tanh-rnn-rates", "tanh RNN: mean gradient log-norm per step back in time",
            ("weight", "||W||_2", "log ||W||_2", "measured rate"),
            ((r.label, r.weight_norm, math.log(r.weight_norm), r.rate) for r in runs))


def _variance_panel(sweep: GaussianSweep, law: VarianceLaw, fit: RateFit) -> Panel:
    return rate_panel(f"n = {sweep.dimension}", "T (number of Jacobians)",
                      "Var(log ||J_T ... J_1 v||)", law.grid, law.variances, fit, VARIANCE_LAW)


def _growth_panel(sweep: GaussianSweep, setup: ExperimentConfig) -> Panel:
    depths = tuple(float(t) for t in range(1, setup.depth + 1))
    series = []
    for index, sigma in enumerate(setup.sigmas):
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


def _bounds_panel(bounds: list[SingularValueRun], setup: ExperimentConfig) -> Panel:
    depths = tuple(float(t) for t in range(1, setup.depth + 1))
    series = []
    for run in bounds:
        low, high = run.low, run.high
        series += [
            Series(f"{run.label}: s in [{low}, {high}] (mean)", depths,
                   tuple(float(v) for v in run.mean_log_norms)),
            Series(f"T log {high}", depths, tuple(t * math.log(high) for t in depths), "dashed"),
            Series(f"T log {low}", depths, tuple(t * math.log(low) for t in depths), "dashed"),
        ]
    return Panel("singular values in a range", "T", "log ||J_T ... J_1 v|| / ||v||",
                 tuple(series), xscale="linear", yscale="linear")


def _rnn_panel(runs: list[RnnRun]) -> Panel:
    series = []
    for r in runs:
        depths = tuple(float(t) for t in range(1, r.log_norms.shape[0] + 1))
        series.append(Series(f"{r.label} (rate {r.rate:.3g})", depths,
                             tuple(float(v) for v in r.log_norms.mean(-1))))
        if r.weight_norm < 1:
            series.append(Series(f"t log {r.weight_norm:g} (bound)", depths,
                                 tuple(t * math.log(r.weight_norm) for t in depths), "dashed"))
    return Panel("tanh RNN gradient back t steps", "t", "E log ||dL/ds_(T-t)|| / ||dL/ds_T||",
                 tuple(series), xscale="linear", yscale="linear")
