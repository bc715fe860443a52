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

from optverify.claim import Bound, BoundKind, Layer, Progress, RunConfig
from optverify.figures import rate_panel
from optverify.numerics.fit import fit_exponential_rate, fit_power_law
from optverify.numerics.precision import BELOW_PRECISION, machine_epsilon
from optverify.numerics.threads import single_threaded_on_cpu
from optverify.results import Check, Figure, LayerResult, Panel, Series, Table, Verdict
from optverify.theorems.jacobian_products.products import (
    as_numpy,
    check_depth,
    check_dimension,
    clip_by_norm,
    direct_log_norms,
    gaussian_jacobians,
    haar_orthogonal,
    log_norm_rounding_bounds,
    log_norm_variance_per_step,
    lyapunov_exponent,
    prescribed_singular_values,
    renormalized_log_norms,
    spectral_norm,
    tanh_rnn_gradient_log_norms,
    tanh_rnn_states,
)
from optverify.verdict import identity_check, inequality_check, rate_check

VARIANCE_LAW = Bound(BoundKind.TIGHT, "T", sympy.Integer(1))

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


def gaussian_sweep(setup: ExperimentConfig, dimension: int, run: RunConfig) -> GaussianSweep:
    """Three passes over the same Jacobians (renormalized, direct, rounding bound), each drawing
    them afresh from an identically seeded generator, so no pass stores all T of them."""
    purpose = f"gaussian-n{dimension}"
    sigmas = torch.tensor(setup.sigmas, dtype=run.torch_dtype, device=run.device)[:, None]
    shape = (len(setup.sigmas), setup.paths)
    vector = torch.randn(*shape, dimension, generator=run.torch_generator(f"{purpose}-start"),
                         dtype=run.torch_dtype, device=run.device)

    def jacobian_stream():
        generator = run.torch_generator(purpose)
        return lambda step: gaussian_jacobians(generator, shape, dimension, sigmas,
                                               run.torch_dtype, run.device)

    renormalized = renormalized_log_norms(vector, jacobian_stream(), setup.depth)
    direct = direct_log_norms(vector, jacobian_stream(), setup.depth)
    rounding = log_norm_rounding_bounds(vector, jacobian_stream(), setup.depth,
                                        machine_epsilon(run.dtype))
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


def _lyapunov_checks(sweep: GaussianSweep, setup: ExperimentConfig, z: float,
                     dtype: str) -> tuple[list[Check], list[tuple]]:
    checks, rows = [], []
    depth = setup.depth
    grid = setup.depth_grid
    for index, sigma in enumerate(setup.sigmas):
        exact = lyapunov_exponent(sigma, sweep.dimension)
        final = sweep.log_norms[-1, index] / depth
        estimate, error = float(final.mean()), float(final.std(ddof=1) / np.sqrt(final.size))
        where = f"n = {sweep.dimension}, sigma = {sigma:g}"
        checks.append(identity_check(
            Layer.EXPERIMENT, f"lyapunov-n{sweep.dimension}-sigma{sigma:g}",
            f"{where}: the per-path growth rate log ||J_T ... J_1 v|| / T at T = {depth}, "
            f"averaged over {setup.paths} products, equals lambda_1 = log sigma + (1/2)(log(2/n) "
            f"+ digamma(n/2)) = {exact:.6g} within its Bonferroni-corrected 95% CI "
            f"(z = {z:.3g} standard errors)",
            abs(estimate - exact), z * error,
            values={"measured_rate": estimate, "lyapunov_exponent": exact,
                    "standard_error": error}))
        mean_log = sweep.log_norms[grid - 1, index].mean(-1)
        smallest = math.log(np.finfo(np.float64).tiny)
        bound = Bound(BoundKind.TIGHT, "T", sympy.Float(exact, 6), exponential=True)
        name = f"growth-fit-n{sweep.dimension}-sigma{sigma:g}"
        words = (f"{where}: log-linear fit of the geometric-mean norm exp(E log ||prod v||) "
                 f"against T in [1, {depth}] has slope lambda_1 (reported: the points share "
                 "paths, so the fit's CI is not a valid one; the decisive check is the per-path "
                 "estimate)")
        if mean_log.min() < smallest or mean_log.max() > -smallest:
            checks.append(Check(Layer.EXPERIMENT, name, words, Verdict.INCONCLUSIVE,
                                detail=f"the geometric-mean norm leaves the {dtype} range "
                                       f"({BELOW_PRECISION}); no fit", decisive=False))
            fit = None
        else:
            fit = fit_exponential_rate(grid, np.exp(mean_log))
            checks.append(rate_check(Layer.EXPERIMENT, name, words, fit, bound, decisive=False))
        rows.append((sweep.dimension, sigma, exact, estimate, error,
                     fit.exponent if fit else BELOW_PRECISION))
    return checks, rows


