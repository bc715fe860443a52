"""Depth as a preconditioner: the end-to-end update rule of deep linear networks.

Theorem 1 of Arora, Cohen, Hazan (2018), arXiv:1802.06509: if the factors W_1..W_N are balanced,
the end-to-end matrix W_e = W_N ... W_1 (shape k x d) moves under gradient flow as

    dW_e/dt = -lambda N W_e - sum_{j=1}^N [W_e W_e^T]^{(j-1)/N} G [W_e^T W_e]^{(N-j)/N},

G = grad L^1(W_e); vectorized (column-major vec), vec(dW_e/dt) = -lambda N vec(W_e) - P vec(G) with
P_{W_e} = sum_j [W_e^T W_e]^{(N-j)/N} kron [W_e W_e^T]^{(j-1)/N}. With the SVD W_e = U S V^T
(full U, V, singular values padded with zeros), P has eigenvectors vec(u_r v_r'^T) and eigenvalues
sum_j sigma_r^{2(j-1)/N} sigma_r'^{2(N-j)/N} (0^0 = 1). For k = 1 (Section 5, Eq. 12) the rule is
||w||^{2-2/N} (g + (N-1) Pr_w(g)), Pr_w(g) = (<g, w> / ||w||^2) w.

Fractional powers are taken through one SVD of W_e: [W W^T]^p = U diag(sigma^{2p}) U^T with full U
(so p = 0 gives the identity), singular values at rounding level counted as 0. Torch functions
accept leading batch dimensions; the `_mp` functions are their mpmath twins (call them inside
`mp.workdps`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mpmath
import torch
from mpmath import mp

from optverify.numerics.precision import machine_epsilon
from optverify.numerics.validation import require_depth, require_finite, require_non_negative


def vec(matrix: torch.Tensor) -> torch.Tensor:
    """Column-major vectorization (..., k, d) -> (..., k d), so vec(A X B) = (B^T kron A) vec X."""
    return matrix.mT.reshape(*matrix.shape[:-2], -1)


@dataclass(frozen=True)
class FullSpectrum:
    """The full SVD W = U S V^T of a k x d matrix (torch tensors, or mpmath matrices and lists).

    u: k x k; v: d x d; left / right: the singular values padded with zeros to k and to d, so
    [W W^T]^p = U diag(left^{2p}) U^T and [W^T W]^p = V diag(right^{2p}) V^T.
    """

    u: Any
    left: Any
    right: Any
    v: Any


def full_spectrum(matrix: torch.Tensor) -> FullSpectrum:
    """Full SVD factors and singular values padded with zeros to k (left) and d (right); values
    below max(k, d) * eps * sigma_max (rounding level) set to 0."""
    rows, cols = matrix.shape[-2:]
    u, s, vh = torch.linalg.svd(matrix, full_matrices=True)
    eps = machine_epsilon(str(matrix.dtype))
    floor = max(rows, cols) * eps * s.amax(dim=-1, keepdim=True).clamp_min(eps)
    s = torch.where(s > floor, s, torch.zeros_like(s))
    pad = s.new_zeros(*s.shape[:-1], max(rows, cols) - s.shape[-1])
    padded = torch.cat([s, pad], dim=-1)
    return FullSpectrum(u, padded[..., :rows], padded[..., :cols], vh.mT)


def _gram_power(basis: torch.Tensor, singular: torch.Tensor, exponent: float) -> torch.Tensor:
    return basis @ torch.diag_embed(singular ** (2 * exponent)) @ basis.mT


@dataclass(frozen=True)
class GramPowers:
    """left: [W W^T]^p (k x k); right: [W^T W]^p (d x d)."""

    left: torch.Tensor
    right: torch.Tensor


def gram_powers(matrix: torch.Tensor, exponent: float) -> GramPowers:
    """[W W^T]^p and [W^T W]^p for p >= 0 (p = 0: identities)."""
    require_non_negative("the exponent of a PSD power", exponent)
    require_finite("W_e", matrix)
    spectrum = full_spectrum(matrix)
    return GramPowers(_gram_power(spectrum.u, spectrum.left, exponent),
                      _gram_power(spectrum.v, spectrum.right, exponent))


def end_to_end_velocity(
    end_to_end: torch.Tensor, grad: torch.Tensor, depth: int, weight_decay: float = 0.0
) -> torch.Tensor:
    """Theorem 1: -lambda N W_e - sum_j [W_e W_e^T]^{(j-1)/N} G [W_e^T W_e]^{(N-j)/N} (eta = 1)."""
    require_depth(depth)
    require_finite("W_e", end_to_end)
    require_finite("the gradient", grad)
    spectrum = full_spectrum(end_to_end)
    total = -weight_decay * depth * end_to_end
    for j in range(1, depth + 1):
        total = total - (
            _gram_power(spectrum.u, spectrum.left, (j - 1) / depth)
            @ grad
            @ _gram_power(spectrum.v, spectrum.right, (depth - j) / depth)
        )
    return total


def end_to_end_step(
    end_to_end: torch.Tensor, grad: torch.Tensor, depth: int, eta, weight_decay: float = 0.0
) -> torch.Tensor:
    """One step of the end-to-end rule: W_e + eta * velocity (eta: a float or a tensor)."""
    require_non_negative("the step size eta", eta)
    return end_to_end + eta * end_to_end_velocity(end_to_end, grad, depth, weight_decay)


def preconditioner_matrix(end_to_end: torch.Tensor, depth: int) -> torch.Tensor:
    """P_{W_e} = sum_j [W_e^T W_e]^{(N-j)/N} kron [W_e W_e^T]^{(j-1)/N}, shape (..., k d, k d)."""
    require_depth(depth)
    require_finite("W_e", end_to_end)
    rows, cols = end_to_end.shape[-2:]
    spectrum = full_spectrum(end_to_end)
    total = end_to_end.new_zeros(*end_to_end.shape[:-2], rows * cols, rows * cols)
    for j in range(1, depth + 1):
        a = _gram_power(spectrum.u, spectrum.left, (j - 1) / depth)
        b = _gram_power(spectrum.v, spectrum.right, (depth - j) / depth)
        kron = torch.einsum("...bc,...ad->...bacd", b.mT, a)
        total = total + kron.reshape(*kron.shape[:-4], rows * cols, rows * cols)
    return total


def preconditioner_eigenvalues(
    sigma_left: torch.Tensor, sigma_right: torch.Tensor, depth: int
) -> torch.Tensor:
    """Closed form: lambda[r, r'] = sum_j sigma_r^{2(j-1)/N} sigma_r'^{2(N-j)/N} (0^0 = 1)."""
    require_depth(depth)
    left = sigma_left[..., :, None]
    right = sigma_right[..., None, :]
    return sum(
        left ** (2 * (j - 1) / depth) * right ** (2 * (depth - j) / depth)
        for j in range(1, depth + 1)
    )


def single_output_direction(w: torch.Tensor, g: torch.Tensor, depth: int) -> torch.Tensor:
    """Eq. 12 (k = 1): ||w||^{2-2/N} (g + (N-1) <g, w> w / ||w||^2) for w, g of shape (..., d)."""
    require_depth(depth)
    require_finite("w", w)
    norm_sq = (w * w).sum(-1, keepdim=True)
    if bool((norm_sq == 0).any()):
        raise ValueError("the single-output rule needs w != 0")
    projection = (g * w).sum(-1, keepdim=True) / norm_sq * w
    return norm_sq ** (1 - 1 / depth) * (g + (depth - 1) * projection)


def layerwise_velocity(factors, layer_grads, weight_decay: float = 0.0) -> torch.Tensor:
    """d/dt (W_N ... W_1) = sum_j W_N..W_{j+1} (-lambda W_j - dL/dW_j) W_{j-1}..W_1."""
    total = None
    for j in range(len(factors)):
        moved = list(factors)
        moved[j] = -weight_decay * factors[j] - layer_grads[j]
        term = moved[0]
        for layer in moved[1:]:
            term = layer @ term
        total = term if total is None else total + term
    return total


def rotate_hidden(factors, rotations):
    """W_j -> Q_j W_j Q_{j-1}^T on the hidden spaces (Q_0 = Q_N = I): W_e and C_j's spectra are
    unchanged, so balanced factors stay balanced; `rotations` holds Q_1..Q_{N-1}."""
    rotated = []
    for j, layer in enumerate(factors):
        if j < len(factors) - 1:
            layer = rotations[j] @ layer
        if j > 0:
            layer = layer @ rotations[j - 1].mT
        rotated.append(layer)
    return rotated


def _mp_floor(sigma_max: mpmath.mpf) -> mpmath.mpf:
    # Rounding noise of an SVD at dps digits is ~10^-dps * ||W||; half the digits (the floor of
    # mp_linalg.psd_power) separates it from any singular value the instances here produce.
    return max(sigma_max, mp.one) * mp.mpf(10) ** (-(mp.dps // 2))


def full_spectrum_mp(matrix: mpmath.matrix) -> FullSpectrum:
    """`full_spectrum` at the working precision (singular values as lists of mpf)."""
    rows, cols = matrix.rows, matrix.cols
    u, s, v = mp.svd_r(matrix, full_matrices=True, compute_uv=True)
    values = [s[i] for i in range(len(s))]
    floor = _mp_floor(max(values, default=mp.zero))
    values = [value if value > floor else mp.zero for value in values]
    padded = values + [mp.zero] * (max(rows, cols) - len(values))
    return FullSpectrum(u, padded[:rows], padded[:cols], v.T)


def _gram_power_mp(basis: mpmath.matrix, singular, exponent) -> mpmath.matrix:
    size = basis.rows
    powered = mp.zeros(size, size)
    for i in range(size):
        powered[i, i] = singular[i] ** (2 * exponent)
    return basis * powered * basis.T


def end_to_end_velocity_mp(
    end_to_end: mpmath.matrix, grad: mpmath.matrix, depth: int, weight_decay=0, *,
    left_shift: int = 0, decay_depth: bool = True,
) -> mpmath.matrix:
    """The mpmath twin of `end_to_end_velocity` (exponents exact rationals mp.mpf(j-1)/N).

    left_shift, decay_depth: the negative controls' wrong rules, the exponent (j - 1 +
    left_shift)/N on [W_e W_e^T] and the weight decay term without its factor N."""
    require_depth(depth)
    require_finite("W_e", end_to_end)
    spectrum = full_spectrum_mp(end_to_end)
    total = -mp.mpf(weight_decay) * (depth if decay_depth else 1) * end_to_end
    for j in range(1, depth + 1):
        a = _gram_power_mp(spectrum.u, spectrum.left, mp.mpf(j - 1 + left_shift) / depth)
        b = _gram_power_mp(spectrum.v, spectrum.right, mp.mpf(depth - j) / depth)
        total = total - a * grad * b
    return total


def vec_mp(matrix: mpmath.matrix) -> mpmath.matrix:
    """Column-major vec of an mpmath matrix, as a column."""
    return mp.matrix([matrix[r, c] for c in range(matrix.cols) for r in range(matrix.rows)])


def kron_mp(a: mpmath.matrix, b: mpmath.matrix) -> mpmath.matrix:
    result = mp.zeros(a.rows * b.rows, a.cols * b.cols)
    for i in range(a.rows):
        for j in range(a.cols):
            for k in range(b.rows):
                for m in range(b.cols):
                    result[i * b.rows + k, j * b.cols + m] = a[i, j] * b[k, m]
    return result


def preconditioner_eigenvalues_mp(sigma_left, sigma_right, depth: int,
                                  left_shift: int = 0) -> list[list[mpmath.mpf]]:
    """The closed-form eigenvalues lambda[r][r'] at the working precision; left_shift = 1 is the
    negative control's wrong exponent 2j/N on sigma_r."""
    require_depth(depth)
    return [
        [
            mp.fsum(
                a ** (2 * mp.mpf(j - 1 + left_shift) / depth)
                * b ** (2 * mp.mpf(depth - j) / depth)
                for j in range(1, depth + 1)
            )
            for b in sigma_right
        ]
        for a in sigma_left
    ]


def single_output_direction_mp(w, g, depth: int, projection_weight=None):
    """The mpmath twin of `single_output_direction` for lists (or column matrices) w, g;
    projection_weight replaces the weight N - 1 of Pr_w(g) (the negative control)."""
    require_depth(depth)
    weight = depth - 1 if projection_weight is None else projection_weight
    norm_sq = mp.fsum(x * x for x in w)
    if norm_sq == 0:
        raise ValueError("the single-output rule needs w != 0")
    inner = mp.fsum(a * b for a, b in zip(g, w))
    scale = norm_sq ** (1 - mp.one / depth)
    return [scale * (gi + weight * inner / norm_sq * wi) for gi, wi in zip(g, w)]


def layerwise_velocity_mp(factors, layer_grads, weight_decay=0) -> mpmath.matrix:
    """The mpmath twin of `layerwise_velocity`."""
    total = None
    for j in range(len(factors)):
        moved = list(factors)
        moved[j] = -mp.mpf(weight_decay) * factors[j] - layer_grads[j]
        term = moved[0]
        for layer in moved[1:]:
            term = layer * term
        total = term if total is None else total + term
    return total
