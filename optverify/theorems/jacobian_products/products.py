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
underflows to 0. The direct product's norm is taken without squaring its entries (scaled by the
largest one first), so it is exact down to the smallest normal number, not only to its square root.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import digamma, polygamma

from optverify.numerics.haar import haar_orthogonal
from optverify.numerics.validation import (
    require_between,
    require_finite,
    require_int,
    require_positive,
)


def lyapunov_exponent(sigma: float, dimension: int) -> float:
    """Top Lyapunov exponent of iid n x n matrices with N(0, sigma^2/n) entries (Newman 1986):
    log sigma + (1/2)(log(2/n) + digamma(n/2))."""
    require_int("the dimension n", dimension, minimum=2)
    require_positive("sigma", sigma)
    return math.log(sigma) + 0.5 * (math.log(2 / dimension) + float(digamma(dimension / 2)))


def log_norm_variance_per_step(dimension: int) -> float:
    """Var(log ||G u||) for a unit u: trigamma(n/2) / 4 (a quarter of Var(log chi^2_n))."""
    require_int("the dimension n", dimension, minimum=2)
    return float(polygamma(1, dimension / 2)) / 4


JacobianAt = Callable[[int], torch.Tensor]
"""Step k (1-based) -> the batch of Jacobians J_k, shape (..., n, n)."""


def renormalized_log_norms(vector: torch.Tensor, jacobian_at: JacobianAt,
                           depth: int) -> torch.Tensor:
    """log ||J_t ... J_1 v|| for t = 1..depth, shape (depth, ...), by renormalizing after each
    step: never underflows or overflows, whatever the size of the product."""
    require_int("the number of Jacobians T", depth, minimum=1)
    require_finite("the initial vector", vector)
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


def scaled_log_norm(vectors: torch.Tensor) -> torch.Tensor:
    """log ||x|| along the last axis without squaring x itself: x is divided by its largest
    |entry| m first, so log ||x|| = log m + log ||x / m|| is exact to rounding wherever x is
    representable (the plain norm squares the entries, and ||x||^2 underflows once ||x|| falls
    below sqrt of the smallest normal number, 1e-154 in float64, 1e-19 in float32). -inf for
    x = 0."""
    largest = vectors.abs().amax(dim=-1)
    safe = torch.where(largest > 0, largest, torch.ones_like(largest))
    scaled = torch.linalg.vector_norm(vectors / safe[..., None], dim=-1)
    return torch.where(largest > 0, safe.log() + scaled.log(), torch.full_like(largest,
                                                                                -math.inf))


def squared_log_norm(vectors: torch.Tensor) -> torch.Tensor:
    """log sqrt(sum x_i^2) as torch computes the plain vector norm: the squares underflow below
    sqrt(smallest normal). A faulty log-norm, kept as the negative control of the twin check."""
    return torch.linalg.vector_norm(vectors, dim=-1).log()


def direct_log_norms(vector: torch.Tensor, jacobian_at: JacobianAt, depth: int,
                     log_norm: Callable[[torch.Tensor], torch.Tensor] = scaled_log_norm
                     ) -> torch.Tensor:
    """log ||J_t ... J_1 v|| for t = 1..depth from the plain product, its norm taken without
    squaring the entries (`scaled_log_norm`); -inf or +inf where the product itself leaves the
    floating-point range."""
    return direct_products(vector, jacobian_at, depth, log_norm).log_norms


@dataclass(frozen=True)
class DirectProducts:
    """The plain product J_t ... J_1 v for t = 1..depth: log_norms (depth, ...), and `normal`:
    whether the product has stayed a vector of normal floats so far (finite, largest |entry| at
    least the dtype's smallest normal number at every step up to t)."""

    log_norms: torch.Tensor
    normal: torch.Tensor


