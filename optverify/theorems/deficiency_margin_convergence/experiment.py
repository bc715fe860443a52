"""Torch experiment for Theorem 1 and Appendix C of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281.

Gradient descent on l = 1/2 ||W_N ... W_1 - Phi||_F^2 (Phi 3 x 3, singular values 1, 1.5, 2, hidden
width 4) from initializations with deficiency margin exactly c, batched over (margin, step size,
instance) for each depth N:
- inside the hypotheses (eta up to Theorem 1's bound, delta-balanced factors): the lemma at every
  step, the fitted decay rate of log l(t) against the guaranteed -log(1 - eta c^{2(N-1)/N}), and the
  rate's exponent in eta;
- outside the hypotheses (eta far above the bound, labelled as such): the same rate, how loose the
  guarantee is, the exponent in eta, and where large steps stop converging.
Appendix C's necessity claims, reproduced as the paper states them: Claim 4 (even N, d = 1, Phi = 1,
an unbalanced initialization with a margin diverges) and Claim 5 (even N, symmetric Phi with a
negative eigenvalue -lambda, identity initialization: W_e stays PSD and l(t) >= lambda^2/2 for every
step size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy
import torch

from optverify.claim import Bound, BoundKind, Layer, Progress, RunConfig
from optverify.figures import rate_panel
from optverify.numerics.deep_linear import balanced_factors, end_to_end, gradient_descent_step
from optverify.numerics.fit import fit_exponential_rate, fit_power_law
from optverify.numerics.precision import machine_epsilon
from optverify.results import Check, Figure, LayerResult, Panel, Series, Table, Verdict
from optverify.theorems.deficiency_margin_convergence.conditions import (
    check_depth,
    check_target,
    contraction_exponent,
    deficiency_margin,
    half_squared_distance,
    hypotheses_hold,
    sigma_min,
    step_size_bound,
)
from optverify.theorems.deficiency_margin_convergence.instances import (
    initial_end_to_end,
    perturbed_factors,
    target_with_spectrum,
)
from optverify.verdict import inequality_check, rate_check

RATE_IN_STEP_SIZE = Bound(BoundKind.UPPER, variable="eta", exponent=sympy.Integer(1))
"""Theorem 1 guarantees rate >= eta c^{2(N-1)/N} for every eta up to its bound: as eta -> 0 the rate
cannot fall faster than eta^1, an upper bound on the exponent (gradient flow makes it exactly 1)."""

TARGET_SINGULAR_VALUES = (1.0, 1.5, 2.0)
HIDDEN_WIDTH = 4


@dataclass(frozen=True)
class ExperimentConfig:
    """Grid and run lengths; `quick` and `full` presets."""

    depths: tuple[int, ...]
    margins: tuple[float, ...]
    instances: int
    inside_fractions: tuple[float, ...]
    inside_steps: int
    outside_step_sizes: tuple[float, ...]
    flow_time: float
    large_step_sizes: tuple[float, ...]
    large_steps: int
    claim4_depths: tuple[int, ...]
    claim4_scales: tuple[float, ...]
    claim4_step_sizes: tuple[float, ...]
    claim4_steps: int
    claim5_depths: tuple[int, ...]
    claim5_step_sizes: tuple[float, ...]
    claim5_steps: int
    negative_eigenvalue: float = 0.5

    @classmethod
    def quick(cls) -> ExperimentConfig:
        return cls(
            depths=(2, 3), margins=(0.25, 0.5, 0.75), instances=2,
            inside_fractions=(1e-2, 1e-1, 1.0), inside_steps=60,
            outside_step_sizes=(3e-3, 6e-3, 1.2e-2, 2.4e-2), flow_time=2.0,
            large_step_sizes=(0.1, 0.2, 0.4), large_steps=200,
            claim4_depths=(2, 4), claim4_scales=(10.0, 100.0), claim4_step_sizes=(1e-2, 1e-1),
            claim4_steps=200,
            claim5_depths=(2, 4), claim5_step_sizes=(1e-2, 1e-1, 0.3), claim5_steps=300,
        )

    @classmethod
    def full(cls) -> ExperimentConfig:
        return cls(
            depths=(2, 3, 4), margins=(0.25, 0.5, 0.75), instances=4,
            inside_fractions=(1e-3, 1e-2, 1e-1, 1.0), inside_steps=300,
            outside_step_sizes=(1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2), flow_time=3.0,
            large_step_sizes=(0.05, 0.1, 0.2, 0.4, 0.8), large_steps=1000,
            claim4_depths=(2, 4, 6), claim4_scales=(10.0, 100.0, 1000.0),
            claim4_step_sizes=(1e-3, 1e-2, 1e-1), claim4_steps=1000,
            claim5_depths=(2, 4, 6), claim5_step_sizes=(1e-3, 1e-2, 3e-2, 1e-1, 0.3, 1.0),
            claim5_steps=3000,
        )


def square_loss_gradient(target: torch.Tensor):
    """grad l^1(W_e) = W_e - Phi for l^1 = 1/2 ||W_e - Phi||_F^2."""
    return lambda end_to_end_matrix: end_to_end_matrix - target


def run_gradient_descent(
    factors, target: torch.Tensor, eta: torch.Tensor, steps: int, track_sigma: bool = False
):
    """GD for `steps` steps; returns (losses (steps+1, *batch), sigma_mins (steps, *batch) or None).

    eta: a tensor broadcasting against the batch shape (one step size per run); sigma_min(W_e(t)) is
    recorded only with `track_sigma` (runs that may diverge skip it).
    """
    check_depth(len(factors))
    check_target(target)
    if bool((eta < 0).any()):
        raise ValueError("step sizes must be non-negative")
    step = eta[..., None, None]
    gradient = square_loss_gradient(target)
    losses, sigma_mins = [half_squared_distance(end_to_end(factors), target)], []
    for _ in range(steps):
        if track_sigma:
            sigma_mins.append(sigma_min(end_to_end(factors)))
        factors = gradient_descent_step(factors, gradient, step)
        losses.append(half_squared_distance(end_to_end(factors), target))
    return torch.stack(losses), torch.stack(sigma_mins) if track_sigma else None


def loss_floor(target_norm: float, dtype: str) -> float:
    """The smallest loss the dtype resolves: (64 eps ||Phi||_F)^2 / 2 (residual rounding)."""
    return 0.5 * (64 * machine_epsilon(dtype) * target_norm) ** 2


def fitted_rate(losses: np.ndarray, last_step: int, floor: float,
                resolution: float = 0.0) -> float | None:
    """-slope of log l(t) for t <= last_step with l(t) a million times above the floor; None when
    fewer than 3 points are usable or the loss moves by no more than `resolution` (relative) over
    the window, a decay the dtype cannot see (below precision)."""
    window = np.arange(min(last_step, losses.size - 1) + 1)
    values = losses[window]
    usable = np.isfinite(values) & (values > 1e6 * floor)
    if usable.sum() < 3:
        return None
    kept = values[usable]
    if abs(1 - kept[-1] / kept[0]) <= resolution:
        return None
    return -fit_exponential_rate(window[usable], kept).exponent


def rate_resolution(dtype: str) -> float:
    """Relative loss change below which a fitted decay rate is rounding noise: 64 eps(dtype)."""
    return 64 * machine_epsilon(dtype)


def _targets(config: RunConfig, count: int) -> torch.Tensor:
    rng = config.numpy_rng("experiment-targets")
    targets = np.stack([target_with_spectrum(TARGET_SINGULAR_VALUES, 3, 3, rng) for _ in range(count)])
    return torch.tensor(targets, dtype=config.torch_dtype, device=config.device)


@dataclass(frozen=True)
class DepthRuns:
    """Per-depth results of the inside- and outside-hypotheses sweeps."""

    depth: int
    inside_eta: np.ndarray  # (margins, fractions, instances)
    inside_rate: np.ndarray
    inside_guaranteed: np.ndarray
    inside_lemma_margin: float
    inside_hypotheses: bool
    outside_rate: np.ndarray  # (margins, step sizes, instances)
    outside_guaranteed: np.ndarray
    outside_envelope_margin: float
    sample_losses: np.ndarray  # (steps+1,) one outside run at the middle margin, smallest eta
    large_final_ratio: np.ndarray  # (margins, large step sizes, instances): l(T)/l(0)
    large_envelope_margin: np.ndarray


def _grid_factors(targets, margins, repeats, depth, config: RunConfig, purpose: str):
    generator = config.torch_generator(purpose)
    margin_grid = torch.tensor(margins, dtype=targets.dtype, device=targets.device)[:, None]
    start = initial_end_to_end(targets.expand(len(margins), *targets.shape), margin_grid, generator)
    start = start[:, None].expand(len(margins), repeats, *targets.shape)
    return balanced_factors(start, (HIDDEN_WIDTH,) * (depth - 1))


def depth_runs(depth: int, settings: ExperimentConfig, config: RunConfig) -> DepthRuns:
    """Inside / outside / large-step sweeps for one depth (batched over margins, steps, instances)."""
    targets = _targets(config, settings.instances)
    norm = float(torch.linalg.matrix_norm(targets)[0])
    exponent = contraction_exponent(depth)
    floor = loss_floor(norm, config.dtype)
    margins = np.array(settings.margins)
    dtype, device = config.torch_dtype, config.device

    # Inside the hypotheses: delta-balanced factors (delta below the bound) and eta <= eta_max.
    fractions = np.array(settings.inside_fractions)
    factors = _grid_factors(targets, settings.margins, len(fractions), depth, config, f"inside-{depth}")
    delta = min(settings.margins) ** 2 / (256 * depth**3 * norm ** exponent) / 2
    factors = perturbed_factors(factors, delta, config.torch_generator(f"perturb-{depth}"))
    actual_margin = deficiency_margin(end_to_end(factors), targets)
    eta_max = step_size_bound(actual_margin, norm, depth)
    inside_eta = eta_max * torch.tensor(fractions, dtype=dtype, device=device)[None, :, None]
    holds = bool(hypotheses_hold(factors, targets, 0.0).all()) and bool((inside_eta <= eta_max).all())
    losses, sigmas = run_gradient_descent(factors, targets, inside_eta, settings.inside_steps,
                                          track_sigma=True)
    guaranteed_next = (1 - inside_eta * sigmas**exponent) * losses[:-1]
    lemma_margin = float(((guaranteed_next - losses[1:]) / losses[:-1]).min())
    inside_losses = losses.cpu().numpy()
    inside_rate = np.array([
        fitted_rate(inside_losses[:, i, j, k], settings.inside_steps, floor,
                    rate_resolution(config.dtype))
        for i in range(len(margins)) for j in range(len(fractions)) for k in range(settings.instances)
    ], dtype=float).reshape(len(margins), len(fractions), settings.instances)
    inside_eta_np = inside_eta.expand_as(actual_margin).cpu().numpy()
    inside_guaranteed = -np.log1p(-inside_eta_np * actual_margin.cpu().numpy() ** exponent)

    # Outside the hypotheses: exactly balanced factors, step sizes far above the bound.
    etas = np.array(settings.outside_step_sizes)
    factors = _grid_factors(targets, settings.margins, len(etas), depth, config, f"outside-{depth}")
    eta_grid = torch.tensor(etas, dtype=dtype, device=device)[None, :, None]
    steps = math.ceil(settings.flow_time / etas.min())
    losses, _ = run_gradient_descent(factors, targets, eta_grid, steps)
    outside_losses = losses.cpu().numpy()
    outside_rate = np.array([
        fitted_rate(outside_losses[:, i, j, k], math.ceil(settings.flow_time / etas[j]), floor,
                    rate_resolution(config.dtype))
        for i in range(len(margins)) for j in range(len(etas)) for k in range(settings.instances)
    ], dtype=float).reshape(len(margins), len(etas), settings.instances)
    outside_guaranteed = -np.log1p(-etas[None, :, None] * margins[:, None, None] ** exponent)
    envelope = _envelope_margin(outside_losses, etas, margins, exponent, floor)

    # Large steps (outside the hypotheses): where GD stops converging.
    large = np.array(settings.large_step_sizes)
    factors = _grid_factors(targets, settings.margins, len(large), depth, config, f"large-{depth}")
    losses, _ = run_gradient_descent(
        factors, targets, torch.tensor(large, dtype=dtype, device=device)[None, :, None],
        settings.large_steps)
    large_losses = losses.cpu().numpy()
    with np.errstate(invalid="ignore", over="ignore"):
        final_ratio = large_losses[-1] / large_losses[0]
    return DepthRuns(
        depth=depth, inside_eta=inside_eta_np, inside_rate=inside_rate,
        inside_guaranteed=inside_guaranteed, inside_lemma_margin=lemma_margin,
        inside_hypotheses=holds, outside_rate=outside_rate, outside_guaranteed=outside_guaranteed,
        outside_envelope_margin=envelope, sample_losses=outside_losses[:, 1, 0, 0],
        large_final_ratio=final_ratio,
        large_envelope_margin=_envelope_per_run(large_losses, large, margins, exponent, floor),
    )


def _envelope_per_run(losses, etas, margins, exponent, floor) -> np.ndarray:
    """min_{t >= 1} [l(0)(1 - eta c^p)^t - l(t)] / l(0) per run, over t where the envelope is above
    the floor (t = 0 is an equality and is left out)."""
    steps = np.arange(1, losses.shape[0])[:, None, None, None]
    factor = 1 - etas[None, None, :, None] * margins[None, :, None, None] ** exponent
    envelope = losses[0][None] * factor**steps
    with np.errstate(invalid="ignore"):
        gap = np.where(envelope > 1e6 * floor, (envelope - losses[1:]) / losses[0][None], np.inf)
    gap = np.where(np.isnan(gap), -np.inf, gap)
    return gap.min(axis=0)


def _envelope_margin(losses, etas, margins, exponent, floor) -> float:
    return float(_envelope_per_run(losses, etas, margins, exponent, floor).min())


@dataclass(frozen=True)
class FailureRuns:
    """Appendix C reproductions: final and extreme losses per (depth, step size, init)."""

    claim4: tuple[tuple, ...]  # (N, eta, init label, margin, delta, l(0), l(T), diverged)
    claim4_curves: tuple[Series, ...]
    claim5: tuple[tuple, ...]  # (N, eta, margin, min_t l(t) - lambda^2/2, l(T), min eig W_e)
    claim5_curves: tuple[Series, ...]
    claim5_floor_margin: float
    claim5_tolerance: float


def claim4_factors(depth: int, scale: float, product: float, dtype, device):
    """d = 1 layers w_j = K (j <= N/2), w_j = product^{2/N} / K (j > N/2): W_e = product, unbalanced
    with gap about K^2; K = product^{1/N} is the balanced init with the same W_e."""
    low = product ** (2 / depth) / scale
    values = [scale] * (depth // 2) + [low] * (depth - depth // 2)
    return [torch.full((1, 1), v, dtype=dtype, device=device) for v in values]


def _loss_curve_series(label: str, losses: np.ndarray) -> Series:
    finite = np.isfinite(losses) & (losses > 0)
    steps = np.arange(losses.size)[finite]
    return Series(label, tuple(float(s) for s in steps), tuple(float(v) for v in losses[finite]), "line")


def failure_runs(settings: ExperimentConfig, config: RunConfig) -> FailureRuns:
    """Claim 4 and Claim 5 of Appendix C, as the paper states them (even depths only)."""
    dtype, device = config.torch_dtype, config.device
    target = torch.ones(1, 1, dtype=dtype, device=device)
    product = 0.5  # W_e(0) = 1/2: deficiency margin c = 1 - |1/2 - 1| = 1/2
    claim4, curves4 = [], []
    for depth in settings.claim4_depths:
        for eta in settings.claim4_step_sizes:
            inits = [("balanced", product ** (1 / depth))] + [
                (f"unbalanced K={scale:g}", scale) for scale in settings.claim4_scales]
            for label, scale in inits:
                factors = claim4_factors(depth, scale, product, dtype, device)
                margin = float(deficiency_margin(end_to_end(factors), target))
                delta = abs(scale**2 - (product ** (2 / depth) / scale) ** 2)
                with np.errstate(all="ignore"):
                    losses, _ = run_gradient_descent(
                        factors, target, torch.tensor(eta, dtype=dtype, device=device),
                        settings.claim4_steps)
                curve = losses.cpu().numpy()
                final = float(curve[-1])
                diverged = not math.isfinite(final) or final > float(curve[0])
                claim4.append((depth, eta, label, margin, delta, float(curve[0]), final, diverged))
                if eta == settings.claim4_step_sizes[-1] and depth == settings.claim4_depths[0]:
                    curves4.append(_loss_curve_series(f"N={depth}, eta={eta:g}, {label}", curve))
    claim5, curves5 = [], []
    lam = settings.negative_eigenvalue
    rotation = torch.tensor(target_with_spectrum((1.0, 1.0), 2, 2, config.numpy_rng("claim5")),
                            dtype=dtype, device=device)
    phi = rotation @ torch.diag(torch.tensor([1.0, -lam], dtype=dtype, device=device)) @ rotation.mT
    floor_margin, scale = math.inf, 1.0
    for depth in settings.claim5_depths:
        for eta in settings.claim5_step_sizes:
            factors = [torch.eye(2, dtype=dtype, device=device) for _ in range(depth)]
            margin = float(deficiency_margin(end_to_end(factors), phi))
            with np.errstate(all="ignore"):
                losses, _ = run_gradient_descent(factors, phi, torch.tensor(eta, dtype=dtype,
                                                                             device=device),
                                                 settings.claim5_steps)
            curve = losses.cpu().numpy()
            finite = curve[np.isfinite(curve)]
            lowest = float(finite.min()) - lam**2 / 2
            floor_margin = min(floor_margin, lowest)
            scale = max(scale, float(curve[0]))
            final_factors = _final_symmetric_end_to_end(depth, eta, phi, settings.claim5_steps)
            claim5.append((depth, eta, margin, lowest, float(curve[-1]), final_factors))
            if depth == settings.claim5_depths[0]:
                curves5.append(_loss_curve_series(f"N={depth}, eta={eta:g}", curve))
    # the minimum is reached below l(0): its rounding is a few ulps of max(l(0), 1)
    tolerance = 64 * machine_epsilon(config.dtype) * scale
    return FailureRuns(tuple(claim4), tuple(curves4), tuple(claim5), tuple(curves5), floor_margin,
                       tolerance)


def _final_symmetric_end_to_end(depth: int, eta: float, phi: torch.Tensor, steps: int) -> float:
    """The smallest eigenvalue of the symmetric part of W_e(T) from identity init (PSD check)."""
    factors = [torch.eye(2, dtype=phi.dtype, device=phi.device) for _ in range(depth)]
    gradient = square_loss_gradient(phi)
    for _ in range(steps):
        factors = gradient_descent_step(factors, gradient, eta)
        if not bool(torch.isfinite(factors[0]).all()):
            return float("nan")
    product = end_to_end(factors)
    return float(torch.linalg.eigvalsh((product + product.mT) / 2)[0])


def verify(config: RunConfig, progress: Progress) -> LayerResult:
    """Rates inside and outside Theorem 1's hypotheses, and Appendix C's two failure cases."""
    settings = ExperimentConfig.quick() if config.quick else ExperimentConfig.full()
    runs = [depth_runs(depth, settings, config) for depth in progress(settings.depths, "GD sweeps")]
    checks, panels, rows, large_rows = [], [], [], []
    for run in runs:
        checks.extend(_depth_checks(run, settings, config.dtype))
        panels.append(_rate_panel(run, settings))
        rows.extend(_depth_rows(run, settings))
        large_rows.extend(_large_step_rows(run, settings))
    failures = failure_runs(settings, config)
    checks.extend(_failure_checks(failures, settings))
    figures = (
        Figure("rate-vs-step-size", "Fitted decay rate of log l(t) against the step size eta",
               tuple(panels), columns=len(panels)),
        Figure("loss-curves", "GD from a deficiency margin (outside the step-size hypothesis)",
               (_loss_panel(runs, settings),)),
        Figure("appendix-c-failures", "Appendix C: failure without balancedness or margin",
               (Panel("Claim 4: d = 1, Phi = 1, W_e(0) = 1/2 (margin 1/2)", "step t", "l(t)",
                      failures.claim4_curves, xscale="linear"),
                Panel(f"Claim 5: symmetric Phi with eigenvalue -{settings.negative_eigenvalue}, "
                      "identity init", "step t", "l(t)",
                      failures.claim5_curves + (_floor_series(settings),), xscale="linear")),
               columns=2),
    )
    tables = (
        Table("rates", "Fitted per-step decay rate of log l(t) vs Theorem 1's guaranteed "
              "-log(1 - eta c^{2(N-1)/N}) (mean over instances)",
              ("N", "regime", "c", "eta", "measured rate", "guaranteed rate", "ratio"), tuple(rows)),
        Table("large-steps", f"OUTSIDE the hypotheses: large step sizes, {settings.large_steps} steps "
              f"from margins {settings.margins}; Theorem 1 makes no claim here",
              ("N", "eta", "runs ending above l(0) or non-finite",
               "runs breaking l(t) <= l(0)(1 - eta c^p)^t", "runs"), tuple(large_rows)),
        Table("claim4", "Appendix C Claim 4 (d = 1, Phi = 1): GD from W_e(0) = 1/2 (margin 1/2)",
              ("N", "eta", "init", "margin", "delta", "l(0)", "l(T)", "diverged"),
              tuple(failures.claim4)),
        Table("claim5", "Appendix C Claim 5: identity init, symmetric Phi with a negative eigenvalue",
              ("N", "eta", "margin of init", "min_t l(t) - lambda^2/2", "l(T)",
               "min eigenvalue of W_e(T)"), tuple(failures.claim5)),
    )
    return LayerResult(Layer.EXPERIMENT, checks=tuple(checks), figures=figures, tables=tables)


def _finite_min(values: np.ndarray) -> float:
    """The smallest finite value; NaN (an inconclusive margin) when no value is finite."""
    finite = values[np.isfinite(values)]
    return float(finite.min()) if finite.size else float("nan")


def _mean_rates(rates: np.ndarray) -> np.ndarray:
    """Mean decay rate per step size over instances; NaN where no instance resolved a rate."""
    resolved = np.isfinite(rates)
    counts = resolved.sum(axis=-1)
    totals = np.where(resolved, rates, 0.0).sum(axis=-1)
    return np.divide(totals, counts, out=np.full(counts.shape, np.nan), where=counts > 0)


def _rate_exponent_check(name: str, statement: str, eta: np.ndarray, rate: np.ndarray,
                         dtype: str, decisive: bool = True) -> Check:
    """The decay rate's exponent in eta, fitted over the step sizes whose rate the dtype resolves."""
    resolved = np.isfinite(rate) & (rate > 0)
    if resolved.sum() < 3:
        return Check(Layer.EXPERIMENT, name, statement, Verdict.INCONCLUSIVE,
                     detail=f"only {int(resolved.sum())} of {rate.size} step sizes give a decay "
                            f"rate above the {dtype} rounding floor (below precision); no exponent "
                            "fitted", decisive=decisive,
                     values={"resolved_step_sizes": int(resolved.sum())})
    return rate_check(Layer.EXPERIMENT, name, statement,
                      fit_power_law(eta[resolved], rate[resolved]), RATE_IN_STEP_SIZE,
                      decisive=decisive)


