"""Symbolic layer of `saddle-points`: sympy maps of Newton, saddle-free Newton and GD at a quadratic
saddle, the exact GD escape time, and the saddle of the scalar deep linear net.

Source: Dauphin et al. (2014), arXiv:1406.2572, Section 4 (Newton rescales the step along an
eigendirection by 1/lambda_i, so along a negative-curvature direction it moves towards the saddle;
GD moves away at rate |lambda_i|) and Section 5, Eq. (11) (saddle-free Newton -|H|^{-1} g).

Scope: the step maps are proved for 2-d quadratic saddles (a x^2 - b y^2)/2 with symbolic a, b > 0
and for a general 2-d quadratic with a symbolic symmetric invertible Hessian; the deep linear net is
the scalar two-layer one. Negative controls: each sympy zero is set against the same expression for
a false alternative (saddle-free Newton's map where Newton's is claimed and vice versa, a half
Newton step, the gradient-flow rates, a non-critical point), evaluated at a fixed rational sample
point so that sympy must find a non-zero number. The escape time's exponential form, its
derivative in log(1/eps) and the index are restatements of the closed form or of the eigenvalues
and are reported as sanity checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy

from optverify.kit import Judgement, Session, Verdict

X, Y = sympy.symbols("x y", real=True)
A, B = sympy.symbols("a b", positive=True)
ETA, RADIUS, START = sympy.symbols("eta R y_0", positive=True)
STEP = sympy.Symbol("t", nonnegative=True, integer=True)
W1, W2 = sympy.symbols("w_1 w_2", real=True)


@dataclass(frozen=True)
class Derivatives:
    """The gradient (a column), the Hessian and the point (a column) of f in `variables`."""

    gradient: sympy.Matrix
    hessian: sympy.Matrix
    point: sympy.Matrix


@dataclass(frozen=True)
class DeepLinearSaddle:
    """The scalar deep linear net's origin: its gradient there, the Hessian's eigenvalues (with
    multiplicities) and the index (fraction of negative eigenvalues)."""

    gradient: sympy.Matrix
    eigenvalues: dict
    index: sympy.Rational


def quadratic_saddle(a=A, b=B) -> sympy.Expr:
    """f = (a x^2 - b y^2) / 2: a strict saddle at 0 with Hessian eigenvalues a, -b."""
    return (a * X**2 - b * Y**2) / 2


def derivatives(f: sympy.Expr, variables) -> Derivatives:
    point = sympy.Matrix(variables)
    return Derivatives(sympy.Matrix([f]).jacobian(point).T, sympy.hessian(f, variables), point)


def newton_map(f: sympy.Expr, variables) -> sympy.Matrix:
    at = derivatives(f, variables)
    return at.point - at.hessian.inv() * at.gradient


def saddle_free_newton_map(f: sympy.Expr, variables) -> sympy.Matrix:
    """x - |H|^{-1} g with |H| from the eigen-decomposition of a constant Hessian."""
    at = derivatives(f, variables)
    vectors, eigenvalues = at.hessian.diagonalize(normalize=True)
    absolute = vectors * eigenvalues.applyfunc(sympy.Abs) * vectors.T
    return at.point - absolute.inv() * at.gradient


def gd_map(f: sympy.Expr, variables, eta=ETA) -> sympy.Matrix:
    at = derivatives(f, variables)
    return at.point - eta * at.gradient


def gd_closed_form_induction(a=A, b=B, rate_x=None, rate_y=None) -> sympy.Matrix:
    """One GD step applied to (r_x^t x, r_y^t y) minus the closed form at t + 1, with the factors
    r_x = 1 - eta a, r_y = 1 + eta b (or the alternative factors rate_x, rate_y)."""
    rate_x = 1 - ETA * a if rate_x is None else rate_x
    rate_y = 1 + ETA * b if rate_y is None else rate_y
    at_t = {X: rate_x**STEP * X, Y: rate_y**STEP * Y}
    stepped = gd_map(quadratic_saddle(a, b), (X, Y)).subs(at_t, simultaneous=True)
    return stepped - sympy.Matrix([rate_x ** (STEP + 1) * X, rate_y ** (STEP + 1) * Y])


def gd_escape_time(b=B, eta=ETA) -> sympy.Expr:
    """t with (1 + eta b)^t y_0 = R: log(R / y_0) / log(1 + eta b)."""
    return sympy.log(RADIUS / START) / sympy.log(1 + eta * b)


def deep_linear_loss() -> sympy.Expr:
    """The scalar two-layer linear net fitting target 1: f = (1 - w_1 w_2)^2 / 2."""
    return (1 - W1 * W2) ** 2 / 2


def deep_linear_saddle() -> DeepLinearSaddle:
    """The gradient, Hessian eigenvalues and index of (1 - w_1 w_2)^2 / 2 at the origin."""
    at = derivatives(deep_linear_loss(), (W1, W2))
    origin = {W1: 0, W2: 0}
    eigenvalues = at.hessian.subs(origin).eigenvals()
    negative = sum(m for value, m in eigenvalues.items() if value < 0)
    return DeepLinearSaddle(at.gradient.subs(origin), eigenvalues, sympy.Rational(negative, 2))


def general_quadratic_newton_residual(damping=1) -> sympy.Matrix:
    """grad f at the Newton image of f = x^T H x / 2 + c^T x with symbolic symmetric H (det != 0);
    `damping` scales the step (1/2: a half Newton step, the negative control)."""
    p, q, r, c1, c2 = sympy.symbols("p q r c_1 c_2", real=True)
    f = (p * X**2 + 2 * q * X * Y + r * Y**2) / 2 + c1 * X + c2 * Y
    at = derivatives(f, (X, Y))
    image = at.point - damping * at.hessian.inv() * at.gradient
    return at.gradient.subs({X: image[0], Y: image[1]}, simultaneous=True)


SAMPLE_VALUES = (sympy.Rational(3, 7), sympy.Rational(-2, 5), sympy.Rational(5, 3),
                 sympy.Rational(3, 4), sympy.Rational(1, 10), sympy.Rational(7, 2),
                 sympy.Rational(-1, 3), sympy.Rational(2, 9))


def at_sample_point(expression):
    """`expression` with its free symbols (sorted by name) set to fixed rationals: a false
    alternative of a sympy zero becomes a non-zero number that the zero check must reject (a
    counterexample at one point proves the alternative is not identically 0). Integer symbols
    (the step t) get 3."""
    symbols = sorted(expression.free_symbols, key=lambda symbol: symbol.name)
    values = {}
    for i, symbol in enumerate(symbols):
        value = SAMPLE_VALUES[i % len(SAMPLE_VALUES)]
        if symbol.is_integer:
            value = sympy.Integer(3)
        elif symbol.is_positive:
            value = abs(value)
        values[symbol] = value
    return expression.subs(values)


def judge_value(expected) -> Callable:
    """A judge of a sympy value: consistent when it equals `expected` exactly."""
    def judge(value) -> Judgement:
        verdict = (Verdict.CONSISTENT if sympy.simplify(value - expected) == 0
                   else Verdict.VIOLATED)
        return Judgement(verdict, f"sympy gives {sympy.sstr(value)} (expected "
                         f"{sympy.sstr(expected)}): {verdict.value}")
    return judge


def verify(s: Session) -> None:
    """Closed-form step maps at quadratic saddles; the escape time; the deep linear saddle."""
    _step_maps(s)
    _escape_time(s)
    _deep_linear(s)


def _step_maps(s: Session) -> None:
    """Newton lands on the saddle, saddle-free Newton doubles y, GD follows its closed form."""
    unit, general = quadratic_saddle(1, 1), quadratic_saddle()
    saddle_free_instead = "saddle-free Newton's map (x, y) - |H|^{-1} grad f in place of Newton's"
    newton_instead = "Newton's map (x, y) - H^{-1} grad f in place of saddle-free Newton's"
    s.zero("newton-unit-saddle",
           "f = (x^2 - y^2)/2: the Newton map (x, y) - H^{-1} grad f is (0, 0) from every point",
           newton_map(unit, (X, Y)),
           controls={saddle_free_instead: at_sample_point(saddle_free_newton_map(unit, (X, Y)))})
    s.zero("newton-general-saddle",
           "f = (a x^2 - b y^2)/2, a, b > 0: the Newton map sends every point to the saddle (0, 0)",
           newton_map(general, (X, Y)),
           controls={saddle_free_instead: at_sample_point(
               saddle_free_newton_map(general, (X, Y)))})
    s.zero("newton-general-quadratic",
           "f = x^T H x / 2 + c^T x in 2 variables, H symmetric and invertible (any signs): grad f "
           "vanishes at the Newton image, so Newton lands on the critical point in one step",
           general_quadratic_newton_residual(),
           controls={"a half Newton step x - H^{-1} grad f / 2": at_sample_point(
               general_quadratic_newton_residual(sympy.Rational(1, 2)))})
    doubled = sympy.Matrix([0, 2 * Y])
    s.zero("saddle-free-newton-unit",
           "f = (x^2 - y^2)/2: saddle-free Newton (x, y) - |H|^{-1} grad f = (0, 2y) (moves away)",
           saddle_free_newton_map(unit, (X, Y)) - doubled,
           controls={newton_instead: at_sample_point(newton_map(unit, (X, Y)) - doubled)})
    s.zero("saddle-free-newton-general",
           "f = (a x^2 - b y^2)/2: saddle-free Newton maps (x, y) to (0, 2y) for every a, b > 0",
           saddle_free_newton_map(general, (X, Y)) - doubled,
           controls={newton_instead: at_sample_point(newton_map(general, (X, Y)) - doubled)})
    s.zero("gd-closed-form",
           "GD on f = (a x^2 - b y^2)/2: x_t = (1 - eta a)^t x_0, y_t = (1 + eta b)^t y_0 (one GD "
           "step maps the closed form at t to that at t + 1; induction from t = 0)",
           gd_closed_form_induction(),
           controls={"the gradient-flow rates x_t = e^{-eta a t} x_0, y_t = e^{eta b t} y_0":
                     at_sample_point(gd_closed_form_induction(
                         rate_x=sympy.exp(-ETA * A), rate_y=sympy.exp(ETA * B)))})


def small_step_limit(time: sympy.Expr) -> sympy.Expr:
    """lim_{eta -> 0} t eta b / log(R / y_0) of an escape time t."""
    return sympy.limit(time * ETA * B / sympy.log(RADIUS / START), ETA, 0)


def _escape_time(s: Session) -> None:
    """GD's exact escape time, its small-step limit and its slope in log(1/eps); SFN's factor."""
    time = gd_escape_time()
    log_inv = sympy.Symbol("L")
    s.zero("gd-escape-time", "|y_t| = R exactly at t = log(R/|y_0|) / log(1 + eta b) (sanity: "
           "exp of a log, the definition of the escape time)",
           sympy.expand_log((1 + ETA * B) ** time * START, force=True) - RADIUS, sanity=True)
    s.decide(
        "gd-escape-time-small-step",
        "eta -> 0: t * eta b / log(R/y_0) -> 1, i.e. t ~ (1/(eta |lambda_-|)) log(1/eps)",
        judge_value(sympy.Integer(1)), small_step_limit(time),
        controls={"the escape time of steps twice as long, log(R/y_0) / log(1 + 2 eta b) "
                  "(a wrong factor)": small_step_limit(gd_escape_time(b=2 * B))})
    value = sympy.diff(time.subs(START, sympy.exp(-log_inv)), log_inv)
    s.decide(
        "gd-escape-time-linear-in-log-eps",
        "d t / d log(1/y_0) = 1 / log(1 + eta b): the escape time is linear in log(1/eps) "
        "(sanity: the derivative of the closed form, linear in log(1/y_0) by construction)",
        judge_value(1 / sympy.log(1 + ETA * B)), value, sanity=True)
    s.decide(
        "saddle-free-escape-independent-of-b",
        "saddle-free Newton on (a x^2 - b y^2)/2: the factor y_{t+1} / y_t of its map is 2 for "
        "every b (so it escapes in log(R/y_0)/log 2 steps, one step per factor 2, whatever b; "
        "sanity: restates saddle-free-newton-general)",
        judge_value(sympy.Integer(2)),
        sympy.simplify(saddle_free_newton_map(quadratic_saddle(), (X, Y))[1] / Y), sanity=True)


def hessian_eigenvalues_at(point: dict) -> dict:
    """The eigenvalues (with multiplicities) of the deep linear loss's Hessian at `point`."""
    at = derivatives(deep_linear_loss(), (W1, W2))
    return at.hessian.subs(point).eigenvals()


