"""The linear-periodic example of Theorem 2 (Shamir 2016, via Shalev-Shwartz, Shamir, Shammah
(2017), arXiv:1703.07950, Section 2): F_v(w) = E_x[(cos(w.x) - cos(v.x))^2] with x ~ N(0, I).

With E cos(a.x) = exp(-||a||^2 / 2) and cos^2 A = (1 + cos 2A) / 2, cos A cos B =
(cos(A - B) + cos(A + B)) / 2:

    F_v(w) = 1 + (exp(-2||w||^2) + exp(-2||v||^2)) / 2
             - exp(-||w - v||^2 / 2) - exp(-||w + v||^2 / 2)
    grad F_v(w) = -2 w exp(-2||w||^2)
                  + (w - v) exp(-||w - v||^2 / 2) + (w + v) exp(-||w + v||^2 / 2)

Torch functions broadcast over leading dimensions of w and v; `_mp` functions are mpmath twins.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from mpmath import mp


def _sq(a: torch.Tensor) -> torch.Tensor:
    return (a * a).sum(dim=-1)


def cosine_objective(w: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The closed form of F_v(w) (module docstring); w, v: (..., n)."""
    return (1 + (torch.exp(-2 * _sq(w)) + torch.exp(-2 * _sq(v))) / 2
            - torch.exp(-_sq(w - v) / 2) - torch.exp(-_sq(w + v) / 2))


def cosine_gradient(w: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The closed form of grad_w F_v(w); (..., n)."""
    w, v = torch.broadcast_tensors(w, v)
    return (-2 * w * torch.exp(-2 * _sq(w)).unsqueeze(-1)
            + (w - v) * torch.exp(-_sq(w - v) / 2).unsqueeze(-1)
            + (w + v) * torch.exp(-_sq(w + v) / 2).unsqueeze(-1))


def target_dependent_gradient(w: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The part of grad F_v(w) that depends on the target v (the -2w exp(-2||w||^2) term is common
    to all targets and drops out of Var over v)."""
    w, v = torch.broadcast_tensors(w, v)
    return ((w - v) * torch.exp(-_sq(w - v) / 2).unsqueeze(-1)
            + (w + v) * torch.exp(-_sq(w + v) / 2).unsqueeze(-1))


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


def cosine_objective_mp(w, v):
    """mpmath twin of `cosine_objective` for sequences w, v (call inside mp.workdps)."""
    def sq(a):
        return mp.fsum(mp.mpf(x) ** 2 for x in a)
    diff = [mp.mpf(a) - mp.mpf(b) for a, b in zip(w, v)]
    total = [mp.mpf(a) + mp.mpf(b) for a, b in zip(w, v)]
    return (1 + (mp.exp(-2 * sq(w)) + mp.exp(-2 * sq(v))) / 2
            - mp.exp(-sq(diff) / 2) - mp.exp(-sq(total) / 2))


def cosine_objective_quadrature_mp(w, v):
    """F_v(w) for scalars w, v (n = 1) by numerical integration against the Gaussian density."""
    w, v = mp.mpf(w), mp.mpf(v)

    def integrand(x):
        return (mp.cos(w * x) - mp.cos(v * x)) ** 2 * mp.npdf(x)

    return mp.quad(integrand, [-mp.inf, -10, -3, 0, 3, 10, mp.inf])