def _depth_checks(run: DepthRuns, settings: ExperimentConfig, dtype: str) -> list[Check]:
    depth = run.depth
    inside_ratio = run.inside_rate / run.inside_guaranteed
    outside_ratio = run.outside_rate / run.outside_guaranteed
    checks = [
        Check(Layer.EXPERIMENT, f"hypotheses-met-n{depth}",
              f"N = {depth}: the inside-hypotheses runs meet Theorem 1's margin, balancedness and "
              "step-size conditions", Verdict.CONSISTENT if run.inside_hypotheses else Verdict.VIOLATED,
              detail="all runs meet them" if run.inside_hypotheses else "some run does not"),
        inequality_check(
            Layer.EXPERIMENT, f"lemma-every-step-n{depth}",
            f"N = {depth}, inside the hypotheses: l(t+1) <= (1 - eta sigma_min(W_e(t))^{{2(N-1)/N}}) l(t) "
            "at every step (margin relative to l(t), tolerance: the dtype's rounding floor "
            "64 eps of a relative difference)", run.inside_lemma_margin, rate_resolution(dtype),
            values={"steps": settings.inside_steps}),
        inequality_check(
            Layer.EXPERIMENT, f"rate-above-guarantee-n{depth}",
            f"N = {depth}, inside the hypotheses: fitted rate of log l(t) >= -log(1 - eta c^{{2(N-1)/N}}) "
            "(margin: min measured/guaranteed - 1)", _finite_min(inside_ratio) - 1, 0.0,
            values={"min ratio": _finite_min(inside_ratio),
                    "max ratio": -_finite_min(-inside_ratio)}),
    ]
    middle = len(settings.margins) // 2
    checks.append(_rate_exponent_check(
        f"rate-exponent-inside-n{depth}",
        f"N = {depth}, inside the hypotheses (c = {settings.margins[middle]}, mean over "
        f"{settings.instances} instances): decay rate vs eta over eta_max x "
        f"{settings.inside_fractions} (rate >= eta c^p forces exponent <= 1)",
        run.inside_eta[middle].mean(axis=-1), _mean_rates(run.inside_rate[middle]), dtype))
    checks.append(_rate_exponent_check(
        f"rate-exponent-outside-n{depth}",
        f"N = {depth}, OUTSIDE the step-size hypothesis (eta {min(settings.outside_step_sizes):g}.."
        f"{max(settings.outside_step_sizes):g}, c = {settings.margins[middle]}, mean over "
        f"{settings.instances} instances): decay rate vs eta",
        np.array(settings.outside_step_sizes), _mean_rates(run.outside_rate[middle]), dtype,
        decisive=False))
    checks.append(inequality_check(
        Layer.EXPERIMENT, f"rate-above-guarantee-outside-n{depth}",
        f"N = {depth}, OUTSIDE the step-size hypothesis: fitted rate >= guaranteed and "
        "l(t) <= l(0)(1 - eta c^p)^t (margin: min measured/guaranteed - 1)",
        _finite_min(outside_ratio) - 1, 0.0, decisive=False,
        values={"min ratio": _finite_min(outside_ratio),
                "max ratio": -_finite_min(-outside_ratio),
                "envelope margin": run.outside_envelope_margin}))
    return checks