def _variance_checks(sweep: GaussianSweep, setup: ExperimentConfig, z: float):
    grid = setup.depth_grid
    variances = sweep.log_norms[grid - 1].var(-1, ddof=1).mean(-1)
    fit = fit_power_law(grid, variances)
    per_step = log_norm_variance_per_step(sweep.dimension)
    final = sweep.log_norms[-1]
    errors = [variance_standard_error(samples) for samples in final]
    measured = float(final.var(-1, ddof=1).mean()) / setup.depth
    error = float(np.sqrt(np.sum(np.square(errors)))) / len(errors) / setup.depth
    where = (f"n = {sweep.dimension}, {setup.paths} Gaussian products per sigma in "
             f"{setup.sigmas} (variance averaged over sigma)")
    checks = [
        rate_check(Layer.EXPERIMENT, f"log-variance-law-n{sweep.dimension}",
                   f"{where}: Var(log ||J_T ... J_1 v||) grows like T (fitted power of T over "
                   f"T in [1, {setup.depth}])", fit, VARIANCE_LAW),
        identity_check(
            Layer.EXPERIMENT, f"log-variance-constant-n{sweep.dimension}",
            f"{where}: Var(log ||prod v||) / T at T = {setup.depth} equals trigamma(n/2)/4 = "
            f"{per_step:.6g} within its Bonferroni-corrected 95% CI (z = {z:.3g})",
            abs(measured - per_step), z * error,
            values={"measured_variance_per_step": measured, "standard_error": error}),
    ]
    return checks, grid, variances, fit


INFORMATIVE_BOUND = 1e-6
"""The rounding bound grows exponentially along a path (direction errors are amplified by
kappa_t >= 1 in the worst case), so past some T it no longer constrains anything; the twin compares
the points where the bound is below 1e-6, ten orders tighter than any log-norm it checks."""


def _twin_check(sweeps: list[GaussianSweep], dtype: str) -> Check:
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
    statement = ("the renormalized log-norm equals the log-norm of the plain product wherever the "
                 f"plain product is representable in {dtype}, within twice the first-order "
                 "rounding bound of each path")
    if compared == 0:
        return Check(Layer.EXPERIMENT, "renormalized-equals-direct", statement,
                     Verdict.INCONCLUSIVE,
                     detail=f"below precision: the {dtype} rounding bound exceeds "
                            f"{INFORMATIVE_BOUND:g} at every T, so no point can be compared",
                     values={"points_compared": 0})
    return identity_check(
        Layer.EXPERIMENT, "renormalized-equals-direct",
        "the renormalized log-norm equals the log-norm of the plain product wherever the plain "
        f"product is representable in {dtype}, within twice the first-order rounding bound of "
        "each path (`log_norm_rounding_bounds`; residual: the worst difference / allowed ratio, "
        f"allowed 1; all n, sigma, paths, at the T where the bound is below {INFORMATIVE_BOUND:g})",
        ratio, 1.0,
        values={"largest_log_norm_difference": largest, "points_compared": compared,
                "direct_products_outside_range": below})


