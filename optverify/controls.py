"""Negative controls: the false alternative a decisive check rules out, built from its own data.

A check decides only if it could have said no. Each decisive check names a plausible false
alternative and the session feeds it through the check's own judging path (optverify.session):
- a rate: the measured points tilted to the alternative exponent (y x^(alt - p), or
  y e^((alt - r) x) for an exponential rate), which keeps their scatter and finite-size curvature;
  for an exponential claim also the points re-drawn as the best power law with the same residuals;
- an identity, inequality or sympy zero: the alternative's residual, margin or expression, supplied
  by the claim (e.g. the same computation on a perturbed instance);
- a proportion: the alternative true fraction, at the observed number of trials;
- any other decision (`Session.decide`): the alternative's data through the same judge.
Every decisive rate check also carries the default alternatives, beside any it names: the claimed
exponent off by DEFAULT_EXPONENT_SHIFT (an exponential rate off by DEFAULT_RELATIVE_RATE_SHIFT of
itself) in the direction(s) that break the bound (a constant for a bound that falls or grows at an
unstated rate). A check whose points share their randomness
tilts every resampled sweep the same way, so its controls carry the same resampled intervals.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from optverify.bound import Bound, BoundKind
from optverify.numerics.fit import ConfidenceInterval, RateFit

DEFAULT_EXPONENT_SHIFT = 0.25
"""A default alternative exponent lies a quarter away from the claimed one (a fixed choice: a
quarter of the gap between the rates that the package's papers set against each other, e.g.
kappa^1 against kappa^1/2, and well above the exponent resolution)."""


DEFAULT_RELATIVE_RATE_SHIFT = 0.25
"""A default alternative exponential rate lies a quarter of the claimed rate away from it (exp(-0.75
r x) or exp(-1.25 r x) against exp(-r x)): an absolute shift means nothing for a rate of 0.001
(its tilt underflows) and nothing for a rate of 50. Where the claimed rate is 0, the absolute
DEFAULT_EXPONENT_SHIFT."""


def _shift(bound: Bound) -> float:
    claimed = bound.exponent_value
    if bound.exponential and claimed:
        return DEFAULT_RELATIVE_RATE_SHIFT * abs(claimed)
    return DEFAULT_EXPONENT_SHIFT


def default_alternatives(bound: Bound) -> tuple[float, ...]:
    """Exponents that break the bound by DEFAULT_EXPONENT_SHIFT (DEFAULT_RELATIVE_RATE_SHIFT of an
    exponential rate): smaller than a lower bound,
    larger than an upper bound, on both sides of a tight one, in the order of sizes toward the
    bound's limit (toward 0 a smaller exponent is the larger quantity); for a bound that falls or
    grows at an unstated rate, a constant (exponent 0)."""
    if bound.kind in (BoundKind.FALLS, BoundKind.GROWS):
        return (0.0,)
    claimed, shift = bound.exponent_value, _shift(bound)
    larger = -shift if bound.limit == "zero" and not bound.exponential else shift
    if bound.kind is BoundKind.LOWER:
        return (claimed - larger,)
    if bound.kind is BoundKind.UPPER:
        return (claimed + larger,)
    return (claimed - shift, claimed + shift)


def tilted(x, y, fit: RateFit, exponent: float, exponential: bool) -> np.ndarray:
    """The points y re-tilted so that their fitted exponent (or rate) becomes `exponent`."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    shift = exponent - fit.exponent
    return y * (np.exp(shift * x) if exponential else x**shift)


def as_power_law(x, y, fit: RateFit) -> np.ndarray:
    """The points of an exponential fit re-drawn as the best power law through them, with the
    exponential fit's residuals: what the data would look like if the decay were a power law."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    u, v = np.log(x), np.log(y)
    residuals = v - (fit.intercept + fit.exponent * x)
    slope, intercept = np.polyfit(u, v, 1)
    return np.exp(intercept + slope * u + residuals)


def _moved(ci: ConfidenceInterval, shift: float) -> ConfidenceInterval:
    return ConfidenceInterval(ci.low + shift, ci.high + shift, ci.level)


def shifted(fit: RateFit, exponent: float) -> RateFit:
    """A fit moved to another exponent with the same interval width (for rates fitted elsewhere):
    every part the judge reads moves with it (each candidate model's exponent, interval and tail
    prediction, the tail slope, the local slopes), as the data tilted by x^shift would move them."""
    shift = exponent - fit.exponent
    models = tuple(replace(model, exponent=model.exponent + shift, ci=_moved(model.ci, shift),
                           tail_slope=None if model.tail_slope is None
                           else model.tail_slope + shift)
                   for model in fit.models)
    tail = fit.tail and replace(fit.tail, slope=fit.tail.slope + shift,
                                ci=_moved(fit.tail.ci, shift),
                                local_first=fit.tail.local_first + shift,
                                local_last=fit.tail.local_last + shift)
    return replace(fit, exponent=exponent, ci=_moved(fit.ci, shift), models=models, tail=tail,
                   local_slopes=tuple(slope + shift for slope in fit.local_slopes))


def describe_exponent(value: float) -> str:
    return f"exponent {value:.4g}"
