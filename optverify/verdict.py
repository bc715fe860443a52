"""Judging a measurement against a claimed bound: consistent, violated or inconclusive.

Rates. A fitted exponent with confidence interval [lo, hi] is set against the claimed exponent a,
widened by an exponent tolerance tol that absorbs pre-asymptotic curvature of a finite sweep
(default `EXPONENT_TOLERANCE`, fixed once here; a check that needs another value states why):
- LOWER  (Omega(x^a)): consistent if lo >= a - tol; violated if hi < a - tol; else inconclusive.
- UPPER  (O(x^a)):     consistent if hi <= a + tol; violated if lo > a + tol; else inconclusive.
- TIGHT  (Theta(x^a)): consistent if [lo, hi] lies inside [a - tol, a + tol]; violated if the two
  intervals are disjoint; else inconclusive.
A bound that holds with room to spare is consistent, and the detail names the measured exponent as
the tight one.
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

from optverify.bound import Bound, BoundKind
from optverify.numerics.fit import FitScale, RateFit
from optverify.results import Check, Layer, Value, Verdict

EXPONENT_TOLERANCE = 0.1
"""Allowed deviation of a measured exponent from a claimed one before a finite sweep counts as
contradicting an asymptotic statement; about the curvature seen between neighbouring decades of a
log-log plot with first-order corrections."""


def short(value) -> str:
    """A number in three significant digits: a float as '.3g', an mpmath number (which may lie
    below float range) through mpmath.nstr."""
    if isinstance(value, (int, float)):
        return format(value, ".3g")
    return mpmath.nstr(value, 3)


def judge_exponent(fit: RateFit, bound: Bound, tolerance: float = EXPONENT_TOLERANCE) -> Verdict:
    """Judge a fitted exponent against a LOWER, UPPER or TIGHT bound (see module docstring)."""
    claimed = bound.exponent_value
    if claimed is None:
        raise ValueError(f"bound {bound.describe()} has no exponent to judge a fit against")
    low, high = fit.ci.low, fit.ci.high
    if not (math.isfinite(low) and math.isfinite(high)):
        return Verdict.INCONCLUSIVE
    if bound.kind is BoundKind.LOWER:
        if low >= claimed - tolerance:
            return Verdict.CONSISTENT
        return Verdict.VIOLATED if high < claimed - tolerance else Verdict.INCONCLUSIVE
    if bound.kind is BoundKind.UPPER:
        if high <= claimed + tolerance:
            return Verdict.CONSISTENT
        return Verdict.VIOLATED if low > claimed + tolerance else Verdict.INCONCLUSIVE
    if bound.kind is BoundKind.TIGHT:
        if claimed - tolerance <= low and high <= claimed + tolerance:
            return Verdict.CONSISTENT
        disjoint = high < claimed - tolerance or low > claimed + tolerance
        return Verdict.VIOLATED if disjoint else Verdict.INCONCLUSIVE
    raise ValueError(f"a {bound.kind.value} bound is not a rate")


def describe_fit(fit: RateFit) -> str:
    rate = "exponent" if fit.scale is FitScale.LOG_LOG else "rate"
    return (
        f"measured {rate} {fit.exponent:.4g} (95% CI [{fit.ci.low:.4g}, {fit.ci.high:.4g}], "
        f"{fit.n_points} points over [{fit.x_min:.3g}, {fit.x_max:.3g}])"
    )


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
    verdict = judge_exponent(fit, bound, tolerance)
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
    if not finite:
        verdict = Verdict.INCONCLUSIVE
    else:
        verdict = Verdict.CONSISTENT if margin >= -tolerance else Verdict.VIOLATED
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
    name: str, statement: str, expression: sympy.Basic, *, decisive: bool = True
) -> Check:
    """A sympy proof that `expression` simplifies to zero (an identity proved exactly).

    Matrices are checked entry by entry. A non-zero constant disproves the identity; an expression
    sympy cannot reduce either way is inconclusive.
    """
    entries = list(expression) if isinstance(expression, sympy.MatrixBase) else [expression]
    simplified = [sympy.simplify(sympy.expand(entry)) for entry in entries]
    nonzero = [entry for entry in simplified if entry != 0]
    if not nonzero:
        verdict, detail = Verdict.CONSISTENT, "sympy simplifies the difference to exactly 0"
    elif any(entry.is_number for entry in nonzero):
        verdict, detail = Verdict.VIOLATED, f"sympy finds a non-zero difference: {nonzero[0]}"
    else:
        verdict = Verdict.INCONCLUSIVE
        detail = f"sympy could not reduce the difference to 0: {sympy.sstr(nonzero[0])[:200]}"
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


def combine(checks: Iterable[Check]) -> Verdict:
    """A claim's verdict from its decisive checks (see module docstring)."""
    verdicts = {check.verdict for check in checks if check.decisive}
    for verdict in (Verdict.VIOLATED, Verdict.ERROR, Verdict.INCONCLUSIVE):
        if verdict in verdicts:
            return verdict
    return Verdict.CONSISTENT if verdicts else Verdict.INCONCLUSIVE
