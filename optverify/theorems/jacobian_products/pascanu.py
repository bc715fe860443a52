"""Pascanu, Mikolov, Bengio (2013), arXiv:1211.5063, Section 2.1 (eq. (11) and the paragraphs
after eq. (7)): the RNN x_t = W f(x_(t-1)) + U u_t + b, with the same W at every step, has
dx_t/dx_(t-1) = W diag(f'(x_(t-1))). With |f'| <= gamma (gamma = 1 for tanh, 1/4 for the
sigmoid) and lambda_1 the largest singular value of W, ||dx_t/dx_(t-1)||_2 <= gamma lambda_1, so

    ||dx_T/dx_k||_2 <= (gamma lambda_1)^(T - k):

lambda_1 < 1/gamma is sufficient for the gradients to vanish, and lambda_1 > 1/gamma is necessary
for them to explode. The first arXiv version called lambda_1 the largest *eigenvalue*; for a
non-normal W the spectral radius rho(W) lies below ||W||_2 and the bound with rho in place of
lambda_1 fails (transient growth), which `spectral_radius` makes measurable.

The bound is attained where f' = gamma along the path: at x = 0 for tanh and the sigmoid (their
steepest point). `pinning_drive` is the input U u_t + b = -W f(0) that keeps x_t = 0 for ever, so a
scaled orthogonal W there has ||dx_T/dx_k|| = (gamma lambda_1)^(T - k) exactly: the witness that
the constant cannot be lowered and that lambda_1 just above 1/gamma explodes.

Products are accumulated backwards from T with renormalization (P_m = J_T ... J_(T-m+1), divided by
its Frobenius norm after each factor, the log of the scale kept), so no product under- or
overflows; the spectral norms come from one batched SVD of the renormalized factors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from optverify.numerics.validation import require_finite, require_int


@dataclass(frozen=True)
class Activation:
    """An elementwise activation f with its derivative and gamma = max |f'| (attained at 0)."""

    name: str
    gamma: float
    function: Callable[[torch.Tensor], torch.Tensor]
    derivative: Callable[[torch.Tensor], torch.Tensor]


def _sigmoid_derivative(x: torch.Tensor) -> torch.Tensor:
    value = torch.sigmoid(x)
    return value * (1 - value)


TANH = Activation("tanh", 1.0, torch.tanh, lambda x: 1 - torch.tanh(x) ** 2)
SIGMOID = Activation("sigmoid", 0.25, torch.sigmoid, _sigmoid_derivative)
ACTIVATIONS = (TANH, SIGMOID)


def pinning_drive(weight: torch.Tensor, activation: Activation) -> torch.Tensor:
    """The constant input -W f(0) 1 (shape (..., n)) under which x_t = 0 is a fixed point: the
    path where every Jacobian is gamma W."""
    ones = torch.ones(weight.shape[:-1], dtype=weight.dtype, device=weight.device)
    return -(weight @ activation.function(0 * ones)[..., None])[..., 0]


def rnn_states(weight: torch.Tensor, drives: torch.Tensor, activation: Activation) -> torch.Tensor:
    """x_0 = 0 and x_t = W f(x_(t-1)) + d_t for t = 1..T: weight (..., n, n), drives (T, ..., n)
    (the inputs U u_t + b); returns (T + 1, ..., n)."""
    require_int("the number of Jacobians T", drives.shape[0], minimum=1)
    require_finite("the recurrent weight", weight)
    require_finite("the inputs", drives)
    state = torch.zeros_like(drives[0])
    states = [state]
    for drive in drives:
        state = (weight @ activation.function(state)[..., None])[..., 0] + drive
        states.append(state)
    return torch.stack(states)


def jacobian_log_norms(weight: torch.Tensor, states: torch.Tensor,
                       activation: Activation) -> torch.Tensor:
    """log ||dx_T/dx_(T-m)||_2 for m = 1..T, shape (T, ...): the product of the last m Jacobians
    J_t = W diag(f'(x_(t-1))), accumulated backwards from T with renormalization."""
    depth = states.shape[0] - 1
    require_int("the number of Jacobians T", depth, minimum=1)
    product = torch.eye(weight.shape[-1], dtype=weight.dtype, device=weight.device)
    product = product.expand_as(weight)
    scale = torch.zeros(weight.shape[:-2], dtype=weight.dtype, device=weight.device)
    scales, factors = [], []
    for step in range(depth, 0, -1):
        product = product @ (weight * activation.derivative(states[step - 1])[..., None, :])
        size = torch.linalg.matrix_norm(product)
        product = product / size[..., None, None]
        scale = scale + size.log()
        scales.append(scale)
        factors.append(product)
    return torch.stack(scales) + torch.linalg.svdvals(torch.stack(factors))[..., 0].log()


def spectral_radius(weight: torch.Tensor) -> torch.Tensor:
    """rho(W) = max |eigenvalue| (the first arXiv version's 'largest eigenvalue' lambda_1)."""
    return torch.linalg.eigvals(weight).abs().amax(dim=-1)


def scaled_weights(raw: torch.Tensor, largest_singular_value: torch.Tensor) -> torch.Tensor:
    """raw rescaled so that ||W||_2 = largest_singular_value (broadcast over the batch)."""
    norms = torch.linalg.matrix_norm(raw, ord=2)
    return raw * (largest_singular_value / norms)[..., None, None]


def radius_scaled_weights(raw: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    """raw rescaled so that its spectral radius rho(W) = radius."""
    return raw * (radius / spectral_radius(raw))[..., None, None]

