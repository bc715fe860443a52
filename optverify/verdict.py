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
named alternative fed through the same judging path. A check whose control is also judged
consistent cannot tell the claim from the alternative and is inconclusive (optverify.session).
Identities: residual <= tolerance is consistent, above it violated, non-finite inconclusive.
Inequalities: a margin (rhs - lhs for lhs <= rhs) >= -tolerance is consistent, else violated.
A claim's verdict combines its decisive checks: violated beats error beats inconclusive beats
consistent; with no decisive check it is inconclusive.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import mpmath
import sympy
from scipy import stats

from optverify.bound import Bound, BoundKind
from optverify.numerics.fit import FitScale, RateFit
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


PROPORTION_LEVEL = 0.95


def clopper_pearson(successes: int, trials: int, level: float = PROPORTION_LEVEL):
    """The exact (Clopper-Pearson) interval of a binomial proportion, as (low, high)."""
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"a proportion needs 0 <= successes <= trials and trials >= 1, got "
                         f"{successes} / {trials}")
    result = stats.binomtest(int(successes), int(trials)).proportion_ci(level, method="exact")
    return float(result.low), float(result.high)


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
    points_first: bool = False,
) -> Check:
    """A sympy proof that `expression` simplifies to zero (an identity proved exactly).

    Matrices are checked entry by entry. A non-zero constant disproves the identity. An entry sympy
    cannot reduce is evaluated exactly at a few fixed points of its symbols' declared domain
    (`_counter_example`): a non-zero value there disproves it too, with the point named; if every
    point gives zero (or no point can be evaluated) the check is inconclusive.

    points_first: look for such a point before simplifying, entry by entry (for a false
    alternative, expected non-zero: the first exact non-zero value disproves it without the
    simplification, which is the costly part; a zero entry costs its point evaluations).
    """
    entries = list(expression) if isinstance(expression, sympy.MatrixBase) else [expression]
    verdict, detail = _zero_verdict(entries, points_first)
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


def _zero_verdict(entries: list, points_first: bool) -> tuple[Verdict, str]:
    """(verdict, detail) of `symbolic_zero_check` for the entries of the difference."""
    if points_first:
        found = next(filter(None, (_counter_example(sympy.sympify(e)) for e in entries)), None)
        if found:
            return Verdict.VIOLATED, found
    simplified = [sympy.simplify(sympy.expand(entry)) for entry in entries]
    nonzero = [entry for entry in simplified if entry != 0]
    if not nonzero:
        return Verdict.CONSISTENT, "sympy simplifies the difference to exactly 0"
    if any(entry.is_number for entry in nonzero):
        return Verdict.VIOLATED, f"sympy finds a non-zero difference: {nonzero[0]}"
    counter_examples = [found for found in map(_counter_example, nonzero) if found]
    if counter_examples:
        return Verdict.VIOLATED, counter_examples[0]
    return (Verdict.INCONCLUSIVE,
            f"sympy could not reduce the difference to 0: {sympy.sstr(nonzero[0])[:200]}")


_REAL_POINTS = (sympy.Rational(3, 7), sympy.Rational(5, 11), sympy.Rational(2, 9))
_INTEGER_POINTS = (sympy.Integer(2), sympy.Integer(3), sympy.Integer(5))
_COUNTER_EXAMPLE_DIGITS = 60
_COUNTER_EXAMPLE_FLOOR = sympy.Float("1e-40", _COUNTER_EXAMPLE_DIGITS)


def _domain_points(symbol: sympy.Symbol) -> tuple[sympy.Rational, ...]:
    """Fixed values inside a symbol's declared domain: small integers for integer symbols, numbers
    in (0, 1) for the others (negated for negative symbols)."""
    points = _INTEGER_POINTS if symbol.is_integer else _REAL_POINTS
    return tuple(-point for point in points) if symbol.is_negative else points


def _counter_example(entry: sympy.Basic) -> str | None:
    """A point of the symbols' domain where `entry` is exactly a non-zero number, described; None
    when there is none among the fixed points or the entry holds an undefined function."""
    if entry.atoms(sympy.core.function.AppliedUndef):
        return None
    symbols = sorted(entry.free_symbols, key=str)
    for shift in range(len(_REAL_POINTS)):
        point = {symbol: _domain_points(symbol)[(index + shift) % len(_REAL_POINTS)]
                 for index, symbol in enumerate(symbols)}
        value = entry.subs(point)
        if not value.is_number:
            continue
        number = value.evalf(_COUNTER_EXAMPLE_DIGITS)
        if number.is_finite and abs(number) > _COUNTER_EXAMPLE_FLOOR:
            if not symbols:
                return f"the difference is the non-zero number {sympy.sstr(number.evalf(6))}"
            where = ", ".join(f"{symbol} = {point[symbol]}" for symbol in symbols)
            return f"the difference is {sympy.sstr(number.evalf(6))}, not 0, at {where}"
    return None


def combine(checks: Iterable[Check]) -> Verdict:
    """A claim's verdict from its decisive checks (see module docstring)."""
    verdicts = {check.verdict for check in checks if check.decisive}
    for verdict in (Verdict.VIOLATED, Verdict.ERROR, Verdict.INCONCLUSIVE):
        if verdict in verdicts:
            return verdict
    return Verdict.CONSISTENT if verdicts else Verdict.INCONCLUSIVE
