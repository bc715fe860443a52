"""Gradient descent on l = 1/2 ||W_N ... W_1 - Phi||_F^2 and its fitted decay rate, shared by the
sub-claims of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281 (Theorem 1's grid, Appendix C
Claim 4): the runs, the loss floor and rate resolution of a dtype, a loss curve as a figure series.
"""

from __future__ import annotations

import numpy as np
import torch

from optverify.kit import Series, fit_exponential_rate, machine_epsilon
from optverify.numerics.deep_linear import end_to_end, gradient_descent_step
from optverify.numerics.validation import require_depth, require_finite, require_non_negative
from optverify.theorems.deficiency_margin_convergence.conditions import (
    half_squared_distance,
    sigma_min,
    square_loss_gradient,
)


def run_gradient_descent(
    factors, target: torch.Tensor, eta: torch.Tensor, steps: int, track_sigma: bool = False
):
    """GD for `steps` steps; returns (losses (steps+1, *batch), sigma_mins (steps, *batch) or None).

    eta: a tensor broadcasting against the batch shape (one step size per run); sigma_min(W_e(t)) is
    recorded only with `track_sigma` (runs that may diverge skip it).
    """
    require_depth(len(factors))
    require_finite("the target matrix Phi", target)
    require_non_negative("the step sizes eta", eta)
    step = eta[..., None, None]
    gradient = square_loss_gradient(target)
    losses, sigma_mins = [half_squared_distance(end_to_end(factors), target)], []
    for _ in range(steps):
        if track_sigma:
            sigma_mins.append(sigma_min(end_to_end(factors)))
        factors = gradient_descent_step(factors, gradient, step)
        losses.append(half_squared_distance(end_to_end(factors), target))
    return torch.stack(losses), torch.stack(sigma_mins) if track_sigma else None


def loss_floor(target_norm: float, dtype: str) -> float:
    """The smallest loss the dtype resolves: (64 eps ||Phi||_F)^2 / 2 (residual rounding)."""
    return 0.5 * (64 * machine_epsilon(dtype) * target_norm) ** 2


def fitted_rate(losses: np.ndarray, last_step: int, floor: float,
                resolution: float = 0.0) -> float | None:
    """-slope of log l(t) for t <= last_step with l(t) a million times above the floor; None when
    fewer than 3 points are usable or the loss moves by no more than `resolution` (relative) over
    the window, a decay the dtype cannot see (below precision)."""
    window = np.arange(min(last_step, losses.size - 1) + 1)
    values = losses[window]
    usable = np.isfinite(values) & (values > 1e6 * floor)
    if usable.sum() < 3:
        return None
    kept = values[usable]
    if abs(1 - kept[-1] / kept[0]) <= resolution:
        return None
    return -fit_exponential_rate(window[usable], kept).exponent


def rate_resolution(dtype: str) -> float:
    """Relative loss change below which a fitted decay rate is rounding noise: 64 eps(dtype)."""
    return 64 * machine_epsilon(dtype)


def loss_curve_series(label: str, losses: np.ndarray) -> Series:
    finite = np.isfinite(losses) & (losses > 0)
    steps = np.arange(losses.size)[finite]
    return Series(label, tuple(float(s) for s in steps), tuple(float(v) for v in losses[finite]), "line")
