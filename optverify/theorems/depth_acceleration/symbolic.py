"""Symbolic layer: the scalar overparameterization w = w_1 * omega_2 of Arora, Cohen, Hazan (2018),
arXiv:1802.06509, Section 3, in sympy (w_1 in R^3 with symbolic entries, the gradient
g = grad L^1(w) a symbolic vector, so every loss is covered).

1. Gradient flow on (w_1, omega_2) conserves omega_2^2 - ||w_1||^2 (balancedness, Theorem 1's
   hypothesis for this model).
2. Under it, dw/dt = -eta (omega_2^2 g + w_1 w_1^T g) equals the end-to-end rule (Eq. 12 with
   N = 2, single output): -eta ||w||^(2 - 2/N) (g + (N - 1) Pr_w(g)) = -eta ||w|| (g + Pr_w(g)).
3. One GD step on (w_1, omega_2) maps to w exactly as the discrete rule plus
   eta^2 omega_2 <w_1, g> g: GD follows the rule up to O(eta^2) per step.
4. From w_1(0) = 0, GD on (w_1, omega_2) is GD with an adaptive step and momentum (the form of
   Section 3): w(t+1) = w(t) - rho(t) g(t) - sum_{tau < t} mu(t, tau) g(tau) with
   rho(t) = eta omega_2(t) omega_2(t+1) and mu(t, tau) = eta (omega_2(t+1) - omega_2(t))
   omega_2(tau) (derived here and proved for three steps; the paper's own text could not be
   consulted offline, so the coefficients are this derivation's, not a quotation).
Scope: w_1 in R^3, three GD steps for item 4; items 1-3 hold for any g.
"""

from __future__ import annotations

import sympy

from optverify.kit import Session

DIMENSION = 3


def _vector(name: str) -> sympy.Matrix:
    return sympy.Matrix(sympy.symbols(f"{name}1:{DIMENSION + 1}", real=True))


def _dot(a: sympy.Matrix, b: sympy.Matrix) -> sympy.Expr:
    return (a.T * b)[0, 0]


def flow_velocity(w1, omega2, grad, eta):
    """(dw_1/dt, domega_2/dt) of gradient flow on L^1(w_1 omega_2): -eta omega_2 g, -eta <w_1,g>."""
    return -eta * omega2 * grad, -eta * _dot(w1, grad)


def end_to_end_rule(w, grad, eta, depth):
    """Eq. 12, single output: -eta ||w||^(2 - 2/N) (g + (N - 1) <g, w> w / ||w||^2)."""
    norm_sq = _dot(w, w)
    return -eta * sympy.sqrt(norm_sq) ** (2 - sympy.Rational(2, depth)) * (
        grad + (depth - 1) * _dot(grad, w) / norm_sq * w)


def verify(s: Session) -> None:
    eta = sympy.Symbol("eta", positive=True)
    omega2 = sympy.Symbol("omega_2", positive=True)
    w1, grad = _vector("w"), _vector("g")
    dw1, domega2 = flow_velocity(w1, omega2, grad, eta)
    gap_rate = 2 * omega2 * domega2 - 2 * _dot(w1, dw1)
    s.zero("flow-conserves-balancedness",
           "gradient flow on (w_1, omega_2): d/dt (omega_2^2 - ||w_1||^2) = 0 for any g "
           f"(w_1 in R^{DIMENSION})", gap_rate,
           controls={"the same with domega_2/dt doubled (a wrong flow)":
                     2 * omega2 * 2 * domega2 - 2 * _dot(w1, dw1)})

    velocity = omega2 * dw1 + w1 * domega2
    # balanced: ||w_1|| = omega_2, so w_1 = omega_2 u with ||u|| = 1; ||w|| = omega_2^2
    u = _vector("u")
    radius = sympy.sqrt(_dot(u, u))
    unit = u / radius
    balanced = {w1[i]: omega2 * unit[i] for i in range(DIMENSION)}
    w_balanced = omega2**2 * unit
    lhs = velocity.subs(balanced)
    s.zero("balanced-flow-is-end-to-end-rule",
           "balanced (||w_1|| = omega_2): omega_2 dw_1/dt + w_1 domega_2/dt = -eta ||w||^(2-2/N) "
           "(g + (N-1) Pr_w g) with N = 2 (Eq. 12 for the scalar overparameterization)",
           lhs - end_to_end_rule(w_balanced, grad, eta, 2),
           controls={"the rule with N = 3 (the wrong depth)":
                     lhs - end_to_end_rule(w_balanced, grad, eta, 3),
                     "plain GD's velocity -eta g (no preconditioning)": lhs + eta * grad})

    stepped = (w1 - eta * omega2 * grad) * (omega2 - eta * _dot(w1, grad))
    rule_step = omega2 * w1 - eta * (omega2**2 * grad + w1 * _dot(w1, grad))
    s.zero("gd-step-is-rule-plus-eta-squared",
           "one GD step on (w_1, omega_2) mapped to w = w_1 omega_2 equals the discrete "
           "end-to-end step plus eta^2 omega_2 <w_1, g> g exactly (GD follows the rule to "
           "O(eta^2) per step)",
           stepped - rule_step - eta**2 * omega2 * _dot(w1, grad) * grad,
           controls={"GD equal to the rule exactly (no eta^2 term)": stepped - rule_step})

    s.zero("gd-from-zero-is-adaptive-momentum",
           *_momentum_form(eta), controls={"the same without the momentum sum (mu = 0)":
                                           _momentum_form(eta, momentum=False)[1]})


def _momentum_form(eta, steps: int = 3, momentum: bool = True):
    """Three GD steps on (w_1, omega_2) from w_1(0) = 0 against the adaptive-momentum form."""
    omega = [sympy.Symbol("omega_2_0", positive=True)]
    grads = [_vector(f"g{t}_") for t in range(steps)]
    w1 = sympy.zeros(DIMENSION, 1)
    w = w1 * omega[0]
    worst = sympy.zeros(DIMENSION, 1)
    for t in range(steps):
        next_omega = omega[t] - eta * _dot(w1, grads[t])
        next_w1 = w1 - eta * omega[t] * grads[t]
        rho = eta * omega[t] * next_omega
        history = sum((eta * (next_omega - omega[t]) * omega[tau] * grads[tau]
                       for tau in range(t)), sympy.zeros(DIMENSION, 1))
        formula = w - rho * grads[t] - (history if momentum else 0 * history)
        w1, w = next_w1, next_w1 * next_omega
        omega.append(next_omega)
        worst += w - formula
    statement = (
        "GD on (w_1, omega_2) from w_1(0) = 0 (3 steps, symbolic gradients g(t)): w(t+1) = w(t) - "
        "rho(t) g(t) - sum_{tau<t} mu(t, tau) g(tau) with rho(t) = eta omega_2(t) omega_2(t+1) "
        "(an adaptive step) and mu(t, tau) = eta (omega_2(t+1) - omega_2(t)) omega_2(tau) "
        "(momentum over past gradients), omega_2(t+1) = omega_2(t) - eta <w_1(t), g(t)>")
    return statement, worst
