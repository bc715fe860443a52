"""Experiment layer of `jacobian-products`: batched torch products of T random Jacobians.

Sources: Pascanu, Mikolov, Bengio (2013), arXiv:1211.5063, Section 2.1 eq. (5)-(7) and Section 3
(clipping, Algorithm 1; orthogonal initialization as a remedy); Newman (1986) for
lambda_1 = log sigma + (1/2)(log(2/n) + digamma(n/2)) of iid N(0, sigma^2/n) Jacobians.

For a unit v and iid Gaussian Jacobians, log ||J_T ... J_1 v|| is a sum of T iid terms
(1/2) log((sigma^2/n) chi^2_n) by rotation invariance, so its mean is T lambda_1 and its variance
T trigamma(n/2)/4 at every T, not only asymptotically. Measured here, with paths as a leading
batch dimension and the scales sigma as a second one:
- the growth rate per (n, sigma): the per-path estimate log||prod v|| / T at the largest T against
  lambda_1, within a Bonferroni-corrected 95% CI (decisive), and the log-linear fit of the
  geometric-mean norm against lambda_1 with the fixed exponent tolerance (reported);
- the variance law Var(log ||prod v||) = Theta(T) (TIGHT 1, the main bound) and its constant;
- sigma_min^T <= ||prod v|| / ||v|| <= sigma_max^T for Jacobians with all singular values below 1
  and all above 1 (margins at every T);
- Haar orthogonal Jacobians: log ||prod v|| = 0 at every T (the orthogonal-initialization remedy);
- tanh RNN: gradient log-norm against T for several ||W||_2, with log ||dL/ds_{T-t}|| <=
  t log ||W||_2 for ||W||_2 < 1;
- gradient-norm clipping bounds the update norm of exploding products by the threshold.
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
    Verdict,
    fit_power_law,
    machine_epsilon,
    rate_panel,
)
from optverify.numerics.haar import haar_orthogonal
from optverify.numerics.threads import single_threaded_on_cpu
from optverify.theorems.jacobian_products.products import (
    as_numpy,
    check_depth,
    check_dimension,
    clip_by_norm,
    direct_log_norms,
    gaussian_jacobians,
    log_norm_rounding_bounds,
    log_norm_variance_per_step,
    lyapunov_exponent,
    prescribed_singular_values,
    renormalized_log_norms,
    spectral_norm,
    tanh_rnn_gradient_log_norms,
    tanh_rnn_states,
)

VARIANCE_LAW = Bound.tight("T", 1)
"""The claim's main bound: Var(log ||J_T ... J_1 v||) = Theta(T)."""

LOG_ROUNDING_ULPS = 16
"""Each renormalized step adds a relative rounding of a few eps to the step's norm, so a log-norm
after T steps carries at most LOG_ROUNDING_ULPS * eps * T of rounding (also for the direct
product, and for orthogonal matrices that are orthogonal to a few eps)."""

FAMILY_LEVEL = 0.05
"""Family-wise error rate of the CI checks of one run (Bonferroni over all of them)."""


@dataclass(frozen=True)
class ExperimentConfig:
    """paths: products per (n, sigma); depth: the largest T; dimensions, sigmas: the Gaussian
    sweep. bound_paths, bound_dimension, contracting, expanding: the singular-value ranges.
    rnn_paths, rnn_dimension, rnn_norms: the tanh RNN (||W||_2 values; inputs N(0, 1)).
    clip_sigma, clip_depth, clip_threshold: the exploding products that are clipped."""

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

    def __post_init__(self) -> None:
        for depth in (self.depth, self.clip_depth):
            check_depth(depth)
        for dimension in (*self.dimensions, self.bound_dimension, self.rnn_dimension):
            check_dimension(dimension)
        if min(self.paths, self.bound_paths, self.rnn_paths) < 2:
            raise ValueError("each sweep needs at least 2 paths")
        scales = (*self.sigmas, *self.rnn_norms, self.clip_sigma, self.clip_threshold)
        if not all(math.isfinite(value) and value > 0 for value in scales):
            raise ValueError(f"sigmas, weight norms and the threshold must be positive, got {scales}")
        if not self.contracting[1] < 1 < self.expanding[0]:
            raise ValueError("the contracting range must lie below 1 and the expanding above 1")

    @classmethod
    def quick(cls) -> ExperimentConfig:
        return cls(2000, 64, (2, 8), (0.5, 1.0, 2.0), 200, 4, (0.5, 0.9), (1.1, 2.0),
                   200, 16, (0.5, 0.9, 1.5, 3.0), 2.0, 48, 1.0)

    @classmethod
    def full(cls) -> ExperimentConfig:
        return cls(8000, 256, (2, 4, 8), (0.25, 0.5, 1.0, 2.0), 1000, 8, (0.5, 0.9),
                   (1.1, 2.0), 1000, 32, (0.5, 0.9, 1.0, 1.5, 3.0), 2.0, 64, 1.0)

    @property
    def depth_grid(self) -> np.ndarray:
        """Geometric grid of T values (1-based) for the power-law fit of the variance."""
        return np.unique(np.geomspace(1, self.depth, 12).round().astype(int))


