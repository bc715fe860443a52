"""Symbolic layer of `saddle-points`: sympy maps of Newton, saddle-free Newton and GD at a quadratic
saddle, the exact GD escape time, and the saddle of the scalar deep linear net.

Source: Dauphin et al. (2014), arXiv:1406.2572, Section 4 (Newton rescales the step along an
eigendirection by 1/lambda_i, so along a negative-curvature direction it moves towards the saddle;
GD moves away at rate |lambda_i|) and Section 5, Eq. (11) (saddle-free Newton -|H|^{-1} g).
"""

from __future__ import annotations

import sympy

from optverify.claim import Layer, Progress, RunConfig
from optverify.results import Check, LayerResult, Verdict
from optverify.verdict import symbolic_zero_check

X, Y = sympy.symbols("x y", real=True)
A, B = sympy.symbols("a b", positive=True)
ETA, RADIUS, START = sympy.symbols("eta R y_0", positive=True)
STEP = sympy.Symbol("t", nonnegative=True, integer=True)
W1, W2 = sympy.symbols("w_1 w_2", real=True)


def quadratic_saddle(a=A, b=B) -> sympy.Expr:
    """f = (a x^2 - b y^2) / 2: a strict saddle at 0 with Hessian eigenvalues a, -b."""
    return (a * X**2 - b * Y**2) / 2


def _gradient_hessian(f: sympy.Expr, variables):
    point = sympy.Matrix(variables)
    return sympy.Matrix([f]).jacobian(point).T, sympy.hessian(f, variables), point


def newton_map(f: sympy.Expr, variables) -> sympy.Matrix:
    gradient, hessian, point = _gradient_hessian(f, variables)
    return point - hessian.inv() * gradient


def saddle_free_newton_map(f: sympy.Expr, variables) -> sympy.Matrix:
    """x - |H|^{-1} g with |H| from the eigen-decomposition of a constant Hessian."""
    gradient, hessian, point = _gradient_hessian(f, variables)
    vectors, eigenvalues = hessian.diagonalize(normalize=True)
    absolute = vectors * eigenvalues.applyfunc(sympy.Abs) * vectors.T
    return point - absolute.inv() * gradient


def gd_map(f: sympy.Expr, variables, eta=ETA) -> sympy.Matrix:
    gradient, _, point = _gradient_hessian(f, variables)
    return point - eta * gradient


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


def _value_check(name: str, statement: str, value, expected) -> Check:
    verdict = Verdict.CONSISTENT if sympy.simplify(value - expected) == 0 else Verdict.VIOLATED
    return Check(Layer.SYMBOLIC, name, statement, verdict,
                 detail=f"sympy gives {sympy.sstr(value)} (expected {sympy.sstr(expected)})",
                 residual=0.0 if verdict is Verdict.CONSISTENT else None, tolerance=0.0)


def _general_quadratic_newton_residual() -> sympy.Matrix:
    """grad f at the Newton image of f = x^T H x / 2 + c^T x with symbolic symmetric H (det != 0)."""
    p, q, r, c1, c2 = sympy.symbols("p q r c_1 c_2", real=True)
    f = (p * X**2 + 2 * q * X * Y + r * Y**2) / 2 + c1 * X + c2 * Y
    image = newton_map(f, (X, Y))
    gradient, _, _ = _gradient_hessian(f, (X, Y))
    return gradient.subs({X: image[0], Y: image[1]}, simultaneous=True)


