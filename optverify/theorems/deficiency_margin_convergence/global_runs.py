"""Runs from far from Phi: Theorems 1-2 of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281.

`long_runs` starts every run at margin c = 0.9 (W_e(0) within 0.1 of Phi): local convergence.
Here the runs start where the theorems are global:
- Theorem 1 at small margins c = 0.1, 0.25, 0.5 (||W_e(0) - Phi||_F = 0.9, 0.75, 0.5 with
  sigma_min(Phi) = ||Phi||_F = 1, Phi 1 x 3);
- Theorem 2 (d_N = 1): Procedure 1's balanced initialization of W_e(0) = A ~ N(0, s^2 I),
  s d_0 = 0.2 (near zero), and every draw with a positive margin run to convergence.

Theorem 1's own step size is small: its guaranteed decrease per step is
x = eta_max c^{2(N-1)/N} = (c / ||Phi||_F)^{(6N-4)/N} / (6144 N^3), at N = 2 x = c^4 / 49152, so its
T(1e-6 l(0)) = log(1e6) / x is 1.1e7 steps at c = 0.5, 1.8e8 at c = 0.25, 6.8e9 at c = 0.1
(scale-free: only c / ||Phi||_F enters). At that step Theorem 1 is run inside every hypothesis on
the one instance whose GD is a scalar recursion (`theorem_step_runs`: N = 2, Phi = 1, exactly
balanced), at c = 0.5 (1.49e6 steps) and 0.25 (1.30e7 steps); c = 0.1 takes more than 1e8
steps (minutes) and runs at the paper scale only. The matrix runs (a numpy step costs some 25 us on this
machine) and Theorem 2's draws (margins about s = 2e-3, so eta_max <= 2e-13) use fixed step
sizes far above the bound (eta / eta_max(c) is reported with every check); there the theorem's
conclusions are checked as stated with that eta: the lemma at every step, and reaching
l <= 1e-6 l(0) within T = log(1e6) / (eta c^{2(N-1)/N}) steps, reported, not decisive (Theorem 1
says nothing at these step sizes). Theorem 2's margin probability is its own statement.

Target: Phi = e_1^T (1 x d_0, d_N = 1), so sigma_min(W_e) is the row norm ||W_e||_2 and the lemma's
sigma_min(W_e(t)) costs nothing per step. The runs are float64 numpy programs over the whole batch
(margins x step sizes x instances, or all draws), streamed in chunks: per run only the hitting
time, the lemma's worst margin and the smallest sigma_min are kept.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from optverify.numerics.deep_linear import balanced_factors, end_to_end
from optverify.numerics.validation import require_between
from optverify.theorems.deficiency_margin_convergence.conditions import (
    contraction_exponent,
    deficiency_margin,
    step_size_bound,
)
from optverify.theorems.deficiency_margin_convergence.instances import theorem_instance
from optverify.theorems.deficiency_margin_convergence.long_runs import REDUCTION, gd_steps

KAPPA = math.log(1 / REDUCTION)
"""log(l(0) / eps) at eps = REDUCTION l(0): Theorem 1's T(eps) = KAPPA / (eta c^{2(N-1)/N})."""

CHUNK = 2000
"""Steps per streamed chunk at most."""

HISTORY_FLOATS = 2_000_000
"""A chunk's W_e history holds at most 2e6 floats (16 MB): chunk x runs x d_0."""

STEP_CAP = 2_000_000
"""No run goes past 2e6 steps (about a minute): a run that has neither reached 1e-6 l(0) nor passed
its own T by then leaves its hitting-time margin undetermined (NaN, judged inconclusive)."""

DRAW_SCALE = 0.2
"""Theorem 2's initialization near zero: s d_0 / ||Phi|| = 0.2 (the numeric layer's constant
cell)."""

MARGIN_PROBABILITY = 0.25
"""Theorem 2's constant: a balanced init near zero has a deficiency margin with probability
> 1/4 (the threshold, fixed before measuring)."""

LOW_PROBABILITY = 0.1
"""The false alternative of the margin fraction: a true probability 0.1 (well under 1/4)."""


