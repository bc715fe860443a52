"""Products of Jacobians in torch: renormalized log-norms of J_T ... J_1 v, random Jacobian
families (Gaussian; prescribed singular values, with Haar orthogonal factors from
`optverify.numerics.haar`), the tanh RNN Jacobian ds_k/ds_{k-1} = diag(1 - s_k^2) W, and
gradient-norm clipping.

Source: Pascanu, Mikolov, Bengio (2013), arXiv:1211.5063, Section 2.1, eq. (3)-(7) (the product
of Jacobians and the bounds ||prod|| <= (gamma ||W||)^T) and Section 3.2, Algorithm 1 (clipping);
Newman (1986) for the Gaussian Lyapunov exponent.

The log-norm of a long product is accumulated step by step, renormalizing the vector after each
Jacobian (the standard method for Lyapunov exponents, Benettin et al. 1980): products whose norm
falls below the float64 range (e.g. 1e-400) keep a finite, exact log-norm, where the direct product
underflows to 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from scipy.special import digamma, polygamma

from optverify.numerics.haar import haar_orthogonal


def check_depth(depth: int) -> None:
    if int(depth) != depth or depth < 1:
        raise ValueError(f"the number of Jacobians T must be an integer >= 1, got {depth}")


def check_dimension(dimension: int) -> None:
    if int(dimension) != dimension or dimension < 2:
        raise ValueError(f"the dimension n must be an integer >= 2, got {dimension}")


def check_finite(name: str, tensor: torch.Tensor) -> None:
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} must be finite")


def lyapunov_exponent(sigma: float, dimension: int) -> float:
    """Top Lyapunov exponent of iid n x n matrices with N(0, sigma^2/n) entries (Newman 1986):
    log sigma + (1/2)(log(2/n) + digamma(n/2))."""
    check_dimension(dimension)
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be positive and finite, got {sigma}")
    return math.log(sigma) + 0.5 * (math.log(2 / dimension) + float(digamma(dimension / 2)))


def log_norm_variance_per_step(dimension: int) -> float:
    """Var(log ||G u||) for a unit u: trigamma(n/2) / 4 (a quarter of Var(log chi^2_n))."""
    check_dimension(dimension)
    return float(polygamma(1, dimension / 2)) / 4


JacobianAt = Callable[[int], torch.Tensor]
"""Step k (1-based) -> the batch of Jacobians J_k, shape (..., n, n)."""


def renormalized_log_norms(vector: torch.Tensor, jacobian_at: JacobianAt,
                           depth: int) -> torch.Tensor:
    """log ||J_t ... J_1 v|| for t = 1..depth, shape (depth, ...), by renormalizing after each
    step: never underflows or overflows, whatever the size of the product."""
    check_depth(depth)
    check_finite("the initial vector", vector)
    norm = torch.linalg.vector_norm(vector, dim=-1)
    if (norm == 0).any():
        raise ValueError("the initial vector must be non-zero")
    direction, total = vector / norm[..., None], norm.log()
    history = []
    for step in range(1, depth + 1):
        image = (jacobian_at(step) @ direction[..., None])[..., 0]
        norm = torch.linalg.vector_norm(image, dim=-1)
        total = total + norm.log()
        direction = image / norm[..., None]
        history.append(total)
    return torch.stack(history)


def log_norm_rounding_bounds(vector: torch.Tensor, jacobian_at: JacobianAt, depth: int,
                             eps: float) -> torch.Tensor:
    """A first-order bound on the rounding error of log ||J_t ... J_1 v||, t = 1..depth.

    Each product J u in floating point has |fl(J u) - J u| <= gamma_n |J| |u| (Higham, Accuracy
    and Stability of Numerical Algorithms, Section 3.5, gamma_n = n eps / (1 - n eps)): the step
    adds r_t = gamma_n || |J| |u| || / ||J u|| (+ 2 eps for the norm and the division) to the
    log-norm and 2 r_t to the direction u. A direction already off by delta changes the step's
    log-norm by up to kappa_t delta and the next direction by up to 2 kappa_t delta, with
    kappa_t = ||J||_F / ||J u|| >= ||J||_2 / ||J u||. So delta_t = 2 kappa_t delta_{t-1} + 2 r_t
    and the log-norm error bound grows by kappa_t delta_{t-1} + r_t per step."""
    check_depth(depth)
    dimension = vector.shape[-1]
    gamma = dimension * eps / (1 - dimension * eps)
    direction = vector / torch.linalg.vector_norm(vector, dim=-1, keepdim=True)
    total = torch.zeros_like(direction[..., 0])
    drift, history = torch.zeros_like(total), []
    for step in range(1, depth + 1):
        jacobian = jacobian_at(step)
        image = (jacobian @ direction[..., None])[..., 0]
        magnitude = (jacobian.abs() @ direction.abs()[..., None])[..., 0]
        norm = torch.linalg.vector_norm(image, dim=-1)
        fresh = gamma * torch.linalg.vector_norm(magnitude, dim=-1) / norm + 2 * eps
        amplification = torch.linalg.matrix_norm(jacobian) / norm
        total = total + amplification * drift + fresh
        drift = 2 * amplification * drift + 2 * fresh
        direction = image / norm[..., None]
        history.append(total)
    return torch.stack(history)


def direct_log_norms(vector: torch.Tensor, jacobian_at: JacobianAt, depth: int) -> torch.Tensor:
    """log ||J_t ... J_1 v|| for t = 1..depth from the plain product; -inf or +inf where the
    product leaves the floating-point range."""
    check_depth(depth)
    history, image = [], vector
    for step in range(1, depth + 1):
        image = (jacobian_at(step) @ image[..., None])[..., 0]
        history.append(torch.linalg.vector_norm(image, dim=-1).log())
    return torch.stack(history)


def gaussian_jacobians(generator: torch.Generator, shape: tuple[int, ...], dimension: int,
                       sigma: torch.Tensor | float, dtype: torch.dtype,
                       device: str) -> torch.Tensor:
    """A batch (*shape, n, n) of matrices with N(0, sigma^2 / n) entries; sigma broadcasts
    against the leading dimensions."""
    check_dimension(dimension)
    draws = torch.randn(*shape, dimension, dimension, generator=generator, dtype=dtype,
                        device=device)
    sigma = torch.as_tensor(sigma, dtype=dtype, device=device)
    return sigma[..., None, None] * draws / math.sqrt(dimension)


def prescribed_singular_values(generator: torch.Generator, shape: tuple[int, ...],
                               dimension: int, low: float, high: float, dtype: torch.dtype,
                               device: str) -> torch.Tensor:
    """U diag(s) V^T with Haar U, V and singular values s uniform in [low, high]."""
    if not (0 < low <= high and math.isfinite(high)):
        raise ValueError(f"singular values need 0 < low <= high < inf, got [{low}, {high}]")
    check_dimension(dimension)
    left = haar_orthogonal(dimension, generator, shape, dtype, device)
    right = haar_orthogonal(dimension, generator, shape, dtype, device)
    values = low + (high - low) * torch.rand(*shape, dimension, generator=generator, dtype=dtype,
                                             device=device)
    return left @ (values[..., None] * right.transpose(-1, -2))


def tanh_rnn_states(weight: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """States s_0..s_T of s_k = tanh(W s_{k-1} + x_k), s_0 = 0: inputs (T, ..., n), weight
    (..., n, n); returns (T + 1, ..., n)."""
    check_depth(inputs.shape[0])
    check_finite("the recurrent weight", weight)
    check_finite("the inputs", inputs)
    state = torch.zeros_like(inputs[0])
    states = [state]
    for drive in inputs:
        state = torch.tanh((weight @ state[..., None])[..., 0] + drive)
        states.append(state)
    return torch.stack(states)


def tanh_rnn_gradient_log_norms(weight: torch.Tensor, states: torch.Tensor,
                                final_gradient: torch.Tensor) -> torch.Tensor:
    """log ||dL/ds_{T-t}|| for t = 1..T by back-propagating dL/ds_T through the Jacobians
    ds_k/ds_{k-1} = diag(1 - s_k^2) W (row vector g <- (g * (1 - s_k^2)) W), renormalized."""
    depth = states.shape[0] - 1
    steps = [(1 - states[depth - t + 1] ** 2) for t in range(1, depth + 1)]
    transposed = weight.transpose(-1, -2)
    return renormalized_log_norms(
        final_gradient, lambda t: transposed * steps[t - 1][..., None, :], depth)


def spectral_norm(matrices: torch.Tensor) -> torch.Tensor:
    return torch.linalg.matrix_norm(matrices, ord=2)


def clip_by_norm(gradients: torch.Tensor, threshold: float) -> torch.Tensor:
    """Algorithm 1 of arXiv:1211.5063: g <- threshold g / ||g|| where ||g|| > threshold."""
    if not (math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"the clipping threshold must be positive and finite, got {threshold}")
    check_finite("the gradients", gradients)
    norms = torch.linalg.vector_norm(gradients, dim=-1, keepdim=True)
    return gradients * torch.clamp(threshold / norms, max=1.0)


def as_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()
