"""Judging a measurement against a claimed bound: consistent, violated or inconclusive.

Rates. A fitted exponent with confidence interval [lo, hi] (the asymptotic exponent, with its
finite-size correction modelled: optverify.numerics.asymptotic) is set against the claimed
exponent a, widened by the exponent resolution tol (`EXPONENT_TOLERANCE`, fixed once here):
- LOWER  (Omega(x^a)): violated if hi < a - tol, else consistent;
- UPPER  (O(x^a)):     violated if lo > a + tol, else consistent;
- TIGHT  (Theta(x^a)): violated if [lo, hi] and [a - tol, a + tol] are disjoint, else consistent.
A bound that holds with room to spare is consistent, and the detail names the measured exponent as
the tight one. An exponential bound also needs the points to reject a power law (`judge_rate`).
Not excluding the claim is only half of a decision: the other half is the power to exclude a false
alternative. Every decisive check carries negative controls (`optverify.results.Control`): the
named alternative fed through the same judging path. A control counts only when it is judged
violated: a check whose control is judged consistent or inconclusive cannot tell the claim from the
alternative and is inconclusive, saying which (optverify.session).
Identities: residual <= tolerance is consistent, above it violated, non-finite inconclusive.
Inequalities: a margin (rhs - lhs for lhs <= rhs) >= -tolerance is consistent, else violated.
A claim's verdict combines its decisive checks: violated beats error beats inconclusive beats
consistent; with no decisive check it is inconclusive.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import mpmath
import numpy as np
import sympy

from optverify.bound import Bound, BoundKind
from optverify.numerics.fit import FitScale, RateFit
from optverify.numerics import proportions
from optverify.numerics.proportions import PROPORTION_LEVEL
from optverify.results import Check, Judgement, Layer, Value, Verdict

EXPONENT_TOLERANCE = 0.02
"""The exponent resolution a verdict claims: an interval within 0.02 of the claimed exponent is
consistent with it. Fixed before any measurement, and small against the gaps a referee needs to
resolve (a slower T^-0.45 against a claimed T^-0.5 is 0.05 apart; 3.5 against 4 is 0.5). The
pre-asymptotic curvature of a finite sweep is modelled by the asymptotic fit
(optverify.numerics.asymptotic), not absorbed by this allowance."""


def short(value) -> str:
    """A number in three significant digits: a float as '.3g', an mpmath number (which may lie
    below float range) through mpmath.nstr."""
    if isinstance(value, (int, float)):
        return format(value, ".3g")
    return mpmath.nstr(value, 3)


def judge_exponent(fit: RateFit, bound: Bound, tolerance: float = EXPONENT_TOLERANCE) -> Verdict:
    """Judge a fitted exponent's interval against a LOWER, UPPER or TIGHT bound (module docstring):
    consistent when the interval does not exclude the bound, violated when it does."""
    claimed = bound.exponent_value
    if claimed is None:
        raise ValueError(f"bound {bound.describe()} has no exponent to judge a fit against")
    low, high = fit.ci.low, fit.ci.high
    if not (math.isfinite(low) and math.isfinite(high)):
        return Verdict.INCONCLUSIVE
    if bound.kind is BoundKind.LOWER:
        holds = high >= claimed - tolerance
    elif bound.kind is BoundKind.UPPER:
        holds = low <= claimed + tolerance
    elif bound.kind is BoundKind.TIGHT:
        holds = high >= claimed - tolerance and low <= claimed + tolerance
    else:
        raise ValueError(f"a {bound.kind.value} bound is not a rate")
    return Verdict.CONSISTENT if holds else Verdict.VIOLATED


def judge_rate(fit: RateFit, bound: Bound, tolerance: float = EXPONENT_TOLERANCE) -> Verdict:
    """A fitted rate against its bound. For an exponential bound the exponent's verdict stands only
    where the points reject a power law (optverify.numerics.growth): points that a power law
    explains while an exponential does not violate an exponential claim; points that cannot tell
    the two apart leave it inconclusive."""
    verdict = judge_exponent(fit, bound, tolerance)
    if not bound.exponential or verdict is Verdict.VIOLATED:
        return verdict
    comparison = fit.comparison
    if comparison is not None and comparison.power_law_rejected:
        return verdict
    if comparison is not None and comparison.exponential_rejected:
        return Verdict.VIOLATED
    return Verdict.INCONCLUSIVE


def _interval_digits(fit: RateFit) -> int:
    """Significant digits that show an interval's width: 4, more for a narrow interval."""
    scale, width = max(abs(fit.ci.low), abs(fit.ci.high), 1e-300), fit.ci.width
    if not (math.isfinite(scale) and math.isfinite(width)) or width <= 0:
        return 4
    return min(10, max(4, 2 + math.ceil(math.log10(scale / width))))