def _large_step_rows(run: DepthRuns, settings: ExperimentConfig) -> list[tuple]:
    """Per (N, eta): runs ending above l(0) or non-finite, and runs breaking the envelope."""
    diverged = ~np.isfinite(run.large_final_ratio) | (run.large_final_ratio > 1)
    broken = run.large_envelope_margin < 0
    return [(run.depth, eta, int(diverged[:, j].sum()), int(broken[:, j].sum()), diverged[:, j].size)
            for j, eta in enumerate(settings.large_step_sizes)]


def _depth_rows(run: DepthRuns, settings: ExperimentConfig) -> list[tuple]:
    rows = []
    for i, c in enumerate(settings.margins):
        for j, fraction in enumerate(settings.inside_fractions):
            rows.append((run.depth, f"inside (eta_max x {fraction:g})", c,
                         float(run.inside_eta[i, j].mean()), float(_mean_rates(run.inside_rate[i, j])),
                         float(run.inside_guaranteed[i, j].mean()),
                         float(_mean_rates(run.inside_rate[i, j] / run.inside_guaranteed[i, j]))))
        for j, eta in enumerate(settings.outside_step_sizes):
            rows.append((run.depth, "OUTSIDE (step size)", c, eta,
                         float(_mean_rates(run.outside_rate[i, j])),
                         float(run.outside_guaranteed[i, j].mean()),
                         float(_mean_rates(run.outside_rate[i, j] / run.outside_guaranteed[i, j]))))
    return rows


