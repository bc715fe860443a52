"""Theorem 1's grid of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281: gradient descent on
l = 1/2 ||W_N ... W_1 - Phi||_F^2 (Phi 3 x 3, singular values 1, 1.5, 2, hidden width 4) from
initializations with deficiency margin exactly c, batched over (margin, step size, instance) for
each depth N: inside the hypotheses (eta up to Theorem 1's bound, delta-balanced factors), outside
the step-size hypothesis (eta far above the bound), and large steps where GD stops converging.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import Session
from optverify.numerics.deep_linear import balanced_factors, end_to_end
from optverify.theorems.deficiency_margin_convergence import long_runs
from optverify.theorems.deficiency_margin_convergence.conditions import (
    balance_bound,
    contraction_exponent,
    deficiency_margin,
    hypotheses_hold,
    step_size_bound,
)
from optverify.theorems.deficiency_margin_convergence.config import ExperimentConfig
from optverify.theorems.deficiency_margin_convergence.gradient_descent import (
    fitted_rate,
    loss_floor,
    rate_resolution,
    run_gradient_descent,
)
from optverify.theorems.deficiency_margin_convergence.instances import (
    initial_end_to_end,
    perturbed_factors,
    target_with_spectrum,
)

TARGET_SINGULAR_VALUES = (1.0, 1.5, 2.0)


HIDDEN_WIDTH = 4


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


def depth_problem(depth: int, config: ExperimentConfig, s: Session) -> DepthProblem:
    targets = _targets(s, config.instances)
    norm = float(torch.linalg.matrix_norm(targets)[0])
    return DepthProblem(depth, targets, np.array(config.margins), norm, loss_floor(norm, s.dtype),
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
    fraction, instance): step sizes, fitted and guaranteed rates, and the loss curves and
    sigma_min(W_e(t)) in float64 numpy (for the lemma and its controls); whether every run meets
    Theorem 1's hypotheses at its eta, and whether every run of the false-world control (the same
    W_e(0) perturbed HARDER_PERTURBATION times harder, not delta-balanced) does."""

    eta: np.ndarray
    rate: np.ndarray
    guaranteed: np.ndarray
    losses: np.ndarray
    sigmas: np.ndarray
    margins: np.ndarray
    hypotheses: np.ndarray
    hypotheses_harder: np.ndarray

    def lemma_margin(self, depth: int, losses: np.ndarray | None = None) -> float:
        """The lemma's worst relative margin over every step and run (of `losses`, default the
        measured ones)."""
        return long_runs.lemma_margin(self.losses if losses is None else losses, self.sigmas,
                                      self.eta, depth)

    def smallest_guaranteed_decrease(self, depth: int) -> float:
        """min over runs of eta c^{2(N-1)/N}: known before the run from eta and c."""
        return float((self.eta * self.margins ** contraction_exponent(depth)).min())


HARDER_PERTURBATION = 100.0
"""The hypotheses check's false-world control: the balancing perturbation 100 times larger, so that
delta exceeds delta_max (the perturbation is designed at delta_max(c/2) / 2 and delta_max grows
only as c^2, at most 9-fold over the margins used)."""


def inside_runs(problem: DepthProblem, config: ExperimentConfig, s: Session) -> InsideRuns:
    depth, targets, exponent = problem.depth, problem.targets, problem.exponent
    fractions = np.array(config.inside_fractions)
    balanced = problem.grid_factors(len(fractions), s.generator(f"inside-{depth}"))
    delta = balance_bound(min(config.margins), problem.norm, depth) / 2
    factors = perturbed_factors(balanced, delta, s.generator(f"perturb-{depth}"))
    harder = perturbed_factors(balanced, HARDER_PERTURBATION * delta,
                               s.generator(f"perturb-harder-{depth}"))
    actual_margin = deficiency_margin(end_to_end(factors), targets)
    eta_max = step_size_bound(actual_margin, problem.norm, depth)
    eta = eta_max * torch.tensor(fractions, dtype=targets.dtype, device=targets.device)[None, :, None]
    holds = hypotheses_hold(factors, targets, eta)
    holds_harder = hypotheses_hold(harder, targets, eta)
    losses, sigmas = run_gradient_descent(factors, targets, eta, config.inside_steps,
                                          track_sigma=True)
    losses_np = losses.cpu().numpy().astype(np.float64)
    rate = fitted_rates(losses_np, [config.inside_steps] * len(fractions), problem.floor,
                        problem.resolution)
    eta_np = eta.expand_as(actual_margin).cpu().numpy().astype(np.float64)
    margins = actual_margin.cpu().numpy().astype(np.float64)
    guaranteed = -np.log1p(-eta_np * margins ** exponent)
    return InsideRuns(eta_np, rate, guaranteed, losses_np,
                      sigmas.cpu().numpy().astype(np.float64), margins, holds.cpu().numpy(),
                      holds_harder.cpu().numpy())