def describe_fit(fit: RateFit) -> str:
    rate = "exponent" if fit.scale is FitScale.LOG_LOG else "rate"
    digits = _interval_digits(fit)
    text = (
        f"measured {rate} {fit.exponent:.{digits}g} (95% CI [{fit.ci.low:.{digits}g}, "
        f"{fit.ci.high:.{digits}g}], {fit.n_points} points over [{fit.x_min:.3g}, {fit.x_max:.3g}])"
    )
    if fit.correction is not None:
        text += f"; {fit.correction.describe()}"
    if fit.comparison is not None:
        text += f"; {fit.comparison.describe()}"
    return text


def _tightness_note(fit: RateFit, bound: Bound, tolerance: float) -> str:
    claimed = bound.exponent_value
    loose_lower = bound.kind is BoundKind.LOWER and fit.ci.low > claimed + tolerance
    loose_upper = bound.kind is BoundKind.UPPER and fit.ci.high < claimed - tolerance
    if loose_lower or loose_upper:
        return (
            f"; the {bound.kind.value} bound holds but is not tight: "
            f"the measured exponent is {fit.exponent:.3g}"
        )
    return ""


def rate_check(
    layer: Layer,
    name: str,
    statement: str,
    fit: RateFit,
    bound: Bound,
    *,
    tolerance: float = EXPONENT_TOLERANCE,
    decisive: bool = True,
    values: Mapping[str, Value] | None = None,
) -> Check:
    """A check of a fitted rate against a claimed exponent, with its verdict and wording."""
    verdict = judge_rate(fit, bound, tolerance)
    detail = (
        f"claimed {bound.describe()}; {describe_fit(fit)}: {verdict.value} "
        f"(exponent tolerance {tolerance:g}){_tightness_note(fit, bound, tolerance)}"
    )
    return Check(
        layer=layer,
        name=name,
        statement=statement,
        verdict=verdict,
        detail=detail,
        decisive=decisive,
        fit=fit,
        bound=bound,
        tolerance=tolerance,
        values=dict(values or {}),
    )


def judge_residual(residual: float, tolerance: float) -> Verdict:
    """An identity holds when |lhs - rhs| <= tolerance (floats or mpmath numbers, compared
    exactly, so a floor below float range still decides)."""
    if not mpmath.isfinite(residual):
        return Verdict.INCONCLUSIVE
    return Verdict.CONSISTENT if residual <= tolerance else Verdict.VIOLATED


def identity_check(
    layer: Layer,
    name: str,
    statement: str,
    residual: float,
    tolerance: float,
    *,
    precision_digits: int | None = None,
    decisive: bool = True,
    values: Mapping[str, Value] | None = None,
) -> Check:
    """A check that an identity holds to within `tolerance` (residual = max |lhs - rhs|)."""
    verdict = judge_residual(residual, tolerance)
    digits = f" at {precision_digits} digits" if precision_digits else ""
    return Check(
        layer=layer,
        name=name,
        statement=statement,
        verdict=verdict,
        detail=f"residual {short(residual)} against tolerance {short(tolerance)}{digits}: "
        f"{verdict.value}",
        decisive=decisive,
        residual=float(residual),
        tolerance=float(tolerance),
        precision_digits=precision_digits,
        values=dict(values or {}),
    )


