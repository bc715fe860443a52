"""Stochastic SGD of the linear learners of Section 4 as products of random matrices, many steps
per kernel: the stochastic twin of Lemma 2's exact expectation (expected.py).

Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Lemma 2 and Section 4.1.3. On the loss
1/2 ||p_hat - p||^2 every SGD step is an affine map of the parameters, and in error coordinates a
linear one:
- fully connected: with E_t = U_t W - I (so U_t - W^{-1} = E_t B, B = W^{-1}),
  E_{t+1} = E_t (I - eta G_t W^T W), G_t = mean over the mini-batch of p p^T (three nonzero
  entries per curve), E_0 = -I;
- 3-tap (plain or preconditioned by R): e_{t+1} = (I - eta R H_t R) e_t with H_t the mini-batch
  mean of sum_t w_t w_t^T, raw filter error R e_t, e_0 = -R^{-1} v*.
So the iterate after a block of K steps is the block's ordered matrix product, computed by a
pairwise reduction (log2 K batched matrix products) rather than K Python steps. All runs (sizes
padded to the largest with an identity block, seeds) are one batch. Errors are read at geometric
checkpoints of ratio `ratio`: a hitting time is the first checkpoint below the target, so the true
step lies in (previous checkpoint, checkpoint]; the crossing time interpolates log(error) linearly
between the two checkpoints (`crossing_time`), the same rule the exact expectation's crossing uses,
so the two are compared on one continuous scale rather than as integer ceilings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from optverify.theorems.pwl_conditioning.expected import crossing_time
from optverify.theorems.pwl_conditioning.sampling import sample_breakpoints_torch


def chain_product(matrices: torch.Tensor) -> torch.Tensor:
    """M_0 M_1 ... M_{K-1} along the first axis (K, ..., d, d), by pairwise reduction."""
    while matrices.shape[0] > 1:
        if matrices.shape[0] % 2:
            tail = matrices[-1:]
            matrices = torch.cat([matrices[:-2:2] @ matrices[1:-1:2], tail])
        else:
            matrices = matrices[0::2] @ matrices[1::2]
    return matrices[0]


def checkpoints(cap: int, ratio: float) -> np.ndarray:
    """Checkpoint iterations 1, 2, ..., growing geometrically by `ratio`, up to `cap`."""
    points, current = [], 1
    while current < cap:
        points.append(current)
        current = max(current + 1, int(np.ceil(current * ratio)))
    points.append(cap)
    return np.array(points)


@dataclass(frozen=True)
class StochasticTimes:
    """Per run, the first checkpoint with error below the target and the checkpoint before it
    (cap + 1 and cap where never reached), and the interpolated crossing time between them
    (`crossing_time`; inf where never reached)."""

    hit: np.ndarray
    previous: np.ndarray
    crossing: np.ndarray
    cap: int

    @property
    def reached(self) -> np.ndarray:
        return self.hit <= self.cap


class _Runs:
    """Sizes of the runs, padded to n_max; `block` is 1 inside a run's size."""

    def __init__(self, sizes, device: str, dtype: torch.dtype):
        self.sizes = torch.tensor(list(sizes), device=device)
        self.n_max = int(self.sizes.max())
        self.count = int(self.sizes.shape[0])
        self.device, self.dtype = device, dtype
        inside = torch.arange(self.n_max, device=device) < self.sizes[:, None]
        self.inside = inside.to(dtype)
        self.block = self.inside[:, :, None] * self.inside[:, None, :]


def _ramp(n_max: int, device: str, dtype: torch.dtype) -> torch.Tensor:
    index = torch.arange(n_max, device=device)
    return (index[:, None] - index[None, :] + 1).clamp(min=0).to(dtype)


def _second_difference(n_max: int, device: str, dtype: torch.dtype) -> torch.Tensor:
    options = {"device": device, "dtype": dtype}
    return (torch.eye(n_max, **options) - 2 * torch.diag(torch.ones(n_max - 1, **options), -1)
            + torch.diag(torch.ones(n_max - 2, **options), -2))