@dataclass(frozen=True)
class GaussianSweep:
    """Renormalized log-norms (T, sigmas, paths) of products of Gaussian Jacobians for one n,
    the direct (plain) log-norms of the same products, for the twin, and the bound on the
    rounding error of each log-norm (`log_norm_rounding_bounds`)."""

    dimension: int
    log_norms: np.ndarray
    direct: np.ndarray
    rounding: np.ndarray


def gaussian_sweep(s: Session, setup: ExperimentConfig, dimension: int) -> GaussianSweep:
    """Three passes over the same Jacobians (renormalized, direct, rounding bound), each drawing
    them afresh from an identically seeded generator, so no pass stores all T of them."""
    purpose = f"gaussian-n{dimension}"
    sigmas = torch.tensor(setup.sigmas, dtype=s.torch_dtype, device=s.device)[:, None]
    shape = (len(setup.sigmas), setup.paths)
    vector = torch.randn(*shape, dimension, generator=s.generator(f"{purpose}-start"),
                         dtype=s.torch_dtype, device=s.device)

    def jacobian_stream():
        generator = s.generator(purpose)
        return lambda step: gaussian_jacobians(generator, shape, dimension, sigmas,
                                               s.torch_dtype, s.device)

    renormalized = renormalized_log_norms(vector, jacobian_stream(), setup.depth)
    direct = direct_log_norms(vector, jacobian_stream(), setup.depth)
    rounding = log_norm_rounding_bounds(vector, jacobian_stream(), setup.depth,
                                        machine_epsilon(s.dtype))
    start = torch.linalg.vector_norm(vector, dim=-1).log()
    return GaussianSweep(dimension, as_numpy(renormalized - start), as_numpy(direct - start),
                         as_numpy(rounding))


def bonferroni_z(checks: int) -> float:
    return float(stats.norm.ppf(1 - FAMILY_LEVEL / (2 * checks)))


def variance_standard_error(samples: np.ndarray) -> float:
    """Standard error of the unbiased sample variance from the fourth central moment."""
    count = samples.size
    centred = samples - samples.mean()
    variance = centred.var(ddof=1)
    fourth = np.mean(centred**4)
    return float(np.sqrt(max(fourth - variance**2 * (count - 3) / (count - 1), 0.0) / count))


@dataclass(frozen=True)
class GrowthRate:
    """The growth rate of log ||J_T ... J_1 v|| at one (n, sigma): the closed-form lambda_1, the
    per-path estimate log ||prod v|| / T at the largest T with its standard error, and the
    geometric-mean log-norms on the depth grid (for the log-linear fit)."""

    sigma: float
    exact: float
    estimate: float
    error: float
    mean_log: np.ndarray

    @property
    def representable(self) -> bool:
        """Whether the geometric-mean norm stays inside the float64 range (else no fit)."""
        smallest = math.log(np.finfo(np.float64).tiny)
        return not (self.mean_log.min() < smallest or self.mean_log.max() > -smallest)


def growth_rate(sweep: GaussianSweep, setup: ExperimentConfig, index: int) -> GrowthRate:
    sigma = setup.sigmas[index]
    final = sweep.log_norms[-1, index] / setup.depth
    return GrowthRate(sigma, lyapunov_exponent(sigma, sweep.dimension), float(final.mean()),
                      float(final.std(ddof=1) / np.sqrt(final.size)),
                      sweep.log_norms[setup.depth_grid - 1, index].mean(-1))