@dataclass(frozen=True)
class OutsideRuns:
    """Outside the step-size hypothesis (exactly balanced factors, fixed step sizes far above the
    bound), per (margin, step size, instance): fitted and guaranteed rates, the worst envelope
    margin, and one run's losses (middle margin, smallest eta, first instance) for the figure."""

    rate: np.ndarray
    guaranteed: np.ndarray
    envelope_margin: float
    sample_losses: np.ndarray


def outside_runs(problem: DepthProblem, config: ExperimentConfig, s: Session) -> OutsideRuns:
    etas, margins = np.array(config.outside_step_sizes), problem.margins
    factors = problem.grid_factors(len(etas), s.generator(f"outside-{problem.depth}"))
    steps = math.ceil(config.flow_time / etas.min())
    losses, _ = run_gradient_descent(factors, problem.targets, problem.step_sizes(etas), steps)
    losses = losses.cpu().numpy()
    rate = fitted_rates(losses, [math.ceil(config.flow_time / eta) for eta in etas],
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


def large_step_runs(problem: DepthProblem, config: ExperimentConfig, s: Session) -> LargeStepRuns:
    large = np.array(config.large_step_sizes)
    factors = problem.grid_factors(len(large), s.generator(f"large-{problem.depth}"))
    losses, _ = run_gradient_descent(factors, problem.targets, problem.step_sizes(large),
                                     config.large_steps)
    losses = losses.cpu().numpy()
    with np.errstate(invalid="ignore", over="ignore"):
        final_ratio = losses[-1] / losses[0]
    return LargeStepRuns(final_ratio, _envelope_per_run(losses, large, problem.margins,
                                                        problem.exponent, problem.floor))


@dataclass(frozen=True)
class DepthRuns:
    """Per-depth results of the inside-, outside-hypotheses and large-step sweeps."""

    depth: int
    problem: DepthProblem
    inside: InsideRuns
    outside: OutsideRuns
    large: LargeStepRuns


def depth_runs(depth: int, config: ExperimentConfig, s: Session) -> DepthRuns:
    """Inside / outside / large-step sweeps for one depth (batched over margins, steps, instances)."""
    problem = depth_problem(depth, config, s)
    return DepthRuns(depth, problem, inside_runs(problem, config, s),
                     outside_runs(problem, config, s),
                     large_step_runs(problem, config, s))


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


def mean_rates(rates: np.ndarray) -> np.ndarray:
    """Mean decay rate per step size over instances; NaN where no instance resolved a rate."""
    resolved = np.isfinite(rates)
    counts = resolved.sum(axis=-1)
    totals = np.where(resolved, rates, 0.0).sum(axis=-1)
    return np.divide(totals, counts, out=np.full(counts.shape, np.nan), where=counts > 0)


def half_rate_runs(inside: InsideRuns) -> np.ndarray:
    """The alternative 'a linear convergence at half the guaranteed rate' for the grid's runs:
    l(0) (1 - x/2)^t with x = eta c^{2(N-1)/N} per run."""
    x = -np.expm1(-inside.guaranteed)
    steps = np.arange(inside.losses.shape[0]).reshape(-1, 1, 1, 1)
    return inside.losses[0] * np.exp(steps * np.log1p(-x / 2))
