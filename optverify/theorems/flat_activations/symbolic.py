"""Symbolic layer of `flat-activations`: the staircase is flat almost everywhere, the forward-only
direction is the gradient of a convex surrogate, and the GLMtron iteration constants.

Source: Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 5 and Appendix A.7;
Kakade, Kalai, Kanade, Shamir (2011, GLMtron). (i) u = -a + h sum_j Heaviside(z - t_j) has
u' = h sum_j DiracDelta(z - t_j), which sympy evaluates to 0 at every point strictly inside a step.
(ii) For one step u = h 1{z >= t} (a staircase is a sum of these), U(z) = h max(z - t, 0) has
U' = u; with x ~ N(0, 1), w > 0: d/dw E[U(w x + b) - y (w x + b)] = E[(u(w x + b) - y) x] and
d/db ... = E[u(w x + b) - y], the integrals done by sympy; the surrogate's Hessian is positive
semi-definite (trace > 0, determinant 0). (iii) T = c^4 B^4 L^2 / eps^2, eta = sqrt(1 / (T c^2)):
eps(T) = c^2 B^2 L T^(-1/2), exponent -1/2.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from optverify.kit import Session
from optverify.theorems.flat_activations.model import Staircase

X = sympy.Symbol("x", real=True)
Z = sympy.Symbol("z", real=True)
W = sympy.Symbol("w", positive=True)
B = sympy.Symbol("b", real=True)
T_STEP = sympy.Symbol("t", real=True)
H = sympy.Symbol("h", positive=True)
Y = sympy.Symbol("y", real=True)
R = sympy.Symbol("r", positive=True)
SYMBOLIC_STEPS = 8
"""Levels of the exact-rational staircase whose derivative is evaluated inside every step (the
experiment's 55 steps behave alike; 8 keeps the sympy run short)."""


def gaussian_density(x: sympy.Expr) -> sympy.Expr:
    return sympy.exp(-x**2 / 2) / sympy.sqrt(2 * sympy.pi)


@dataclass(frozen=True)
class SymbolicStaircase:
    """u(z) as a Heaviside sum with exact rational thresholds, the thresholds, the step height."""

    u: sympy.Expr
    thresholds: list[sympy.Expr]
    height: sympy.Expr


def symbolic_staircase(stair: Staircase) -> SymbolicStaircase:
    a = sympy.nsimplify(stair.half_width)
    h = 2 * a / (stair.steps - 1)
    thresholds = [-a + (j - sympy.Rational(1, 2)) * h for j in range(1, stair.steps)]
    return SymbolicStaircase(-a + h * sum(sympy.Heaviside(Z - t) for t in thresholds),
                             thresholds, h)


def derivative_inside_steps(stair: Staircase) -> sympy.Matrix:
    """u'(z) at z = t_j + h / (1 + r) (r > 0: strictly inside step j) for every j, and at a point
    below the first threshold."""
    symbolic = symbolic_staircase(stair)
    thresholds, h = symbolic.thresholds, symbolic.height
    derivative = sympy.diff(symbolic.u, Z)
    points = [thresholds[0] - h * R] + [t + h / (1 + R) for t in thresholds]
    return sympy.Matrix([derivative.subs(Z, p) for p in points])


@dataclass(frozen=True)
class SurrogateIntegrals:
    """For one step u = h 1{z >= t} and x ~ N(0, 1), w > 0, each integral done once by sympy and
    simplified: the surrogate E[U(w x + b)] with U(z) = h max(z - t, 0), and the forward-only
    moments E[u(w x + b) x] and E[u(w x + b)]."""

    surrogate: sympy.Expr
    forward_w: sympy.Expr
    forward_b: sympy.Expr


def surrogate_integrals() -> SurrogateIntegrals:
    """The three Gaussian integrals over x > (t - b) / w (where the step is on)."""
    cut = (T_STEP - B) / W

    def integral(integrand: sympy.Expr) -> sympy.Expr:
        return sympy.simplify(sympy.integrate(integrand * gaussian_density(X), (X, cut, sympy.oo)))

    return SurrogateIntegrals(integral(H * (W * X + B - T_STEP)), integral(H * X), integral(H))


def surrogate_gradient_differences(integrals: SurrogateIntegrals) -> sympy.Matrix:
    """d/dw and d/db of E[U(w x + b) - y (w x + b)] minus E[(u - y) x] and E[u - y], one step."""
    surrogate = integrals.surrogate - Y * B
    return sympy.Matrix([sympy.diff(surrogate, W) - integrals.forward_w,
                         sympy.diff(surrogate, B) - (integrals.forward_b - Y)])


def surrogate_hessian(integrals: SurrogateIntegrals) -> sympy.Matrix:
    """The Hessian in (w, b), each entry simplified (its determinant and trace are then short)."""
    return sympy.hessian(integrals.surrogate, (W, B)).applyfunc(sympy.simplify)


def surrogate_convexity_gaps(integrals: SurrogateIntegrals) -> sympy.Matrix:
    """det of the surrogate's Hessian, and its trace minus h phi(c)(1 + c^2)/w, c = (t - b)/w."""
    hessian = surrogate_hessian(integrals)
    trace = sympy.simplify(hessian.trace())
    cut = (T_STEP - B) / W
    return sympy.Matrix([sympy.simplify(hessian.det()),
                         trace - H * gaussian_density(cut) * (1 + cut**2) / W])


@dataclass(frozen=True)
class GlmtronConstants:
    """Appendix A.7: iterations T(eps), step eta, eps(T) and the exponent d log eps / d log T."""

    iterations: sympy.Expr
    step: sympy.Expr
    eps_of_t: sympy.Expr
    exponent: sympy.Expr


def glmtron_constants() -> GlmtronConstants:
    c, b, lip, eps, t = sympy.symbols("c B L epsilon T", positive=True)
    iterations = c**4 * b**4 * lip**2 / eps**2
    step = sympy.sqrt(1 / (iterations * c**2))
    eps_of_t = sympy.solve(sympy.Eq(t, iterations), eps)[0]
    exponent = sympy.simplify(t * sympy.diff(eps_of_t, t) / eps_of_t)
    return GlmtronConstants(iterations, step, eps_of_t, exponent)


def ramp_derivative_control(stair: Staircase) -> sympy.Matrix:
    """The negative control of `staircase-flat`: the same derivative evaluation for the ramp
    u(z) = z (the Lipschitz activation the staircase discretizes), whose derivative is 1."""
    symbolic = symbolic_staircase(stair)
    thresholds, h = symbolic.thresholds, symbolic.height
    points = [thresholds[0] - h * R] + [t + h / (1 + R) for t in thresholds]
    return sympy.Matrix([sympy.diff(Z, Z).subs(Z, p) for p in points])


def wrong_constant(expression: sympy.Matrix) -> sympy.Matrix:
    """An identity's gap (lhs - rhs) for a right-hand side off by 1 in its first entry: the
    negative control that sympy must not reduce to zero."""
    return expression + sympy.Matrix([1] + [0] * (expression.shape[0] - 1))


def verify(s: Session) -> None:
    stair = Staircase(SYMBOLIC_STEPS, 2.0)
    integrals = surrogate_integrals()
    gradient_gaps = surrogate_gradient_differences(integrals)
    convexity_gaps = surrogate_convexity_gaps(integrals)
    s.zero("staircase-flat",
           f"u'(z) = h sum_j delta(z - t_j) vanishes strictly inside each of the {stair.steps} steps "
           "(and below the first threshold): u' = 0 almost everywhere, so the per-example gradient "
           "2 (u(w^T x + b) - y) u'(w^T x + b) x is 0 almost everywhere",
           derivative_inside_steps(stair),
           controls={"the ramp u(z) = z (derivative 1 inside every step)":
                     ramp_derivative_control(stair)})
    s.zero("forward-only-is-surrogate-gradient",
           "one step u = h 1{z >= t}, U(z) = h max(z - t, 0), x ~ N(0, 1), w > 0: "
           "grad_(w,b) E[U(w x + b) - y (w x + b)] = (E[(u(w x + b) - y) x], E[u(w x + b) - y]) "
           "(sympy integrals; a staircase is a sum of such steps)",
           gradient_gaps,
           controls={"the gradient with a wrong constant (off by 1 in d/dw)":
                     wrong_constant(gradient_gaps)})
    s.zero("surrogate-convex",
           "Hessian of E[U(w x + b)] in (w, b) for one step: determinant = 0, and trace = "
           "h phi(c)(1 + c^2)/w with c = (t - b)/w (> 0), so the Hessian is positive semi-definite",
           convexity_gaps,
           controls={"a Hessian with a wrong constant (determinant 1)":
                     wrong_constant(convexity_gaps)})
    glmtron = glmtron_constants()
    s.zero("glmtron-rate-exponent",
           "sanity (the exponent of c^2 B^2 L T^(-1/2) differentiated: -1/2 by construction): with T = c^4 B^4 L^2 / eps^2 (Appendix A.7), eps(T) = c^2 B^2 L T^(-1/2): "
           "d log eps / d log T = -1/2, i.e. excess error O(T^(-1/2))",
           glmtron.exponent + sympy.Rational(1, 2), sanity=True)
    s.table("glmtron-constants", "GLMtron constants (Appendix A.7 of arXiv:1703.07950)",
            ("quantity", "expression"),
            (("iterations T", sympy.sstr(glmtron.iterations)), ("step eta", sympy.sstr(glmtron.step)),
             ("eps(T)", sympy.sstr(glmtron.eps_of_t)),
             ("d log eps / d log T", sympy.sstr(glmtron.exponent))))
