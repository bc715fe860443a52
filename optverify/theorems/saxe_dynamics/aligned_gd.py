"""Gradient descent on the whitened multi-mode linear regression of Saxe, McClelland, Ganguli (2014),
arXiv:1312.6120, Section 2: the task (Sigma_31 = U S V^T, loss 1/2 ||W_e - Sigma_31||_F^2), GD of
a depth-N chain from the aligned balanced start, each mode's crossing of a level, and the
two-layer closed form u(t) of the flow it is compared with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import Session
from optverify.numerics.deep_linear import balanced_factors, end_to_end, gradient_descent_step
from optverify.numerics.haar import haar_orthogonal
from optverify.theorems.saxe_dynamics.config import ExperimentConfig


@dataclass(frozen=True)
class Task:
    """Sigma_31 = U S V^T and the aligned start's initial strengths (1, modes), u_0 = c_0 s."""

    left: torch.Tensor
    right: torch.Tensor
    strengths: torch.Tensor
    starts: torch.Tensor

    @property
    def target(self) -> torch.Tensor:
        return self.left @ torch.diag(self.strengths) @ self.right.mT

    def mode_strengths(self, end_to_end_matrix: torch.Tensor) -> torch.Tensor:
        """u_alpha = u_alpha^T W_e v_alpha for each batched W_e."""
        return torch.diagonal(self.left.mT @ end_to_end_matrix @ self.right, dim1=-2, dim2=-1)


def make_task(config: ExperimentConfig, s: Session) -> Task:
    """Haar-random singular vectors U, V (drawn from the session's "data" stream) and the starts."""
    options = {"dtype": s.torch_dtype, "device": s.device}
    generator = s.generator("data")
    left = haar_orthogonal(config.modes, generator, **options)
    right = haar_orthogonal(config.modes, generator, **options)
    strengths = torch.tensor(config.strengths, **options)
    starts = (config.relative_start * strengths).unsqueeze(0)
    return Task(left, right, strengths, starts)


def gd_trajectory(task: Task, depth: int, eta: float, steps: int) -> torch.Tensor:
    """Mode strengths (steps + 1, 1, modes) along GD from the balanced mode-aligned start."""
    initial = task.left @ torch.diag_embed(task.starts) @ task.right.mT
    factors = balanced_factors(initial, [task.strengths.numel()] * (depth - 1))
    target = task.target

    def grad_loss(end_to_end_matrix):
        return end_to_end_matrix - target

    history = [task.mode_strengths(end_to_end(factors))]
    for _ in range(steps):
        factors = gradient_descent_step(factors, grad_loss, eta)
        history.append(task.mode_strengths(end_to_end(factors)))
    return torch.stack(history)


def crossing_times(history: torch.Tensor, levels: torch.Tensor, eta: float) -> np.ndarray:
    """The first time each trajectory reaches its level, linearly interpolated between steps;
    NaN where it never does."""
    values = history.cpu().numpy()
    targets = np.broadcast_to(levels.cpu().numpy(), values.shape[1:])
    above = values >= targets
    first = np.where(above.any(0), above.argmax(0), -1)
    times = np.full(first.shape, np.nan)
    for index in zip(*np.nonzero(first > 0)):
        k = first[index]
        before, after = values[(k - 1, *index)], values[(k, *index)]
        times[index] = eta * (k - 1 + (targets[index] - before) / (after - before))
    return times


def two_layer_closed_form(times: torch.Tensor, strengths: torch.Tensor, starts: torch.Tensor):
    """u(t) = s / (1 + (s/u_0 - 1) e^{-2st}) for tau = 1, broadcast over (time, start, mode)."""
    t = times.view(-1, 1, 1)
    return strengths / (1 + (strengths / starts - 1) * torch.exp(-2 * strengths * t))