def fully_connected_times(sizes, steps, target: float, cap: int, ratio: float, batch: int,
                          generator: torch.Generator, device: str, dtype: torch.dtype,
                          chunk: int = 512) -> StochasticTimes:
    """SGD of U (U_0 = 0) for every run of `sizes` with step `steps` (eta per run), until every
    run has ||U_t - W^{-1}||_2 < target or `cap` steps."""
    runs = _Runs(sizes, device, dtype)
    n_max = runs.n_max
    ramp = _ramp(n_max, device, dtype) * runs.block
    gram = ramp.mT @ ramp                                            # W^T W per run
    inverse = _second_difference(n_max, device, dtype) * runs.block  # B per run
    identity = torch.eye(n_max, device=device, dtype=dtype)
    eta = torch.as_tensor(steps, device=device, dtype=dtype)
    error = -identity * runs.block                                   # E_0 = -I in the block

    def block_maps(count: int) -> torch.Tensor:
        p = sample_breakpoints_torch(runs.sizes, (count, batch), n_max, generator, dtype)
        p = p.transpose(0, 1)                                        # (count, runs, batch, n)
        projected = p @ gram                                         # (W^T W p)^T per curve
        return identity - eta[:, None, None] * torch.einsum("krbi,krbj->krij", p, projected) / batch

    def errors(current: torch.Tensor) -> np.ndarray:
        return torch.linalg.matrix_norm(current @ inverse, ord=2).cpu().numpy()

    return _run_to_target(error, block_maps, errors, target, cap, ratio, chunk, runs.count,
                          lambda current, maps: current @ chain_product(maps))


def filter_times(moments_of_batch, whitening: torch.Tensor, steps, target: float, cap: int,
                 ratio: float, chunk: int, generator: torch.Generator, sizes, batch: int,
                 device: str, dtype: torch.dtype) -> StochasticTimes:
    """SGD of the 3 taps (v_0 = 0) on windows whitened by R (runs, 3, 3), until every run has
    ||R e_t|| / ||v*|| < target or `cap` steps. `moments_of_batch(p)` gives the per-step
    mini-batch window moments H (count, runs, 3, 3) of curves with breakpoints p."""
    runs = _Runs(sizes, device, dtype)
    eta = torch.as_tensor(steps, device=device, dtype=dtype)
    taps = torch.tensor([1.0, -2.0, 1.0], device=device, dtype=dtype)
    start = -torch.linalg.solve(whitening, taps.expand(runs.count, 3))[..., None]
    identity = torch.eye(3, device=device, dtype=dtype)

    def block_maps(count: int) -> torch.Tensor:
        p = sample_breakpoints_torch(runs.sizes, (count, batch), runs.n_max, generator, dtype)
        moment = moments_of_batch(p.transpose(0, 1), runs.inside)    # (count, runs, 3, 3)
        whitened = whitening @ moment @ whitening
        return identity - eta[:, None, None] * whitened

    def errors(current: torch.Tensor) -> np.ndarray:
        return (torch.linalg.vector_norm(whitening @ current, dim=(-2, -1))
                / torch.linalg.vector_norm(taps)).cpu().numpy()

    # e_{t+K} = N_{t+K-1} ... N_t e_t: the block product in reverse order.
    return _run_to_target(start, block_maps, errors, target, cap, ratio, chunk, runs.count,
                          lambda current, maps: chain_product(maps.flip(0)) @ current)


def window_moments(p: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
    """Per step and run, the mini-batch mean of sum_t w_t w_t^T, w_t = (f_{t-2}, f_{t-1}, f_t)
    of the curves f = W p (p: (count, runs, batch, n_max), masked to each run's size)."""
    mask = inside[None, :, None, :]
    f = p.cumsum(-1).cumsum(-1) * mask
    padded = torch.nn.functional.pad(f, (2, 0))
    shifts = (padded[..., :-2] * mask, padded[..., 1:-1] * mask, f)
    moment = torch.stack([torch.stack([(a * b).sum(-1) for b in shifts], -1) for a in shifts], -2)
    return moment.mean(2)


def _run_to_target(state, block_maps, errors, target, cap, ratio, chunk, count, advance
                   ) -> StochasticTimes:
    never = cap + 1
    hit = np.full(count, never)
    previous = np.full(count, cap)
    crossing = np.full(count, np.inf)
    iteration = last = 0
    last_errors = errors(state)
    for point in checkpoints(cap, ratio):
        while iteration < point:
            width = min(chunk, int(point) - iteration)
            state = advance(state, block_maps(width))
            iteration += width
        current = errors(state)
        below = (current < target) & (hit == never)
        hit = np.where(below, iteration, hit)
        previous = np.where(below, last, previous)
        crossing = np.where(below, crossing_time(last, iteration, last_errors, current, target),
                            crossing)
        if (hit != never).all():
            break
        last, last_errors = iteration, current
    return StochasticTimes(hit, previous, crossing, cap)