def judge_margin(margin, tolerance) -> Verdict:
    """lhs <= rhs holds when the margin rhs - lhs is at least -tolerance."""
    if not mpmath.isfinite(margin):
        return Verdict.INCONCLUSIVE
    return Verdict.CONSISTENT if margin >= -tolerance else Verdict.VIOLATED


def clopper_pearson(successes: int, trials: int, level: float = PROPORTION_LEVEL):
    """The exact (Clopper-Pearson) interval of a binomial proportion, as (low, high)
    (optverify.numerics.proportions)."""
    interval = proportions.clopper_pearson(successes, trials, level)
    return interval.low, interval.high


def judge_proportion(successes: int, trials: int, threshold: float) -> Judgement:
    """The claim "the fraction is at least `threshold`": violated when the Clopper-Pearson
    interval's upper end lies below it, consistent otherwise."""
    low, high = clopper_pearson(successes, trials)
    verdict = Verdict.VIOLATED if high < threshold else Verdict.CONSISTENT
    detail = (f"{successes} / {trials} = {successes / trials:.4g} (95% Clopper-Pearson interval "
              f"[{low:.4g}, {high:.4g}]) against at least {threshold:g}: {verdict.value}")
    return Judgement(verdict, detail, {"fraction": successes / trials, "ci_low": low,
                                       "ci_high": high, "threshold": threshold})


def inequality_check(
    layer: Layer,
    name: str,
    statement: str,
    margin: float,
    tolerance: float = 0.0,
    *,
    decisive: bool = True,
    values: Mapping[str, Value] | None = None,
) -> Check:
    """A check of lhs <= rhs through its margin rhs - lhs (the worst case over instances)."""
    finite = bool(mpmath.isfinite(margin))
    verdict = judge_margin(margin, tolerance)
    return Check(
        layer=layer,
        name=name,
        statement=statement,
        verdict=verdict,
        detail=f"worst margin {short(margin)} (tolerance {short(tolerance)}): {verdict.value}",
        decisive=decisive,
        residual=float(-margin) if finite else None,
        tolerance=float(tolerance),
        values=dict(values or {}),
    )


def symbolic_zero_check(
    name: str, statement: str, expression: sympy.Basic, *, decisive: bool = True,
    points_first: bool = False, seed: int = 0,
) -> Check:
    """A sympy proof that `expression` simplifies to zero (an identity proved exactly).

    Matrices are checked entry by entry. A non-zero constant disproves the identity. An entry sympy
    cannot reduce is evaluated exactly at WITNESS_DRAWS seeded random points of its symbols' declared
    domain (`witness_points`: every symbol its own value, no two equal): a non-zero value there
    disproves it too, with the point named; if every point gives zero (or no point can be
    evaluated) the check is inconclusive, and the points tried are named.

    points_first: look for such a point before simplifying, entry by entry (for a false
    alternative, expected non-zero: the first exact non-zero value disproves it without the
    simplification, which is the costly part; a zero entry costs its point evaluations).
    seed: the witnesses' seed (the session passes one derived from the run's seed and the check).
    """
    entries = list(expression) if isinstance(expression, sympy.MatrixBase) else [expression]
    verdict, detail = _zero_verdict(entries, points_first, seed)
    return Check(
        layer=Layer.SYMBOLIC,
        name=name,
        statement=statement,
        verdict=verdict,
        detail=detail,
        decisive=decisive,
        residual=0.0 if verdict is Verdict.CONSISTENT else None,
        tolerance=0.0,
    )


