"""Instances for Theorem 1 of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281, built by construction.

A target Phi with prescribed singular values; an initial end-to-end matrix W_e(0) at Frobenius distance
sigma_min(Phi) - c from Phi (deficiency margin exactly c); balanced factors of W_e(0) (Procedure 1),
optionally perturbed to a delta-balanced set with delta inside Theorem 1's bound.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.stats import ortho_group

from optverify.kit import Session
from optverify.numerics.deep_linear import Factors, balanced_factors
from optverify.numerics.validation import require_finite, require_positive
from optverify.theorems.deficiency_margin_convergence.conditions import balance_bound, sigma_min


def target_with_spectrum(
    singular_values: Sequence[float], rows: int, cols: int, rng: np.random.Generator
) -> np.ndarray:
    """Phi = U diag(s) V^T with Haar-random orthogonal U (rows x rows) and V (cols x cols)."""
    rank = min(rows, cols)
    if len(singular_values) != rank:
        raise ValueError(f"a {rows} x {cols} target needs {rank} singular values")
    left = ortho_group.rvs(rows, random_state=rng) if rows > 1 else np.ones((1, 1))
    right = ortho_group.rvs(cols, random_state=rng) if cols > 1 else np.ones((1, 1))
    return left[:, :rank] @ np.diag(singular_values) @ right[:, :rank].T


def initial_end_to_end(
    target: torch.Tensor, margin: torch.Tensor | float, generator: torch.Generator
) -> torch.Tensor:
    """W_e(0) = Phi + (sigma_min(Phi) - c) E / ||E||_F with E Gaussian: deficiency margin exactly c.

    target: (..., d_N, d_0); margin: a float or a tensor broadcasting against the batch shape.
    """
    require_finite("the target matrix Phi", target)
    margin = torch.as_tensor(margin, dtype=target.dtype, device=target.device)
    require_positive("the deficiency margin c", margin)
    radius = sigma_min(target) - margin
    if not bool((radius >= 0).all()):
        raise ValueError("a deficiency margin cannot exceed sigma_min(Phi)")
    direction = torch.randn(
        target.shape, generator=generator, dtype=target.dtype, device=target.device
    )
    direction = direction / torch.linalg.matrix_norm(direction)[..., None, None]
    return target + radius[..., None, None] * direction


def perturbed_factors(
    factors: Sequence[torch.Tensor], delta: float, generator: torch.Generator
) -> Factors:
    """Balanced factors plus perturbations of Frobenius norm rho = delta / (4 (M + 1)), M = max ||W_j||_F.

    Starting from exactly balanced factors (C_j = 0), each new gap is
    W^T D + D^T W + D^T D - V D'^T - D' V^T - D' D'^T, of norm <= 2 rho (||W|| + ||V|| + rho)
    <= 2 rho (2M + 1) < delta: the result is delta-balanced (Definition 1).
    """
    largest = max(float(torch.linalg.matrix_norm(layer).max()) for layer in factors)
    rho = delta / (4 * (largest + 1))
    perturbed = []
    for layer in factors:
        noise = torch.randn(layer.shape, generator=generator, dtype=layer.dtype, device=layer.device)
        noise = noise / torch.linalg.matrix_norm(noise)[..., None, None]
        perturbed.append(layer + rho * noise)
    return perturbed


def theorem_instance(
    target: torch.Tensor,
    design_margin: float,
    hidden_widths: Sequence[int],
    generator: torch.Generator,
    perturbation_scale: float = 1.0,
) -> Factors:
    """Factors meeting Theorem 1's margin and balancedness hypotheses for margin >= design_margin / 2.

    W_e(0) has margin design_margin; the factors are Procedure 1's, perturbed to be delta-balanced with
    delta < delta_max(design_margin / 2). The perturbation moves W_e(0) by O(N rho M^{N-1}), far less
    than design_margin / 2 at these sizes; callers confirm with `conditions.hypotheses_hold`.
    perturbation_scale multiplies the perturbation (> 1 builds the false-world instances, not
    delta-balanced, that the hypotheses checks must reject).
    """
    require_positive("the deficiency margin c", design_margin)
    depth = len(hidden_widths) + 1
    start = initial_end_to_end(target, design_margin, generator)
    factors = balanced_factors(start, hidden_widths)
    norm = float(torch.linalg.matrix_norm(target).max())
    delta = perturbation_scale * balance_bound(design_margin / 2, norm, depth)
    return perturbed_factors(factors, delta, generator)


def cpu_generator(s: Session, purpose: str) -> torch.Generator:
    """A CPU torch generator seeded like `s.generator(purpose)`: the mpmath layer builds its
    float64 instances on the CPU whatever the run's device."""
    return torch.Generator().manual_seed(s.config.seed_for(purpose))
