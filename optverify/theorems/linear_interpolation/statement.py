"""Symbolic layer of `linear-interpolation`: sympy proves monotonicity for convex quadratics,
derives the quartic path loss of the scalar deep linear net, and finds a non-monotone pair.

Source: Goodfellow, Vinyals, Saxe (2015), arXiv:1412.6544, Section 2 (linear path from theta_0 to
theta_T; "the objective function decreases monotonically" is an observation, not a theorem).
- Convex quadratic L(theta) = (theta - theta*)^T H (theta - theta*)/2 + c, H symmetric PSD, with
  theta_T = theta*: L(theta(alpha)) = (1 - alpha)^2 q/2 + c, q = (theta_0 - theta*)^T H
  (theta_0 - theta*) >= 0, so dL/dalpha = -(1 - alpha) q <= 0 on [0, 1] (exact, generic 3x3 H).
- Scalar deep linear net l = (1 - w1 w2)^2/2 along w_i(alpha) = a_i + alpha (b_i - a_i): a quartic
  in alpha with leading coefficient (b1 - a1)^2 (b2 - a2)^2 / 2.
- A pair theta_0 -> theta_T = (1, 1) (a global minimizer) whose path loss rises above l(0): found
  by exact search over a small grid of rational starts, the bump max l - l(0) in closed form.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy

from optverify.kit import Session, Verdict

ALPHA = sympy.Symbol("alpha", real=True)
MONOTONE_FRACTION = sympy.Symbol("monotone_fraction", nonnegative=True)
MAIN_BOUND = sympy.Ge(MONOTONE_FRACTION, sympy.Rational(1, 2))
"""The paper's "usually" made precise: the fraction of monotone paths is at least 1/2."""

QUADRATIC_DIMENSION = 3
MINIMIZER = (sympy.Integer(1), sympy.Integer(1))
CANDIDATE_COORDINATES = (-1, sympy.Rational(-1, 2), sympy.Rational(1, 2), 2)
"""Starts searched for a non-monotone path to (1, 1), in this order."""
GENERAL_ENDPOINTS = sympy.symbols("a1 a2 b1 b2", real=True)
"""(a1, a2) -> (b1, b2): a general straight path of the scalar deep linear net."""


@dataclass(frozen=True)
class QuadraticPathResiduals:
    """For a generic symmetric 3x3 H: value = L(theta(alpha)) - (1 - alpha)^2 q/2 - c and
    slope = dL/dalpha + (1 - alpha) q (both zero when the closed forms hold)."""

    value: sympy.Expr
    slope: sympy.Expr


@dataclass(frozen=True)
class Bump:
    """The largest bump max_alpha [l(alpha) - min_{alpha' <= alpha} l(alpha')] on [0, 1] of a
    path loss and the alpha of the rise's top (both exact)."""

    height: sympy.Expr
    alpha: sympy.Expr


@dataclass(frozen=True)
class CounterExample:
    """A scalar deep linear path start -> MINIMIZER that is not monotone: the start, the path
    loss l(alpha) and its exact largest bump."""

    start: tuple
    loss: sympy.Expr
    bump: Bump

    @property
    def initial(self) -> sympy.Expr:
        """l(0)."""
        return self.loss.subs(ALPHA, 0)

    @property
    def final(self) -> sympy.Expr:
        """l(1)."""
        return self.loss.subs(ALPHA, 1)


def quadratic_path() -> QuadraticPathResiduals:
    """The value and slope residuals of the convex quadratic's path loss (generic symmetric H)."""
    n = QUADRATIC_DIMENSION
    hessian = sympy.Matrix(n, n, lambda i, j: sympy.Symbol(f"h_{min(i, j)}{max(i, j)}"))
    start = sympy.Matrix(sympy.symbols(f"s_0:{n}"))
    minimizer = sympy.Matrix(sympy.symbols(f"m_0:{n}"))
    offset = sympy.Symbol("c")
    theta = start + ALPHA * (minimizer - start)
    gap = theta - minimizer
    loss = (gap.T * hessian * gap)[0] / 2 + offset
    q = ((start - minimizer).T * hessian * (start - minimizer))[0]
    closed = (1 - ALPHA) ** 2 * q / 2 + offset
    return QuadraticPathResiduals(loss - closed, sympy.diff(loss, ALPHA) + (1 - ALPHA) * q)


def scalar_path_loss(start: tuple, end: tuple) -> sympy.Expr:
    """(1 - w1(alpha) w2(alpha))^2 / 2 along the straight line from start to end."""
    w1, w2 = (a + ALPHA * (b - a) for a, b in zip(start, end))
    return sympy.expand((1 - w1 * w2) ** 2 / 2)


