"""Symbolic layer of `saddle-points`: sympy maps of Newton, saddle-free Newton and GD at a quadratic
saddle, the exact GD escape time, and the saddle of the scalar deep linear net.

Source: Dauphin et al. (2014), arXiv:1406.2572, Section 4 (Newton rescales the step along an
eigendirection by 1/lambda_i, so along a negative-curvature direction it moves towards the saddle;
GD moves away at rate |lambda_i|) and Section 5, Eq. (11) (saddle-free Newton -|H|^{-1} g).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from optverify.kit import Session, Verdict

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


def gd_closed_form_induction(a=A, b=B) -> sympy.Matrix:
    """One GD step applied to ((1 - eta a)^t x, (1 + eta b)^t y) minus the closed form at t + 1."""
    at_t = {X: (1 - ETA * a) ** STEP * X, Y: (1 + ETA * b) ** STEP * Y}
    stepped = gd_map(quadratic_saddle(a, b), (X, Y)).subs(at_t, simultaneous=True)
    return stepped - sympy.Matrix([(1 - ETA * a) ** (STEP + 1) * X, (1 + ETA * b) ** (STEP + 1) * Y])


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


def general_quadratic_newton_residual() -> sympy.Matrix:
    """grad f at the Newton image of f = x^T H x / 2 + c^T x with symbolic symmetric H (det != 0)."""
    p, q, r, c1, c2 = sympy.symbols("p q r c_1 c_2", real=True)
    f = (p * X**2 + 2 * q * X * Y + r * Y**2) / 2 + c1 * X + c2 * Y
    image = newton_map(f, (X, Y))
    gradient = derivatives(f, (X, Y)).gradient
    return gradient.subs({X: image[0], Y: image[1]}, simultaneous=True)


def _record_value(s: Session, name: str, statement: str, value, expected) -> None:
    """A sympy value that must equal `expected` exactly."""
    verdict = Verdict.CONSISTENT if sympy.simplify(value - expected) == 0 else Verdict.VIOLATED
    s.check(name, statement, verdict,
            f"sympy gives {sympy.sstr(value)} (expected {sympy.sstr(expected)})",
            residual=0.0 if verdict is Verdict.CONSISTENT else None, tolerance=0.0)


def verify(s: Session) -> None:
    """Closed-form step maps at quadratic saddles; the escape time; the deep linear saddle."""
    _step_maps(s)
    _escape_time(s)
    _deep_linear(s)


def _step_maps(s: Session) -> None:
    """Newton lands on the saddle, saddle-free Newton doubles y, GD follows its closed form."""
    unit, general = quadratic_saddle(1, 1), quadratic_saddle()
    s.zero("newton-unit-saddle",
           "f = (x^2 - y^2)/2: the Newton map (x, y) - H^{-1} grad f is (0, 0) from every point",
           newton_map(unit, (X, Y)))
    s.zero("newton-general-saddle",
           "f = (a x^2 - b y^2)/2, a, b > 0: the Newton map sends every point to the saddle (0, 0)",
           newton_map(general, (X, Y)))
    s.zero("newton-general-quadratic",
           "f = x^T H x / 2 + c^T x, H symmetric and invertible (any signs): grad f vanishes at the "
           "Newton image, so Newton lands on the critical point in one step",
           general_quadratic_newton_residual())
    s.zero("saddle-free-newton-unit",
           "f = (x^2 - y^2)/2: saddle-free Newton (x, y) - |H|^{-1} grad f = (0, 2y) (moves away)",
           saddle_free_newton_map(unit, (X, Y)) - sympy.Matrix([0, 2 * Y]))
    s.zero("saddle-free-newton-general",
           "f = (a x^2 - b y^2)/2: saddle-free Newton maps (x, y) to (0, 2y) for every a, b > 0",
           saddle_free_newton_map(general, (X, Y)) - sympy.Matrix([0, 2 * Y]))
    s.zero("gd-closed-form",
           "GD on f = (a x^2 - b y^2)/2: x_t = (1 - eta a)^t x_0, y_t = (1 + eta b)^t y_0 (one GD "
           "step maps the closed form at t to that at t + 1; induction from t = 0)",
           gd_closed_form_induction())


def _escape_time(s: Session) -> None:
    """GD's exact escape time, its small-step limit and its slope in log(1/eps); SFN's factor."""
    time = gd_escape_time()
    log_inv = sympy.Symbol("L")
    s.zero("gd-escape-time", "|y_t| = R exactly at t = log(R/|y_0|) / log(1 + eta b)",
           sympy.expand_log((1 + ETA * B) ** time * START, force=True) - RADIUS)
    _record_value(
        s, "gd-escape-time-small-step",
        "eta -> 0: t * eta b / log(R/y_0) -> 1, i.e. t ~ (1/(eta |lambda_-|)) log(1/eps)",
        sympy.limit(time * ETA * B / sympy.log(RADIUS / START), ETA, 0), sympy.Integer(1))
    _record_value(
        s, "gd-escape-time-linear-in-log-eps",
        "d t / d log(1/y_0) = 1 / log(1 + eta b): the escape time is linear in log(1/eps)",
        sympy.diff(time.subs(START, sympy.exp(-log_inv)), log_inv), 1 / sympy.log(1 + ETA * B))
    _record_value(
        s, "saddle-free-escape-independent-of-b",
        "saddle-free Newton on (a x^2 - b y^2)/2: the factor y_{t+1} / y_t of its map is 2 for "
        "every b (so it escapes in log(R/y_0)/log 2 steps, one step per factor 2, whatever b)",
        sympy.simplify(saddle_free_newton_map(quadratic_saddle(), (X, Y))[1] / Y),
        sympy.Integer(2))


def _deep_linear(s: Session) -> None:
    """The origin of (1 - w_1 w_2)^2 / 2 is a strict saddle of index 1/2."""
    saddle = deep_linear_saddle()
    s.zero("deep-linear-critical-at-origin", "f = (1 - w_1 w_2)^2 / 2: grad f(0, 0) = 0",
           saddle.gradient)
    _record_value(
        s, "deep-linear-index",
        "f = (1 - w_1 w_2)^2 / 2: the Hessian at 0 has eigenvalues +1 and -1, so the origin is "
        "a strict saddle of index 1/2 (one of two eigenvalues negative)",
        saddle.index, sympy.Rational(1, 2))
    expected = {sympy.Integer(1): 1, sympy.Integer(-1): 1}
    s.check("deep-linear-hessian-eigenvalues",
            "the Hessian of (1 - w_1 w_2)^2 / 2 at 0 is [[0, -1], [-1, 0]] with eigenvalues {1, -1}",
            Verdict.CONSISTENT if saddle.eigenvalues == expected else Verdict.VIOLATED,
            f"sympy eigenvalues {saddle.eigenvalues}", residual=None, tolerance=0.0)
