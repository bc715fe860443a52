"""Full-batch training of every model of the `depth-acceleration` sweep in one tensor program.

Models (Arora, Cohen, Hazan 2018, arXiv:1802.06509, Sections 3 and 7), all bias-free, single
output, on the l_p loss of `lp_loss`:
- depth 1: plain GD on w;
- depth N >= 2: GD on a linear chain W_N ... W_1 from a balanced init. With one output and hidden
  width 1 the chain is v (= W_1, a d-vector) and scalars a_2 .. a_N; balanced means a_j^2 = ||v||^2,
  so all a_j are equal and stay equal under GD (their gradients a^(N-2) <v, g> coincide). The state
  is (v, a) with w_e = a^(N-1) v; N = 2 is the scalar overparameterization w = w_1 * omega_2 of
  Section 3. Wider hidden layers from Procedure 1 (zero-padded, rotated) follow the same w_e
  trajectory exactly (GD is equivariant under rotations of the hidden spaces): `chain_step` runs
  a general-width chain, and the tests hold the two to each other;
- AdaGrad, AdaDelta and Adam on w (depth 1), torch's update rules and default constants.
Every model of a sweep is one column of a (seeds, features, models) tensor: the forward and the
backward pass are one batched matrix product each, the update rules act column-wise by mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cached_property

import numpy as np
import torch

from optverify.numerics.deep_linear import end_to_end, gradient_descent_step
from optverify.numerics.validation import require_int, require_one_of, require_positive
from optverify.theorems.depth_acceleration.lp_loss import SUPPORTED_POWERS


class Method(str, Enum):
    GD = "GD"
    ADAGRAD = "AdaGrad"
    ADADELTA = "AdaDelta"
    ADAM = "Adam"


ADAGRAD_EPS = 1e-10
ADADELTA_RHO, ADADELTA_EPS = 0.9, 1e-6
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8
"""torch.optim's default constants for the three adaptive baselines."""

DIVERGENCE_FACTOR = 10.0
"""A run has diverged once its loss is non-finite or above 10 x its initial loss."""

METHODS = tuple(Method)
"""The order of the methods' column spans inside `train`."""

COMPACT_EVERY = 10
"""Every 10 iterations, what is `settled` leaves the batch: columns settled on every seed, and
seeds on which every column is settled (`train`)."""


@dataclass(frozen=True)
class Column:
    """One model of a sweep: method, depth (1 for the baselines) and step size (learning rate)."""

    method: Method
    depth: int
    step: float

    def __post_init__(self) -> None:
        require_int(f"the depth of {self.method.value}", self.depth, minimum=1,
                    maximum=None if self.method is Method.GD else 1)
        require_positive("the step size", self.step)


