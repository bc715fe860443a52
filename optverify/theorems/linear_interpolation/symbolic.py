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

Negative controls (optverify issue 9): each identity beside the same identity with a wrong power
or constant, evaluated at a rational witness point where sympy must find a non-zero number; the
counter-example beside a path that is monotone (MONOTONE_START -> (1, 1)), judged by the same rule.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy

from optverify.kit import Judgement, Session, Verdict

ALPHA = sympy.Symbol("alpha", real=True)
MONOTONE_FRACTION = sympy.Symbol("monotone_fraction", nonnegative=True)
MONOTONE_THRESHOLD = sympy.Rational(9, 10)
MAIN_BOUND = sympy.Ge(MONOTONE_FRACTION, MONOTONE_THRESHOLD)
"""The paper's claim made precise, fixed before measuring: the fraction of monotone straight paths
is at least 9/10. Goodfellow, Vinyals, Saxe (2015), abstract: "We find that, in fact, on a
straight path from initialization to solution, a variety of state of the art neural networks
never encounter any significant obstacles." "Never", over the networks the paper studies, is read
as "at least 9 in 10 paths": the test here is stricter than "no significant obstacle" (any rise
above 16 ulps of the path's largest loss counts, on classifiers far smaller than the paper's,
trained on scikit-learn's 8x8 digits), so one path in ten is left to rises the paper would not
call obstacles. The earlier threshold 1/2 would
accept a true fraction of 0.55, which no reading of "never" allows."""

QUADRATIC_DIMENSION = 3
MINIMIZER = (sympy.Integer(1), sympy.Integer(1))
CANDIDATE_COORDINATES = (-1, sympy.Rational(-1, 2), sympy.Rational(1, 2), 2)
"""Starts searched for a non-monotone path to (1, 1), in this order."""
GENERAL_ENDPOINTS = sympy.symbols("a1 a2 b1 b2", real=True)
"""(a1, a2) -> (b1, b2): a general straight path of the scalar deep linear net."""
MONOTONE_START = (sympy.Rational(1, 2), sympy.Rational(1, 2))
"""A start whose straight path to (1, 1) is monotone (w1 = w2 rises to 1, l = (1 - w^2)^2 / 2
falls): the control of the counter-example checks."""


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


def at_witness(expression):
    """The expression at a rational witness point: its free symbols, sorted by name, take the
    values 3/7, -5/11, 7/13, -9/17, ... (a false identity's gap becomes a non-zero number)."""
    symbols = sorted(expression.free_symbols, key=lambda symbol: symbol.name)
    return expression.subs({symbol: sympy.Rational((-1) ** k * (2 * k + 3), 4 * k + 7)
                            for k, symbol in enumerate(symbols)})


def quadratic_path(value_power: int = 2, slope_power: int = 1) -> QuadraticPathResiduals:
    """The value and slope residuals of the convex quadratic's path loss (generic symmetric H)
    against (1 - alpha)^value_power q/2 + c and -(1 - alpha)^slope_power q (the identities at 2
    and 1; other powers are the false alternatives)."""
    n = QUADRATIC_DIMENSION
    hessian = sympy.Matrix(n, n, lambda i, j: sympy.Symbol(f"h_{min(i, j)}{max(i, j)}"))
    start = sympy.Matrix(sympy.symbols(f"s_0:{n}"))
    minimizer = sympy.Matrix(sympy.symbols(f"m_0:{n}"))
    offset = sympy.Symbol("c")
    theta = start + ALPHA * (minimizer - start)
    gap = theta - minimizer
    loss = (gap.T * hessian * gap)[0] / 2 + offset
    q = ((start - minimizer).T * hessian * (start - minimizer))[0]
    closed = (1 - ALPHA) ** value_power * q / 2 + offset
    return QuadraticPathResiduals(loss - closed,
                                  sympy.diff(loss, ALPHA) + (1 - ALPHA) ** slope_power * q)


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


def scalar_path(start: tuple) -> CounterExample:
    """The scalar deep linear path start -> MINIMIZER with its exact largest bump (a counter-example
    when the bump is > 0)."""
    loss = scalar_path_loss(start, MINIMIZER)
    return CounterExample(start, loss, exact_bump(loss))


