"""Experiment layer: SGD and Adam on the three learners of Section 4, and the Fig. 6 reproduction.

Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 4 (Theorem 3, Section 4.1.3,
Fig. 6). The learners map a curve f = W p (paper's distribution, k = 3) to its breakpoint vector p:
- fully connected: p_hat = U f, U in R^{n x n} (target W^{-1});
- convolution: p_hat_t = v . (f_{t-2}, f_{t-1}, f_t), 3 taps (target v = (1, -2, 1));
- convolution + preconditioning: the windows are whitened by C_m^{-1/2}, C_m their uncentered
  second moment estimated once from m training curves (target C_m^{1/2} (1, -2, 1)).
Loss 1/2 sum_t (p_hat_t - p_t)^2 per curve, mini-batch mean. Plain SGD with the step
eta = c / lambda_max(expected Hessian), c = 1/2 (for the fully connected learner this is
eta lambda S_11^2 = 1/2 < 1, the non-divergent case of Theorem 3), and Adam with the authors'
learning rates. All sizes, seeds and learners run in one batched tensor program (sizes padded to
the largest, masked). Measured: the first iteration with ||U - W^{-1}||_2 < 1/2 (and with the
relative error ||U - W^{-1}||_2 / ||W^{-1}||_2 < `relative_target`), on a geometric grid of
checkpoints; runs that hit the iteration cap are reported as capped and not fitted.
Claimed growth in n: n^3.5 (lower bound, fully connected), n^3 (convolution), n^0 (preconditioned).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy
import torch

from optverify.claim import Bound, BoundKind, Layer, Progress, RunConfig
from optverify.figures import rate_panel
from optverify.numerics.fit import RateFit, fit_power_law
from optverify.numerics.structured import ramp_spectrum_dense
from optverify.results import Check, Figure, LayerResult, Panel, Series, Table, Verdict
from optverify.theorems.pwl_conditioning.moments import conv_second_moment_symbolic, n_symbol
from optverify.theorems.pwl_conditioning.sampling import (
    curves_from_breakpoints_torch,
    sample_breakpoints_torch,
)
from optverify.verdict import judge_exponent, rate_check

LEARNERS = ("fully-connected", "convolution", "preconditioned")
CLAIMED = {
    "fully-connected": Bound(BoundKind.LOWER, "n", sympy.Rational(7, 2)),
    "convolution": Bound(BoundKind.TIGHT, "n", sympy.Integer(3)),
    "preconditioned": Bound(BoundKind.TIGHT, "n", sympy.Integer(0)),
}
SECOND_DIFFERENCE = (1.0, -2.0, 1.0)
ADAM_LEARNING_RATES = {"fully-connected": 1e-4, "convolution": 0.05, "preconditioned": 0.05}
"""The authors' Adam rates (1e-4 fully connected, 0.05 convolution); the preconditioned learner
uses the convolution's rate."""


@dataclass(frozen=True)
class ExperimentConfig:
    """Sizes, seeds, caps and the Fig. 6 settings (quick and full presets)."""

    sizes: dict
    seeds: int
    batch: int
    step_factor: float
    iteration_cap: int
    adam_iteration_cap: int
    checkpoint_ratio: float
    relative_target: float
    preconditioning_samples: int
    figure_size: int
    figure_iterations: tuple[int, ...]
    absolute_target: float = 0.5

    @classmethod
    def for_run(cls, config: RunConfig) -> ExperimentConfig:
        if config.quick:
            return cls(sizes={"fully-connected": (3, 4, 5),
                              "convolution": (4, 5, 6, 8),
                              "preconditioned": (4, 5, 6, 8)},
                       seeds=2, batch=16, step_factor=0.5, iteration_cap=6_000,
                       adam_iteration_cap=1_000, checkpoint_ratio=1.05, relative_target=0.05,
                       preconditioning_samples=2000, figure_size=100,
                       figure_iterations=(100, 500, 1000))
        # Sizes and caps keep full mode within minutes on 2 CPU cores (one batched step of all
        # runs costs about 1 ms): SGD needs about 1.3 n^4 steps fully connected, 1.5 n^3 convolved.
        return cls(sizes={"fully-connected": (3, 4, 5, 6, 8, 10),
                          "convolution": (4, 6, 8, 12, 16, 20),
                          "preconditioned": (4, 6, 8, 12, 16, 20)},
                   seeds=4, batch=16, step_factor=0.5, iteration_cap=120_000,
                   adam_iteration_cap=60_000, checkpoint_ratio=1.03, relative_target=0.05,
                   preconditioning_samples=10000, figure_size=100,
                   figure_iterations=(500, 10_000, 50_000))


