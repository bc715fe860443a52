"""The hypotheses and guarantees of Theorem 1 of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281.

Setting: whitened data, target Phi (d_N x d_0), loss l = 1/2 ||W_N ... W_1 - Phi||_F^2, plain gradient
descent. Theorem 1 assumes
- a deficiency margin c > 0 at initialization: ||W_e(0) - Phi||_F <= sigma_min(Phi) - c (Definition 2);
- delta-balanced factors, ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F <= delta (Definition 1) with
  delta <= c^2 / (256 N^3 ||Phi||_F^{2(N-1)/N});
- a step size eta <= c^{(4N-2)/N} / (6144 N^3 ||Phi||_F^{(6N-4)/N});
and concludes l(T) <= eps for T >= log(l(0) / eps) / (eta c^{2(N-1)/N}), through the lemma (the
per-step contraction) l(t+1) <= (1 - eta sigma_min(W_e(t))^{2(N-1)/N}) l(t).

The scalar formulas work for floats and mpmath numbers alike; the torch functions accept leading
batch dimensions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from optverify.kit import Judgement, Verdict
from optverify.numerics.deep_linear import balancedness_gaps, end_to_end
from optverify.numerics.validation import (
    require_depth,
    require_finite,
    require_non_negative,
    require_positive,
)

BALANCE_CONSTANT = 256
STEP_SIZE_CONSTANT = 6144


def contraction_exponent(depth: int):
    """The exponent 2(N-1)/N of sigma_min in the lemma's contraction factor."""
    require_depth(depth)
    return 2 * (depth - 1) / depth


def balance_bound(margin, target_norm, depth: int):
    """delta_max = c^2 / (256 N^3 ||Phi||_F^{2(N-1)/N}), the balancedness Theorem 1 allows."""
    require_depth(depth)
    require_positive("the deficiency margin c", margin)
    return margin**2 / (BALANCE_CONSTANT * depth**3 * target_norm ** (2 * (depth - 1) / depth))


def step_size_bound(margin, target_norm, depth: int):
    """eta_max = c^{(4N-2)/N} / (6144 N^3 ||Phi||_F^{(6N-4)/N}), the step size Theorem 1 allows."""
    require_depth(depth)
    require_positive("the deficiency margin c", margin)
    return margin ** ((4 * depth - 2) / depth) / (
        STEP_SIZE_CONSTANT * depth**3 * target_norm ** ((6 * depth - 4) / depth)
    )


def guaranteed_contraction(eta, sigma_min, depth: int):
    """The lemma's factor 1 - eta sigma_min(W_e(t))^{2(N-1)/N} bounding l(t+1) / l(t)."""
    require_non_negative("the step size eta", eta)
    return 1 - eta * sigma_min ** contraction_exponent(depth)


def guaranteed_rate(eta, margin, depth: int) -> float:
    """-log(1 - eta c^{2(N-1)/N}): the per-step decay rate of log l that Theorem 1 guarantees."""
    return -math.log1p(-float(eta) * float(margin) ** contraction_exponent(depth))


def iterations_to_reach(epsilon, initial_loss, eta, margin, depth: int):
    """Theorem 1's T = log(l(0) / eps) / (eta c^{2(N-1)/N})."""
    require_non_negative("the step size eta", eta)
    require_positive("the deficiency margin c", margin)
    require_positive("the target loss eps", epsilon)
    return math.log(float(initial_loss) / float(epsilon)) / (
        float(eta) * float(margin) ** contraction_exponent(depth)
    )


def half_squared_distance(end_to_end_matrix: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """l = 1/2 ||W_e - Phi||_F^2 over the trailing two dimensions."""
    return 0.5 * (end_to_end_matrix - target).square().sum(dim=(-2, -1))


def square_loss_gradient(target: torch.Tensor):
    """grad l^1(W_e) = W_e - Phi for l^1 = 1/2 ||W_e - Phi||_F^2."""
    return lambda end_to_end_matrix: end_to_end_matrix - target


def sigma_min(matrix: torch.Tensor) -> torch.Tensor:
    """The smallest of the min(rows, cols) singular values."""
    return torch.linalg.svdvals(matrix)[..., -1]


def deficiency_margin(end_to_end_matrix: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The largest c with ||W_e - Phi||_F <= sigma_min(Phi) - c (positive iff W_e has a margin)."""
    require_finite("the target matrix Phi", target)
    distance = torch.linalg.matrix_norm(end_to_end_matrix - target)
    return sigma_min(target) - distance


def balancedness(factors: Sequence[torch.Tensor]) -> torch.Tensor:
    """delta = max_j ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F (Definition 1)."""
    gaps = [torch.linalg.matrix_norm(gap) for gap in balancedness_gaps(factors)]
    return torch.stack(gaps).amax(dim=0)


def hypotheses_hold(factors: Sequence[torch.Tensor], target: torch.Tensor, eta: float) -> torch.Tensor:
    """Whether (factors, Phi, eta) satisfy all three hypotheses of Theorem 1 (per batch entry)."""
    depth = len(factors)
    require_depth(depth)
    require_non_negative("the step size eta", eta)
    margin = deficiency_margin(end_to_end(factors), target)
    safe_margin = margin.clamp_min(torch.finfo(margin.dtype).tiny)
    norm = torch.linalg.matrix_norm(target)
    delta_max = safe_margin**2 / (BALANCE_CONSTANT * depth**3 * norm ** (2 * (depth - 1) / depth))
    eta_max = safe_margin ** ((4 * depth - 2) / depth) / (
        STEP_SIZE_CONSTANT * depth**3 * norm ** ((6 * depth - 4) / depth)
    )
    # eta_max is recomputed here in tensor arithmetic: allow the few ulps by which it may differ from
    # the same formula evaluated by the caller in Python floats.
    rounding = 1 + 16 * torch.finfo(margin.dtype).eps
    return (margin > 0) & (balancedness(factors) <= delta_max) & (eta <= eta_max * rounding)


def hypotheses_judgement(holds: np.ndarray) -> Judgement:
    """Consistent when every run meets Theorem 1's three hypotheses, violated otherwise."""
    met, total = int(np.count_nonzero(holds)), int(np.size(holds))
    verdict = Verdict.CONSISTENT if met == total else Verdict.VIOLATED
    return Judgement(verdict, f"{met} of {total} runs meet the margin, balancedness and step-size "
                     "hypotheses", {"runs meeting the hypotheses": met, "runs": total})
