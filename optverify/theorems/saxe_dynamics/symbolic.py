"""Symbolic layer of `saxe-dynamics`: sympy solves the two-layer mode ODE, inverts it for the time to
learn, takes its small-epsilon limit and derives the depth-N mode equation from the layer-wise flow.

Source: Saxe, McClelland, Ganguli (2014), arXiv:1312.6120, Section 2 (Eqs. (6)-(9): tau du/dt =
2u(s - u), its sigmoidal solution and the learning time t = (tau/s) ln(s/eps) up to O(tau/s)) and
Section 3 (deep nets: tau du/dt = (N_l - 1) u^{2 - 2/(N_l - 1)} (s - u), a balanced chain of
N = N_l - 1 weight layers), the scalar case of the end-to-end dynamics of Arora, Cohen, Hazan
(2018), arXiv:1802.06509.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from optverify.kit import Judgement, Session, Verdict

TIME = sympy.Symbol("t", nonnegative=True)
STRENGTH = sympy.Symbol("s", positive=True)
TAU = sympy.Symbol("tau", positive=True)
START = sympy.Symbol("u_0", positive=True)
FINAL = sympy.Symbol("u_f", positive=True)
EPSILON = sympy.Symbol("epsilon", positive=True)
WEIGHT = sympy.Symbol("w", positive=True)
DEPTH = sympy.Symbol("N", positive=True, integer=True)

CHAIN_DEPTHS = (2, 3, 4, 5)
"""Chains of N = 2..5 scalar weight layers for the layer-wise derivation (N_l = 3..6)."""


def closed_form(t=TIME, s=STRENGTH, u0=START, tau=TAU, rate=2, offset=1) -> sympy.Expr:
    """u(t) = s e^{2st/tau} / (e^{2st/tau} - 1 + s/u_0); `rate` and `offset` (the 2 and the 1)
    are changed only by the negative controls."""
    growth = sympy.exp(rate * s * t / tau)
    return s * growth / (growth - offset + s / u0)


def learning_time(u_final=FINAL, s=STRENGTH, u0=START, tau=TAU, rate=2) -> sympy.Expr:
    """t(u_f) = (tau / (2s)) ln[u_f (s - u_0) / (u_0 (s - u_f))] (`rate` is the 2)."""
    return tau / (rate * s) * sympy.log(u_final * (s - u0) / (u0 * (s - u_final)))


def two_layer_ode_residual(u: sympy.Expr) -> sympy.Expr:
    """tau du/dt - 2u(s - u) for a candidate u(t)."""
    return TAU * sympy.diff(u, TIME) - 2 * u * (STRENGTH - u)


def dsolve_solution() -> sympy.Expr:
    """sympy's own solution u(t) of tau du/dt = 2u(s - u), u(0) = u_0, solved once and compared
    with each candidate. The logistic equation is a Bernoulli equation (u' = a u + b u^2), so
    dsolve is given that hint: the same solution as its default (separable) route, in a tenth
    of the time."""
    u = sympy.Function("u")
    equation = sympy.Eq(TAU * u(TIME).diff(TIME), 2 * u(TIME) * (STRENGTH - u(TIME)))
    return sympy.dsolve(equation, u(TIME), ics={u(0): START}, hint="Bernoulli").rhs


def dsolve_difference(candidate: sympy.Expr | None = None,
                      solution: sympy.Expr | None = None) -> sympy.Expr:
    """sympy's own solution (`solution`, or a fresh dsolve) minus the closed form (or minus
    `candidate`)."""
    solution = dsolve_solution() if solution is None else solution
    return solution - (closed_form() if candidate is None else candidate)


def inverse_residual(rate=2) -> sympy.Expr:
    """u(t(u_f)) - u_f: the learning time inverts the closed form (`rate`: the learning time's 2)."""
    return closed_form(t=learning_time(rate=rate)) - FINAL


def small_epsilon_ratio(leading=None) -> sympy.Expr:
    """lim_{eps -> 0} t(s - eps; u_0 = eps) / leading(eps), leading = (tau/s) ln(s/eps) by default:
    1 when t = (tau/s) ln(s/eps) to leading order (Saxe et al., after Eq. (9))."""
    time = learning_time(u_final=STRENGTH - EPSILON, u0=EPSILON)
    if leading is None:
        leading = TAU / STRENGTH * sympy.log(STRENGTH / EPSILON)
    return sympy.limit(time / leading, EPSILON, 0)


def scale_exponent() -> sympy.Expr:
    """d ln t / d ln s at u_0 = c_0 s, u_f = c_f s: the learning time's exponent in s."""
    c0, cf = sympy.symbols("c_0 c_f", positive=True)
    time = learning_time(u_final=cf * STRENGTH, u0=c0 * STRENGTH)
    return sympy.simplify(STRENGTH * sympy.diff(time, STRENGTH) / time)


def chain_rate_difference(depth: int, power=None) -> sympy.Expr:
    """du/dt of a balanced chain w_1 = ... = w_N = w (u = w^N) under the layer-wise flow
    dw_j/dt = -dL/dw_j, L = (s - u)^2 / 2, minus N u^power (s - u), power = 2 - 2/N by default."""
    weights = sympy.symbols(f"w_1:{depth + 1}", positive=True)
    product = sympy.Mul(*weights)
    loss = (STRENGTH - product) ** 2 / 2
    rate = sum(sympy.diff(product, w) * -sympy.diff(loss, w) for w in weights)
    balanced = rate.subs({w: WEIGHT for w in weights})
    u = WEIGHT**depth
    power = 2 - sympy.Rational(2, depth) if power is None else power
    return balanced - depth * u**power * (STRENGTH - u)


def general_chain_rate_difference(power=2 - 2 / DEPTH) -> sympy.Expr:
    """The same for a symbolic depth N: sum_j (du/dw_j)(-dL/dw_j) = N (w^{N-1})^2 (s - w^N) at a
    balanced point, minus N (w^N)^power (s - w^N), power = 2 - 2/N by default."""
    u = WEIGHT**DEPTH
    layer_derivative = WEIGHT ** (DEPTH - 1)
    rate = DEPTH * layer_derivative * (layer_derivative * (STRENGTH - u))
    return sympy.powsimp(sympy.expand_power_base(
        rate - DEPTH * u**power * (STRENGTH - u), force=True), force=True)


def saxe_depth_form_difference(offset=1) -> sympy.Expr:
    """Saxe's (N_l - 1) u^{2 - 2/(N_l - 1)} (s - u) at N_l = N + offset (1: N weight layers are
    N + 1 layers of units), minus N u^{2 - 2/N} (s - u)."""
    u, layers = sympy.Symbol("u", positive=True), sympy.Symbol("N_l", positive=True)
    saxe = (layers - 1) * u ** (2 - 2 / (layers - 1)) * (STRENGTH - u)
    return saxe.subs(layers, DEPTH + offset) - DEPTH * u ** (2 - 2 / DEPTH) * (STRENGTH - u)


@dataclass(frozen=True)
class LimitComparison:
    """A value sympy derived (a limit, an exponent) set against the value the paper states;
    `exact` when sympy simplifies their difference to 0."""

    value: sympy.Expr
    expected: sympy.Expr
    exact: bool

    @property
    def verdict(self) -> Verdict:
        return Verdict.CONSISTENT if self.exact else Verdict.VIOLATED

    @property
    def detail(self) -> str:
        return f"sympy gives {sympy.sstr(self.value)} (expected {sympy.sstr(self.expected)})"


def compare_limit(value: sympy.Expr, expected: sympy.Expr) -> LimitComparison:
    return LimitComparison(value, expected, sympy.simplify(value - expected) == 0)


def two_layer_is_depth_two(power=2 - 2 / DEPTH) -> sympy.Expr:
    """N u^{2 - 2/N} (s - u) at N = 2, minus 2u(s - u) (`power`: the depth form's exponent)."""
    depth_form = DEPTH * WEIGHT**power * (STRENGTH - WEIGHT)
    return depth_form.subs(DEPTH, 2) - 2 * WEIGHT * (STRENGTH - WEIGHT)


def limit_judge(value: sympy.Expr):
    """The judge of a derived value: `value` against a claimed value (consistent when sympy
    simplifies their difference to 0)."""
    def judge(expected) -> Judgement:
        comparison = compare_limit(value, sympy.sympify(expected))
        return Judgement(comparison.verdict, comparison.detail)
    return judge


def _exact_fields(value: sympy.Expr, expected) -> dict:
    """The residual 0 (tolerance 0) of an exact sympy comparison, as the report records it."""
    exact = compare_limit(value, sympy.sympify(expected)).exact
    return {"residual": 0.0 if exact else None, "tolerance": 0.0}


WRONG_POWER = 2 - sympy.Rational(1, 1) / DEPTH
"""The controls' wrong depth power u^{2 - 1/N} in place of u^{2 - 2/N}."""


def verify(s: Session) -> None:
    """Solve, invert and expand the two-layer dynamics; derive the depth-N equation."""
    u = closed_form()
    wrong_rate = closed_form(rate=1)
    solved = dsolve_solution()
    s.zero("dsolve-closed-form",
           "sympy's dsolve of tau du/dt = 2u(s - u), u(0) = u_0 equals "
           "u(t) = s e^{2st/tau} / (e^{2st/tau} - 1 + s/u_0)",
           dsolve_difference(solution=solved),
           controls={"the closed form with e^{st/tau} (rate s, not 2s)":
                     dsolve_difference(wrong_rate, solved)})
    s.zero("closed-form-solves-ode",
           "substituting u(t) = s e^{2st/tau} / (e^{2st/tau} - 1 + s/u_0): "
           "tau du/dt - 2u(s - u) = 0", two_layer_ode_residual(u),
           controls={"the closed form with e^{st/tau} (rate s, not 2s)":
                     two_layer_ode_residual(wrong_rate)})
    s.zero("closed-form-initial-value", "u(0) = u_0", u.subs(TIME, 0) - START,
           controls={"the closed form without the -1 (s e^g / (e^g + s/u_0))":
                     closed_form(offset=0).subs(TIME, 0) - START})
    s.zero("learning-time-inverts",
           "u(t(u_f)) = u_f for t(u_f) = (tau/(2s)) ln[u_f (s - u_0) / (u_0 (s - u_f))]",
           inverse_residual(),
           controls={"the learning time (tau/s) ln[...] (without the 1/2)":
                     inverse_residual(rate=1)})
    ratio = small_epsilon_ratio()
    s.decide("learning-time-small-epsilon",
             "from u_0 = eps to u_f = s - eps: t / ((tau/s) ln(s/eps)) -> 1 as eps -> 0, i.e. "
             "t = O(tau/s) ln(s/eps) with leading constant 1 (the claim's (1/s) ln(s/u_0))",
             limit_judge(ratio), 1, main=True, **_exact_fields(ratio, 1),
             controls={"the leading order (tau/(2s)) ln(s/eps) (ratio 1/2)": sympy.Rational(1, 2),
                       "the leading order (2 tau/s) ln(s/eps) (ratio 2)": 2})
    exponent = scale_exponent()
    s.decide("learning-time-exponent",
             "at u_0 = c_0 s, u_f = c_f s (symbolic c_0, c_f, s, tau): d ln t / d ln s = -1 "
             "(learning time ~ 1/s)", limit_judge(exponent), -1,
             **_exact_fields(exponent, -1),
             controls={"learning time ~ 1/s^2": -2, "learning time ~ 1/sqrt(s)":
                       sympy.Rational(-1, 2)})
    s.zero("saxe-depth-form",
           "Saxe's (N_l - 1) u^{2 - 2/(N_l - 1)} (s - u) is N u^{2 - 2/N} (s - u) with N = N_l - 1 "
           "weight layers (symbolic N)", saxe_depth_form_difference(),
           controls={"N = N_l weight layers (off by one)": saxe_depth_form_difference(offset=0)})
    s.zero("balanced-chain-general-depth",
           "balanced scalar chain of symbolic depth N, u = w^N, layer-wise flow dw_j/dt = "
           "(s - u) prod_{i != j} w_i: du/dt = N u^{2 - 2/N} (s - u)",
           general_chain_rate_difference(),
           controls={"du/dt = N u^{2 - 1/N} (s - u)": general_chain_rate_difference(WRONG_POWER)})
    s.zero("two-layer-is-depth-two",
           "at N = 2 the depth-N equation is the two-layer one: N u^{2 - 2/N} (s - u) = 2u(s - u)",
           two_layer_is_depth_two(),
           controls={"the depth form N u^{2 - 1/N} (s - u)": two_layer_is_depth_two(WRONG_POWER)})
    for depth in s.progress(CHAIN_DEPTHS, "sympy: balanced scalar chains"):
        s.zero(f"balanced-chain-N{depth}",
               f"N = {depth} scalar layers w_1..w_{depth}, L = (s - w_1...w_{depth})^2 / 2, "
               f"dw_j/dt = -dL/dw_j, at w_j = w: du/dt = {depth} u^(2 - 2/{depth}) (s - u), "
               f"u = w^{depth}", chain_rate_difference(depth),
               controls={f"du/dt = {depth} u^(2 - 1/{depth}) (s - u)":
                         chain_rate_difference(depth, 2 - sympy.Rational(1, depth))})
    s.note("tau = 1 / learning rate; the layer-wise flow is dw_j/dt = -(1/tau) dL/dw_j, so each "
           "derived rate is du/dt times tau.")
