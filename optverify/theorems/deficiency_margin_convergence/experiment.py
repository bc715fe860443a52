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
import torch

from optverify.kit import (
    Bound,
    Figure,
    Panel,
    Series,
    Session,
    Verdict,
    fit_exponential_rate,
    fit_power_law,
    machine_epsilon,
    rate_panel,
)
from optverify.numerics.deep_linear import (
    balanced_factors,
    end_to_end,
    gradient_descent_step,
)
from optverify.theorems.deficiency_margin_convergence.conditions import (
    balance_bound,
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

RATE_IN_STEP_SIZE = Bound.upper("eta", 1)
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


def _targets(s: Session, count: int) -> torch.Tensor:
    rng = s.rng("experiment-targets")
    targets = np.stack([target_with_spectrum(TARGET_SINGULAR_VALUES, 3, 3, rng) for _ in range(count)])
    return torch.tensor(targets, dtype=s.torch_dtype, device=s.device)


@dataclass(frozen=True)
class DepthProblem:
    """One depth's set-up shared by its sweeps: the targets (instances, 3, 3), the margins, ||Phi||_F,
    the loss floor and the rate resolution of the run's dtype."""

    depth: int
    targets: torch.Tensor
    margins: np.ndarray
    norm: float
    floor: float
    resolution: float

    @property
    def exponent(self) -> float:
        return contraction_exponent(self.depth)

    def grid_factors(self, repeats: int, generator: torch.Generator):
        """Procedure 1's balanced factors of W_e(0) with margin exactly c, for every (margin,
        repeat, instance): shapes (margins, repeats, instances, ...)."""
        targets = self.targets
        margin_grid = torch.tensor(self.margins, dtype=targets.dtype, device=targets.device)[:, None]
        start = initial_end_to_end(targets.expand(len(self.margins), *targets.shape), margin_grid,
                                   generator)
        start = start[:, None].expand(len(self.margins), repeats, *targets.shape)
        return balanced_factors(start, (HIDDEN_WIDTH,) * (self.depth - 1))

    def step_sizes(self, etas) -> torch.Tensor:
        """Step sizes as a tensor broadcasting against (margins, step sizes, instances)."""
        return torch.tensor(etas, dtype=self.targets.dtype, device=self.targets.device)[None, :, None]


def depth_problem(depth: int, settings: ExperimentConfig, s: Session) -> DepthProblem:
    targets = _targets(s, settings.instances)
    norm = float(torch.linalg.matrix_norm(targets)[0])
    return DepthProblem(depth, targets, np.array(settings.margins), norm, loss_floor(norm, s.dtype),
                        rate_resolution(s.dtype))


def fitted_rates(losses: np.ndarray, last_steps, floor: float, resolution: float) -> np.ndarray:
    """`fitted_rate` of every run of losses (steps+1, margins, step sizes, instances), the fit
    window of step size j ending at last_steps[j]; NaN where no rate is resolved."""
    _, margins, sizes, instances = losses.shape
    return np.array([
        fitted_rate(losses[:, i, j, k], last_steps[j], floor, resolution)
        for i in range(margins) for j in range(sizes) for k in range(instances)
    ], dtype=float).reshape(margins, sizes, instances)


@dataclass(frozen=True)
class InsideRuns:
    """Inside the hypotheses (delta-balanced factors, eta = eta_max x fraction), per (margin,
    fraction, instance): step sizes, fitted and guaranteed rates; the worst lemma margin over every
    step and run, and whether every run meets Theorem 1's hypotheses."""

    eta: np.ndarray
    rate: np.ndarray
    guaranteed: np.ndarray
    lemma_margin: float
    hypotheses: bool


def inside_runs(problem: DepthProblem, settings: ExperimentConfig, s: Session) -> InsideRuns:
    depth, targets, exponent = problem.depth, problem.targets, problem.exponent
    fractions = np.array(settings.inside_fractions)
    factors = problem.grid_factors(len(fractions), s.generator(f"inside-{depth}"))
    delta = balance_bound(min(settings.margins), problem.norm, depth) / 2
    factors = perturbed_factors(factors, delta, s.generator(f"perturb-{depth}"))
    actual_margin = deficiency_margin(end_to_end(factors), targets)
    eta_max = step_size_bound(actual_margin, problem.norm, depth)
    eta = eta_max * torch.tensor(fractions, dtype=targets.dtype, device=targets.device)[None, :, None]
    holds = bool(hypotheses_hold(factors, targets, 0.0).all()) and bool((eta <= eta_max).all())
    losses, sigmas = run_gradient_descent(factors, targets, eta, settings.inside_steps,
                                          track_sigma=True)
    guaranteed_next = (1 - eta * sigmas**exponent) * losses[:-1]
    lemma_margin = float(((guaranteed_next - losses[1:]) / losses[:-1]).min())
    rate = fitted_rates(losses.cpu().numpy(), [settings.inside_steps] * len(fractions),
                        problem.floor, problem.resolution)
    eta_np = eta.expand_as(actual_margin).cpu().numpy()
    guaranteed = -np.log1p(-eta_np * actual_margin.cpu().numpy() ** exponent)
    return InsideRuns(eta_np, rate, guaranteed, lemma_margin, holds)


@dataclass(frozen=True)
class OutsideRuns:
    """Outside the step-size hypothesis (exactly balanced factors, fixed step sizes far above the
    bound), per (margin, step size, instance): fitted and guaranteed rates, the worst envelope
    margin, and one run's losses (middle margin, smallest eta, first instance) for the figure."""

    rate: np.ndarray
    guaranteed: np.ndarray
    envelope_margin: float
    sample_losses: np.ndarray


def outside_runs(problem: DepthProblem, settings: ExperimentConfig, s: Session) -> OutsideRuns:
    etas, margins = np.array(settings.outside_step_sizes), problem.margins
    factors = problem.grid_factors(len(etas), s.generator(f"outside-{problem.depth}"))
    steps = math.ceil(settings.flow_time / etas.min())
    losses, _ = run_gradient_descent(factors, problem.targets, problem.step_sizes(etas), steps)
    losses = losses.cpu().numpy()
    rate = fitted_rates(losses, [math.ceil(settings.flow_time / eta) for eta in etas],
                        problem.floor, problem.resolution)
    guaranteed = -np.log1p(-etas[None, :, None] * margins[:, None, None] ** problem.exponent)
    envelope = _envelope_margin(losses, etas, margins, problem.exponent, problem.floor)
    return OutsideRuns(rate, guaranteed, envelope, losses[:, 1, 0, 0])


@dataclass(frozen=True)
class LargeStepRuns:
    """Large steps (outside the hypotheses), per (margin, step size, instance): l(T)/l(0) and the
    envelope margin."""

    final_ratio: np.ndarray
    envelope_margin: np.ndarray


def large_step_runs(problem: DepthProblem, settings: ExperimentConfig, s: Session) -> LargeStepRuns:
    large = np.array(settings.large_step_sizes)
    factors = problem.grid_factors(len(large), s.generator(f"large-{problem.depth}"))
    losses, _ = run_gradient_descent(factors, problem.targets, problem.step_sizes(large),
                                     settings.large_steps)
    losses = losses.cpu().numpy()
    with np.errstate(invalid="ignore", over="ignore"):
        final_ratio = losses[-1] / losses[0]
    return LargeStepRuns(final_ratio, _envelope_per_run(losses, large, problem.margins,
                                                        problem.exponent, problem.floor))


@dataclass(frozen=True)
class DepthRuns:
    """Per-depth results of the inside-, outside-hypotheses and large-step sweeps."""

    depth: int
    inside: InsideRuns
    outside: OutsideRuns
    large: LargeStepRuns


def depth_runs(depth: int, settings: ExperimentConfig, s: Session) -> DepthRuns:
    """Inside / outside / large-step sweeps for one depth (batched over margins, steps, instances)."""
    problem = depth_problem(depth, settings, s)
    return DepthRuns(depth, inside_runs(problem, settings, s), outside_runs(problem, settings, s),
                     large_step_runs(problem, settings, s))


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
class Claim4Run:
    """One Appendix C Claim 4 run: d = 1, Phi = 1, W_e(0) = 1/2, from the init `init`."""

    depth: int
    eta: float
    init: str
    margin: float
    delta: float
    initial_loss: float
    final_loss: float
    diverged: bool
    curve: np.ndarray

    @property
    def row(self) -> tuple:
        return (self.depth, self.eta, self.init, self.margin, self.delta, self.initial_loss,
                self.final_loss, self.diverged)


@dataclass(frozen=True)
class Claim5Run:
    """One Appendix C Claim 5 run: identity init, symmetric Phi with eigenvalue -lambda.

    lowest: min_t l(t) - lambda^2/2 over the finite losses; min_eigenvalue: of the symmetric part
    of W_e(T) (NaN when the run diverged)."""

    depth: int
    eta: float
    margin: float
    lowest: float
    final_loss: float
    min_eigenvalue: float
    curve: np.ndarray

    @property
    def row(self) -> tuple:
        return (self.depth, self.eta, self.margin, self.lowest, self.final_loss, self.min_eigenvalue)


@dataclass(frozen=True)
class FailureRuns:
    """Appendix C reproductions: Claim 4 and Claim 5 runs per (depth, step size, init), and the
    rounding tolerance of Claim 5's floor (64 eps(dtype) times max(l(0), 1))."""

    claim4: tuple[Claim4Run, ...]
    claim5: tuple[Claim5Run, ...]
    claim5_tolerance: float

    @property
    def claim4_cells(self) -> dict[tuple[int, float], list[tuple[str, bool]]]:
        """(init, diverged) per (N, eta)."""
        cells: dict[tuple[int, float], list[tuple[str, bool]]] = {}
        for run in self.claim4:
            cells.setdefault((run.depth, run.eta), []).append((run.init, run.diverged))
        return cells

    @property
    def claim4_reproduced(self) -> bool:
        """In every (N, eta) cell the balanced init converges and some unbalanced init diverges."""
        return all(not dict(cell)["balanced"]
                   and any(d for label, d in cell if label != "balanced")
                   for cell in self.claim4_cells.values())

    @property
    def claim4_values(self) -> dict[str, str]:
        return {f"N={depth}, eta={eta:g}": ", ".join(
            f"{label}: {'diverged' if d else 'converging'}" for label, d in cell)
            for (depth, eta), cell in self.claim4_cells.items()}

    @property
    def claim5_floor_margin(self) -> float:
        return min(run.lowest for run in self.claim5)

    def claim5_values(self, lam: float) -> dict[str, str]:
        return {f"N={run.depth}, eta={run.eta:g}": f"l(T) - lambda^2/2 = "
                f"{run.final_loss - lam**2 / 2:.3g}, min eig W_e(T) = {run.min_eigenvalue:.3g}"
                for run in self.claim5}


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


CLAIM4_PRODUCT = 0.5
"""Claim 4's W_e(0) = 1/2 for Phi = 1: deficiency margin c = 1 - |1/2 - 1| = 1/2."""


def claim4_run(depth: int, eta: float, init: str, scale: float, steps: int, dtype,
               device) -> Claim4Run:
    target = torch.ones(1, 1, dtype=dtype, device=device)
    product = CLAIM4_PRODUCT
    factors = claim4_factors(depth, scale, product, dtype, device)
    margin = float(deficiency_margin(end_to_end(factors), target))
    delta = abs(scale**2 - (product ** (2 / depth) / scale) ** 2)
    with np.errstate(all="ignore"):
        losses, _ = run_gradient_descent(factors, target, torch.tensor(eta, dtype=dtype,
                                                                       device=device), steps)
    curve = losses.cpu().numpy()
    final = float(curve[-1])
    diverged = not math.isfinite(final) or final > float(curve[0])
    return Claim4Run(depth, eta, init, margin, delta, float(curve[0]), final, diverged, curve)


def claim4_runs(settings: ExperimentConfig, dtype, device) -> tuple[Claim4Run, ...]:
    """Claim 4 for every (even N, eta): the balanced init and the unbalanced ones (scale K)."""
    return tuple(
        claim4_run(depth, eta, label, scale, settings.claim4_steps, dtype, device)
        for depth in settings.claim4_depths for eta in settings.claim4_step_sizes
        for label, scale in [("balanced", CLAIM4_PRODUCT ** (1 / depth))]
        + [(f"unbalanced K={scale:g}", scale) for scale in settings.claim4_scales])


def claim5_target(settings: ExperimentConfig, rng: np.random.Generator, dtype, device) -> torch.Tensor:
    """Phi = R diag(1, -lambda) R^T with a Haar-random rotation R (from `rng`)."""
    rotation = torch.tensor(target_with_spectrum((1.0, 1.0), 2, 2, rng), dtype=dtype, device=device)
    spectrum = torch.tensor([1.0, -settings.negative_eigenvalue], dtype=dtype, device=device)
    return rotation @ torch.diag(spectrum) @ rotation.mT


def claim5_run(depth: int, eta: float, phi: torch.Tensor, settings: ExperimentConfig) -> Claim5Run:
    factors = [torch.eye(2, dtype=phi.dtype, device=phi.device) for _ in range(depth)]
    margin = float(deficiency_margin(end_to_end(factors), phi))
    with np.errstate(all="ignore"):
        losses, _ = run_gradient_descent(factors, phi, torch.tensor(eta, dtype=phi.dtype,
                                                                    device=phi.device),
                                         settings.claim5_steps)
    curve = losses.cpu().numpy()
    lowest = float(curve[np.isfinite(curve)].min()) - settings.negative_eigenvalue**2 / 2
    final_factors = _final_symmetric_end_to_end(depth, eta, phi, settings.claim5_steps)
    return Claim5Run(depth, eta, margin, lowest, float(curve[-1]), final_factors, curve)


def failure_runs(settings: ExperimentConfig, s: Session) -> FailureRuns:
    """Claim 4 and Claim 5 of Appendix C, as the paper states them (even depths only)."""
    dtype, device = s.torch_dtype, s.device
    claim4 = claim4_runs(settings, dtype, device)
    phi = claim5_target(settings, s.rng("claim5"), dtype, device)
    claim5 = tuple(claim5_run(depth, eta, phi, settings) for depth in settings.claim5_depths
                   for eta in settings.claim5_step_sizes)
    # the minimum is reached below l(0): its rounding is a few ulps of max(l(0), 1)
    scale = max([1.0, *(float(run.curve[0]) for run in claim5)])
    return FailureRuns(claim4, claim5, 64 * machine_epsilon(s.dtype) * scale)


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


def verify(s: Session) -> None:
    """Rates inside and outside Theorem 1's hypotheses, and Appendix C's two failure cases."""
    settings = s.preset(quick=ExperimentConfig.quick(), full=ExperimentConfig.full())
    runs = [depth_runs(depth, settings, s) for depth in s.progress(settings.depths, "GD sweeps")]
    for run in runs:
        _record_depth(s, run, settings)
    failures = failure_runs(settings, s)
    _record_failures(s, failures, settings)
    s.figure("rate-vs-step-size", "Fitted decay rate of log l(t) against the step size eta",
             [_rate_panel(run, settings) for run in runs], columns=len(runs))
    s.figure("loss-curves", "GD from a deficiency margin (outside the step-size hypothesis)",
             (_loss_panel(runs, settings),))
    s.figure(_failures_figure(failures, settings))
    s.table("rates", "Fitted per-step decay rate of log l(t) vs Theorem 1's guaranteed "
            "-log(1 - eta c^{2(N-1)/N}) (mean over instances)",
            ("N", "regime", "c", "eta", "measured rate", "guaranteed rate", "ratio"),
            [row for run in runs for row in _depth_rows(run, settings)])
    s.table("large-steps", f"OUTSIDE the hypotheses: large step sizes, {settings.large_steps} steps "
            f"from margins {settings.margins}; Theorem 1 makes no claim here",
            ("N", "eta", "runs ending above l(0) or non-finite",
             "runs breaking l(t) <= l(0)(1 - eta c^p)^t", "runs"),
            [row for run in runs for row in _large_step_rows(run, settings)])
    s.table("claim4", "Appendix C Claim 4 (d = 1, Phi = 1): GD from W_e(0) = 1/2 (margin 1/2)",
            ("N", "eta", "init", "margin", "delta", "l(0)", "l(T)", "diverged"),
            [run.row for run in failures.claim4])
    s.table("claim5", "Appendix C Claim 5: identity init, symmetric Phi with a negative eigenvalue",
            ("N", "eta", "margin of init", "min_t l(t) - lambda^2/2", "l(T)",
             "min eigenvalue of W_e(T)"), [run.row for run in failures.claim5])


def _failures_figure(failures: FailureRuns, settings: ExperimentConfig) -> Figure:
    claim4 = tuple(_loss_curve_series(f"N={run.depth}, eta={run.eta:g}, {run.init}", run.curve)
                   for run in failures.claim4
                   if run.eta == settings.claim4_step_sizes[-1]
                   and run.depth == settings.claim4_depths[0])
    claim5 = tuple(_loss_curve_series(f"N={run.depth}, eta={run.eta:g}", run.curve)
                   for run in failures.claim5 if run.depth == settings.claim5_depths[0])
    return Figure(
        "appendix-c-failures", "Appendix C: failure without balancedness or margin",
        (Panel("Claim 4: d = 1, Phi = 1, W_e(0) = 1/2 (margin 1/2)", "step t", "l(t)", claim4,
               xscale="linear"),
         Panel(f"Claim 5: symmetric Phi with eigenvalue -{settings.negative_eigenvalue}, "
               "identity init", "step t", "l(t)", claim5 + (_floor_series(settings),),
               xscale="linear")),
        columns=2)


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


def _record_rate_exponent(s: Session, name: str, statement: str, eta: np.ndarray,
                          rate: np.ndarray, decisive: bool = True) -> None:
    """The decay rate's exponent in eta, fitted over the step sizes whose rate the dtype resolves."""
    resolved = np.isfinite(rate) & (rate > 0)
    if resolved.sum() < 3:
        s.check(name, statement, Verdict.INCONCLUSIVE,
                f"only {int(resolved.sum())} of {rate.size} step sizes give a decay rate above the "
                f"{s.dtype} rounding floor (below precision); no exponent fitted",
                decisive=decisive, values={"resolved_step_sizes": int(resolved.sum())})
        return
    s.rate(name, statement, eta[resolved], rate[resolved], RATE_IN_STEP_SIZE, decisive=decisive)


def _record_depth(s: Session, run: DepthRuns, settings: ExperimentConfig) -> None:
    depth, inside, outside = run.depth, run.inside, run.outside
    inside_ratio = inside.rate / inside.guaranteed
    outside_ratio = outside.rate / outside.guaranteed
    middle = len(settings.margins) // 2
    s.check(f"hypotheses-met-n{depth}",
            f"N = {depth}: the inside-hypotheses runs meet Theorem 1's margin, balancedness and "
            "step-size conditions", Verdict.CONSISTENT if inside.hypotheses else Verdict.VIOLATED,
            "all runs meet them" if inside.hypotheses else "some run does not")
    s.inequality(f"lemma-every-step-n{depth}",
                 f"N = {depth}, inside the hypotheses: l(t+1) <= (1 - eta sigma_min(W_e(t))^{{2(N-1)/N}}) "
                 "l(t) at every step (margin relative to l(t), tolerance: the dtype's rounding floor "
                 "64 eps of a relative difference)", inside.lemma_margin, rate_resolution(s.dtype),
                 main=True, values={"steps": settings.inside_steps})
    s.inequality(f"rate-above-guarantee-n{depth}",
                 f"N = {depth}, inside the hypotheses: fitted rate of log l(t) >= "
                 "-log(1 - eta c^{2(N-1)/N}) (margin: min measured/guaranteed - 1)",
                 _finite_min(inside_ratio) - 1, 0.0,
                 values={"min ratio": _finite_min(inside_ratio),
                         "max ratio": -_finite_min(-inside_ratio)})
    _record_rate_exponent(
        s, f"rate-exponent-inside-n{depth}",
        f"N = {depth}, inside the hypotheses (c = {settings.margins[middle]}, mean over "
        f"{settings.instances} instances): decay rate vs eta over eta_max x "
        f"{settings.inside_fractions} (rate >= eta c^p forces exponent <= 1)",
        inside.eta[middle].mean(axis=-1), _mean_rates(inside.rate[middle]))
    _record_rate_exponent(
        s, f"rate-exponent-outside-n{depth}",
        f"N = {depth}, OUTSIDE the step-size hypothesis (eta {min(settings.outside_step_sizes):g}.."
        f"{max(settings.outside_step_sizes):g}, c = {settings.margins[middle]}, mean over "
        f"{settings.instances} instances): decay rate vs eta",
        np.array(settings.outside_step_sizes), _mean_rates(outside.rate[middle]), decisive=False)
    s.inequality(f"rate-above-guarantee-outside-n{depth}",
                 f"N = {depth}, OUTSIDE the step-size hypothesis: fitted rate >= guaranteed and "
                 "l(t) <= l(0)(1 - eta c^p)^t (margin: min measured/guaranteed - 1)",
                 _finite_min(outside_ratio) - 1, 0.0, decisive=False,
                 values={"min ratio": _finite_min(outside_ratio),
                         "max ratio": -_finite_min(-outside_ratio),
                         "envelope margin": outside.envelope_margin})


def _large_step_rows(run: DepthRuns, settings: ExperimentConfig) -> list[tuple]:
    """Per (N, eta): runs ending above l(0) or non-finite, and runs breaking the envelope."""
    diverged = ~np.isfinite(run.large.final_ratio) | (run.large.final_ratio > 1)
    broken = run.large.envelope_margin < 0
    return [(run.depth, eta, int(diverged[:, j].sum()), int(broken[:, j].sum()), diverged[:, j].size)
            for j, eta in enumerate(settings.large_step_sizes)]


def _depth_rows(run: DepthRuns, settings: ExperimentConfig) -> list[tuple]:
    inside, outside = run.inside, run.outside
    rows = []
    for i, c in enumerate(settings.margins):
        for j, fraction in enumerate(settings.inside_fractions):
            rows.append((run.depth, f"inside (eta_max x {fraction:g})", c,
                         float(inside.eta[i, j].mean()), float(_mean_rates(inside.rate[i, j])),
                         float(inside.guaranteed[i, j].mean()),
                         float(_mean_rates(inside.rate[i, j] / inside.guaranteed[i, j]))))
        for j, eta in enumerate(settings.outside_step_sizes):
            rows.append((run.depth, "OUTSIDE (step size)", c, eta,
                         float(_mean_rates(outside.rate[i, j])),
                         float(outside.guaranteed[i, j].mean()),
                         float(_mean_rates(outside.rate[i, j] / outside.guaranteed[i, j]))))
    return rows


def _rate_panel(run: DepthRuns, settings: ExperimentConfig) -> Panel:
    middle = len(settings.margins) // 2
    eta = np.concatenate([run.inside.eta[middle].mean(axis=-1), settings.outside_step_sizes])
    rate = np.concatenate([_mean_rates(run.inside.rate[middle]),
                           _mean_rates(run.outside.rate[middle])])
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
        samples = run.outside.sample_losses
        series.append(_loss_curve_series(f"N={run.depth}, measured", samples))
        steps = np.arange(samples.size)
        envelope = samples[0] * (1 - eta * c ** contraction_exponent(run.depth)) ** steps
        series.append(Series(f"N={run.depth}, Theorem 1 envelope", tuple(float(s) for s in steps),
                             tuple(float(v) for v in envelope), "dashed"))
    return Panel(f"l(t) at eta = {eta:g}, c = {c}", "step t", "l(t)", tuple(series), xscale="linear")


def _floor_series(settings: ExperimentConfig) -> Series:
    level = settings.negative_eigenvalue**2 / 2
    return Series("lambda^2 / 2", (0.0, float(settings.claim5_steps)), (level, level), "dashed")


def _record_failures(s: Session, failures: FailureRuns, settings: ExperimentConfig) -> None:
    reproduced = failures.claim4_reproduced
    s.check("claim4-unbalanced-diverges",
            "Appendix C Claim 4 (even N, d = 1, Phi = 1, W_e(0) = 1/2 with margin 1/2): for every "
            "step size tried some unbalanced init diverges while the balanced init with the same "
            "W_e(0) does not", Verdict.CONSISTENT if reproduced else Verdict.VIOLATED,
            "reproduced: necessity of balancedness is consistent" if reproduced else
            "not reproduced in every (N, eta) cell", values=failures.claim4_values)
    s.inequality("claim5-stuck-above-floor",
                 f"Appendix C Claim 5 (even N, Phi symmetric with eigenvalue "
                 f"-{settings.negative_eigenvalue}, identity init, no margin): l(t) >= lambda^2/2 at "
                 "every step for every step size tried (margin min_t l(t) - lambda^2/2)",
                 failures.claim5_floor_margin, failures.claim5_tolerance,
                 values=failures.claim5_values(settings.negative_eigenvalue))