@dataclass(frozen=True)
class GlobalRunConfig:
    """Theorem 1 at its own step (the scalar runs' margins), the small-margin sweep (depths,
    margins, step sizes, instances per cell, d_0 = 3) and Theorem 2 draws (count, d_0, depth, step
    size)."""

    theorem_step_margins: tuple[float, ...]
    depths: tuple[int, ...]
    margins: tuple[float, ...]
    step_sizes: tuple[float, ...]
    instances: int
    draws: int
    draw_inputs: int
    draw_depth: int
    draw_step_size: float

    @classmethod
    def quick(cls) -> GlobalRunConfig:
        return cls((0.5,), (2,), (0.1, 0.25, 0.5), (1e-2, 1e-1), 2, 200, 100, 3, 5e-2)

    @classmethod
    def full(cls) -> GlobalRunConfig:
        return cls((0.25, 0.5), (2, 3), (0.1, 0.25, 0.5), (1e-2, 1e-1), 4, 1000, 100, 3, 5e-2)

    @classmethod
    def paper(cls) -> GlobalRunConfig:
        """c = 0.1 at Theorem 1's own step too (more than 1e8 scalar steps, minutes), depth 4, a
        smaller step size, more instances and draws."""
        return cls((0.1, 0.25, 0.5), (2, 3, 4), (0.1, 0.25, 0.5), (1e-3, 1e-2, 1e-1), 16, 10000,
                   100, 3, 5e-2)


def theorem_iterations(eta: np.ndarray, margin: np.ndarray, depth: int) -> np.ndarray:
    """Theorem 1's T(REDUCTION l(0)) = ceil(KAPPA / (eta c^{2(N-1)/N})) per run."""
    return np.ceil(KAPPA / (eta * margin ** contraction_exponent(depth)))


@dataclass(frozen=True)
class RunSummary:
    """Per run (flat batch): step size, measured initial margin c, l(0), the first step with
    l(t) <= REDUCTION l(0) (-1: not reached), the lemma's worst relative margin
    min_t [(1 - eta s_t^p) l(t) - l(t+1)] / l(t), the largest guaranteed decrease max_t eta s_t^p
    (the lemma margins of a stopped run and of a run at half the lemma's decrease are exactly
    -1 and -1/2 times it), min_t sigma_min(W_e(t)), and the steps run."""

    depth: int
    eta: np.ndarray
    margins: np.ndarray
    initial_loss: np.ndarray
    hit: np.ndarray
    lemma_margin: np.ndarray
    largest_decrease: np.ndarray
    smallest_sigma: np.ndarray
    steps: int

    @property
    def bound(self) -> np.ndarray:
        return theorem_iterations(self.eta, self.margins, self.depth)

    @property
    def guaranteed(self) -> np.ndarray:
        return self.eta * self.margins ** contraction_exponent(self.depth)

    def step_ratio(self) -> np.ndarray:
        """eta / eta_max(c): how far above Theorem 1's step-size condition each run is
        (||Phi||_F = 1)."""
        return self.eta / np.array([step_size_bound(float(margin), 1.0, self.depth)
                                    for margin in self.margins])


def hitting_margin(hit: np.ndarray, bound: np.ndarray, steps: int) -> float:
    """min over runs of (T - t_hit) / T (>= 0: every run reached REDUCTION l(0) within Theorem 1's
    T); a run that has not reached it counts as t_hit > steps, decided only when steps >= T
    (otherwise NaN: undetermined)."""
    reached = hit >= 0
    if not bool(np.all(reached | (steps >= bound))):
        return float("nan")
    times = np.where(reached, hit, steps + 1)
    return float(((bound - times) / bound).min())


def half_rate_hitting(guaranteed: np.ndarray) -> np.ndarray:
    """The false alternative 'linear convergence at half the guaranteed rate',
    l(t) = l(0) (1 - x/2)^t: its first step at or below REDUCTION l(0)."""
    return np.ceil(KAPPA / -np.log1p(-guaranteed / 2))


def sublinear_hitting(guaranteed: np.ndarray) -> np.ndarray:
    """The false alternative 'sublinear convergence at the same initial speed',
    l(t) = l(0) / (1 + x t): its first step at or below REDUCTION l(0)."""
    return np.ceil((1 / REDUCTION - 1) / guaranteed)