def _rate_panel(run: DepthRuns, settings: ExperimentConfig) -> Panel:
    middle = len(settings.margins) // 2
    eta = np.concatenate([run.inside_eta[middle].mean(axis=-1), settings.outside_step_sizes])
    rate = np.concatenate([_mean_rates(run.inside_rate[middle]),
                           _mean_rates(run.outside_rate[middle])])
    resolved = np.isfinite(rate) & (rate > 0)
    title = (f"N = {run.depth}, c = {settings.margins[middle]} (left: inside, right: outside the "
             "hypotheses)")
    if resolved.sum() >= 3:
        panel = rate_panel(title, "step size eta", "decay rate of log l per step", eta[resolved],
                           rate[resolved], fit_power_law(eta[resolved], rate[resolved]),
                           RATE_IN_STEP_SIZE)
    else:
        panel = Panel(title, "step size eta", "decay rate of log l per step (below precision)")
    guaranteed = np.sort(eta)
    c_power = settings.margins[middle] ** contraction_exponent(run.depth)
    line = Series("Theorem 1 guarantee -log(1 - eta c^p)", tuple(guaranteed),
                  tuple(-np.log1p(-guaranteed * c_power)), "dashed")
    return Panel(panel.title, panel.xlabel, panel.ylabel, panel.series + (line,))