def direct_products(vector: torch.Tensor, jacobian_at: JacobianAt, depth: int,
                    log_norm: Callable[[torch.Tensor], torch.Tensor] = scaled_log_norm
                    ) -> DirectProducts:
    require_int("the number of Jacobians T", depth, minimum=1)
    smallest = torch.finfo(vector.dtype).tiny
    history, normal, image = [], [], vector
    still = torch.ones(vector.shape[:-1], dtype=torch.bool, device=vector.device)
    for step in range(1, depth + 1):
        image = (jacobian_at(step) @ image[..., None])[..., 0]
        largest = image.abs().amax(dim=-1)
        still = still & torch.isfinite(largest) & (largest >= smallest)
        history.append(log_norm(image))
        normal.append(still)
    return DirectProducts(torch.stack(history), torch.stack(normal))


def first_order_rounding_bounds(vector: torch.Tensor, jacobians: torch.Tensor,
                                eps: float) -> torch.Tensor:
    """A first-order bound on |direct - renormalized| log ||J_t ... J_1 v||, t = 1..T, for the
    two computations in a floating-point format; jacobians (T, ..., n, n); eps: the format's machine
    epsilon (the unit roundoff is eps / 2, so the bound is conservative by a factor of 2).

    Both are products of perturbed matrices. A perturbation e of the image z_k = J_k u_(k-1)
    (u the unit direction) at step k changes log ||J_t ... J_1 v|| by <S^T y, e> / ||S z_k|| to
    first order, with S = J_t ... J_(k+1) and y the unit direction of the product at t: the
    effect is at most kappa_k ||e|| / ||z_k||, kappa_k = ||S^T y|| / ||S u_k|| (the adjoint's
    gain, computed by a backward pass from every t; kappa_t = 1, and ||S u_k|| = e^(L_t - L_k)
    from the renormalized log-norms). Per step k (Higham, Accuracy and Stability of Numerical
    Algorithms, Sections 2.2 and 3.5, gamma_n = n eps / (1 - n eps)):
    - the product J u in each computation: |fl(J u) - J u| <= gamma_n |J| |u|, so
      2 kappa_k gamma_n || |J_k| |u_(k-1)| || / ||J_k u_(k-1)||;
    - the renormalized division u_k = z_k / ||z_k||: kappa_k eps (k = 0: the starting vector);
      its norm's rounding cancels to first order (the next step's norm carries its inverse),
      except at t;
    - underflow in the direct product (gradual, entries below the smallest normal): an absolute
      error of n denorm_min / 2 per entry, so kappa_k n^(3/2) denorm_min / (2 ||J_k ... J_1 v||);
    and once: the two final norms (gamma_n / 2 + 2 eps each), and the rounding of the logs and of
    the running sum L (4 eps (|L_t| + |log ||v|| |) + 2 eps sum_k (|log ||z_k|| | + |L_k|)).
    The bound is computed in float64 from the same matrices; it is first order, so it is used
    only where it is far below 1 (second-order terms are its square)."""
    depth, n = jacobians.shape[0], jacobians.shape[-1]
    require_int("the number of Jacobians T", depth, minimum=1)
    batch_shape = vector.shape[:-1]
    matrices = jacobians.to(torch.float64).reshape(depth, -1, n, n)
    start = vector.to(torch.float64).reshape(-1, n)
    start_log = torch.linalg.vector_norm(start, dim=-1).log()
    gamma = n * eps / (1 - n * eps)
    formats = torch.finfo(vector.dtype)
    denorm = formats.smallest_normal * formats.eps
    # forward: unit directions u_0..u_T, log-norms L_0 = 0..L_T, the per-step costs
    direction = start / start_log.exp()[:, None]
    directions, levels = [direction], [torch.zeros_like(start_log)]
    costs, log_rounding = [torch.full_like(start_log, eps)], []
    for k in range(depth):
        image = (matrices[k] @ direction[..., None])[..., 0]
        magnitude = (matrices[k].abs() @ direction.abs()[..., None])[..., 0]
        norm = torch.linalg.vector_norm(image, dim=-1)
        level = levels[-1] + norm.log()
        costs.append(2 * gamma * torch.linalg.vector_norm(magnitude, dim=-1) / norm + eps
                     + n**1.5 * denorm / 2 * torch.exp(-(level + start_log)))
        log_rounding.append(2 * eps * (norm.log().abs() + level.abs()))
        direction = image / norm[:, None]
        directions.append(direction)
        levels.append(level)
    levels = torch.stack(levels)
    # backward: the adjoint S^T y of every end t at once, one renormalized row per t (rows, so
    # that every norm is a contiguous reduction: (S^T y)^T = y^T S)
    adjoint = torch.zeros(start.shape[0], depth, n, dtype=torch.float64, device=start.device)
    adjoint[:, :, 0] = 1
    scale = torch.zeros(start.shape[0], depth, dtype=torch.float64, device=start.device)
    bound = torch.zeros(depth, start.shape[0], dtype=torch.float64, device=start.device)
    for k in range(depth, -1, -1):
        if k >= 1:
            adjoint[:, k - 1, :] = directions[k]
            scale[:, k - 1] = 0
        first = max(k, 1) - 1
        gain = (scale[:, first:] + torch.linalg.vector_norm(adjoint[:, first:], dim=-1).log()
                - (levels[first + 1:].T - levels[k][:, None]))
        bound[first:] += (gain.exp() * costs[k][:, None]).T
        if k >= 1:
            adjoint = adjoint @ matrices[k - 1]
            norms = torch.linalg.vector_norm(adjoint, dim=-1)
            adjoint = adjoint / norms[..., None]
            scale = scale + norms.log()
    bound = (bound + gamma + 4 * eps + 4 * eps * (levels[1:].abs() + start_log.abs())
             + torch.stack(log_rounding).cumsum(0))
    return bound.reshape(depth, *batch_shape)