def _singular_value_checks(setup: ExperimentConfig, run: RunConfig) -> tuple[list[Check], dict]:
    generator = run.torch_generator("singular-values")
    eps = machine_epsilon(run.dtype)
    depths = torch.arange(1, setup.depth + 1, dtype=run.torch_dtype, device=run.device)[:, None]
    tolerance = LOG_ROUNDING_ULPS * eps * setup.depth * max(1.0, math.log(2.0) * setup.depth)
    checks, curves = [], {}
    for label, (low, high) in (("contracting", setup.contracting), ("expanding", setup.expanding)):
        jacobians = prescribed_singular_values(
            generator, (setup.depth, setup.bound_paths), setup.bound_dimension, low, high,
            run.torch_dtype, run.device)
        vector = torch.randn(setup.bound_paths, setup.bound_dimension, generator=generator,
                             dtype=run.torch_dtype, device=run.device)
        logs = renormalized_log_norms(vector, lambda t, stack=jacobians: stack[t - 1], setup.depth)
        logs = logs - torch.linalg.vector_norm(vector, dim=-1).log()
        values = torch.linalg.svdvals(jacobians).log()
        upper = values[..., 0].cumsum(0)
        lower = values[..., -1].cumsum(0)
        upper_margin = float((upper - logs).min())
        lower_margin = float((logs - lower).min())
        regime_upper = float((depths * math.log(high) - logs).min())
        regime_lower = float((logs - depths * math.log(low)).min())
        where = (f"{setup.bound_paths} products of {setup.bound_dimension} x "
                 f"{setup.bound_dimension} Jacobians U diag(s) V^T, s uniform in [{low}, {high}], "
                 f"T <= {setup.depth}")
        checks.append(inequality_check(
            Layer.EXPERIMENT, f"singular-value-bounds-{label}",
            f"{where}: sum_k log sigma_min(J_k) <= log(||J_T ... J_1 v|| / ||v||) <= sum_k log "
            "sigma_max(J_k) at every T (worst of the two log margins)",
            min(upper_margin, lower_margin), tolerance,
            values={"upper_margin": upper_margin, "lower_margin": lower_margin}))
        rate_words = ("shrinks at least like sigma_max^T" if label == "contracting"
                      else "grows at least like sigma_min^T")
        regime_margin = regime_upper if label == "contracting" else regime_lower
        checks.append(inequality_check(
            Layer.EXPERIMENT, f"{label}-exponential-rate",
            f"{where}: with all singular values {'below' if label == 'contracting' else 'above'} "
            f"1 the product {rate_words} ({'high' if label == 'contracting' else 'low'} = "
            f"{high if label == 'contracting' else low}) at every T (log margin)",
            regime_margin, tolerance,
            values={"mean_log_norm_at_T": float(logs[-1].mean()),
                    "T_log_high": setup.depth * math.log(high),
                    "T_log_low": setup.depth * math.log(low)}))
        curves[label] = (as_numpy(logs.mean(-1)), low, high)
    return checks, curves


def _orthogonal_check(setup: ExperimentConfig, run: RunConfig) -> Check:
    generator = run.torch_generator("orthogonal")
    jacobians = haar_orthogonal(generator, (setup.depth, setup.bound_paths),
                                setup.bound_dimension, run.torch_dtype, run.device)
    vector = torch.randn(setup.bound_paths, setup.bound_dimension, generator=generator,
                         dtype=run.torch_dtype, device=run.device)
    logs = renormalized_log_norms(vector, lambda t: jacobians[t - 1], setup.depth)
    logs = logs - torch.linalg.vector_norm(vector, dim=-1).log()
    tolerance = LOG_ROUNDING_ULPS * machine_epsilon(run.dtype) * setup.depth
    return identity_check(
        Layer.EXPERIMENT, "orthogonal-rate-zero",
        f"{setup.bound_paths} products of Haar orthogonal {setup.bound_dimension} x "
        f"{setup.bound_dimension} Jacobians (orthogonal initialization): log ||J_T ... J_1 v|| = "
        f"log ||v|| at every T <= {setup.depth}, growth rate exactly 0 (worst |log-norm|)",
        float(logs.abs().max()), tolerance)


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


