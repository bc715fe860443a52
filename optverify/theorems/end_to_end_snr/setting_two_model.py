"""Setting II ("stocks") of Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 3:
the model and the closed forms of its gradient moments (Setting I's product-of-k-labels signal is
in `tuple_signal`).

Setting II: x = e_j one-hot in R^d (j uniform), N_W(x) = softmax(W x) = p_j over k outputs, label
y_j = y(x). End-to-end objective E[-z^T N_W(x)] with z_y = 1 and the other k - 1 coordinates iid
uniform +-1; decomposition objective E[-e_y^T N_W(x)]. With the softmax Jacobian
J_j = diag(p_j) - p_j p_j^T the per-example gradients are g_e2e = -(J_j z) e_j^T and
g_dec = -(J_j e_y) e_j^T. Since E[z | x] = e_y both are unbiased for the same E g, and

  Var_dec = (1/d) (1 - 1/d) sum_j ||J_j e_{y_j}||^2 (W with no column shared across examples),
  Var_e2e = Var_dec + (1/d) sum_j sum_{i != y_j} ||J_j e_i||^2,
  ||J e_i||^2 = p_i^2 [(1 - p_i)^2 + ||p||^2 - p_i^2].

At initialization (W = 0, p = 1/k): ||J e_i||^2 = (k - 1)/k^3, so Var_dec = (k-1)(d-1)/(d k^3),
Var_e2e - Var_dec = (k-1)^2/k^3, Var_e2e / Var_dec = 1 + d(k-1)/(d-1) = Theta(k),
SNR_dec = 1/(d-1) (flat in k) and SNR_e2e = 1/(dk - 1) ~ k^-1. SNR = ||E g||^2 / E||g - E g||^2
(the paper's script subtracts the square of a squared norm; here the centred second moment is used).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from optverify.numerics.validation import (
    require_between,
    require_finite,
    require_int,
    require_shape,
)

if TYPE_CHECKING:
    from fractions import Fraction

    import mpmath
    import sympy

    Number = float | Fraction | mpmath.mpf | sympy.Expr


def validate_sizes(k: int, d: int) -> None:
    """k outputs and d inputs of Setting II: both integers >= 2."""
    require_int("Setting II's outputs k", k, minimum=2)
    require_int("Setting II's inputs d", d, minimum=2)


def validate_weights(weights: torch.Tensor, labels: torch.Tensor) -> None:
    """W (k x d) of Setting II, finite, and one label in 0..k-1 per input coordinate."""
    require_shape("W", weights, (None, None))
    validate_sizes(*weights.shape)
    require_finite("W", weights)
    require_shape("the labels", labels, (weights.shape[1],))
    require_between("the labels", labels, 0, weights.shape[0] - 1, low_closed=True,
                    high_closed=True)


def jacobian_column_sq_norms(probabilities: torch.Tensor) -> torch.Tensor:
    """||J e_i||^2 = p_i^2 [(1 - p_i)^2 + ||p||^2 - p_i^2] along the last axis (J the softmax
    Jacobian diag(p) - p p^T)."""
    total = (probabilities**2).sum(dim=-1, keepdim=True)
    p = probabilities
    return p**2 * ((1 - p) ** 2 + total - p**2)


def diagonal_column_sq_norms(probabilities: torch.Tensor) -> torch.Tensor:
    """||diag(p) e_i - p_i e_i||^2 = p_i^2 (1 - p_i)^2: the column norms of the softmax Jacobian
    without its off-diagonal part -p_i p_j (i != j). A false closed form, used as the negative
    control of the Monte-Carlo comparison (it drops the p_i^2 (||p||^2 - p_i^2) term)."""
    return probabilities**2 * (1 - probabilities) ** 2


@dataclass(frozen=True)
class Moments:
    """||E g||^2 and the two variances E||g - E g||^2 of one Setting II instance: floats from
    torch, or exact numbers (Fraction, mpf, sympy expressions) from the closed forms."""

    signal: Number
    variance_dec: Number
    variance_e2e: Number

    @property
    def snr_dec(self) -> Number:
        return self.signal / self.variance_dec

    @property
    def snr_e2e(self) -> Number:
        return self.signal / self.variance_e2e

    @property
    def variance_ratio(self) -> Number:
        return self.variance_e2e / self.variance_dec


def uniform_moments(k, d) -> Moments:
    """||E g||^2, Var_dec and Var_e2e at W = 0, in the number type of k and d (Fractions, mpf or
    sympy symbols)."""
    column = (k - 1) / k**3
    signal = column / d
    variance_dec = column * (d - 1) / d
    return Moments(signal, variance_dec, variance_dec + (k - 1) * column)


def exact_moments(weights: torch.Tensor, labels: torch.Tensor,
                  column_norms=jacobian_column_sq_norms) -> Moments:
    """The closed-form moments of Setting II at weights W (k x d), labels y_j (see module doc);
    `column_norms` maps the probabilities to ||J e_i||^2 (the exact formula by default)."""
    validate_weights(weights, labels)
    d = weights.shape[1]
    probabilities = torch.softmax(weights, dim=0).T
    norms = column_norms(probabilities)
    own = norms.gather(1, labels.view(-1, 1)).squeeze(1)
    signal = own.sum() / d**2
    variance_dec = own.sum() / d * (1 - 1 / d)
    extra = (norms.sum(dim=1) - own).sum() / d
    return Moments(float(signal), float(variance_dec), float(variance_dec + extra))


@dataclass(frozen=True)
class MonteCarloMoments(Moments):
    """Monte-Carlo E||g - E g||^2 of both estimators (E g exact), with standard errors."""

    stderr_dec: float
    stderr_e2e: float
    samples: int


def _centred_sq_norms(probabilities, directions, mean_columns, mean_sq_norm, inputs):
    """||g - E g||^2 for g = -(J_j v) e_j^T: J v = p * v - p (p . v)."""
    p = probabilities[inputs]
    column = -(p * directions - p * (p * directions).sum(dim=1, keepdim=True))
    reference = mean_columns[inputs]
    return ((column - reference) ** 2).sum(dim=1) + mean_sq_norm - (reference**2).sum(dim=1)


BLOCK_ELEMENTS = 2**19
"""The Monte Carlo arithmetic runs over blocks of about 2^19 entries (4 MiB at float64): at
k = 2000 a whole chunk of 4096 draws made every temporary 65 MB of fresh pages, twice as slow
(4.2 -> 2.1 s per 2^14 samples in float64). The draws are made per chunk as before, so the samples
are the same; only the order of the float64 sums changes."""


def monte_carlo_moments(weights: torch.Tensor, labels: torch.Tensor, samples: int,
                        generator: torch.Generator, dtype: torch.dtype,
                        chunk: int = 4096) -> MonteCarloMoments:
    """Sample (j, z) `samples` times and average ||g - E g||^2 for both estimators in `dtype`;
    E g = (1/d) sum_j -(J_j e_{y_j}) e_j^T is exact (linear in z, E z = e_y)."""
    validate_weights(weights, labels)
    require_int("the Monte Carlo samples", samples, minimum=2)
    k, d = weights.shape
    device = weights.device
    probabilities = torch.softmax(weights.to(dtype), dim=0).T
    one_hot = torch.nn.functional.one_hot(labels, k).to(dtype)
    mean_columns = -(probabilities * one_hot - probabilities
                     * (probabilities * one_hot).sum(dim=1, keepdim=True)) / d
    mean_sq_norm = (mean_columns**2).sum()
    sums = torch.zeros(2, 2, dtype=torch.float64, device=device)
    rows = max(1, BLOCK_ELEMENTS // k)
    for start in range(0, samples, chunk):
        count = min(chunk, samples - start)
        drawn_inputs = torch.randint(0, d, (count,), generator=generator, device=device)
        drawn_signs = 1 - 2 * torch.randint(0, 2, (count, k), generator=generator, device=device)
        for first in range(0, count, rows):
            inputs, signs = drawn_inputs[first:first + rows], drawn_signs[first:first + rows]
            own = one_hot[inputs]
            random_labels = torch.where(own > 0, own, signs.to(dtype))
            for row, directions in enumerate((own, random_labels)):
                values = _centred_sq_norms(probabilities, directions, mean_columns,
                                           mean_sq_norm, inputs).to(torch.float64)
                sums[row, 0] += values.sum()
                sums[row, 1] += (values**2).sum()
    means = sums[:, 0] / samples
    stderrs = torch.sqrt((sums[:, 1] / samples - means**2).clamp(min=0) / (samples - 1))
    return MonteCarloMoments(float(mean_sq_norm), float(means[0]), float(means[1]),
                             float(stderrs[0]), float(stderrs[1]), samples)