def _record_growth_rate(s: Session, sweep: GaussianSweep, setup: ExperimentConfig,
                        rate: GrowthRate, z: float) -> tuple:
    """Record the decisive per-path check and the reported fit; return the table row."""
    where = f"n = {sweep.dimension}, sigma = {rate.sigma:g}"
    s.identity(f"lyapunov-n{sweep.dimension}-sigma{rate.sigma:g}",
               f"{where}: the per-path growth rate log ||J_T ... J_1 v|| / T at T = "
               f"{setup.depth}, averaged over {setup.paths} products, equals lambda_1 = log sigma "
               f"+ (1/2)(log(2/n) + digamma(n/2)) = {rate.exact:.6g} within its "
               f"Bonferroni-corrected 95% CI (z = {z:.3g} standard errors)",
               abs(rate.estimate - rate.exact), z * rate.error,
               values={"measured_rate": rate.estimate, "lyapunov_exponent": rate.exact,
                       "standard_error": rate.error})
    name = f"growth-fit-n{sweep.dimension}-sigma{rate.sigma:g}"
    words = (f"{where}: log-linear fit of the geometric-mean norm exp(E log ||prod v||) "
             f"against T in [1, {setup.depth}] has slope lambda_1 (reported: the points share "
             "paths, so the fit's CI is not a valid one; the decisive check is the per-path "
             "estimate)")
    if not rate.representable:
        s.check(name, words, Verdict.INCONCLUSIVE,
                f"the geometric-mean norm leaves the {s.dtype} range ({BELOW_PRECISION}); no fit",
                decisive=False)
        return (sweep.dimension, rate.sigma, rate.exact, rate.estimate, rate.error,
                BELOW_PRECISION)
    check = s.rate(name, words, setup.depth_grid, np.exp(rate.mean_log),
                   Bound.tight("T", sympy.Float(rate.exact, 6), exponential=True), decisive=False)
    return (sweep.dimension, rate.sigma, rate.exact, rate.estimate, rate.error,
            check.fit.exponent)


@dataclass(frozen=True)
class VarianceLaw:
    """Var(log ||prod v||) on the depth grid (averaged over sigma) with its power-law fit, and the
    per-step variance at the largest T with its standard error, against trigamma(n/2)/4."""

    grid: np.ndarray
    variances: np.ndarray
    fit: RateFit
    per_step: float
    measured: float
    error: float


def variance_law(sweep: GaussianSweep, setup: ExperimentConfig) -> VarianceLaw:
    grid = setup.depth_grid
    variances = sweep.log_norms[grid - 1].var(-1, ddof=1).mean(-1)
    final = sweep.log_norms[-1]
    errors = [variance_standard_error(samples) for samples in final]
    return VarianceLaw(
        grid, variances, fit_power_law(grid, variances),
        log_norm_variance_per_step(sweep.dimension),
        float(final.var(-1, ddof=1).mean()) / setup.depth,
        float(np.sqrt(np.sum(np.square(errors)))) / len(errors) / setup.depth)


def _record_variance_law(s: Session, sweep: GaussianSweep, setup: ExperimentConfig,
                         law: VarianceLaw, z: float) -> None:
    where = (f"n = {sweep.dimension}, {setup.paths} Gaussian products per sigma in "
             f"{setup.sigmas} (variance averaged over sigma)")
    s.fitted_rate(f"log-variance-law-n{sweep.dimension}",
                  f"{where}: Var(log ||J_T ... J_1 v||) grows like T (fitted power of T over "
                  f"T in [1, {setup.depth}])", law.fit, main=True)
    s.identity(f"log-variance-constant-n{sweep.dimension}",
               f"{where}: Var(log ||prod v||) / T at T = {setup.depth} equals trigamma(n/2)/4 = "
               f"{law.per_step:.6g} within its Bonferroni-corrected 95% CI (z = {z:.3g})",
               abs(law.measured - law.per_step), z * law.error,
               values={"measured_variance_per_step": law.measured, "standard_error": law.error})


INFORMATIVE_BOUND = 1e-6
"""The rounding bound grows exponentially along a path (direction errors are amplified by
kappa_t >= 1 in the worst case), so past some T it no longer constrains anything; the twin compares
the points where the bound is below 1e-6, ten orders tighter than any log-norm it checks."""


@dataclass(frozen=True)
class TwinComparison:
    """The renormalized against the direct log-norms, over every sweep: the worst difference over
    twice the rounding bound, the largest difference, the points compared and those left out
    (outside the range, or with an uninformative rounding bound)."""

    ratio: float
    largest: float
    compared: int
    below: int


def compare_twins(sweeps: list[GaussianSweep]) -> TwinComparison:
    ratio, below, largest, compared = 0.0, 0, 0.0, 0
    for sweep in sweeps:
        representable = np.isfinite(sweep.direct)
        below += int((~representable).sum())
        finite = representable & (sweep.rounding < INFORMATIVE_BOUND)
        compared += int(finite.sum())
        below += int((~finite).sum())
        if not finite.any():
            continue
        difference = np.abs(sweep.direct - sweep.log_norms)[finite]
        # both computations carry the rounding bound, so their difference is within twice it
        ratio = max(ratio, float(np.max(difference / (2 * sweep.rounding[finite]))))
        largest = max(largest, float(difference.max()))
    return TwinComparison(ratio, largest, compared, below)