def run_to_reduction(factors, target: torch.Tensor, eta: np.ndarray, bound: np.ndarray,
                     depth: int) -> RunSummary:
    """float64 GD on every run of the batch (eta per run) until each reached REDUCTION l(0) or
    passed its T, or STEP_CAP; target (runs, 1, d_0); factors updated in place."""
    factors = [layer.contiguous() for layer in factors]
    target_np = target.numpy()
    start = end_to_end(factors).numpy()
    margins = deficiency_margin(torch.tensor(start), target).numpy()
    initial = 0.5 * ((start - target_np) ** 2).sum(axis=(-2, -1))
    exponent = contraction_exponent(depth)
    runs = eta.size
    hit = np.full(runs, -1)
    lemma = np.full(runs, np.inf)
    largest = np.zeros(runs)
    smallest = np.full(runs, np.inf)
    previous_loss = previous_sigma = previous_decrease = None
    chunk = max(16, min(CHUNK, HISTORY_FLOATS // (runs * target.shape[-1])))
    t = 0
    while t < STEP_CAP:
        history = gd_steps(factors, target, eta[:, None, None], chunk).numpy()
        losses = 0.5 * ((history - target_np) ** 2).sum(axis=(-2, -1))
        sigmas = np.linalg.norm(history[:, :, 0, :], axis=-1)
        decrease = eta * sigmas**exponent
        if previous_loss is not None:
            losses = np.concatenate([previous_loss[None], losses])
            sigmas = np.concatenate([previous_sigma[None], sigmas])
            decrease = np.concatenate([previous_decrease[None], decrease])
        before = losses[:-1] > REDUCTION * initial  # steps t < t_hit: the run's own span
        ratio = ((1 - decrease[:-1]) * losses[:-1] - losses[1:]) / losses[:-1]
        lemma = np.minimum(lemma, np.where(before, ratio, np.inf).min(axis=0))
        largest = np.maximum(largest, np.where(before, decrease[:-1], 0.0).max(axis=0))
        smallest = np.minimum(smallest, np.where(before, sigmas[:-1], np.inf).min(axis=0))
        offset = t - (0 if previous_loss is None else 1)
        below = losses <= REDUCTION * initial
        first = np.where(below.any(axis=0), below.argmax(axis=0) + offset, -1)
        hit = np.where(hit >= 0, hit, first)
        previous_loss, previous_sigma, previous_decrease = losses[-1], sigmas[-1], decrease[-1]
        t += chunk
        if bool(np.all((hit >= 0) | (t - 1 >= bound))):
            break
    return RunSummary(depth, eta, margins, initial, hit, lemma, largest, smallest, t - 1)


STEP_CAP_SCALAR = 400_000_000
"""The scalar runs stop at 4e8 steps (a few minutes): c = 0.25 at eta_max needs 1.30e7 steps,
c = 0.1 more than 1e8 (the paper scale only)."""

SCALAR_CHUNK = 65536
"""Steps of the scalar recursion per chunk handed to numpy."""


def _balanced_scalar_run(margin: float, eta: float) -> tuple[float, int, float, float, float]:
    """N = 2, Phi = 1 (1 x 1), hidden width 1, W_1 = W_2 = a, a(0)^2 = c (margin exactly c at
    distance 1 - c): GD keeps W_1 = W_2 bit for bit (both updates are a - eta a (a^2 - 1)), so the
    run is one float64 recursion, iterated in plain Python (about 1 us a step on the shared
    machine; a numpy step costs 25 us) in chunks of SCALAR_CHUNK whose lemma margins numpy evaluates.
    Returns (l(0), t_hit (-1: not reached by STEP_CAP_SCALAR), the worst lemma margin, the largest
    eta s_t and the smallest s_t = sigma_min(W_e(t))) over t < t_hit."""
    a = math.sqrt(margin)
    initial = 0.5 * (margin - 1.0) ** 2
    target = REDUCTION * initial
    worst, largest, smallest, t, hit = math.inf, 0.0, math.inf, 0, -1
    while hit < 0 and t < STEP_CAP_SCALAR:
        values = [a]
        append = values.append
        for _ in range(SCALAR_CHUNK):
            a -= eta * a * (a * a - 1.0)
            append(a)
        product = np.square(values)
        losses = 0.5 * (product - 1.0) ** 2
        below = losses <= target
        span = int(below.argmax()) if bool(below.any()) else SCALAR_CHUNK
        decrease = eta * product[:span]
        ratio = ((1 - decrease) * losses[:span] - losses[1:span + 1]) / losses[:span]
        if span:
            worst = min(worst, float(ratio.min()))
            largest = max(largest, float(decrease.max()))
            smallest = min(smallest, float(product[:span].min()))
        if bool(below.any()):
            hit = t + span
        t += SCALAR_CHUNK
    return initial, hit, worst, largest, smallest


def theorem_step_runs(margins: tuple[float, ...]) -> RunSummary:
    """`_balanced_scalar_run` at Theorem 1's own step eta_max(c) = c^3 / 49152 for each margin:
    inside every hypothesis (exactly balanced, margin c, eta = eta_max(c))."""
    require_between("a margin of Phi = 1", margins, 0, 1)
    eta = np.array([step_size_bound(margin, 1.0, 2) for margin in margins])
    results = np.array([_balanced_scalar_run(margin, float(step))
                        for margin, step in zip(margins, eta)])
    hit = results[:, 1].astype(int)
    steps = int(hit.max()) if bool((hit >= 0).all()) else STEP_CAP_SCALAR
    return RunSummary(2, eta, np.array(margins), results[:, 0], hit, results[:, 2], results[:, 3],
                      results[:, 4], steps)


def _row_target(runs: int, inputs: int) -> torch.Tensor:
    target = torch.zeros(runs, 1, inputs, dtype=torch.float64)
    target[:, 0, 0] = 1.0
    return target


@dataclass(frozen=True)
class MarginSweep:
    """Theorem 1 from small margins at one depth: the summary over the flat batch
    (margins x step sizes x instances, in that order)."""

    margins: tuple[float, ...]
    step_sizes: tuple[float, ...]
    instances: int
    summary: RunSummary

    def cell(self, margin_index: int) -> np.ndarray:
        """Indices of the runs whose designed margin is margins[margin_index]."""
        per_margin = len(self.step_sizes) * self.instances
        return np.arange(margin_index * per_margin, (margin_index + 1) * per_margin)


@functools.lru_cache(maxsize=4)
def margin_sweep(depth: int, margins: tuple[float, ...], step_sizes: tuple[float, ...],
                 instances: int, seed: int) -> MarginSweep:
    """Theorem-1 instances (W_e(0) at margin exactly c from Phi = e_1^T, 1 x 3; Procedure 1's
    factors with hidden width 2, delta-balanced for c/2) run at each fixed step size (cached)."""
    runs = len(margins) * len(step_sizes) * instances
    design = np.repeat(np.array(margins), len(step_sizes) * instances)
    eta = np.tile(np.repeat(np.array(step_sizes), instances), len(margins))
    target = _row_target(runs, 3)
    generator = torch.Generator().manual_seed(seed)
    factors = [torch.cat(parts) for parts in zip(*(
        theorem_instance(target[index:index + 1], float(design[index]), (2,) * (depth - 1),
                         generator) for index in range(runs)))]
    margin_now = deficiency_margin(end_to_end(factors), target).numpy()
    summary = run_to_reduction(factors, target, eta, theorem_iterations(eta, margin_now, depth),
                               depth)
    return MarginSweep(margins, step_sizes, instances, summary)


@dataclass(frozen=True)
class RandomInitRuns:
    """Theorem 2: the margins of every draw and the runs of the draws with a positive margin."""

    inputs: int
    scale: float
    draw_margins: np.ndarray
    summary: RunSummary

    @property
    def positive(self) -> int:
        return int((self.draw_margins > 0).sum())


@functools.lru_cache(maxsize=4)
def random_init_runs(draws: int, inputs: int, depth: int, eta: float, seed: int) -> RandomInitRuns:
    """Procedure 1 on A ~ N(0, s^2 I), s = DRAW_SCALE / d_0, Phi = e_1^T (1 x d_0), hidden widths
    2; the draws with a positive margin run at step size eta (cached)."""
    scale = DRAW_SCALE / inputs
    generator = torch.Generator().manual_seed(seed)
    draws_a = scale * torch.randn(draws, 1, inputs, generator=generator, dtype=torch.float64)
    target = _row_target(draws, inputs)
    margins = deficiency_margin(draws_a, target).numpy()
    kept = torch.from_numpy(np.flatnonzero(margins > 0))
    factors = balanced_factors(draws_a[kept], (2,) * (depth - 1))
    etas = np.full(kept.numel(), eta)
    summary = run_to_reduction(factors, target[kept], etas,
                               theorem_iterations(etas, margins[kept.numpy()], depth), depth)
    return RandomInitRuns(inputs, scale, margins, summary)