def _rnn_weights(generator, setup: ExperimentConfig, run: RunConfig, norm: float,
                 orthogonal: bool) -> torch.Tensor:
    shape = (setup.rnn_paths,)
    if orthogonal:
        return norm * haar_orthogonal(generator, shape, setup.rnn_dimension, run.torch_dtype,
                                      run.device)
    raw = torch.randn(*shape, setup.rnn_dimension, setup.rnn_dimension, generator=generator,
                      dtype=run.torch_dtype, device=run.device)
    return norm * raw / spectral_norm(raw)[:, None, None]


def rnn_runs(setup: ExperimentConfig, run: RunConfig) -> list[RnnRun]:
    generator = run.torch_generator("rnn")
    inputs = torch.randn(setup.depth, setup.rnn_paths, setup.rnn_dimension, generator=generator,
                         dtype=run.torch_dtype, device=run.device)
    final = torch.randn(setup.rnn_paths, setup.rnn_dimension, generator=generator,
                        dtype=run.torch_dtype, device=run.device)
    start = torch.linalg.vector_norm(final, dim=-1).log()
    runs = []
    for norm, orthogonal in [*((n, False) for n in setup.rnn_norms), (1.0, True)]:
        weight = _rnn_weights(generator, setup, run, norm, orthogonal)
        logs = tanh_rnn_gradient_log_norms(weight, tanh_rnn_states(weight, inputs), final)
        label = f"{'orthogonal' if orthogonal else 'Gaussian'} W, ||W||_2 = {norm:g}"
        runs.append(RnnRun(label, norm, as_numpy(logs - start)))
    return runs


def _rnn_bound_check(runs: list[RnnRun], setup: ExperimentConfig, dtype: str) -> Check:
    contracting = [r for r in runs if r.weight_norm < 1]
    margins = []
    for r in contracting:
        depths = np.arange(1, r.log_norms.shape[0] + 1)[:, None]
        margins.append(float((depths * np.log(r.weight_norm) - r.log_norms).min()))
    tolerance = LOG_ROUNDING_ULPS * machine_epsilon(dtype) * setup.depth * setup.depth
    return inequality_check(
        Layer.EXPERIMENT, "tanh-rnn-gradient-bound",
        f"tanh RNN (n = {setup.rnn_dimension}, {setup.rnn_paths} paths, inputs N(0, 1)) with "
        f"||W||_2 in {[r.weight_norm for r in contracting]}: log ||dL/ds_(T-t)|| - log "
        "||dL/ds_T|| <= t log ||W||_2 at every t (worst log margin)",
        min(margins), tolerance,
        values={f"rate_{r.label}": r.rate for r in runs})


def _clipping_check(setup: ExperimentConfig, run: RunConfig, dimension: int) -> Check:
    generator = run.torch_generator("clipping")
    jacobians = gaussian_jacobians(generator, (setup.clip_depth, setup.bound_paths), dimension,
                                   setup.clip_sigma, run.torch_dtype, run.device)
    gradient = torch.randn(setup.bound_paths, dimension, generator=generator,
                           dtype=run.torch_dtype, device=run.device)
    gradients = []
    for jacobian in jacobians:
        gradient = (jacobian @ gradient[..., None])[..., 0]
        gradients.append(gradient)
    stacked = torch.stack(gradients)
    clipped = clip_by_norm(stacked, setup.clip_threshold)
    norms = torch.linalg.vector_norm(stacked, dim=-1)
    clipped_norms = torch.linalg.vector_norm(clipped, dim=-1)
    cosine = (clipped * stacked).sum(-1) / (clipped_norms * norms)
    eps = machine_epsilon(run.dtype)
    return inequality_check(
        Layer.EXPERIMENT, "clipping-bounds-update",
        f"gradients through T <= {setup.clip_depth} Gaussian Jacobians with sigma = "
        f"{setup.clip_sigma} (exploding, lambda_1 = "
        f"{lyapunov_exponent(setup.clip_sigma, dimension):.3g}) clipped by norm at "
        f"{setup.clip_threshold} (Algorithm 1 of arXiv:1211.5063): every clipped update has "
        "norm <= threshold and keeps its direction (margin: threshold - largest clipped norm, "
        "relative)",
        float(1 - clipped_norms.max() / setup.clip_threshold), 4 * eps,
        values={"largest_unclipped_norm": float(norms.max()),
                "fraction_clipped": float((norms > setup.clip_threshold).double().mean()),
                "worst_direction_change": float((1 - cosine).abs().max())})


