"""Width independence of the end-to-end dynamics in the setting of Section 7 of Arora, Cohen, Hazan
(2018), arXiv:1802.06509 (their Theorem 1: balanced factors move W_e by a rule that does not see
the hidden widths): GD on l_p regression from the same balanced w_e(0) at hidden widths 1 and 4
(32 at the paper scale; Procedure 1, hidden spaces rotated) gives the same w_e(t) up to rounding;
the control starts from unbalanced factors.
"""

from __future__ import annotations

import torch

from optverify.kit import Session
from optverify.numerics.deep_linear import balanced_factors, end_to_end
from optverify.numerics.haar import haar_orthogonal
from optverify.theorems.depth_acceleration.config import ExperimentConfig
from optverify.theorems.depth_acceleration.data import ar1_heavy_tail
from optverify.theorems.depth_acceleration.dynamics import chain_step

WIDTH_TOLERANCE_ULPS = 100
"""Width independence: widths 1 and 4 (32 at the paper scale; Procedure 1, hidden spaces rotated) give the same w_e(t)
up to 100 eps per step and unit scale (rounding of the products)."""


def width_trajectories(s: Session, config: ExperimentConfig, balanced: bool) -> float:
    """max_t ||w_e^(width 4)(t) - w_e^(width 1)(t)|| / ||w_e^(1)(t)|| over GD on a depth-N chain
    (l_4, the small set): Procedure 1 at widths 1 and `width_hidden`, hidden spaces rotated; the control embeds
    the same w_e(0) unbalanced (extra hidden units with non-zero input weights)."""
    generator = s.generator("widths", device="cpu")
    like = dict(dtype=s.torch_dtype)
    data = ar1_heavy_tail(s.rng("widths"), 100, 6)
    features, targets = torch.tensor(data.features, **like), torch.tensor(data.targets, **like)
    start = 0.3 * torch.randn(1, data.shape[1], generator=generator, **like)
    narrow = balanced_factors(start, [1] * (config.width_depth - 1))
    hidden = config.width_hidden
    wide = balanced_factors(start, [hidden] * (config.width_depth - 1))
    rotations = [haar_orthogonal(hidden, generator, (), s.torch_dtype, "cpu")
                 for _ in range(config.width_depth - 1)]
    wide = [rotations[0] @ wide[0]] + [rotations[j] @ wide[j] @ rotations[j - 1].T
                                       for j in range(1, config.width_depth - 1)] \
        + [wide[-1] @ rotations[-1].T]
    if not balanced:
        extra = torch.randn(hidden - 1, data.shape[1], generator=generator, **like)
        wide[0] = wide[0] + rotations[0][:, 1:] @ extra * 0.3
    worst = 0.0
    for _ in range(config.width_steps):
        narrow = chain_step(narrow, features, targets, 4, 0.05)
        wide = chain_step(wide, features, targets, 4, 0.05)
        a, b = end_to_end(narrow), end_to_end(wide)
        worst = max(worst, float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(a)))
    return worst


def record_widths(s: Session, config: ExperimentConfig) -> None:
    eps = float(torch.finfo(s.torch_dtype).eps)
    tolerance = WIDTH_TOLERANCE_ULPS * eps * config.width_steps
    balanced = width_trajectories(s, config, balanced=True)
    unbalanced = width_trajectories(s, config, balanced=False)
    s.identity(
        "end-to-end-trajectory-width-independent",
        f"GD (l_4, eta = 0.05, {config.width_steps} steps) on a depth-{config.width_depth} "
        "chain from one balanced w_e(0) (Procedure 1, hidden spaces rotated) at hidden widths 1 "
        f"and {config.width_hidden}: max_t ||w_e^{config.width_hidden}(t) - w_e^1(t)|| / "
        "||w_e^1(t)|| = 0 up to rounding, which is why "
        "the sweep simulates width 1",
        balanced, tolerance, controls={
            f"the same w_e(0) embedded unbalanced at width {config.width_hidden} (extra hidden "
            "units with non-zero input weights)": unbalanced},
        values={"unbalanced_spread": unbalanced})
