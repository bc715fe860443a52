"""The l_p regression loss of Arora, Cohen, Hazan (2018), arXiv:1802.06509, Section 3 and 7:
L(w) = (1 / (p m)) sum_i |x_i^T w - y_i|^p, and its exact optimum (l_2: least squares; l_4:
Newton's method on the strictly convex quartic, to float64 resolution)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from optverify.numerics.validation import require_one_of

SUPPORTED_POWERS = (2, 4)
NEWTON_STEPS = 100
NEWTON_RESOLUTION = 1e-13
"""Newton stops once its step is below 1e-13 relative to ||w||, or no step along its direction
lowers the loss any more (float64 resolution: the loss is a mean of 2565 rounded terms)."""


def _tensors(features, targets, weights=None):
    """float64 CPU tensors (torch's single-threaded kernels: numpy's threaded BLAS is slow on a
    shared machine)."""
    out = [torch.as_tensor(np.asarray(a, dtype=float)) for a in (features, targets)]
    if weights is not None:
        out.append(torch.as_tensor(np.asarray(weights, dtype=float)))
    return out


def lp_loss(features: np.ndarray, targets: np.ndarray, weights: np.ndarray, power: int) -> float:
    """L(w) = mean |X w - y|^p / p."""
    require_one_of("the l_p loss's p", power, SUPPORTED_POWERS)
    features, targets, weights = _tensors(features, targets, weights)
    return _loss(features, targets, weights, power)


def _loss(features, targets, weights, power) -> float:
    residual = features @ weights - targets
    return float((residual.abs() ** power).mean() / power)


def lp_gradient(features: np.ndarray, targets: np.ndarray, weights: np.ndarray,
                power: int) -> np.ndarray:
    """grad L(w) = X^T (r |r|^(p-2)) / m, r = X w - y."""
    require_one_of("the l_p loss's p", power, SUPPORTED_POWERS)
    features, targets, weights = _tensors(features, targets, weights)
    return _gradient(features, targets, weights, power).numpy()


def _gradient(features, targets, weights, power):
    residual = features @ weights - targets
    return features.T @ (residual * residual.abs() ** (power - 2)) / len(targets)


@dataclass(frozen=True)
class Optimum:
    """The minimizer of the l_p loss, its loss, the final gradient norm and Newton's steps."""

    weights: np.ndarray
    loss: float
    gradient_norm: float
    newton_steps: int


def lp_optimum(features: np.ndarray, targets: np.ndarray, power: int) -> Optimum:
    """l_2: the least-squares solution (lstsq). l_4: Newton's method from it, with a backtracking
    line search, Hessian (3 / m) X^T diag(r^2) X, until the step is at float64 resolution."""
    require_one_of("the l_p loss's p", power, SUPPORTED_POWERS)
    features, targets = _tensors(features, targets)
    weights = torch.linalg.lstsq(features, targets.unsqueeze(-1), driver="gelsd").solution[:, 0]
    steps = 0
    if power == 4:
        for steps in range(1, NEWTON_STEPS + 1):
            residual = features @ weights - targets
            gradient = features.T @ residual**3 / len(targets)
            hessian = 3 * (features.T * residual**2) @ features / len(targets)
            direction = torch.linalg.solve(hessian, gradient)
            current, size = _loss(features, targets, weights, 4), 1.0
            while _loss(features, targets, weights - size * direction, 4) > current \
                    and size > 1e-3:
                size /= 2
            if _loss(features, targets, weights - size * direction, 4) > current:
                break
            weights = weights - size * direction
            if float(torch.linalg.vector_norm(size * direction)) <= \
                    NEWTON_RESOLUTION * float(torch.linalg.vector_norm(weights)):
                break
        else:
            raise RuntimeError(f"Newton's method did not converge in {NEWTON_STEPS} steps")
    gradient = _gradient(features, targets, weights, power)
    return Optimum(weights.numpy(), _loss(features, targets, weights, power),
                   float(torch.linalg.vector_norm(gradient)), steps)
