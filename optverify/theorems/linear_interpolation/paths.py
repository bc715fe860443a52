"""Straight-line paths between initial and final parameters, and their monotonicity statistics.

Source: Goodfellow, Vinyals, Saxe (2015), "Qualitatively characterizing neural network
optimization problems", arXiv:1412.6544, Section 2 (the linear path experiment):
theta(alpha) = (1 - alpha) theta_0 + alpha theta_T. Here: the path for batched parameter tensors,
the path losses of deep linear nets and one-hidden-layer ReLU MLPs, and the statistics reported
(monotone within a rounding floor, largest bump above the running minimum).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from optverify.numerics.deep_linear import end_to_end
from optverify.numerics.precision import machine_epsilon
from optverify.numerics.validation import require, require_depth, require_finite, require_shape

ROUNDING_ULPS = 16.0
"""A loss increase between neighbouring alphas counts only above 16 ulps of the largest path loss
(the rounding floor of a sum of O(1) terms in the loss's dtype, as in `precision.resolve`)."""


def interpolate(start: torch.Tensor, end: torch.Tensor, alphas: torch.Tensor) -> torch.Tensor:
    """theta(alpha) for a batch: start, end (S, ...) -> (S, A, ...), alpha along dimension 1."""
    require_finite("the path's start", start)
    require_finite("the path's end", end)
    require_shape("the alphas", alphas, (None,))
    require(alphas.numel() >= 3, f"the path needs a grid of at least 3 alphas, got "
                                 f"{alphas.numel()}")
    require_finite("the alphas", alphas)
    shape = (1, -1) + (1,) * (start.ndim - 1)
    weights = alphas.to(start.dtype).reshape(shape)
    return start.unsqueeze(1) + weights * (end - start).unsqueeze(1)


def deep_linear_loss(layers: list[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """||W_N ... W_1 - Phi||_F^2 / 2 (whitened inputs), over the leading batch dimensions."""
    residual = end_to_end(layers) - target
    return 0.5 * residual.square().sum(dim=(-2, -1))


def deep_linear_path_loss(starts: list[torch.Tensor], ends: list[torch.Tensor],
                          target: torch.Tensor, alphas: torch.Tensor) -> torch.Tensor:
    """Loss (S, A) along the straight paths of S deep linear nets (layers (S, d, d)); target is
    (S, d, d) or (d, d)."""
    require_depth(len(starts))
    require(len(ends) == len(starts), f"the path needs as many final as initial layers, got "
                                      f"{len(ends)} and {len(starts)}")
    path = [interpolate(start, end, alphas) for start, end in zip(starts, ends)]
    target = target.unsqueeze(-3) if target.ndim == 3 else target
    return deep_linear_loss(path, target)


@dataclass(frozen=True)
class MlpParameters:
    """One-hidden-layer ReLU MLPs f(x) = w2 relu(W1 x + b1) + b2, batched over leading dims."""

    hidden_weight: torch.Tensor
    hidden_bias: torch.Tensor
    output_weight: torch.Tensor
    output_bias: torch.Tensor

    def tensors(self) -> tuple[torch.Tensor, ...]:
        return (self.hidden_weight, self.hidden_bias, self.output_weight, self.output_bias)


def mlp_outputs(parameters: MlpParameters, inputs: torch.Tensor) -> torch.Tensor:
    """Outputs (..., n) for inputs (n, d); hidden_weight (..., h, d), output_weight (..., h)."""
    hidden = torch.relu(torch.einsum("...hd,nd->...nh", parameters.hidden_weight, inputs)
                        + parameters.hidden_bias.unsqueeze(-2))
    return torch.einsum("...nh,...h->...n", hidden, parameters.output_weight) + \
        parameters.output_bias.unsqueeze(-1)


def mlp_loss(parameters: MlpParameters, inputs: torch.Tensor, targets: torch.Tensor,
             classification: bool) -> torch.Tensor:
    """Mean squared error / 2 (regression) or mean logistic loss (labels +-1), per batch entry."""
    outputs = mlp_outputs(parameters, inputs)
    if classification:
        return torch.nn.functional.softplus(-targets * outputs).mean(dim=-1)
    return 0.5 * (outputs - targets).square().mean(dim=-1)


def mlp_path_loss(start: MlpParameters, end: MlpParameters, inputs: torch.Tensor,
                  targets: torch.Tensor, classification: bool,
                  alphas: torch.Tensor) -> torch.Tensor:
    """Loss (S, A) along the straight paths of S MLPs, all alphas in one batched pass."""
    path = MlpParameters(*(interpolate(a, b, alphas)
                           for a, b in zip(start.tensors(), end.tensors())))
    return mlp_loss(path, inputs, targets, classification)


def rounding_floor(path_losses: torch.Tensor, dtype: str) -> torch.Tensor:
    """Per path (S,): ROUNDING_ULPS * eps(dtype) * max_alpha |l(alpha)|."""
    return ROUNDING_ULPS * machine_epsilon(dtype) * path_losses.abs().amax(dim=-1)


def largest_bumps(path_losses: torch.Tensor) -> torch.Tensor:
    """max_alpha [l(alpha) - min_{alpha' <= alpha} l(alpha')] per path (S,) on the grid."""
    running_minimum = torch.cummin(path_losses, dim=-1).values
    return (path_losses - running_minimum).amax(dim=-1)


def monotone(path_losses: torch.Tensor, dtype: str) -> torch.Tensor:
    """Whether each path (S, A) is non-increasing on the grid: every bump within the rounding
    floor (a rise above the running minimum is what a non-monotone path has)."""
    return largest_bumps(path_losses) <= rounding_floor(path_losses, dtype)


def finite_paths(path_losses: torch.Tensor) -> torch.Tensor:
    return torch.isfinite(path_losses).all(dim=-1)