def _record_twin(s: Session, twins: TwinComparison) -> None:
    if twins.compared == 0:
        s.check("renormalized-equals-direct",
                "the renormalized log-norm equals the log-norm of the plain product wherever the "
                f"plain product is representable in {s.dtype}, within twice the first-order "
                "rounding bound of each path", Verdict.INCONCLUSIVE,
                f"below precision: the {s.dtype} rounding bound exceeds {INFORMATIVE_BOUND:g} at "
                "every T, so no point can be compared", values={"points_compared": 0})
        return
    s.identity(
        "renormalized-equals-direct",
        "the renormalized log-norm equals the log-norm of the plain product wherever the plain "
        f"product is representable in {s.dtype}, within twice the first-order rounding bound of "
        "each path (`log_norm_rounding_bounds`; residual: the worst difference / allowed ratio, "
        f"allowed 1; all n, sigma, paths, at the T where the bound is below {INFORMATIVE_BOUND:g})",
        twins.ratio, 1.0,
        values={"largest_log_norm_difference": twins.largest, "points_compared": twins.compared,
                "direct_products_outside_range": twins.below})


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
                 "sigma_max(J_k) at every T (worst of the two log margins)",
                 min(run.upper_margin, run.lower_margin), tolerance,
                 values={"upper_margin": run.upper_margin, "lower_margin": run.lower_margin})
    rate_words = ("shrinks at least like sigma_max^T" if run.contracting
                  else "grows at least like sigma_min^T")
    s.inequality(f"{run.label}-exponential-rate",
                 f"{where}: with all singular values {'below' if run.contracting else 'above'} "
                 f"1 the product {rate_words} ({'high' if run.contracting else 'low'} = "
                 f"{run.high if run.contracting else run.low}) at every T (log margin)",
                 run.regime_margin, tolerance,
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
        f"log ||v|| at every T <= {setup.depth}, growth rate exactly 0 (worst |log-norm|)",
        float(logs.abs().max()), LOG_ROUNDING_ULPS * machine_epsilon(s.dtype) * setup.depth)


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
        "||dL/ds_T|| <= t log ||W||_2 at every t (worst log margin)",
        min(margins), LOG_ROUNDING_ULPS * machine_epsilon(s.dtype) * setup.depth * setup.depth,
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
    s.inequality(
        "clipping-bounds-update",
        f"gradients through T <= {setup.clip_depth} Gaussian Jacobians with sigma = "
        f"{setup.clip_sigma} (exploding, lambda_1 = "
        f"{lyapunov_exponent(setup.clip_sigma, dimension):.3g}) clipped by norm at "
        f"{setup.clip_threshold} (Algorithm 1 of arXiv:1211.5063): every clipped update has "
        "norm <= threshold and keeps its direction (margin: threshold - largest clipped norm, "
        "relative)",
        1 - clipping.largest_clipped_norm / setup.clip_threshold, 4 * machine_epsilon(s.dtype),
        values={"largest_unclipped_norm": clipping.largest_unclipped_norm,
                "fraction_clipped": clipping.fraction_clipped,
                "worst_direction_change": clipping.worst_direction_change})


def verify(s: Session) -> None:
    with single_threaded_on_cpu(s.device):
        _verify(s)


def _verify(s: Session) -> None:
    setup = s.preset(quick=ExperimentConfig.quick(), full=ExperimentConfig.full())
    sweeps = [gaussian_sweep(s, setup, n)
              for n in s.progress(setup.dimensions, "torch: Gaussian Jacobian products")]
    z = bonferroni_z(len(setup.dimensions) * (len(setup.sigmas) + 1))
    rows, growth_panels, variance_panels = [], [], []
    for sweep in sweeps:
        law = variance_law(sweep, setup)
        _record_variance_law(s, sweep, setup, law, z)
        rows += [_record_growth_rate(s, sweep, setup, growth_rate(sweep, setup, index), z)
                 for index in range(len(setup.sigmas))]
        growth_panels.append(_growth_panel(sweep, setup))
        variance_panels.append(_variance_panel(sweep, law))
    _record_twin(s, compare_twins(sweeps))
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


def _variance_panel(sweep: GaussianSweep, law: VarianceLaw) -> Panel:
    return rate_panel(f"n = {sweep.dimension}", "T (number of Jacobians)",
                      "Var(log ||J_T ... J_1 v||)", law.grid, law.variances, law.fit, VARIANCE_LAW)


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