def verify(config: RunConfig, progress: Progress) -> LayerResult:
    """Closed-form step maps at quadratic saddles; the escape time; the deep linear saddle."""
    unit = quadratic_saddle(1, 1)
    general = quadratic_saddle()
    loss = deep_linear_loss()
    deep_gradient, deep_hessian, _ = _gradient_hessian(loss, (W1, W2))
    at_origin = {W1: 0, W2: 0}
    deep_eigenvalues = deep_hessian.subs(at_origin).eigenvals()
    negative = sum(m for value, m in deep_eigenvalues.items() if value < 0)
    deep_index = sympy.Rational(negative, 2)
    time = gd_escape_time()
    checks = [
        symbolic_zero_check(
            "newton-unit-saddle",
            "f = (x^2 - y^2)/2: the Newton map (x, y) - H^{-1} grad f is (0, 0) from every point",
            newton_map(unit, (X, Y))),
        symbolic_zero_check(
            "newton-general-saddle",
            "f = (a x^2 - b y^2)/2, a, b > 0: the Newton map sends every point to the saddle (0, 0)",
            newton_map(general, (X, Y))),
        symbolic_zero_check(
            "newton-general-quadratic",
            "f = x^T H x / 2 + c^T x, H symmetric and invertible (any signs): grad f vanishes at the "
            "Newton image, so Newton lands on the critical point in one step",
            _general_quadratic_newton_residual()),
        symbolic_zero_check(
            "saddle-free-newton-unit",
            "f = (x^2 - y^2)/2: saddle-free Newton (x, y) - |H|^{-1} grad f = (0, 2y) (moves away)",
            saddle_free_newton_map(unit, (X, Y)) - sympy.Matrix([0, 2 * Y])),
        symbolic_zero_check(
            "saddle-free-newton-general",
            "f = (a x^2 - b y^2)/2: saddle-free Newton maps (x, y) to (0, 2y) for every a, b > 0",
            saddle_free_newton_map(general, (X, Y)) - sympy.Matrix([0, 2 * Y])),
        symbolic_zero_check(
            "gd-closed-form",
            "GD on f = (a x^2 - b y^2)/2: x_t = (1 - eta a)^t x_0, y_t = (1 + eta b)^t y_0 (one GD "
            "step maps the closed form at t to that at t + 1; induction from t = 0)",
            gd_closed_form_induction()),
        symbolic_zero_check(
            "gd-escape-time",
            "|y_t| = R exactly at t = log(R/|y_0|) / log(1 + eta b)",
            sympy.expand_log((1 + ETA * B) ** time * START, force=True) - RADIUS),
        _value_check(
            "gd-escape-time-small-step",
            "eta -> 0: t * eta b / log(R/y_0) -> 1, i.e. t ~ (1/(eta |lambda_-|)) log(1/eps)",
            sympy.limit(time * ETA * B / sympy.log(RADIUS / START), ETA, 0), sympy.Integer(1)),
        _value_check(
            "gd-escape-time-linear-in-log-eps",
            "d t / d log(1/y_0) = 1 / log(1 + eta b): the escape time is linear in log(1/eps)",
            sympy.diff(time.subs(START, sympy.exp(-sympy.Symbol("L"))), sympy.Symbol("L")),
            1 / sympy.log(1 + ETA * B)),
        _value_check(
            "saddle-free-escape-independent-of-b",
            "saddle-free Newton on (a x^2 - b y^2)/2: the factor y_{t+1} / y_t of its map is 2 for "
            "every b (so it escapes in log(R/y_0)/log 2 steps, one step per factor 2, whatever b)",
            sympy.simplify(saddle_free_newton_map(general, (X, Y))[1] / Y), sympy.Integer(2)),
        symbolic_zero_check(
            "deep-linear-critical-at-origin",
            "f = (1 - w_1 w_2)^2 / 2: grad f(0, 0) = 0", deep_gradient.subs(at_origin)),
        _value_check(
            "deep-linear-index",
            "f = (1 - w_1 w_2)^2 / 2: the Hessian at 0 has eigenvalues +1 and -1, so the origin is "
            "a strict saddle of index 1/2 (one of two eigenvalues negative)",
            deep_index, sympy.Rational(1, 2)),
    ]
    expected = {sympy.Integer(1): 1, sympy.Integer(-1): 1}
    checks.append(Check(
        Layer.SYMBOLIC, "deep-linear-hessian-eigenvalues",
        "the Hessian of (1 - w_1 w_2)^2 / 2 at 0 is [[0, -1], [-1, 0]] with eigenvalues {1, -1}",
        Verdict.CONSISTENT if deep_eigenvalues == expected else Verdict.VIOLATED,
        detail=f"sympy eigenvalues {deep_eigenvalues}", residual=None, tolerance=0.0))
    return LayerResult(layer=Layer.SYMBOLIC, checks=tuple(checks))
