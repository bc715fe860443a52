"""Judging a measurement against a claimed bound: consistent, violated or inconclusive.

Rates. A rate bound states its limit (x -> infinity, or x -> 0). The asymptotic fit
(optverify.numerics.asymptotic) tries a fixed list of models toward that limit, keeps the plausible
ones that bear out the tail of the sweep, and each surviving model's exponent interval [lo, hi] is
set against the claimed exponent a. Every interval is at the kit's judging level (98%: 1% per side,
optverify.numerics.fit.JUDGING_LEVEL), and a verdict is one of two one-sided tests, in the order
of sizes toward the limit (toward 0 the axis turns round: O(eta^2) asks for an exponent of at
least 2), with the resolution tol (`Bound.judging_resolution`: 0.02 for a power law, 2% of |a|
for an exponential rate) and the margin m (`Bound.judging_margin`: 0.05 for a power law, 5% of |a|
for an exponential, or the margin the bound states):
- LOWER  (Omega(x^a)): violated if hi < a - tol; consistent if lo >= a - m;
- UPPER  (O(x^a)):     violated if lo > a + tol; consistent if hi <= a + m;
- TIGHT  (Theta(x^a)): violated if [lo, hi] and [a - tol, a + tol] are disjoint; consistent if
  [lo, hi] lies within [a - m, a + m];
- otherwise inconclusive: the data cannot confirm the claim to within its margin (the interval is
  too wide, or reaches past the margin). A claim false by more than m is called consistent at most
  1% of the time; a true claim is called violated at most 1% of the time per side.
- FALLS / GROWS (rate not stated): consistent if the interval lies beyond -tol (falls) / +tol
  (grows), violated if it lies entirely on the other side of it, inconclusive otherwise.
The log-factor model also carries k in x^p |log x|^k beyond the stated log power: an interval of p
that does not clear a by tol, with k's interval above 0, is larger than x^a (violates an upper
bound); with k's interval below 0, smaller (violates a lower bound). The margin does not excuse a
log factor the claim leaves out: an interval of p that reaches a - tol with k's interval above 0
is never consistent with an upper bound (inconclusive where p's interval also reaches below
a - tol, where x^p log^k x could still be O(x^a)); with k's interval below 0, never with a lower
bound; a Theta bound needs k's interval to hold 0.
Settled models (the judge reads the limit the claim is about, not the model's extrapolation). The
data nearest the limit show the slope over the tail window; a model's exponent differs from the
slope its own fitted curve has there by its extrapolation (`ModelFit.extrapolation`): the part of
the exponent that rests on the model's form continuing beyond the sweep, which no point checks. A
consistent verdict confirms the exponent to within the margin m; a model whose extrapolation
exceeds m (a correction still large at the end of the sweep) would confirm it by more extrapolation
than the confirmation's own width, so the rule, fixed before measuring with the margin itself as
its constant, is: such a model is never consistent (inconclusive, "pre-asymptotic"), and its
violation stands only where the extrapolation does not carry it and the tail is not heading for the
claim (below): the tail slope's interval violates the bound, or the slope the model's own curve has
over the tail window, with the model's interval widths, violates it on the same side (session 7:
with only the first condition a 3-point float32 tail, slope 1.04 [-0.19, 2.28], kept every model
near 1 from violating a claimed 2). A model within the margin of its own tail slope
is judged by its interval as before. The log-factor model is exempt: its slope differs from p by
k / log x, a factor of the rate judged through k's interval (above), not a correction that vanishes.
A violation is never read off a tail that is still heading for the claim: where the tail slope's
interval lies beyond the whole sweep's straight-line slope by more than tol, toward a claimed
exponent that lies further on, and the local slopes inside the tail still move toward it by more
than tol, a violation is inconclusive ("pre-asymptotic") where every surviving model stops at the
tail (its exponent not beyond the tail slope toward the claim) and breaks the bound by its
exponent alone (a log power beyond the stated one still violates).
No surviving model: inconclusive ("pre-asymptotic", with the tail's local slopes), unless every
plausible model and the tail slope's own interval violate the bound and the tail is not heading
for the claim (then violated: whatever the model, the data break it). Surviving models
that disagree: inconclusive ("model-dependent", each model's interval and verdict). Otherwise their
common verdict (`rate_judgement`). A bound that holds with room to spare is consistent, and the
detail names the measured exponent. An exponential bound also needs the points to reject a power
law (`rate_judgement`).
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
from dataclasses import dataclass, replace

import mpmath
import numpy as np
import sympy

from optverify.bound import Bound, BoundKind
from optverify.numerics.asymptotic import fit_asymptotic_power_law
from optverify.numerics.fit import (
    EXPONENT_MARGIN,
    EXPONENT_RESOLUTION,
    ConfidenceInterval,
    FitScale,
    ModelFit,
    RateFit,
    fit_rate,
)
from optverify.numerics.growth import MIN_POINTS as MIN_GROWTH_POINTS
from optverify.numerics.growth import compare_growth
from optverify.numerics.resample import (
    Statistic,
    mean_over_units,
    resampled_points,
    resampled_slope_interval,
    validated_units,
)
from optverify.numerics import proportions
from optverify.numerics.proportions import PROPORTION_LEVEL
from optverify.results import Check, Judgement, Layer, Value, Verdict

EXPONENT_TOLERANCE = EXPONENT_RESOLUTION
"""The exponent resolution of a power-law rate (optverify.numerics.fit.EXPONENT_RESOLUTION)."""


def short(value) -> str:
    """A number in three significant digits: a float as '.3g', an mpmath number (which may lie
    below float range) through mpmath.nstr."""
    if isinstance(value, (int, float)):
        return format(value, ".3g")
    return mpmath.nstr(value, 3)


@dataclass(frozen=True)
class RateJudgement:
    """A rate's verdict with how it was reached.

    verdict: the common verdict of the surviving models (module docstring).
    reason: why the verdict is inconclusive where the models decide it ("pre-asymptotic: ...",
        "model-dependent: ..."), or why an exponential claim is not decided; empty otherwise.
    model_verdicts: (model name, verdict) for each surviving model of an asymptotic fit.
    tolerance: the resolution it was judged at.
    """

    verdict: Verdict
    reason: str
    model_verdicts: tuple[tuple[str, Verdict], ...]
    tolerance: float


def _toward_limit(low: float, high: float, bound: Bound) -> tuple[float, float, float]:
    """(low, high, claimed) in the order of sizes toward the bound's limit: toward 0 a smaller
    exponent is a larger quantity, so the axis turns round."""
    claimed = bound.exponent_value
    if bound.limit == "zero" and not bound.exponential:
        return -high, -low, -claimed
    return low, high, claimed


def judge_interval(ci: ConfidenceInterval, bound: Bound, tolerance: float,
                   log_power_ci: ConfidenceInterval | None = None) -> Verdict:
    """One model's exponent interval (and, for the log-factor model, the interval of a log power
    beyond the stated one) against a rate bound (module docstring)."""
    if bound.exponent is None or not bound.kind.is_rate:
        raise ValueError(f"bound {bound.describe()} has no exponent to judge a fit against")
    if not (math.isfinite(ci.low) and math.isfinite(ci.high)):
        return Verdict.INCONCLUSIVE
    low, high, claimed = _toward_limit(ci.low, ci.high, bound)
    if bound.kind is BoundKind.FALLS:
        return _unstated(high < -tolerance, low >= -tolerance)
    if bound.kind is BoundKind.GROWS:
        return _unstated(low > tolerance, high <= tolerance)
    extra_log = log_power_ci is not None and math.isfinite(log_power_ci.low)
    larger_log = extra_log and log_power_ci.low > 0  # a log factor beyond the stated one, shown
    smaller_log = extra_log and log_power_ci.high < 0
    above = low > claimed + tolerance or (larger_log and low >= claimed - tolerance)
    below = high < claimed - tolerance or (smaller_log and high <= claimed + tolerance)
    broken = {BoundKind.LOWER: below, BoundKind.UPPER: above, BoundKind.TIGHT: above or below}
    if broken[bound.kind]:
        return Verdict.VIOLATED
    room = bound.judging_margin
    within = {BoundKind.LOWER: low >= claimed - room
              and not (smaller_log and low <= claimed + tolerance),
              BoundKind.UPPER: high <= claimed + room
              and not (larger_log and high >= claimed - tolerance),
              BoundKind.TIGHT: claimed - room <= low and high <= claimed + room
              and not (larger_log or smaller_log)}
    return Verdict.CONSISTENT if within[bound.kind] else Verdict.INCONCLUSIVE


def _beyond_margin(ci: ConfidenceInterval, bound: Bound) -> bool:
    """Whether an interval that does not break a stated rate bound still reaches past its margin
    (the verdict is then inconclusive for want of precision)."""
    if not bound.kind.is_rate or bound.kind in (BoundKind.FALLS, BoundKind.GROWS):
        return False
    if not (math.isfinite(ci.low) and math.isfinite(ci.high)):
        return False
    return judge_interval(ci, bound, bound.judging_resolution) is Verdict.INCONCLUSIVE


def _margin_reason(ci: ConfidenceInterval, bound: Bound) -> str:
    side = {BoundKind.LOWER: "below", BoundKind.UPPER: "above", BoundKind.TIGHT: "beyond"}
    return (f"the {ci.level:.0%} interval [{ci.low:.4g}, {ci.high:.4g}] reaches "
            f"{side[bound.kind]} the margin {bound.judging_margin:.3g} of the claimed exponent "
            f"{bound.exponent_value:.4g}: the data cannot confirm it that closely")


def _unstated(beyond: bool, within: bool) -> Verdict:
    if beyond:
        return Verdict.CONSISTENT
    return Verdict.VIOLATED if within else Verdict.INCONCLUSIVE


def judge_fitted_exponent(fit: RateFit, bound: Bound, tolerance: float | None = None) -> Verdict:
    """A fitted exponent's interval (the fit's own, whatever its models) against the bound."""
    return judge_interval(fit.ci, bound,
                          bound.judging_resolution if tolerance is None else tolerance)


def rate_judgement(fit: RateFit, bound: Bound, tolerance: float | None = None) -> RateJudgement:
    """A fitted rate against its bound (module docstring): each surviving model of an asymptotic
    fit is judged, and they must agree; an exponential bound also needs the points to reject a
    power law (optverify.numerics.growth)."""
    tolerance = bound.judging_resolution if tolerance is None else tolerance
    if fit.models:
        return _models_judgement(fit, bound, tolerance)
    verdict = judge_interval(fit.ci, bound, tolerance)
    if verdict is Verdict.VIOLATED:
        return RateJudgement(verdict, "", (), tolerance)
    comparison = fit.comparison
    if (bound.exponential and comparison is not None and comparison.power_law_rejected
            and comparison.exponential_rejected and comparison.encompassing_ci is not None):
        encompassing = judge_interval(comparison.encompassing_ci, bound, tolerance)
        ci = comparison.encompassing_ci
        why = (f"a power law and a pure exponential are both rejected: judged on the rate of "
               f"y ~ x^c e^(r x), r = {comparison.encompassing_rate:.4g} [{ci.low:.4g}, "
               f"{ci.high:.4g}]")
        return RateJudgement(encompassing, why, (), tolerance)
    if bound.exponential and not (comparison is not None and comparison.power_law_rejected):
        if comparison is not None and comparison.exponential_rejected:
            return RateJudgement(Verdict.VIOLATED, "a power law fits the points and an "
                                 "exponential does not", (), tolerance)
        return RateJudgement(Verdict.INCONCLUSIVE, "the points cannot tell an exponential from "
                             "a power law", (), tolerance)
    reason = _margin_reason(fit.ci, bound) if _beyond_margin(fit.ci, bound) else ""
    return RateJudgement(verdict, reason, (), tolerance)


def _heading_for_claim(fit: RateFit, bound: Bound, tolerance: float) -> bool:
    """Whether the sweep's slope is still moving toward the claimed exponent: the tail slope's
    interval lies beyond the whole sweep's straight-line slope by more than the resolution, on the
    side of the claim, the claim lies further on, and the local slopes inside the tail window still
    move toward it by more than the resolution (the intervals guard against the local slopes'
    noise; the local slopes against curvature that ended before the tail)."""
    claimed, tail = bound.exponent_value, fit.tail
    straight = next((model for model in fit.models if model.name == "straight line"), None)
    if (claimed is None or tail is None or straight is None
            or bound.kind in (BoundKind.FALLS, BoundKind.GROWS)):
        return False
    rising = tail.ci.low > straight.exponent + tolerance and claimed > tail.ci.high
    falling = tail.ci.high < straight.exponent - tolerance and claimed < tail.ci.low
    still_moving = abs(tail.local_last - claimed) < abs(tail.local_first - claimed) - tolerance
    return (rising or falling) and still_moving


def _stopped_short(models, fit: RateFit, bound: Bound, tolerance: float) -> bool:
    """Whether every model breaks the bound by its exponent alone (not by a log power beyond the
    stated one, which a tail heading for the claimed exponent does not excuse) and stops at the
    tail: no model's exponent lies beyond the tail slope toward the claim by more than the
    resolution (a model that carries the motion on has modelled it, and its violation stands)."""
    claimed, slope = bound.exponent_value, fit.tail.slope
    toward = 1.0 if claimed > slope else -1.0
    return all(judge_interval(model.ci, bound, tolerance) is Verdict.VIOLATED
               and toward * (model.exponent - slope) <= tolerance for model in models)


def _settled_margin(bound: Bound) -> float:
    """The extrapolation a model may carry and still confirm a claim: the bound's margin
    (EXPONENT_MARGIN for a bound that states no rate)."""
    room = bound.judging_margin
    return EXPONENT_MARGIN if room is None else room


def _extrapolates(model: ModelFit, bound: Bound) -> bool:
    """Whether a surviving model's exponent rests on its form continuing past the sweep by more
    than the margin (module docstring): a correction model whose exponent lies farther than the
    margin from the slope its own curve has over the tail window. Not the log-factor model: its
    slope there differs from p by k / log x, a factor of the rate judged through k's interval,
    not a correction that vanishes."""
    return model.name != "log factor" and model.extrapolation > _settled_margin(bound)


def _curve_breaks(model: ModelFit, bound: Bound, tolerance: float) -> bool:
    """Whether a model's violation is not carried by its extrapolation: the slope its own curve
    has over the tail window, given the width of the model's exponent interval on each side,
    violates the bound as well (the claim lies beyond both the model's exponent and the slope it
    fitted to the data, so continuing the curve is not what breaks it)."""
    claimed = bound.exponent_value
    if model.tail_slope is None or claimed is None or (
            (model.exponent > claimed) != (model.tail_slope > claimed)):
        return False
    shifted = ConfidenceInterval(model.tail_slope - (model.exponent - model.ci.low),
                                 model.tail_slope + (model.ci.high - model.exponent),
                                 model.ci.level)
    return judge_interval(shifted, bound, tolerance) is Verdict.VIOLATED


def _model_verdict(model: ModelFit, bound: Bound, tolerance: float, tail_breaks: bool,
                   heading: bool) -> Verdict:
    """A surviving model's verdict: its interval's, except that a model that extrapolates is
    never consistent, and violates only where the tail itself breaks the bound (`tail_breaks`:
    the tail slope's interval violates it and the tail is not heading for the claim) or where its
    own curve does over the data (`_curve_breaks`) and the tail is not heading for the claim."""
    verdict = judge_interval(model.ci, bound, tolerance, model.log_power_ci)
    if not _extrapolates(model, bound):
        return verdict
    if verdict is Verdict.VIOLATED and (
            tail_breaks or (not heading and _curve_breaks(model, bound, tolerance))):
        return verdict
    return Verdict.INCONCLUSIVE


def _models_judgement(fit: RateFit, bound: Bound, tolerance: float) -> RateJudgement:
    surviving = fit.surviving
    if not surviving:
        tail = fit.tail
        plausible = [model for model in fit.models if model.plausible]
        verdicts = {judge_interval(model.ci, bound, tolerance, model.log_power_ci)
                    for model in plausible} | {judge_interval(tail.ci, bound, tolerance)}
        if verdicts == {Verdict.VIOLATED} and not _heading_for_claim(fit, bound, tolerance):
            return RateJudgement(Verdict.VIOLATED, (
                f"no model bears out the tail, but every plausible model and the tail slope "
                f"{tail.slope:.4g} [{tail.ci.low:.4g}, {tail.ci.high:.4g}] violate the bound, "
                f"and the local slopes ({tail.local_first:.4g} to {tail.local_last:.4g}) are not "
                f"heading for the claimed exponent"), (), tolerance)
        return RateJudgement(Verdict.INCONCLUSIVE, (
            f"pre-asymptotic: no plausible model bears out the tail, where the local slope still "
            f"moves from {tail.local_first:.4g} to {tail.local_last:.4g} over the last "
            f"{tail.n_points} points (tail slope {tail.slope:.4g} [{tail.ci.low:.4g}, "
            f"{tail.ci.high:.4g}])"), (), tolerance)
    heading = _heading_for_claim(fit, bound, tolerance)
    tail_breaks = (fit.tail is not None
                   and judge_interval(fit.tail.ci, bound, tolerance) is Verdict.VIOLATED
                   and not heading)
    verdicts = tuple((model.name, _model_verdict(model, bound, tolerance, tail_breaks, heading))
                     for model in surviving)
    extrapolating = [model for model in surviving if _extrapolates(model, bound)]
    if extrapolating and {verdict for _, verdict in verdicts} == {Verdict.INCONCLUSIVE}:
        model = extrapolating[0]
        return RateJudgement(Verdict.INCONCLUSIVE, (
            f"pre-asymptotic: {model.name} puts the exponent at {model.exponent:.4g}, "
            f"{model.extrapolation:.3g} beyond the slope {model.tail_slope:.4g} its own curve has "
            f"over the tail, more than the margin {_settled_margin(bound):.3g}: it extrapolates "
            f"the exponent rather than measuring it, and the tail slope {fit.tail.slope:.4g} "
            f"[{fit.tail.ci.low:.4g}, {fit.tail.ci.high:.4g}] (local slopes "
            f"{fit.tail.local_first:.4g} to {fit.tail.local_last:.4g}) does not itself break the "
            f"bound"), verdicts, tolerance)
    distinct = {verdict for _, verdict in verdicts}
    if len(distinct) > 1:
        words = "; ".join(f"{model.describe()} gives {verdict.value}"
                          for model, (_, verdict) in zip(surviving, verdicts))
        return RateJudgement(Verdict.INCONCLUSIVE, f"model-dependent: {words}", verdicts,
                             tolerance)
    verdict = distinct.pop()
    tail = fit.tail
    if (verdict is Verdict.VIOLATED and _heading_for_claim(fit, bound, tolerance)
            and _stopped_short(surviving, fit, bound, tolerance)):
        return RateJudgement(Verdict.INCONCLUSIVE, (
            f"pre-asymptotic: the surviving models break the bound, but the local slope still "
            f"moves from {tail.local_first:.4g} to {tail.local_last:.4g} toward the claimed "
            f"exponent over the last {tail.n_points} points"), verdicts, tolerance)
    wide = [model for model in surviving if _beyond_margin(model.ci, bound)]
    reason = _margin_reason(wide[0].ci, bound) if verdict is Verdict.INCONCLUSIVE and wide else ""
    return RateJudgement(verdict, reason, verdicts, tolerance)


def judge_rate(fit: RateFit, bound: Bound, tolerance: float | None = None) -> Verdict:
    """The verdict of `rate_judgement`."""
    return rate_judgement(fit, bound, tolerance).verdict


def _interval_digits(fit: RateFit) -> int:
    """Significant digits that show an interval's width: 4, more for a narrow interval."""
    scale, width = max(abs(fit.ci.low), abs(fit.ci.high), 1e-300), fit.ci.width
    if not (math.isfinite(scale) and math.isfinite(width)) or width <= 0:
        return 4
    return min(10, max(4, 2 + math.ceil(math.log10(scale / width))))


def describe_fit(fit: RateFit) -> str:
    rate = "exponent" if fit.scale is FitScale.LOG_LOG else "rate"
    digits = _interval_digits(fit)
    interval = (f"{fit.ci.level:.0%} bootstrap interval over the independent units"
                if fit.interval == "bootstrap" else f"{fit.ci.level:.0%} CI")
    text = (
        f"measured {rate} {fit.exponent:.{digits}g} ({interval} [{fit.ci.low:.{digits}g}, "
        f"{fit.ci.high:.{digits}g}], {fit.n_points} points over [{fit.x_min:.3g}, "
        f"{fit.x_max:.3g}])"
    )
    if fit.models:
        toward = "0" if fit.limit == "zero" else "infinity"
        kept = [model.describe() for model in fit.surviving]
        dropped = [f"{model.name} ({'fails the tail' if model.plausible else 'implausible'})"
                   for model in fit.models if not model.survives]
        text += (f"; models toward {toward}: surviving {', '.join(kept) or 'none'}; dropped "
                 f"{', '.join(dropped) or 'none'}")
        if fit.tail is not None:
            text += f"; {fit.tail.describe()}"
    elif fit.correction is not None:
        text += f"; {fit.correction.describe()}"
    if fit.comparison is not None:
        text += f"; {fit.comparison.describe()}"
    return text


def _tightness_note(fit: RateFit, bound: Bound, tolerance: float) -> str:
    if bound.kind not in (BoundKind.LOWER, BoundKind.UPPER):
        return ""
    low, high, claimed = _toward_limit(fit.ci.low, fit.ci.high, bound)
    loose_lower = bound.kind is BoundKind.LOWER and low > claimed + tolerance
    loose_upper = bound.kind is BoundKind.UPPER and high < claimed - tolerance
    if loose_lower or loose_upper:
        return (
            f"; the {bound.kind.value} bound holds but is not tight: "
            f"the measured exponent is {fit.exponent:.3g}"
        )
    return ""


def rate_detail(fit: RateFit, bound: Bound, judgement: RateJudgement) -> str:
    """A rate check's detail: the claim, the fit and its models, the verdict and why."""
    reason = f" ({judgement.reason})" if judgement.reason else ""
    note = (_tightness_note(fit, bound, judgement.tolerance)
            if judgement.verdict is Verdict.CONSISTENT else "")
    return (f"claimed {bound.describe()}; {describe_fit(fit)}: {judgement.verdict.value}{reason} "
            f"(exponent tolerance {judgement.tolerance:g}{_margin_words(bound)}){note}")


def _margin_words(bound: Bound) -> str:
    room = bound.judging_margin
    return "" if room is None else f", margin {room:.3g}"


def rate_check(
    layer: Layer,
    name: str,
    statement: str,
    fit: RateFit,
    bound: Bound,
    *,
    tolerance: float | None = None,
    decisive: bool = True,
    values: Mapping[str, Value] | None = None,
) -> Check:
    """A check of a fitted rate against a claimed exponent, with its verdict and wording."""
    judgement = rate_judgement(fit, bound, tolerance)
    return Check(
        layer=layer,
        name=name,
        statement=statement,
        verdict=judgement.verdict,
        detail=rate_detail(fit, bound, judgement),
        decisive=decisive,
        fit=fit,
        bound=bound,
        tolerance=judgement.tolerance,
        values=dict(values or {}),
    )


def rate_fit(x, y, bound: Bound, *, weights=None, resampled_y: np.ndarray | None = None,
             tolerance: float | None = None) -> RateFit:
    """The fit a rate bound is judged on: the asymptotic power-law exponent toward the bound's
    limit (optverify.numerics.asymptotic), or the exponential rate with its comparison against a
    power law (on the points with x > 0, when there are enough). weights: per-point weights of
    log y; resampled_y: (B, n_points) resampled sweeps for bootstrap intervals."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    tolerance = bound.judging_resolution if tolerance is None else tolerance
    if not bound.exponential:
        return fit_asymptotic_power_law(x, y, limit=bound.limit, log_power=bound.log_power_value,
                                        weights=weights, resampled_y=resampled_y,
                                        resolution=tolerance, offset=bound.offset,
                                        diverges=bound.diverges)
    fit = fit_rate(x, y, FitScale.LOG_LINEAR, weights=weights)
    if resampled_y is not None:
        fit = replace(fit, ci=resampled_slope_interval(x, resampled_y, weights), interval="bootstrap")
    positive = x > 0
    if positive.sum() < MIN_GROWTH_POINTS:
        return fit
    return replace(fit, comparison=compare_growth(x[positive], y[positive]))


@dataclass(frozen=True)
class ExponentJudgement:
    """A rate judged without a session (`judge_exponent`).

    verdict, detail: the verdict and its wording, as a rate check's.
    fit: the fit it was judged on (its models, tail, interval).
    judgement: how the verdict was reached (per-model verdicts, reason, resolution).
    """

    verdict: Verdict
    detail: str
    fit: RateFit
    judgement: RateJudgement


def judge_exponent(x, y, bound: Bound, *, weights=None, units=None,
                   statistic: Statistic | None = None, seed: int = 0,
                   tolerance: float | None = None) -> ExponentJudgement:
    """Judge the rate of y in x against a rate bound, as `Session.rate` does, without a session.

    weights: per-point weights of log y. units: an array (n_units, n_points) of independent units
    (paths, seeds, networks) shared by the points; y is then statistic(units) (default: the mean
    over the units) and may be None, and the intervals come from resampling the units, seeded by
    `seed`."""
    x = np.asarray(x, dtype=float).ravel()
    y, resampled = sweep_points(x.size, y, units, statistic, seed)
    fit = rate_fit(x, y, bound, weights=weights, resampled_y=resampled, tolerance=tolerance)
    judgement = rate_judgement(fit, bound, tolerance)
    return ExponentJudgement(judgement.verdict, rate_detail(fit, bound, judgement), fit,
                             judgement)


def sweep_points(n_points: int, y, units, statistic: Statistic | None,
                 seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(y, resampled sweeps or None): y as given, or statistic(units) where units are given (a
    given y must then equal it), with BOOTSTRAP_RESAMPLES resampled sweeps."""
    if units is None:
        if y is None:
            raise ValueError("a rate needs y, or units to compute it from")
        if statistic is not None:
            raise ValueError("a statistic applies to units; none were given")
        return np.asarray(y, dtype=float).ravel(), None
    units = validated_units(units, n_points)
    computed = np.asarray((statistic or mean_over_units)(units), dtype=float).ravel()
    if y is not None and not np.allclose(np.asarray(y, dtype=float).ravel(), computed,
                                         rtol=1e-12, atol=0.0):
        raise ValueError("y is not the statistic of the units (pass one or the other)")
    return computed, resampled_points(units, statistic, seed)


def judge_residual(residual: float, tolerance: float) -> Verdict:
    """An identity holds when |lhs - rhs| <= tolerance (floats or mpmath numbers, compared
    exactly, so a floor below float range still decides). An infinite residual violates it; a
    NaN residual (nothing measured) is inconclusive."""
    if mpmath.isnan(residual):
        return Verdict.INCONCLUSIVE
    if mpmath.isinf(residual):
        return Verdict.VIOLATED
    return Verdict.CONSISTENT if residual <= tolerance else Verdict.VIOLATED


def residual_judgement(residual, tolerance) -> Judgement:
    """`judge_residual` as a result object (the kit's `judge_residual`): the verdict, its wording
    and the residual and tolerance as values."""
    verdict = judge_residual(residual, tolerance)
    return Judgement(verdict, f"residual {short(residual)} against tolerance {short(tolerance)}: "
                     f"{verdict.value}", {"residual": short(residual),
                                          "tolerance": short(tolerance)})


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
    """The claim "the fraction is at least `threshold`", by the Clopper-Pearson interval at the
    kit's judging level (98%, 1% per side): violated when its upper end lies below the threshold,
    consistent when its lower end reaches it, inconclusive otherwise (the trials cannot tell the
    fraction from the threshold). A fraction below the threshold is called consistent at most 1%
    of the time."""
    low, high = clopper_pearson(successes, trials)
    if high < threshold:
        verdict = Verdict.VIOLATED
    else:
        verdict = Verdict.CONSISTENT if low >= threshold else Verdict.INCONCLUSIVE
    detail = (f"{successes} / {trials} = {successes / trials:.4g} ({PROPORTION_LEVEL:.0%} "
              f"Clopper-Pearson interval [{low:.4g}, {high:.4g}]) against at least "
              f"{threshold:g}: {verdict.value}")
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
