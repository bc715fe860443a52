"""The linear-periodic example of Theorem 2 (Shamir 2016, via Shalev-Shwartz, Shamir, Shammah
(2017), arXiv:1703.07950, Section 2): F_v(w) = E_x[(cos(w.x) - cos(v.x))^2] with x ~ N(0, I).

With E cos(a.x) = exp(-||a||^2 / 2) and cos^2 A = (1 + cos 2A) / 2, cos A cos B =
(cos(A - B) + cos(A + B)) / 2:

    F_v(w) = 1 + (exp(-2||w||^2) + exp(-2||v||^2)) / 2
             - exp(-||w - v||^2 / 2) - exp(-||w + v||^2 / 2)
    grad F_v(w) = -2 w exp(-2||w||^2)
                  + (w - v) exp(-||w - v||^2 / 2) + (w + v) exp(-||w + v||^2 / 2)

Torch functions broadcast over leading dimensions of w and v; `_mp` functions are mpmath twins.

For any symmetric input law with characteristic function E cos(a.x) = chi(||a||^2) the same
expansion gives grad F_v(w) = 4 w chi'(4||w||^2) - 2 (w - v) chi'(||w - v||^2)
- 2 (w + v) chi'(||w + v||^2); `target_dependent_gradient` takes chi' (the Gaussian's by default;
`LAPLACE_SLOPE` is the false world of a symmetric multivariate Laplace input,
chi(s) = 1 / (1 + s/2), whose Fourier transform decays only polynomially, outside Theorem 2's
hypothesis). `gradient_by_quadrature` computes grad F_v(w) from its definition
E_x[-2 (cos(w.x) - cos(v.x)) sin(w.x) x] by Gauss-Hermite quadrature, independently of the closed
form.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from mpmath import mp

CharacteristicSlope = Callable[[torch.Tensor], torch.Tensor]
"""chi'(s) for an input law with E cos(a.x) = chi(||a||^2)."""


def gaussian_slope(s: torch.Tensor) -> torch.Tensor:
    """chi'(s) for x ~ N(0, I): chi(s) = exp(-s/2)."""
    return -0.5 * torch.exp(-s / 2)


def laplace_slope(s: torch.Tensor) -> torch.Tensor:
    """chi'(s) for a symmetric multivariate Laplace input: chi(s) = 1 / (1 + s/2)."""
    return -0.5 / (1 + s / 2) ** 2


GAUSSIAN_SLOPE: CharacteristicSlope = gaussian_slope
LAPLACE_SLOPE: CharacteristicSlope = laplace_slope


def gaussian_log_slope(s: torch.Tensor) -> torch.Tensor:
    """log(-chi'(s)) for x ~ N(0, I): log(1/2) - s/2."""
    return math.log(0.5) - s / 2


def laplace_log_slope(s: torch.Tensor) -> torch.Tensor:
    """log(-chi'(s)) for the symmetric multivariate Laplace input: log(1/2) - 2 log(1 + s/2)."""
    return math.log(0.5) - 2 * torch.log1p(s / 2)


GAUSSIAN_LOG_SLOPE: CharacteristicSlope = gaussian_log_slope
LAPLACE_LOG_SLOPE: CharacteristicSlope = laplace_log_slope


def _sq(a: torch.Tensor) -> torch.Tensor:
    return (a * a).sum(dim=-1)


def cosine_objective(w: torch.Tensor, v: torch.Tensor, variance: float = 1.0) -> torch.Tensor:
    """The closed form of F_v(w) (module docstring); w, v: (..., n). `variance` s writes it for
    x ~ N(0, s I) (E cos(a.x) = exp(-s ||a||^2 / 2)); 1 is the package's N(0, I)."""
    def chi(a):
        return torch.exp(-variance * _sq(a) / 2)
    return 1 + (chi(2 * w) + chi(2 * v)) / 2 - chi(w - v) - chi(w + v)