def verify(config: RunConfig, progress: Progress) -> LayerResult:
    with single_threaded_on_cpu(config.device):
        return _verify(config, progress)


def _verify(config: RunConfig, progress: Progress) -> LayerResult:
    setup = ExperimentConfig.quick() if config.quick else ExperimentConfig.full()
    dtype = config.dtype
    sweeps = [gaussian_sweep(setup, n, config)
              for n in progress(setup.dimensions, "torch: Gaussian Jacobian products")]
    z = bonferroni_z(len(setup.dimensions) * (len(setup.sigmas) + 1))
    checks: list[Check] = []
    rows, growth_panels, variance_panels = [], [], []
    for sweep in sweeps:
        lyapunov, sweep_rows = _lyapunov_checks(sweep, setup, z, dtype)
        variance, grid, variances, fit = _variance_checks(sweep, setup, z)
        checks += variance + lyapunov
        rows += sweep_rows
        growth_panels.append(_growth_panel(sweep, setup))
        variance_panels.append(rate_panel(
            f"n = {sweep.dimension}", "T (number of Jacobians)", "Var(log ||J_T ... J_1 v||)",
            grid, variances, fit, VARIANCE_LAW))
    checks.append(_twin_check(sweeps, dtype))
    bound_checks, curves = _singular_value_checks(setup, config)
    checks += bound_checks
    checks.append(_orthogonal_check(setup, config))
    runs = rnn_runs(setup, config)
    checks.append(_rnn_bound_check(runs, setup, dtype))
    checks.append(_clipping_check(setup, config, setup.dimensions[-1]))
    return LayerResult(
        layer=Layer.EXPERIMENT,
        checks=tuple(checks),
        figures=(
            Figure("log-norm-vs-T", "Log-norm of products of T Gaussian Jacobians",
                   tuple(growth_panels), columns=len(growth_panels)),
            Figure("log-variance-vs-T", "Variance of the log-norm against T",
                   tuple(variance_panels), columns=len(variance_panels)),
            Figure("bounds-and-rnn", "Singular-value bounds and tanh RNN gradients",
                   (_bounds_panel(curves, setup), _rnn_panel(runs)), columns=2),
        ),
        tables=(
            Table("lyapunov-rates", "Growth rate of log ||J_T ... J_1 v|| per step: closed form "
                  "lambda_1, per-path estimate at the largest T, and the log-linear fit",
                  ("n", "sigma", "lambda_1", "per-path rate", "standard error", "fitted rate"),
                  tuple(rows)),
            Table("tanh-rnn-rates", "tanh RNN: mean gradient log-norm per step back in time",
                  ("weight", "||W||_2", "log ||W||_2", "measured rate"),
                  tuple((r.label, r.weight_norm, math.log(r.weight_norm), r.rate) for r in runs)),
        ),
        notes=((f"{dtype} on {config.device}; log-norms accumulated with renormalization at every "
               "step; CI checks Bonferroni-corrected to a 5% family-wise level."),),
    )


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


def _bounds_panel(curves: dict, setup: ExperimentConfig) -> Panel:
    depths = tuple(float(t) for t in range(1, setup.depth + 1))
    series = []
    for label, (mean, low, high) in curves.items():
        series += [
            Series(f"{label}: s in [{low}, {high}] (mean)", depths, tuple(float(v) for v in mean)),
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