@dataclass(frozen=True)
class Problem:
    """One l_p regression problem per seed, stacked: features (seeds, rows, cols), targets
    (seeds, rows), the shared initial end-to-end vector (seeds, cols), and per seed the optimum
    loss and the loss to reach. For p = 2 the loss is evaluated through the Gram matrix X^T X / m
    (the same function, (rows / cols) times fewer operations)."""

    features: torch.Tensor
    targets: torch.Tensor
    start: torch.Tensor
    power: int
    optimum_loss: torch.Tensor
    target_loss: torch.Tensor
    diagonal: bool = False
    """p = 2 only: the problem is stated in the eigenbasis of X^T X (`in_eigenbasis`), so its Gram
    matrix is taken as diagonal and the loss costs cols times fewer operations."""

    def __post_init__(self) -> None:
        if self.diagonal and self.power != 2:
            raise ValueError("only the l_2 loss has a Gram matrix to diagonalize")
        require_one_of("the l_p loss's p", self.power, SUPPORTED_POWERS)
        seeds, rows, cols = self.features.shape
        if self.targets.shape != (seeds, rows) or self.start.shape != (seeds, cols):
            raise ValueError(f"targets {tuple(self.targets.shape)} and start "
                             f"{tuple(self.start.shape)} do not match features "
                             f"{tuple(self.features.shape)}")

    def in_eigenbasis(self) -> Problem:
        """The same l_2 problem in the eigenbasis Q of X^T X: features X Q, start Q^T w_0. GD at
        every depth is equivariant under this rotation (its updates use g and <v, g> only), so
        every loss value and time to target is the original problem's up to rounding; the
        adaptive baselines act coordinate-wise and are not (`train` refuses them here)."""
        if self.power != 2:
            raise ValueError("only the l_2 loss has a Gram matrix to diagonalize")
        _, basis = torch.linalg.eigh(self.features.mT @ self.features)
        return Problem(self.features @ basis, self.targets,
                       (basis.mT @ self.start.unsqueeze(-1)).squeeze(-1), 2, self.optimum_loss,
                       self.target_loss, diagonal=True)

    def for_seeds(self, keep: torch.Tensor) -> Problem:
        """The problem of the seeds selected by `keep` (a mask or an index over the seeds)."""
        return Problem(self.features[keep], self.targets[keep], self.start[keep], self.power,
                       self.optimum_loss[keep], self.target_loss[keep], self.diagonal)

    @cached_property
    def _moments(self):
        rows = self.features.shape[-2]
        gram = self.features.mT @ self.features / rows
        if self.diagonal:
            gram = gram.diagonal(dim1=-2, dim2=-1).unsqueeze(-1)
        moment = (self.features.mT @ self.targets.unsqueeze(-1)) / rows
        offset = (self.targets**2).sum(-1, keepdim=True) / (2 * rows)
        return gram, moment, offset

    def loss(self, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(L per seed and column, grad L): weights (seeds, cols, models)."""
        if self.power == 2:
            gram, moment, offset = self._moments
            grad_quadratic = gram * weights if self.diagonal else gram @ weights
            loss = (weights * (grad_quadratic / 2 - moment)).sum(-2) + offset
            return loss, grad_quadratic - moment
        residual = self.features @ weights - self.targets.unsqueeze(-1)
        rows = residual.shape[-2]
        cube = residual.pow(3)  # torch special-cases the cube; pow(4) is a generic pow, 5x slower
        loss = (cube * residual).sum(-2) / (4 * rows)
        return loss, self.features.mT @ cube / rows


@dataclass(frozen=True)
class SweepResult:
    """hits: (seeds, models) iterations to the target loss (-1: not reached while the column ran);
    diverged: (seeds, models) bools; stopped: (models,) the iteration at which each column left
    the batch; curves: (checkpoints, seeds, models) loss at `checkpoints` (NaN once the column
    or its seed left the batch); steps: the iteration budget."""

    columns: tuple[Column, ...]
    hits: np.ndarray
    diverged: np.ndarray
    stopped: np.ndarray
    checkpoints: np.ndarray
    curves: np.ndarray
    steps: int


def balanced_chain_start(start: torch.Tensor, depths: torch.Tensor):
    """(v, a) with a^(N-1) v = start, ||v|| = a = ||start||^(1/N) (a = 1 for depth 1)."""
    norm = torch.linalg.vector_norm(start, dim=-2, keepdim=True)
    scalar = torch.where(depths > 1, norm ** (1.0 / depths), torch.ones_like(norm))
    return start / scalar ** (depths - 1), scalar


def first_hit(losses: Sequence[float] | np.ndarray, target: float) -> int:
    """The first iteration t (0 = the start) with loss(t) <= target; -1 if there is none."""
    below = np.flatnonzero(np.asarray(losses, dtype=float) <= target)
    return int(below[0]) if below.size else -1


def settled(hits: torch.Tensor, diverged: torch.Tensor, groups: torch.Tensor, t: int
            ) -> torch.Tensor:
    """(seeds, models) bools: the model can no longer be that seed's selected step
    (`speedup.select_steps`: per seed, the column of its group (method, depth) with the smallest
    time): it has reached the target, has diverged, or has not reached it by iteration t while
    another column of its group reached it by t (a later hit is slower, so never selected)."""
    reached = torch.where(hits >= 0, hits, torch.iinfo(hits.dtype).max)
    seeds = hits.shape[0]
    best = torch.full((seeds, int(groups.max()) + 1), torch.iinfo(hits.dtype).max,
                      dtype=hits.dtype, device=hits.device)
    best = best.scatter_reduce(1, groups.expand(seeds, -1), reached, "amin")
    beaten = (hits < 0) & (best[:, groups] <= t)
    return (hits >= 0) | diverged | beaten


def train(problem: Problem, columns: Sequence[Column], steps: int,
          checkpoint_every: int = 10) -> SweepResult:
    """Run every column on every seed's problem for up to `steps` full-batch iterations. Every
    `COMPACT_EVERY` iterations what is `settled` leaves the batch: a column settled on every seed,
    and a seed on which every column is settled (reached, diverged, or beaten by a faster column
    of its group on that seed). What is stopped is never a selected step, so the selection is
    that of the full budget; a run's curve (and its divergence) is recorded while it ran."""
    require_int("steps", steps, minimum=1)
    require_int("checkpoint_every", checkpoint_every, minimum=1)
    if not columns:
        raise ValueError("a sweep needs at least one column")
    if problem.diagonal and any(c.method is not Method.GD for c in columns):
        raise ValueError("the adaptive baselines are not rotation-equivariant: run them on the "
                         "problem in its own basis")
    order = sorted(range(len(columns)), key=lambda i: METHODS.index(columns[i].method))
    if order != list(range(len(columns))):  # the update acts on each method's contiguous span
        result = train(problem, [columns[i] for i in order], steps, checkpoint_every)
        back = np.argsort(order)
        return SweepResult(tuple(columns), result.hits[:, back], result.diverged[:, back],
                           result.stopped[back], result.checkpoints, result.curves[..., back],
                           steps)
    seeds, cols = problem.start.shape
    device = problem.features.device
    like = dict(dtype=problem.features.dtype, device=device)
    total = len(columns)
    depths = torch.tensor([c.depth for c in columns], **like)
    etas = torch.tensor([c.step for c in columns], **like)
    labels = sorted({(c.method.value, c.depth) for c in columns})
    groups = torch.tensor([labels.index((c.method.value, c.depth)) for c in columns],
                          device=device)  # never compacted: `settled` sees every column
    methods = [c.method for c in columns]
    spans = _spans(methods)
    v, a = balanced_chain_start(problem.start.unsqueeze(-1).expand(seeds, cols, total).clone(),
                                depths)
    first, second = torch.zeros_like(v), torch.zeros_like(v)
    hits = torch.full((seeds, total), -1, dtype=torch.long, device=device)
    diverged = torch.zeros((seeds, total), dtype=torch.bool, device=device)
    stopped = torch.full((total,), steps, dtype=torch.long, device=device)
    checkpoints = np.arange(0, steps + 1, checkpoint_every)
    curves = torch.full((len(checkpoints), seeds, total), float("nan"), **like)
    active = torch.arange(total, device=device)
    running = torch.arange(seeds, device=device)
    current = problem
    start_loss = None
    for t in range(steps + 1):
        cells = (running.unsqueeze(-1), active)
        loss, grad = current.loss(a ** (depths - 1) * v)
        start_loss = loss.clone() if start_loss is None else start_loss
        if t % checkpoint_every == 0:
            curves[t // checkpoint_every][cells] = loss
        done = (hits[cells] >= 0) | diverged[cells]
        newly_hit = (loss <= current.target_loss.unsqueeze(-1)) & ~done
        hits[cells] = torch.where(newly_hit, t, hits[cells])
        blown = ~torch.isfinite(loss) | (loss > DIVERGENCE_FACTOR * start_loss)
        diverged[cells] |= blown & ~done & ~newly_hit
        if t == steps:
            break
        if t % COMPACT_EVERY == 0:
            now = settled(hits, diverged, groups, t)
            leaving = now.all(0)[active]
            stopped[active[leaving]] = t
            if bool(leaving.all()):
                break
            finished = now[running][:, active].all(1)
            if bool(leaving.any()):
                keep = ~leaving
                kept = keep.tolist()
                methods = [m for m, k in zip(methods, kept) if k]
                spans = _spans(methods)
                active, depths, etas = active[keep], depths[keep], etas[keep]
                v, a, first, second = v[..., keep], a[..., keep], first[..., keep], \
                    second[..., keep]
                grad, start_loss = grad[..., keep], start_loss[..., keep]
            if bool(finished.any()):
                stay = ~finished
                running, current = running[stay], current.for_seeds(stay)
                v, a, first, second = v[stay], a[stay], first[stay], second[stay]
                grad, start_loss = grad[stay], start_loss[stay]
        halted = diverged[running.unsqueeze(-1), active].unsqueeze(1)
        grad, v = torch.where(halted, 0.0, grad), torch.where(halted, 0.0, v)
        v, a, first, second = _update(v, a, grad, first, second, depths, etas, spans, t + 1)
    return SweepResult(tuple(columns), hits.cpu().numpy(), diverged.cpu().numpy(),
                       stopped.cpu().numpy(), checkpoints, curves.cpu().numpy(), steps)


def _spans(methods: Sequence[Method]) -> tuple[tuple[Method, slice], ...]:
    """Each method's contiguous span of columns (`methods` in METHODS order), empty ones left
    out."""
    spans, begin = [], 0
    for method in METHODS:
        end = begin + methods.count(method)
        if end > begin:
            spans.append((method, slice(begin, end)))
        begin = end
    return tuple(spans)


def _update(v, a, grad, first, second, depths, etas, spans, t):
    """One step of every column's own rule, each rule on its own span of columns (`_spans`)."""
    parts = [_RULES[method](v[..., span], a[..., span], grad[..., span], first[..., span],
                            second[..., span], depths[span], etas[span], t)
             for method, span in spans]
    if len(parts) == 1:  # one rule (the GD-only l_2 sweep): nothing to join
        return parts[0]
    return tuple(torch.cat(pieces, dim=-1) for pieces in zip(*parts))


def _gd_rule(v, a, grad, first, second, depths, etas, t):
    """GD on the chain state (v, a): dL/dv = a^(N-1) g, dL/da = a^(N-2) <v, g> (0 at depth 1)."""
    scalar_grad = torch.where(depths > 1, a ** torch.clamp(depths - 2, min=0), 0.0) * \
        (v * grad).sum(-2, keepdim=True)
    return v - etas * a ** (depths - 1) * grad, a - etas * scalar_grad, first, second


def _adagrad_rule(v, a, grad, first, second, depths, etas, t):
    adagrad_sum = first + grad * grad
    return v - etas * grad / (adagrad_sum.sqrt() + ADAGRAD_EPS), a, adagrad_sum, second


def _adadelta_rule(v, a, grad, first, second, depths, etas, t):
    rho = ADADELTA_RHO
    delta_grad = rho * first + (1 - rho) * (grad * grad)
    delta = (second + ADADELTA_EPS).sqrt() / (delta_grad + ADADELTA_EPS).sqrt() * grad
    return v - etas * delta, a, delta_grad, rho * second + (1 - rho) * delta * delta


def _adam_rule(v, a, grad, first, second, depths, etas, t):
    beta1, beta2 = ADAM_BETAS
    adam_m = beta1 * first + (1 - beta1) * grad
    adam_s = beta2 * second + (1 - beta2) * (grad * grad)
    step = etas * (adam_m / (1 - beta1**t)) / ((adam_s / (1 - beta2**t)).sqrt() + ADAM_EPS)
    return v - step, a, adam_m, adam_s


_RULES = {Method.GD: _gd_rule, Method.ADAGRAD: _adagrad_rule, Method.ADADELTA: _adadelta_rule,
          Method.ADAM: _adam_rule}


def chain_step(factors: Sequence[torch.Tensor], features: torch.Tensor, targets: torch.Tensor,
               power: int, eta: float):
    """One GD step of a general-width chain (factors W_1 (h x d) .. W_N (1 x h), leading batch
    dimensions allowed) on the l_p loss; the twin of the (v, a) state for the width tests."""
    def gradient(w_e):
        residual = features @ w_e.mT - targets.unsqueeze(-1)
        pushed = residual * residual.abs() ** (power - 2)
        return (features.mT @ pushed).mT / targets.shape[-1]
    return gradient_descent_step(list(factors), gradient, eta)


def chain_end_to_end(factors: Sequence[torch.Tensor]) -> torch.Tensor:
    """w_e of a chain as a (..., 1, d) row."""
    return end_to_end(list(factors))