def _loss_panel(runs, settings: ExperimentConfig) -> Panel:
    series = []
    eta = min(settings.outside_step_sizes)
    c = settings.margins[1]
    for run in runs:
        series.append(_loss_curve_series(f"N={run.depth}, measured", run.sample_losses))
        steps = np.arange(run.sample_losses.size)
        envelope = run.sample_losses[0] * (1 - eta * c ** contraction_exponent(run.depth)) ** steps
        series.append(Series(f"N={run.depth}, Theorem 1 envelope", tuple(float(s) for s in steps),
                             tuple(float(v) for v in envelope), "dashed"))
    return Panel(f"l(t) at eta = {eta:g}, c = {c}", "step t", "l(t)", tuple(series), xscale="linear")


def _floor_series(settings: ExperimentConfig) -> Series:
    level = settings.negative_eigenvalue**2 / 2
    return Series("lambda^2 / 2", (0.0, float(settings.claim5_steps)), (level, level), "dashed")


def _failure_checks(failures: FailureRuns, settings: ExperimentConfig) -> list[Check]:
    by_cell: dict[tuple, list] = {}
    for depth, eta, label, _, _, _, _, diverged in failures.claim4:
        by_cell.setdefault((depth, eta), []).append((label, diverged))
    reproduced = all(
        not dict(cell)["balanced"] and any(d for label, d in cell if label != "balanced")
        for cell in by_cell.values())
    claim4 = Check(
        Layer.EXPERIMENT, "claim4-unbalanced-diverges",
        "Appendix C Claim 4 (even N, d = 1, Phi = 1, W_e(0) = 1/2 with margin 1/2): for every step size "
        "tried some unbalanced init diverges while the balanced init with the same W_e(0) does not",
        Verdict.CONSISTENT if reproduced else Verdict.VIOLATED,
        detail=("reproduced: necessity of balancedness is consistent" if reproduced else
                "not reproduced in every (N, eta) cell"),
        values={f"N={depth}, eta={eta:g}": ", ".join(f"{label}: {'diverged' if d else 'converging'}"
                                                     for label, d in cell)
                for (depth, eta), cell in by_cell.items()},
    )
    claim5 = inequality_check(
        Layer.EXPERIMENT, "claim5-stuck-above-floor",
        f"Appendix C Claim 5 (even N, Phi symmetric with eigenvalue -{settings.negative_eigenvalue}, "
        "identity init, no margin): l(t) >= lambda^2/2 at every step for every step size tried "
        "(margin min_t l(t) - lambda^2/2)", failures.claim5_floor_margin, failures.claim5_tolerance,
        values={f"N={row[0]}, eta={row[1]:g}": f"l(T) - lambda^2/2 = {row[4] - settings.negative_eigenvalue**2 / 2:.3g}, "
                f"min eig W_e(T) = {row[5]:.3g}" for row in failures.claim5},
    )
    return [claim4, claim5]