def search_counter_example(candidates=CANDIDATE_COORDINATES) -> CounterExample | None:
    """The first start (in `candidates` order, both coordinates) with l(0) > 0 whose path to
    (1, 1) is not monotone, or None when there is none."""
    for start in itertools.product(candidates, repeat=2):
        if scalar_path_loss(start, MINIMIZER).subs(ALPHA, 0) == 0:
            continue
        example = scalar_path(start)
        if example.bump.height > 0:
            return example
    return None


def find_counter_example() -> CounterExample:
    """The first non-monotone start of CANDIDATE_COORDINATES (ValueError when there is none)."""
    example = search_counter_example()
    if example is None:
        raise ValueError("no candidate start gives a non-monotone path")
    return example


def judge_counter_example(example: CounterExample | None) -> Judgement:
    """Consistent when the path exists and its exact largest bump is > 0; violated otherwise
    (no candidate was non-monotone, or the path is monotone)."""
    if example is None:
        return Judgement(Verdict.VIOLATED, "no candidate start gives a non-monotone path", {})
    holds = bool(example.bump.height > 0)
    return Judgement(Verdict.CONSISTENT if holds else Verdict.VIOLATED,
                     f"{tuple(example.start)} -> (1, 1): {counter_example_detail(example)}", {})


def general_scalar_path() -> sympy.Poly:
    """l(alpha) of the scalar deep linear net from a general start (a1, a2) to a general end
    (b1, b2), as a polynomial in alpha."""
    a1, a2, b1, b2 = GENERAL_ENDPOINTS
    return sympy.Poly(scalar_path_loss((a1, a2), (b1, b2)), ALPHA)


def quartic_residual(general: sympy.Poly, half=None) -> sympy.Matrix:
    """(degree - 4, leading coefficient - half (b1 - a1)^2 (b2 - a2)^2): zero for the quartic at
    half = 1/2, the default (half = 1 is the false alternative)."""
    half = sympy.Rational(1, 2) if half is None else half
    a1, a2, b1, b2 = GENERAL_ENDPOINTS
    return sympy.Matrix([general.degree() - 4,
                         general.LC() - half * (b1 - a1) ** 2 * (b2 - a2) ** 2])


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
    wrong_power = quadratic_path(value_power=1, slope_power=2)
    general = general_scalar_path()
    example = search_counter_example()
    s.zero("quadratic-path-loss",
           "convex quadratic, theta_T = theta*: L(theta(alpha)) = (1 - alpha)^2 q/2 + c with "
           "q = (theta_0 - theta*)^T H (theta_0 - theta*), generic symmetric 3x3 H (n = 3)",
           quadratic.value,
           controls={"(1 - alpha) q/2 + c (the wrong power), at a rational point":
                     at_witness(wrong_power.value)})
    s.zero("quadratic-path-slope",
           "dL/dalpha = -(1 - alpha) q, which is <= 0 on [0, 1] since q >= 0 for H PSD: the "
           "path loss is monotone (a theorem for convex quadratics; generic symmetric 3x3 H)",
           quadratic.slope,
           controls={"-(1 - alpha)^2 q (the wrong power), at a rational point":
                     at_witness(wrong_power.slope)})
    s.zero("scalar-deep-linear-quartic",
           "l(alpha) = (1 - w1(alpha) w2(alpha))^2/2 is a quartic in alpha with leading "
           "coefficient (b1 - a1)^2 (b2 - a2)^2 / 2 (general endpoints, depth 2, width 1)",
           quartic_residual(general),
           controls={"leading coefficient (b1 - a1)^2 (b2 - a2)^2 (the 1/2 dropped), at a "
                     "rational point": at_witness(quartic_residual(general, half=1))})
    monotone_path = scalar_path(MONOTONE_START)
    s.decide("scalar-counter-example",
             "the scalar deep linear path from the first non-monotone start among "
             f"{list(CANDIDATE_COORDINATES)}^2 to the global minimizer theta_T = (1, 1) is NOT "
             "monotone: its exact largest bump max l - min_(alpha' <= alpha) l is > 0 (so "
             "monotonicity is empirical, not a theorem)",
             judge_counter_example, example,
             controls={f"the monotone path {tuple(MONOTONE_START)} -> (1, 1)": monotone_path},
             values=counter_example_values(example) if example is not None else {})
    s.table("path-losses", "Exact path losses (sympy)", ("path", "l(alpha)"),
            path_loss_rows(general, example if example is not None else monotone_path))
