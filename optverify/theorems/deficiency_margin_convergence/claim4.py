"""Appendix C Claim 4 of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281, as the paper states it:
for even N, d = 1 and Phi = 1, gradient descent from the unbalanced initialization W_e(0) = 1/2 (a
deficiency margin of 1/2) diverges while the balanced one with the same W_e(0) converges, so
balancedness cannot be dropped from Theorem 1; the control starts from mildly unbalanced factors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import Judgement, Verdict
from optverify.numerics.deep_linear import end_to_end
from optverify.theorems.deficiency_margin_convergence.conditions import deficiency_margin
from optverify.theorems.deficiency_margin_convergence.config import ExperimentConfig
from optverify.theorems.deficiency_margin_convergence.gradient_descent import run_gradient_descent


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


def claim4_cells(runs: Sequence[Claim4Run]) -> dict[tuple[int, float], list[tuple[str, bool]]]:
    """(init, diverged) per (N, eta)."""
    cells: dict[tuple[int, float], list[tuple[str, bool]]] = {}
    for run in runs:
        cells.setdefault((run.depth, run.eta), []).append((run.init, run.diverged))
    return cells


def claim4_judgement(runs: Sequence[Claim4Run]) -> Judgement:
    """Claim 4 reproduced when in every (N, eta) cell the balanced init converges and some
    unbalanced init diverges (consistent), violated otherwise."""
    cells = claim4_cells(runs)
    reproduced = all(not dict(cell)["balanced"]
                     and any(d for label, d in cell if label != "balanced")
                     for cell in cells.values())
    values = {f"N={depth}, eta={eta:g}": ", ".join(
        f"{label}: {'diverged' if d else 'converging'}" for label, d in cell)
        for (depth, eta), cell in cells.items()}
    return Judgement(Verdict.CONSISTENT if reproduced else Verdict.VIOLATED,
                     "reproduced: necessity of balancedness is consistent" if reproduced else
                     "not reproduced in every (N, eta) cell", values)


def claim4_factors(depth: int, scale: float, product: float, dtype, device):
    """d = 1 layers w_j = K (j <= N/2), w_j = product^{2/N} / K (j > N/2): W_e = product, unbalanced
    with gap about K^2; K = product^{1/N} is the balanced init with the same W_e."""
    low = product ** (2 / depth) / scale
    values = [scale] * (depth // 2) + [low] * (depth - depth // 2)
    return [torch.full((1, 1), v, dtype=dtype, device=device) for v in values]


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


CLAIM4_MILD = 1.5
"""Claim 4's control: unbalanced inits K = 1.5 x the balanced scale product^{1/N} (gap of order 1),
which converge: the world in which balancedness would not matter."""


def claim4_runs(config: ExperimentConfig, dtype, device,
                mild: bool = False) -> tuple[Claim4Run, ...]:
    """Claim 4 for every (even N, eta): the balanced init and the unbalanced ones (scale K), or
    with `mild` the mildly unbalanced K = CLAIM4_MILD x the balanced scale (the control)."""
    def unbalanced(depth: int) -> list[tuple[str, float]]:
        if mild:
            scale = CLAIM4_MILD * CLAIM4_PRODUCT ** (1 / depth)
            return [(f"mildly unbalanced K={scale:.3g}", scale)]
        return [(f"unbalanced K={scale:g}", scale) for scale in config.claim4_scales]

    return tuple(
        claim4_run(depth, eta, label, scale, config.claim4_steps, dtype, device)
        for depth in config.claim4_depths for eta in config.claim4_step_sizes
        for label, scale in [("balanced", CLAIM4_PRODUCT ** (1 / depth))] + unbalanced(depth))