def cosine_gradient(w: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The closed form of grad_w F_v(w); (..., n)."""
    w, v = torch.broadcast_tensors(w, v)
    return (-2 * w * torch.exp(-2 * _sq(w)).unsqueeze(-1)
            + (w - v) * torch.exp(-_sq(w - v) / 2).unsqueeze(-1)
            + (w + v) * torch.exp(-_sq(w + v) / 2).unsqueeze(-1))


def target_dependent_gradient(w: torch.Tensor, v: torch.Tensor,
                              slope: CharacteristicSlope = GAUSSIAN_SLOPE) -> torch.Tensor:
    """The part of grad F_v(w) that depends on the target v (the 4 w chi'(4||w||^2) term is common
    to all targets and drops out of Var over v): -2 (w -+ v) chi'(||w -+ v||^2) summed; for the
    Gaussian (w - v) exp(-||w - v||^2 / 2) + (w + v) exp(-||w + v||^2 / 2)."""
    w, v = torch.broadcast_tensors(w, v)
    return (-2 * (w - v) * slope(_sq(w - v)).unsqueeze(-1)
            - 2 * (w + v) * slope(_sq(w + v)).unsqueeze(-1))


def log_target_variance(w: torch.Tensor, targets: torch.Tensor,
                        log_slope: CharacteristicSlope = GAUSSIAN_LOG_SLOPE) -> torch.Tensor:
    """log Var over the targets (the mean over dimension -2 of `targets` (..., K, n), equal
    weights: a trapezoid rule on a circle) of the target-dependent gradient
    2 (w - v) (-chi'(||w - v||^2)) + 2 (w + v) (-chi'(||w + v||^2)) at w, computed in the log
    domain: the largest log(-chi') of each target set is factored out before squaring, so the
    value stays exact where Var itself is far below float64 range (Var ~ e^{-(r-1)^2} for the
    Gaussian at ||v|| = r)."""
    w, targets = torch.broadcast_tensors(w, targets)
    minus, plus = w - targets, w + targets
    log_minus, log_plus = log_slope(_sq(minus)), log_slope(_sq(plus))
    scale = torch.maximum(log_minus.amax(dim=-1, keepdim=True), log_plus.amax(dim=-1, keepdim=True))
    spread = (2 * minus * torch.exp(log_minus - scale).unsqueeze(-1)
              + 2 * plus * torch.exp(log_plus - scale).unsqueeze(-1))
    centred = spread - spread.mean(dim=-2, keepdim=True)
    return torch.log(centred.square().sum(dim=-1).mean(dim=-1)) + 2 * scale.squeeze(-1)


def gradient_by_quadrature(w: np.ndarray, v: np.ndarray, nodes: int = 120) -> np.ndarray:
    """grad_w F_v(w) = E_x[-2 (cos(w.x) - cos(v.x)) sin(w.x) x], x ~ N(0, I_2), by the product
    Gauss-Hermite rule with `nodes` points per axis (float64; w, v: (2,)); relative error about
    1e-9 against the closed form for ||w||, ||v|| <= 7 at 120 nodes."""
    abscissae, weights = np.polynomial.hermite.hermgauss(nodes)
    z, weights = np.sqrt(2.0) * abscissae, weights / np.sqrt(np.pi)
    x1, x2 = np.meshgrid(z, z, indexing="ij")
    mass = np.outer(weights, weights)
    w_dot, v_dot = w[0] * x1 + w[1] * x2, v[0] * x1 + v[1] * x2
    integrand = -2 * (np.cos(w_dot) - np.cos(v_dot)) * np.sin(w_dot) * mass
    return np.array([np.sum(integrand * x1), np.sum(integrand * x2)])


@dataclass(frozen=True)
class MonteCarloEstimate:
    """A Monte-Carlo mean and its standard error (0-d tensors)."""

    mean: torch.Tensor
    standard_error: torch.Tensor


def monte_carlo_objective(w: torch.Tensor, v: torch.Tensor,
                          samples: torch.Tensor) -> MonteCarloEstimate:
    """The mean of (cos(w.x) - cos(v.x))^2 over the rows x of `samples`; w, v: (n,)."""
    values = (torch.cos(samples @ w) - torch.cos(samples @ v)) ** 2
    return MonteCarloEstimate(values.mean(), values.std() / len(values) ** 0.5)


def cosine_objective_mp(w, v, variance=1):
    """mpmath twin of `cosine_objective` for sequences w, v (call inside mp.workdps); `variance`
    s writes it with E cos(a.x) = exp(-s ||a||^2 / 2), the closed form for x ~ N(0, s I) (1: the
    package's N(0, I))."""
    def chi(a):
        return mp.exp(-mp.mpf(variance) * mp.fsum(mp.mpf(x) ** 2 for x in a) / 2)
    diff = [mp.mpf(a) - mp.mpf(b) for a, b in zip(w, v)]
    total = [mp.mpf(a) + mp.mpf(b) for a, b in zip(w, v)]
    double_w, double_v = [2 * mp.mpf(a) for a in w], [2 * mp.mpf(b) for b in v]
    return 1 + (chi(double_w) + chi(double_v)) / 2 - chi(diff) - chi(total)


def cosine_objective_quadrature_mp(w, v):
    """F_v(w) for scalars w, v (n = 1) by numerical integration against the Gaussian density."""
    w, v = mp.mpf(w), mp.mpf(v)

    def integrand(x):
        return (mp.cos(w * x) - mp.cos(v * x)) ** 2 * mp.npdf(x)

    return mp.quad(integrand, [-mp.inf, -10, -3, 0, 3, 10, mp.inf])
