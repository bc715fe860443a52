"""Sampling the paper's piecewise-linear curves (Section 4, arXiv:1703.07950), numpy and torch.

k breakpoints theta_r uniform without replacement from {0..n-1} (drawn as the k smallest of n iid
uniform keys), slopes a_r iid U[-1, 1]; p_{theta_r + 1} = a_r and f = W p, a double cumulative sum.
The torch sampler draws curves of several sizes at once, padded to the largest size: the keys of
positions >= n are +inf, so the breakpoints of a size-n curve stay in its first n positions, and
its f is masked to them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from optverify.theorems.pwl_conditioning.moments import PAPER_BREAKPOINTS, check_breakpoints
from optverify.theorems.pwl_conditioning.structured import ramp_matvec


@dataclass(frozen=True)
class Curves:
    """Sampled curves: p (breakpoint slopes) and f = W p (curve values), each (count, n)."""

    p: np.ndarray
    f: np.ndarray


def sample_curves_numpy(n: int, count: int, rng: np.random.Generator,
                        k: int = PAPER_BREAKPOINTS) -> Curves:
    """`count` curves of size n."""
    check_breakpoints(n, k)
    breakpoints = np.argpartition(rng.random((count, n)), k - 1, axis=1)[:, :k]
    slopes = rng.uniform(-1.0, 1.0, size=(count, k))
    p = np.zeros((count, n))
    np.put_along_axis(p, breakpoints, slopes, axis=1)
    return Curves(p, ramp_matvec(p))


def sample_breakpoints_torch(sizes: torch.Tensor, shape: tuple[int, ...], n_max: int,
                             generator: torch.Generator, dtype: torch.dtype,
                             k: int = PAPER_BREAKPOINTS) -> torch.Tensor:
    """p of shape (len(sizes), *shape, n_max): run r has its breakpoints in its first sizes[r]."""
    device = sizes.device
    runs = sizes.shape[0]
    keys = torch.rand((runs, *shape, n_max), generator=generator, device=device, dtype=dtype)
    outside = torch.arange(n_max, device=device) >= sizes.view(runs, *([1] * len(shape)), 1)
    keys = keys.masked_fill(outside, float("inf"))
    breakpoints = keys.topk(k, dim=-1, largest=False).indices
    slopes = 2 * torch.rand((runs, *shape, k), generator=generator, device=device, dtype=dtype) - 1
    return torch.zeros((runs, *shape, n_max), device=device, dtype=dtype).scatter(-1, breakpoints,
                                                                                   slopes)


def curves_from_breakpoints_torch(p: torch.Tensor) -> torch.Tensor:
    """f = W p along the last axis (positions beyond a run's size are zero only if p is zero
    there and the caller masks f)."""
    return p.cumsum(-1).cumsum(-1)