def gaussian_jacobians(generator: torch.Generator, shape: tuple[int, ...], dimension: int,
                       sigma: torch.Tensor | float, dtype: torch.dtype,
                       device: str) -> torch.Tensor:
    """A batch (*shape, n, n) of matrices with N(0, sigma^2 / n) entries; sigma broadcasts
    against the leading dimensions."""
    require_int("the dimension n", dimension, minimum=2)
    draws = torch.randn(*shape, dimension, dimension, generator=generator, dtype=dtype,
                        device=device)
    sigma = torch.as_tensor(sigma, dtype=dtype, device=device)
    return sigma[..., None, None] * draws / math.sqrt(dimension)


def prescribed_singular_values(generator: torch.Generator, shape: tuple[int, ...],
                               dimension: int, low: float, high: float, dtype: torch.dtype,
                               device: str) -> torch.Tensor:
    """U diag(s) V^T with Haar U, V and singular values s uniform in [low, high]."""
    require_positive("the smallest singular value low", low)
    require_between("the largest singular value high", high, low, None, low_closed=True)
    require_int("the dimension n", dimension, minimum=2)
    left = haar_orthogonal(dimension, generator, shape, dtype, device)
    right = haar_orthogonal(dimension, generator, shape, dtype, device)
    values = low + (high - low) * torch.rand(*shape, dimension, generator=generator, dtype=dtype,
                                             device=device)
    return left @ (values[..., None] * right.transpose(-1, -2))


def tanh_rnn_states(weight: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """States s_0..s_T of s_k = tanh(W s_{k-1} + x_k), s_0 = 0: inputs (T, ..., n), weight
    (..., n, n); returns (T + 1, ..., n)."""
    require_int("the number of Jacobians T", inputs.shape[0], minimum=1)
    require_finite("the recurrent weight", weight)
    require_finite("the inputs", inputs)
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
    require_positive("the clipping threshold", threshold)
    require_finite("the gradients", gradients)
    norms = torch.linalg.vector_norm(gradients, dim=-1, keepdim=True)
    return gradients * torch.clamp(threshold / norms, max=1.0)


def as_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()