def _zero_verdict(entries: list, points_first: bool, seed: int) -> tuple[Verdict, str]:
    """(verdict, detail) of `symbolic_zero_check` for the entries of the difference."""
    if points_first:
        found = next(filter(None, (_counter_example(sympy.sympify(e), seed) for e in entries)),
                     None)
        if found:
            return Verdict.VIOLATED, found
    simplified = [sympy.simplify(sympy.expand(entry)) for entry in entries]
    nonzero = [entry for entry in simplified if entry != 0]
    if not nonzero:
        return Verdict.CONSISTENT, "sympy simplifies the difference to exactly 0"
    if any(entry.is_number for entry in nonzero):
        return Verdict.VIOLATED, f"sympy finds a non-zero difference: {nonzero[0]}"
    counter_examples = [found for found in (_counter_example(entry, seed) for entry in nonzero)
                        if found]
    if counter_examples:
        return Verdict.VIOLATED, counter_examples[0]
    tried = "; ".join(_describe_point(point) for point in
                      witness_points(sorted(nonzero[0].free_symbols, key=str), seed))
    return (Verdict.INCONCLUSIVE,
            f"sympy could not reduce the difference to 0: {sympy.sstr(nonzero[0])[:200]}; it "
            f"vanishes (or cannot be evaluated) at every witness tried: {tried}")


WITNESS_DRAWS = 4
"""Independent random points at which an unreduced difference is evaluated exactly."""
WITNESS_DENOMINATORS = (11, 98)
"""A real symbol's witness is num/den with den drawn from [11, 98] and the value in (0, 2): short
rationals, unlikely to be a root of the difference by accident."""
WITNESS_INTEGERS = (2, 13)
"""An integer symbol's witness is drawn from [2, 12] (dimensions, depths and counts are >= 2)."""
_COUNTER_EXAMPLE_DIGITS = 60
_COUNTER_EXAMPLE_FLOOR = sympy.Float("1e-40", _COUNTER_EXAMPLE_DIGITS)


def _witness(symbol: sympy.Symbol, rng: np.random.Generator) -> sympy.Rational:
    """One value inside `symbol`'s declared domain: a small integer for an integer symbol, a short
    rational in (0, 2) for the others, negated for a negative symbol."""
    if symbol.is_integer:
        value = sympy.Integer(int(rng.integers(*WITNESS_INTEGERS)))
    else:
        denominator = int(rng.integers(WITNESS_DENOMINATORS[0], WITNESS_DENOMINATORS[1] + 1))
        value = sympy.Rational(int(rng.integers(1, 2 * denominator)), denominator)
    return -value if symbol.is_negative else value


def witness_points(symbols: list, seed: int, draws: int = WITNESS_DRAWS) -> list[dict]:
    """`draws` seeded points, each giving every symbol its own value in its domain, no two symbols
    the same value (so a false identity that vanishes only where two symbols coincide is still
    disproved)."""
    rng = np.random.default_rng(seed)
    points = []
    for _ in range(draws):
        point: dict = {}
        for symbol in symbols:
            value = _witness(symbol, rng)
            while value in point.values():
                value = _witness(symbol, rng)
            point[symbol] = value
        points.append(point)
    return points


def _describe_point(point: dict) -> str:
    return ", ".join(f"{symbol} = {value}" for symbol, value in point.items()) or "no symbols"


def _counter_example(entry: sympy.Basic, seed: int = 0) -> str | None:
    """A witness point where `entry` is exactly a non-zero number, described; None when no witness
    shows one or the entry holds an undefined function."""
    if entry.atoms(sympy.core.function.AppliedUndef):
        return None
    symbols = sorted(entry.free_symbols, key=str)
    for point in witness_points(symbols, seed):
        value = entry.subs(point)
        if not value.is_number:
            continue
        number = value.evalf(_COUNTER_EXAMPLE_DIGITS)
        if number.is_finite and abs(number) > _COUNTER_EXAMPLE_FLOOR:
            if not symbols:
                return f"the difference is the non-zero number {sympy.sstr(number.evalf(6))}"
            return (f"the difference is {sympy.sstr(number.evalf(6))}, not 0, at "
                    f"{_describe_point(point)}")
    return None


def combine(checks: Iterable[Check]) -> Verdict:
    """A claim's verdict from its decisive checks (see module docstring)."""
    verdicts = {check.verdict for check in checks if check.decisive}
    for verdict in (Verdict.VIOLATED, Verdict.ERROR, Verdict.INCONCLUSIVE):
        if verdict in verdicts:
            return verdict
    return Verdict.CONSISTENT if verdicts else Verdict.INCONCLUSIVE