class BatchedLearners:
    """All runs (learner, size, seed) as one batch, in two groups padded to a common n_max.

    Fully connected runs (first) hold U (n_max x n_max). Convolution runs hold 3 taps v' applied
    to whitened windows R w_t (R = I, or C_m^{-1/2} for the preconditioned learner), i.e. the
    filter R^T v' on the raw windows w_t = (f_{t-2}, f_{t-1}, f_t); the tap gradient is
    R sum_t residual_t w_t. Products are written as broadcast sums: for these small batched
    matrices they are far faster than batched matmul on CPU.
    """

    def __init__(self, runs: list[tuple[str, int]], whiten: dict, config: RunConfig):
        self.device, self.dtype = config.device, config.torch_dtype
        options = {"device": self.device, "dtype": self.dtype}
        ordered = sorted(runs, key=lambda run: run[0] != "fully-connected")
        if ordered != runs:
            raise ValueError("fully connected runs must come first")
        self.dense_count = sum(kind == "fully-connected" for kind, _ in runs)
        self.sizes = torch.tensor([n for _, n in runs], device=self.device)
        self.n_max = int(self.sizes.max())
        position = torch.arange(self.n_max, device=self.device)
        self.mask = (position < self.sizes[:, None]).to(self.dtype)
        identity = torch.eye(3, **options)
        self.whiten = torch.stack([whiten.get(run, identity) for run in runs[self.dense_count:]]
                                  or [identity])[: len(runs) - self.dense_count]
        self.dense = torch.zeros(self.dense_count, self.n_max, self.n_max, **options)
        self.taps = torch.zeros(len(runs) - self.dense_count, 3, **options)
        self.block = self.mask[:, :, None] * self.mask[:, None, :]
        self.target = _banded(SECOND_DIFFERENCE, self.n_max, options) * self.block
        self.target_norm = torch.linalg.matrix_norm(self.target, ord=2)

    def filters(self) -> torch.Tensor:
        """The raw-window filters R^T v' of the convolution runs, (runs, 3)."""
        return (self.whiten * self.taps[:, :, None]).sum(1)

    def predictions(self, f: torch.Tensor) -> torch.Tensor:
        """p_hat for curves f of shape (runs, batch, n_max)."""
        split = self.dense_count
        dense = (f[:split, :, None, :] * self.dense[:, None]).sum(-1)
        shifted = _shifts(f[split:])
        conv = sum(self.filters()[:, lag, None, None] * shifted[lag] for lag in range(3))
        return torch.cat([dense, conv]) * self.mask[:, None]

    def gradients(self, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mini-batch mean gradients of 1/2 sum_t (p_hat_t - p_t)^2 for U and the taps."""
        f = curves_from_breakpoints_torch(p) * self.mask[:, None]
        residual = self.predictions(f) - p
        batch = p.shape[1]
        split = self.dense_count
        dense = (residual[:split, :, :, None] * f[:split, :, None, :]).sum(1) / batch
        shifted = _shifts(f[split:])
        raw = torch.stack([(residual[split:] * shifted[lag]).sum((1, 2)) for lag in range(3)], -1)
        return dense, (self.whiten * raw[:, None, :]).sum(-1) / batch

    def effective_matrices(self) -> torch.Tensor:
        """U for every run: the dense matrix, or the banded Toeplitz matrix of the filter."""
        options = {"device": self.device, "dtype": self.dtype}
        filters = self.filters()
        banded = sum(filters[:, 2 - lag, None, None] * torch.diag(
            torch.ones(self.n_max - lag, **options), -lag) for lag in range(3))
        return torch.cat([self.dense, banded]) * self.block

    def errors(self) -> torch.Tensor:
        return torch.linalg.matrix_norm(self.effective_matrices() - self.target, ord=2)


def _shifts(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(f_{t-2}, f_{t-1}, f_t) along the last axis, zero-padded on the left."""
    padded = torch.nn.functional.pad(f, (2, 0))
    return padded[..., :-2], padded[..., 1:-1], f


def _banded(taps, size: int, options: dict) -> torch.Tensor:
    return sum(tap * torch.diag(torch.ones(size - lag, **options), -lag)
               for lag, tap in enumerate(taps))


def _whitening(sizes, samples: int, config: RunConfig) -> dict:
    """C_m^{-1/2} from m sampled training curves for each size (Section 4.1.3)."""
    generator = config.torch_generator("preconditioning")
    options = {"device": config.device, "dtype": config.torch_dtype}
    result = {}
    for n in sizes:
        p = sample_breakpoints_torch(torch.tensor([n], device=config.device), (samples,), n,
                                     generator, config.torch_dtype)[0]
        padded = torch.nn.functional.pad(curves_from_breakpoints_torch(p), (2, 0))
        windows = torch.stack([padded[:, :-2], padded[:, 1:-1], padded[:, 2:]], dim=-1)
        moment = torch.einsum("mta,mtb->ab", windows, windows) / (samples * n)
        eigenvalues, vectors = torch.linalg.eigh(moment)
        result[("preconditioned", n)] = (vectors * eigenvalues.rsqrt()) @ vectors.mT
    return {key: value.to(**options) for key, value in result.items()}


def _sgd_steps(runs: list[tuple[str, int]], whiten: dict, factor: float) -> torch.Tensor:
    """eta_r = c / lambda_max(expected Hessian of one curve's loss), from the exact moments."""
    moment = conv_second_moment_symbolic()
    steps = []
    for kind, n in runs:
        if kind == "fully-connected":
            index = np.arange(n)
            w = np.maximum(index[:, None] - index[None, :] + 1, 0).astype(float)
            curvature = (1.0 / n) * np.linalg.norm(w, 2) ** 2  # lambda S_11^2, lambda = k/(3n)
        else:
            exact = np.array(moment.subs(n_symbol, n).evalf(), dtype=float)
            transform = whiten[(kind, n)].cpu().numpy() if (kind, n) in whiten else np.eye(3)
            curvature = n * np.linalg.eigvalsh(transform @ exact @ transform.T)[-1]
        steps.append(factor / curvature)
    return torch.tensor(steps)


def hitting_times(learners: BatchedLearners, update, cap: int, settings: ExperimentConfig,
                  config: RunConfig, purpose: str) -> tuple[np.ndarray, np.ndarray]:
    """First checkpoint iteration with error < absolute target, and < relative target (cap + 1
    when never reached). Checkpoints grow geometrically by `checkpoint_ratio`."""
    generator = config.torch_generator(purpose)
    runs = learners.sizes.shape[0]
    never = cap + 1
    absolute = np.full(runs, never)
    relative = np.full(runs, never)
    checkpoint, iteration = 1, 0
    while iteration < cap and (absolute == never).any() | (relative == never).any():
        while iteration < checkpoint:
            p = sample_breakpoints_torch(learners.sizes, (settings.batch,), learners.n_max,
                                         generator, learners.dtype)
            update(*learners.gradients(p))
            iteration += 1
        error = learners.errors().cpu().numpy()
        ratio = error / learners.target_norm.cpu().numpy()
        absolute = np.where((absolute == never) & (error < settings.absolute_target), iteration,
                            absolute)
        relative = np.where((relative == never) & (ratio < settings.relative_target), iteration,
                            relative)
        checkpoint = min(cap, max(checkpoint + 1, int(checkpoint * settings.checkpoint_ratio)))
    return absolute, relative


def _runs(settings: ExperimentConfig) -> list[tuple[str, int]]:
    return [(kind, n) for kind in LEARNERS for n in settings.sizes[kind]
            for _ in range(settings.seeds)]


def _train(optimizer_name: str, settings: ExperimentConfig, whiten: dict, config: RunConfig):
    runs = _runs(settings)
    learners = BatchedLearners(runs, whiten, config)
    if optimizer_name == "sgd":
        steps = _sgd_steps(runs, whiten, settings.step_factor).to(learners.device, learners.dtype)

        split = learners.dense_count

        def update(dense_grad, taps_grad):
            learners.dense -= steps[:split, None, None] * dense_grad
            learners.taps -= steps[split:, None] * taps_grad
        cap = settings.iteration_cap
    else:
        update = _adam_update(learners, runs)
        cap = settings.adam_iteration_cap
    absolute, relative = hitting_times(learners, update, cap, settings, config,
                                       f"data-{optimizer_name}")
    return runs, absolute, relative, cap


def _adam_update(learners: BatchedLearners, runs: list[tuple[str, int]]):
    rates = torch.tensor([ADAM_LEARNING_RATES[kind] for kind, _ in runs], device=learners.device,
                         dtype=learners.dtype)
    split = learners.dense_count
    dense_adam, taps_adam = _BatchedAdam(rates[:split]), _BatchedAdam(rates[split:])

    def update(dense_grad, taps_grad):
        learners.dense -= dense_adam.step(dense_grad)
        learners.taps -= taps_adam.step(taps_grad)
    return update


class _BatchedAdam:
    """Adam (Kingma & Ba, default betas) with one learning rate per run: elementwise, so runs
    stay independent."""

    def __init__(self, rates: torch.Tensor, betas=(0.9, 0.999), eps: float = 1e-8):
        self.rates, self.betas, self.eps = rates, betas, eps
        self.first = self.second = 0.0
        self.count = 0

    def step(self, gradient: torch.Tensor) -> torch.Tensor:
        self.count += 1
        self.first = self.betas[0] * self.first + (1 - self.betas[0]) * gradient
        self.second = self.betas[1] * self.second + (1 - self.betas[1]) * gradient**2
        first, second = self.first, self.second
        corrected_first = first / (1 - self.betas[0] ** self.count)
        corrected_second = second / (1 - self.betas[1] ** self.count)
        rate = self.rates.view(-1, *([1] * (gradient.dim() - 1)))
        return rate * corrected_first / (corrected_second.sqrt() + self.eps)


CONDITION_LAW = Bound(BoundKind.TIGHT, "cond", sympy.Integer(1))
"""Iterations of a first-order method on a quadratic grow linearly with the condition number of
its Hessian (Theorem 3's t + 1 <= S_11^2 / (2 S_nn^2) for the fully connected learner)."""


def _in_asymptotic_regime(exact: RateFit, kind: str) -> bool:
    """A sweep can judge the claimed n-exponent only where the exact condition number over the
    same sizes already satisfies the claimed bound; below that the sizes are pre-asymptotic."""
    return judge_exponent(exact, CLAIMED[kind]) is Verdict.CONSISTENT


def _rate_checks(optimizer_name: str, runs, times, cap: int, target: str, decisive: bool):
    checks, panels, rows = [], [], []
    for kind in LEARNERS:
        sizes = np.array([n for k, n in runs if k == kind])
        counts = np.array([t for (k, _), t in zip(runs, times) if k == kind])
        reached = counts <= cap
        fit_sizes, fit_counts = sizes[reached], counts[reached]
        capped = sorted({int(n) for n in sizes[~reached]})
        rows.extend((optimizer_name, kind, target, int(n), int(t) if t <= cap else f"capped (>{cap})")
                    for n, t in zip(sizes, counts))
        name = f"{optimizer_name}-{kind}-{target}"
        statement = (f"{optimizer_name.upper()} iterations until {target} error on the "
                     f"{kind} learner grow like {CLAIMED[kind].describe()}")
        values = {"capped_sizes": str(capped) if capped else "none", "iteration_cap": cap}
        if np.unique(fit_sizes).size < 3:
            checks.append(Check(Layer.EXPERIMENT, name, statement, Verdict.INCONCLUSIVE,
                                detail=f"fewer than 3 sizes reached the target within {cap} "
                                       f"iterations (capped sizes {capped})",
                                decisive=decisive, values=values))
            continue
        fit = fit_power_law(fit_sizes, fit_counts)
        distinct = np.unique(fit_sizes)
        condition_of = {int(n): _exact_condition(kind, int(n)) for n in distinct}
        exact = fit_power_law(distinct, [condition_of[int(n)] for n in distinct])
        asymptotic = _in_asymptotic_regime(exact, kind)
        values["exact_condition_exponent_same_sizes"] = f"{exact.exponent:.4g}"
        values["sizes_in_asymptotic_regime"] = "yes" if asymptotic else (
            "no: the exact condition number over these sizes does not yet satisfy the claimed "
            "bound, so this n-exponent is reported, not judged")
        checks.append(rate_check(Layer.EXPERIMENT, name, statement, fit, CLAIMED[kind],
                                 decisive=decisive and asymptotic, values=values))
        panels.append(rate_panel(f"{optimizer_name.upper()}, {kind}", "n",
                                 f"iterations to {target} error", fit_sizes, fit_counts, fit,
                                 CLAIMED[kind]))
        if kind != "preconditioned":
            law = fit_power_law([condition_of[int(n)] for n in fit_sizes], fit_counts)
            checks.append(rate_check(
                Layer.EXPERIMENT, f"{name}-vs-condition",
                f"{optimizer_name.upper()} iterations until {target} error on the {kind} learner "
                "grow linearly in the exact condition number of its problem",
                law, CONDITION_LAW, decisive=decisive))
    return checks, panels, rows


def _exact_condition(kind: str, n: int) -> float:
    """The exact condition number behind a learner's iteration count at size n (pre-asymptotic
    context for a fit over small n): cond(W^T W), cond(C), or 1 once preconditioned."""
    if kind == "fully-connected":
        return ramp_spectrum_dense(n).gram_condition
    if kind == "convolution":
        eigenvalues = np.linalg.eigvalsh(np.array(conv_second_moment_symbolic().subs(n_symbol, n)
                                                  .evalf(), dtype=float))
        return float(eigenvalues[-1] / eigenvalues[0])
    return 1.0


def _figure6(settings: ExperimentConfig, whiten_all: dict, config: RunConfig) -> Figure:
    """Fig. 6: p_hat = U f against p for one test curve after each snapshot, Adam as in the code."""
    n = settings.figure_size
    whiten = {**whiten_all, **_whitening((n,), settings.preconditioning_samples, config)}
    runs = [(kind, n) for kind in LEARNERS]
    learners = BatchedLearners(runs, whiten, config)
    update = _adam_update(learners, runs)
    generator = config.torch_generator("figure")
    test_p = sample_breakpoints_torch(learners.sizes[:1], (1,), n, generator, learners.dtype)
    test_p = test_p.expand(len(runs), 1, n)
    test_f = curves_from_breakpoints_torch(test_p)
    snapshots, iteration = {}, 0
    for stop in settings.figure_iterations:
        while iteration < stop:
            p = sample_breakpoints_torch(learners.sizes, (settings.batch,), n, generator,
                                         learners.dtype)
            update(*learners.gradients(p))
            iteration += 1
        snapshots[stop] = learners.predictions(test_f)[:, 0].cpu().numpy()
    x = tuple(float(v) for v in range(1, n + 1))
    truth = tuple(float(v) for v in test_p[0, 0].cpu().numpy())
    panels = tuple(
        Panel(f"{kind}, {stop} iterations", "x", "p (breakpoint slopes)",
              (Series("true p", x, truth, "dashed"),
               Series("recovered U f", x, tuple(float(v) for v in snapshots[stop][index]), "line")),
              xscale="linear", yscale="linear")
        for stop in settings.figure_iterations for index, kind in enumerate(LEARNERS))
    mode = "quick mode, fewer iterations than the paper's 500/10,000/50,000" if config.quick else \
        "as in the paper"
    return Figure("figure6-reproduction",
                  f"Fig. 6 reproduction: n = {n}, k = 3, Adam (authors' rates); {mode}", panels,
                  columns=3)


def verify(config: RunConfig, progress: Progress) -> LayerResult:
    settings = ExperimentConfig.for_run(config)
    whiten = _whitening(settings.sizes["preconditioned"], settings.preconditioning_samples, config)
    checks, panels, rows = [], [], []
    for optimizer_name in progress(("sgd", "adam"), "training"):
        runs, absolute, relative, cap = _train(optimizer_name, settings, whiten, config)
        decisive = optimizer_name == "sgd"
        for target, times in (("absolute-0.5", absolute),
                              (f"relative-{settings.relative_target:g}", relative)):
            new_checks, new_panels, new_rows = _rate_checks(optimizer_name, runs, times, cap,
                                                            target, decisive)
            checks += new_checks
            panels += new_panels
            rows += new_rows
    figures = [Figure("iterations-vs-n", "Iterations to reach the target error vs n",
                      tuple(panels), columns=3), _figure6(settings, whiten, config)]
    table = Table("hitting-times", "First checkpoint iteration below the target, per run",
                  ("optimizer", "learner", "target", "n", "iterations"), tuple(rows))
    return LayerResult(layer=Layer.EXPERIMENT, checks=tuple(checks), figures=tuple(figures),
                       tables=(table,),
                       notes=(f"SGD step eta = {settings.step_factor} / lambda_max(expected Hessian)"
                              " (fully connected: eta lambda S_11^2 = "
                              f"{settings.step_factor}); mini-batch {settings.batch}; Adam rates "
                              f"{ADAM_LEARNING_RATES}.",))