def exact_bump(loss: sympy.Expr) -> Bump:
    """The largest bump of a polynomial path loss on [0, 1], from its real critical points."""
    critical = [r for r in sympy.real_roots(sympy.Poly(sympy.diff(loss, ALPHA), ALPHA))
                if 0 <= r <= 1]
    points = sorted(set([sympy.Integer(0), sympy.Integer(1)] + critical), key=float)
    values = [loss.subs(ALPHA, point) for point in points]
    best, where, running = sympy.Integer(0), sympy.Integer(0), values[0]
    for point, value in zip(points, values):
        running = sympy.Min(running, value)
        rise = sympy.simplify(value - running)
        if rise > best:
            best, where = rise, point
    return Bump(best, where)


def find_counter_example() -> CounterExample:
    """The first start (in CANDIDATE_COORDINATES order) with l(0) > 0 whose path to (1, 1) is
    not monotone."""
    for start in itertools.product(CANDIDATE_COORDINATES, repeat=2):
        loss = scalar_path_loss(start, MINIMIZER)
        if loss.subs(ALPHA, 0) == 0:
            continue
        bump = exact_bump(loss)
        if bump.height > 0:
            return CounterExample(start, loss, bump)
    raise ValueError("no candidate start gives a non-monotone path")


def general_scalar_path() -> sympy.Poly:
    """l(alpha) of the scalar deep linear net from a general start (a1, a2) to a general end
    (b1, b2), as a polynomial in alpha."""
    a1, a2, b1, b2 = GENERAL_ENDPOINTS
    return sympy.Poly(scalar_path_loss((a1, a2), (b1, b2)), ALPHA)


def quartic_residual(general: sympy.Poly) -> sympy.Matrix:
    """(degree - 4, leading coefficient - (b1 - a1)^2 (b2 - a2)^2 / 2): zero for the quartic."""
    a1, a2, b1, b2 = GENERAL_ENDPOINTS
    return sympy.Matrix([general.degree() - 4,
                         general.LC() - (b1 - a1) ** 2 * (b2 - a2) ** 2 / 2])


def counter_example_detail(example: CounterExample) -> str:
    bump = example.bump
    return (f"exact bump {sympy.sstr(bump.height)} = {float(bump.height):.6g} at alpha = "
            f"{sympy.sstr(bump.alpha)}, l(0) = {sympy.sstr(example.initial)}, l(1) = "
            f"{sympy.sstr(example.final)}")


def counter_example_values(example: CounterExample) -> dict[str, str | float]:
    bump = example.bump
    return {"start_w1": str(example.start[0]), "start_w2": str(example.start[1]),
            "bump": sympy.sstr(bump.height),
            "bump_over_initial": float(bump.height / example.initial),
            "alpha_top": sympy.sstr(bump.alpha)}


def path_loss_rows(general: sympy.Poly, example: CounterExample) -> tuple[tuple[str, str], ...]:
    return (
        ("convex quadratic to its minimizer", "(1 - alpha)^2 q/2 + c"),
        ("scalar deep linear, general", sympy.sstr(sympy.factor(general.as_expr()))[:300]),
        (f"scalar deep linear {tuple(example.start)} -> (1, 1)", sympy.sstr(example.loss)),
        ("main bound", sympy.sstr(MAIN_BOUND)),
    )


def verify(s: Session) -> None:
    quadratic = quadratic_path()
    general = general_scalar_path()
    example = find_counter_example()
    s.zero("quadratic-path-loss",
           "convex quadratic, theta_T = theta*: L(theta(alpha)) = (1 - alpha)^2 q/2 + c with "
           "q = (theta_0 - theta*)^T H (theta_0 - theta*), generic symmetric 3x3 H",
           quadratic.value)
    s.zero("quadratic-path-slope",
           "dL/dalpha = -(1 - alpha) q, which is <= 0 on [0, 1] since q >= 0 for H PSD: the "
           "path loss is monotone (a theorem for convex quadratics)",
           quadratic.slope)
    s.zero("scalar-deep-linear-quartic",
           "l(alpha) = (1 - w1(alpha) w2(alpha))^2/2 is a quartic in alpha with leading "
           "coefficient (b1 - a1)^2 (b2 - a2)^2 / 2",
           quartic_residual(general))
    s.check("scalar-counter-example",
            f"the scalar deep linear path from theta_0 = {tuple(example.start)} to the global "
            "minimizer theta_T = (1, 1) is NOT monotone: its exact largest bump "
            "max l - min_(alpha' <= alpha) l is > 0 (so monotonicity is empirical, not "
            "a theorem)",
            Verdict.CONSISTENT if bool(example.bump.height > 0) else Verdict.VIOLATED,
            counter_example_detail(example), values=counter_example_values(example))
    s.table("path-losses", "Exact path losses (sympy)", ("path", "l(alpha)"),
            path_loss_rows(general, example))
