"""Closed forms of the mode dynamics of Saxe, McClelland, Ganguli (2014), arXiv:1312.6120.

One input-output mode of strength s, mode strength u = a b (two layers, a = b) under gradient flow
with time constant tau = 1 / learning rate (Section 2, Eqs. (6)-(9)):
    tau du/dt = 2 u (s - u),
    u(t) = s e^{2st/tau} / (e^{2st/tau} - 1 + s/u_0),
    t(u_f) = (tau / (2s)) ln[u_f (s - u_0) / (u_0 (s - u_f))]            (the time to learn),
and for a balanced chain of N weight layers (N_l = N + 1 layers of units, Section 3)
    tau du/dt = N u^{2 - 2/N} (s - u).
The functions take numbers (float or mpmath); call them inside `mp.workdps(digits)` for mpmath
precision. Bad parameters (s <= 0, u_0 outside (0, s), tau <= 0, non-finite) raise ValueError.
"""

from __future__ import annotations

import math

from mpmath import mp

from optverify.numerics.validation import (
    require_between,
    require_depth,
    require_non_negative,
    require_positive,
)


def validate_mode(s, u0, tau=1) -> None:
    """A mode needs finite s > 0, 0 < u_0 < s (a positive start below the target) and tau > 0."""
    require_positive("the mode strength s", s)
    require_between("the initial strength u_0", u0, 0, s)
    require_positive("the time constant tau", tau)


def mode_strength(t, s, u0, tau=1):
    """u(t) = s e^{2st/tau} / (e^{2st/tau} - 1 + s/u_0), the two-layer mode strength (t >= 0)."""
    validate_mode(s, u0, tau)
    require_non_negative("the time t", t)
    s, u0, tau = mp.mpf(s), mp.mpf(u0), mp.mpf(tau)
    return s / (1 + (s / u0 - 1) * mp.exp(-2 * s * t / tau))


def learning_time(u_final, s, u0, tau=1):
    """t(u_f) = (tau / (2s)) ln[u_f (s - u_0) / (u_0 (s - u_f))], the time u(t) takes from u_0 to
    u_f; u_f must lie in (0, s) (negative when u_f < u_0)."""
    validate_mode(s, u0, tau)
    require_between("the final strength u_f", u_final, 0, s)
    s, u0, tau, u_final = mp.mpf(s), mp.mpf(u0), mp.mpf(tau), mp.mpf(u_final)
    return tau / (2 * s) * mp.log(u_final * (s - u0) / (u0 * (s - u_final)))


def depth_rate(u, s, depth: int, tau=1):
    """du/dt = N u^{2 - 2/N} (s - u) / tau for a balanced chain of N weight layers (u >= 0)."""
    require_depth(depth)
    require_non_negative("the mode strength u", u)
    u, s = mp.mpf(u), mp.mpf(s)
    return depth * chain_power(u, depth) * (s - u) / tau


def chain_power(u, depth: int):
    """u^{2 - 2/N} for u >= 0, as u times the integer root (u^{N-2})^{1/N}: exact powers and one
    N-th root instead of exp(p log u) (the same number to the working precision, about half the
    time at 50 digits)."""
    return u if depth == 2 else u * mp.root(u ** (depth - 2), depth)


def depth_learning_time(u_final, s, u0, depth: int, tau=1):
    """t(u_f) = tau int_{u_0}^{u_f} du / (N u^{2 - 2/N} (s - u)) by mpmath quadrature (tanh-sinh):
    the implicit closed form of the depth-N mode dynamics."""
    validate_mode(s, u0, tau)
    require_depth(depth)
    require_between("the final strength u_f", u_final, 0, s)
    return mp.quad(lambda u: 1 / depth_rate(u, s, depth, tau), [u0, u_final])


def depth_learning_time_float(u_final: float, s: float, u0: float, depth: int) -> float:
    """`depth_learning_time` at tau = 1 in float64 (scipy quad), for the experiment's reference."""
    from scipy.integrate import quad

    validate_mode(s, u0)
    require_depth(depth)
    power = 2 - 2 / depth
    value, _ = quad(lambda u: 1 / (depth * u**power * (s - u)), u0, u_final, epsabs=0,
                    epsrel=1e-13, limit=200)
    if not math.isfinite(value):
        raise ValueError(f"the depth-{depth} learning time from {u0} to {u_final} is not finite")
    return value
