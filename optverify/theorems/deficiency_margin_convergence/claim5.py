"""Appendix C Claim 5 of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281, in floating point.

Claim 5: for even N, a symmetric Phi with an eigenvalue -lambda < 0 and the identity initialization,
W_e(t) stays PSD and l(t) >= lambda^2 / 2 for every t, whatever the step size. The proof rests on
the mirror invariant W_{N+1-j} = W_j^T, which a GD step keeps exactly when Phi is symmetric (the
symbolic layer proves it with sympy). In floating point the invariant is broken by rounding and,
at the larger steps, the broken part grows every step until W_e leaves the PSD cone and GD
converges to Phi itself. So the statement is measured twice:
- as proved (decisive): l(t) >= lambda^2/2 at every step while the runs keep the invariant to
  MIRROR_TOLERANCE, down to the first-order slack that imbalance allows;
- as written, "forever, under any learning rate", on the float runs (reported): the steps at which
  each run loses the invariant and how far below lambda^2/2 it then goes.
All step sizes of one depth run as one batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from optverify.numerics.deep_linear import end_to_end, gradient_descent_step
from optverify.theorems.deficiency_margin_convergence.conditions import (
    deficiency_margin,
    half_squared_distance,
    square_loss_gradient,
)

PERTURBATION = 1e-12
"""The size of the perturbed identity init (a few thousand float64 ulps, below MIRROR_TOLERANCE):
the question is whether GD restores the invariant or amplifies such a break."""

MIRROR_TOLERANCE = 1e-10
"""The largest mirror imbalance max_j ||W_{N+1-j} - W_j^T||_F at which a run still counts as
keeping Claim 5's invariant: a million float64 ulps, fixed before measuring, and small enough that
its first-order effect on the loss (`Claim5Run.slack`) stays far below lambda^2/2."""


@dataclass(frozen=True)
class Claim5Run:
    """One run from the identity init on a symmetric Phi.

    lowest: min_t l(t) - lambda^2/2 over all finite steps (the statement as written);
    lowest_balanced: min_t of l(t) - lambda^2/2 + slack_t over the steps that keep the invariant
    to MIRROR_TOLERANCE, where slack_t = lambda N delta_t M_t^{N-1} is the first-order amount the
    step's own imbalance delta_t with layer norms <= M_t (Frobenius, bounding the spectral ones) can
    lower l below lambda^2/2 (0 while the invariant holds exactly); slack: its value at that step;
    balanced_steps: how many steps (from 0) keep the invariant;
    min_eigenvalue: of the symmetric part of W_e(T) (NaN when the run diverged)."""

    depth: int
    eta: float
    init: str
    margin: float
    lowest: float
    lowest_balanced: float
    balanced_steps: int
    slack: float
    final_loss: float
    min_eigenvalue: float
    curve: np.ndarray

    @property
    def keeps_invariant(self) -> bool:
        return self.balanced_steps == len(self.curve)

    @property
    def row(self) -> tuple:
        return (self.depth, self.eta, self.init, self.margin, self.lowest_balanced,
                self.balanced_steps - 1,
                self.lowest, self.final_loss, self.min_eigenvalue)


COLUMNS = ("N", "eta", "init", "margin of init", "min l(t) - lambda^2/2 while balanced",
           "last balanced step", "min_t l(t) - lambda^2/2 (all steps)", "l(T)",
           "min eigenvalue of W_e(T)")


def mirror_imbalance(factors: Sequence[torch.Tensor]) -> torch.Tensor:
    """max_j ||W_{N+1-j} - W_j^T||_F per batched run (0 for the identity init; NaN once a run
    diverged). The Frobenius norm bounds the spectral one, so the imbalance is not understated."""
    depth = len(factors)
    gaps = [torch.linalg.matrix_norm(factors[depth - 1 - j] - factors[j].mT, ord="fro")
            for j in range(depth // 2)]
    return torch.stack(gaps).amax(dim=0)


def _largest_layer_norm(factors: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.stack([torch.linalg.matrix_norm(layer, ord="fro") for layer in factors]).amax(dim=0)


def claim5_runs(depth: int, step_sizes: Sequence[float], phi: torch.Tensor, steps: int,
                negative_eigenvalue: float, perturbation: float = 0.0,
                generator: torch.Generator | None = None) -> tuple[Claim5Run, ...]:
    """GD from W_j = I for every step size at once (one batch), `steps` steps; with
    `perturbation`, each layer starts at I + perturbation * G (G standard Gaussian from
    `generator`): a rounding-sized break of the invariant, to see whether GD restores or amplifies it."""
    if depth % 2:
        raise ValueError(f"Claim 5 is about even depths, got N = {depth}")
    count = len(step_sizes)
    eta = torch.tensor(step_sizes, dtype=phi.dtype, device=phi.device)[:, None, None]
    factors = [torch.eye(2, dtype=phi.dtype, device=phi.device).expand(count, 2, 2).clone()
               for _ in range(depth)]
    if perturbation:
        factors = [layer + perturbation * torch.randn(layer.shape, generator=generator,
                                                      dtype=phi.dtype, device="cpu").to(phi.device)
                   for layer in factors]
    margin = float(deficiency_margin(end_to_end([layer[0] for layer in factors]), phi))
    gradient = square_loss_gradient(phi)
    losses, imbalances, norms = [], [], []
    with torch.no_grad():
        for _ in range(steps + 1):
            losses.append(half_squared_distance(end_to_end(factors), phi))
            imbalances.append(mirror_imbalance(factors))
            norms.append(_largest_layer_norm(factors))
            if len(losses) <= steps:
                factors = gradient_descent_step(factors, gradient, eta)
        product = end_to_end(factors)
        finite = torch.isfinite(product).all(dim=(-2, -1))
        safe = torch.where(finite[:, None, None], product, torch.zeros_like(product))
        eigenvalues = torch.linalg.eigvalsh((safe + safe.mT) / 2)[:, 0]
    curves = torch.stack(losses).cpu().numpy()
    imbalance = torch.stack(imbalances).cpu().numpy()
    layer_norms = torch.stack(norms).cpu().numpy()
    floor = negative_eigenvalue**2 / 2
    init = f"I + {perturbation:g} G" if perturbation else "I"
    return tuple(_run(depth, float(step), init, margin, curves[:, i], imbalance[:, i], layer_norms[:, i],
                      float(eigenvalues[i]) if bool(finite[i]) else math.nan, floor,
                      negative_eigenvalue)
                 for i, step in enumerate(step_sizes))


def _run(depth, eta, init, margin, curve, imbalance, layer_norms, min_eigenvalue, floor, lam):
    with np.errstate(invalid="ignore"):
        balanced = imbalance <= MIRROR_TOLERANCE
    balanced_steps = int(np.argmin(balanced)) if not balanced.all() else len(curve)
    finite = np.isfinite(curve)
    # W_e is within N delta_t M_t^{N-1} of a PSD matrix, so l(t) >= lambda^2/2 - lambda times that
    slack = lam * depth * imbalance[:balanced_steps] * layer_norms[:balanced_steps] ** (depth - 1)
    margins = curve[:balanced_steps] - floor + slack
    worst = int(np.nanargmin(margins))
    return Claim5Run(
        depth=depth, eta=eta, init=init, margin=margin,
        lowest=float(curve[finite].min()) - floor,
        lowest_balanced=float(margins[worst]),
        balanced_steps=balanced_steps,
        slack=float(slack[worst]),
        final_loss=float(curve[-1]), min_eigenvalue=min_eigenvalue, curve=curve)