def judge_strict_saddle(eigenvalues: dict) -> Judgement:
    """Consistent when the eigenvalues are exactly {1, -1} (one each)."""
    expected = {sympy.Integer(1): 1, sympy.Integer(-1): 1}
    verdict = Verdict.CONSISTENT if eigenvalues == expected else Verdict.VIOLATED
    return Judgement(verdict, f"sympy eigenvalues {eigenvalues} (expected {expected}): "
                     f"{verdict.value}")


def _deep_linear(s: Session) -> None:
    """The origin of (1 - w_1 w_2)^2 / 2 is a strict saddle of index 1/2."""
    saddle = deep_linear_saddle()
    gradient = derivatives(deep_linear_loss(), (W1, W2)).gradient
    s.zero("deep-linear-critical-at-origin", "f = (1 - w_1 w_2)^2 / 2: grad f(0, 0) = 0",
           saddle.gradient,
           controls={"the gradient at (1/2, 1/2), not a critical point":
                     gradient.subs({W1: sympy.Rational(1, 2), W2: sympy.Rational(1, 2)})})
    s.decide(
        "deep-linear-hessian-eigenvalues",
        "the Hessian of the scalar two-layer loss (1 - w_1 w_2)^2 / 2 at 0 is [[0, -1], [-1, 0]] "
        "with eigenvalues {1, -1}: a strict saddle", judge_strict_saddle, saddle.eigenvalues,
        controls={"the Hessian at (1, 1), a global minimum on the valley w_1 w_2 = 1":
                  hessian_eigenvalues_at({W1: 1, W2: 1})})
    s.decide(
        "deep-linear-index",
        "f = (1 - w_1 w_2)^2 / 2: the origin is a strict saddle of index 1/2 (one of two "
        "eigenvalues negative; sanity: counts the negative eigenvalues of "
        "deep-linear-hessian-eigenvalues)", judge_value(sympy.Rational(1, 2)), saddle.index,
        sanity=True)
