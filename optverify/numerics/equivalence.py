"""A ratio judged against a margin: two one-sided t-tests on the logs (TOST-style).

A claim about a ratio r of paired positive measurements (per-seed times T_deep / T_shallow, say)
is stated against a margin m fixed before measuring: "r >= m" (non-inferiority: "no material
speed-up") or "r < m" ("materially faster"). The geometric mean ratio is estimated from the logs
of the per-unit ratios (units independent: seeds, data sets), with Student's t. Two one-sided
tests at level alpha = 1 - `level` each (Schuirmann 1987's two one-sided tests, the FDA's and
EMA's equivalence rule):
- the claim "r >= m" is shown when the one-sided `level` LOWER confidence bound of r lies at or
  above m (the test of H0: r < m rejects at alpha);
- the opposite "r < m" is shown when the one-sided `level` UPPER bound lies below m.
The two bounds together are the two-sided (2 `level` - 1) interval (98% for `level` 0.99). At most
one of the two can be shown; neither shown means the data cannot tell the two apart (the
interval straddles the margin). A claim stated at a true ratio exactly at the margin is called
"the opposite shown" with probability at most alpha; a false alternative whose ratio lies a
factor exp(t * stderr) beyond the margin is separated with probability about 1/2, so the power
against a given alternative is a question of the number of units and their scatter, and
`units_to_separate` says how many units a scatter needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from optverify.numerics.fit import JUDGING_LEVEL, ConfidenceInterval

MARGIN_LEVEL = (1 + JUDGING_LEVEL) / 2
"""Confidence of each one-sided bound: 0.99 (alpha = 0.01 per test, the kit's judging level,
optverify.numerics.fit.JUDGING_LEVEL): a true claim at the margin is called the opposite at most
1% of the time, a false one beyond the margin is shown at most 1% of the time, and the reported
two-sided interval is the 98% one."""


@dataclass(frozen=True)
class RatioEstimate:
    """The geometric mean of per-unit ratios with its one-sided confidence bounds.

    ratios: the per-unit ratios (independent units, all positive and finite); geometric_mean:
    exp(mean log ratio); log_stderr: the standard error of the mean log ratio (ddof 1); lower,
    upper: the one-sided `level` confidence bounds of the geometric mean (t with n - 1 degrees of
    freedom), together the two-sided (2 level - 1) interval."""

    ratios: tuple[float, ...]
    geometric_mean: float
    log_stderr: float
    lower: float
    upper: float
    level: float

    @property
    def units(self) -> int:
        return len(self.ratios)

    @property
    def interval(self) -> ConfidenceInterval:
        """[lower, upper] as the two-sided interval at confidence 2 level - 1."""
        return ConfidenceInterval(self.lower, self.upper, 2 * self.level - 1)

    @property
    def log_scatter(self) -> float:
        """The sample standard deviation of the log ratios (0 for identical ratios)."""
        return self.log_stderr * math.sqrt(self.units)


def _check_level(level: float) -> None:
    if not 0.5 < level < 1:
        raise ValueError(f"a one-sided confidence level lies in (0.5, 1), got {level!r}")


def estimate_ratio(ratios, level: float = MARGIN_LEVEL) -> RatioEstimate:
    """The geometric mean of `ratios` (>= 2 positive finite numbers) and its one-sided `level`
    bounds from Student's t on the logs; a ValueError for anything else."""
    _check_level(level)
    values = np.asarray(ratios, dtype=float)
    if values.ndim != 1 or values.size < 2 or not np.all(np.isfinite(values)) \
            or np.any(values <= 0):
        raise ValueError(f"a ratio estimate needs >= 2 positive finite ratios, got {ratios!r}")
    logs = np.log(values)
    center = float(logs.mean())
    stderr = float(logs.std(ddof=1)) / math.sqrt(values.size)
    half = float(stats.t.ppf(level, values.size - 1)) * stderr
    return RatioEstimate(tuple(map(float, values)), math.exp(center), stderr,
                         math.exp(center - half), math.exp(center + half), level)


@dataclass(frozen=True)
class MarginTest:
    """A ratio claim "r >= margin" (`at_least` True) or "r < margin" judged by two one-sided
    tests. claim_shown: the claim's one-sided bound clears the margin; opposite_shown: the
    opposite's does; p_claim, p_opposite: the one-sided p-values of the tests whose rejection
    shows the claim and the opposite (p < 1 - level exactly when that side is shown)."""

    estimate: RatioEstimate
    margin: float
    at_least: bool
    claim_shown: bool
    opposite_shown: bool
    p_claim: float
    p_opposite: float

    @property
    def claim_text(self) -> str:
        return f"ratio {'>=' if self.at_least else '<'} {self.margin:g}"

    def describe(self) -> str:
        estimate = self.estimate
        return (f"ratio {estimate.geometric_mean:.3g}, one-sided {estimate.level:.0%} bounds "
                f"[{estimate.lower:.3g}, {estimate.upper:.3g}] over {estimate.units} units "
                f"(log scatter {estimate.log_scatter:.3g}) against {self.claim_text}: "
                + ("shown" if self.claim_shown else "opposite shown" if self.opposite_shown
                   else "not separated from the margin"))


def _one_sided_p(estimate: RatioEstimate, margin: float, above: bool) -> float:
    """p-value of H0 "r <= margin" (above True) or "r >= margin" (above False)."""
    distance = math.log(estimate.geometric_mean) - math.log(margin)
    if estimate.log_stderr == 0:
        return 0.0 if (distance > 0 if above else distance < 0) else 1.0
    statistic = distance / estimate.log_stderr
    t = stats.t(estimate.units - 1)
    return float(t.sf(statistic) if above else t.cdf(statistic))


def compare_ratio_to_margin(ratios, margin: float, at_least: bool,
                      level: float = MARGIN_LEVEL) -> MarginTest:
    """Two one-sided tests of the geometric mean ratio against `margin` (> 0, finite).
    at_least True: the claim is "r >= margin" (shown when the lower bound is >= margin, the
    opposite when the upper bound is < margin); False: the claim is "r < margin"."""
    if not (math.isfinite(margin) and margin > 0):
        raise ValueError(f"a ratio margin must be positive and finite, got {margin!r}")
    estimate = ratios if isinstance(ratios, RatioEstimate) else estimate_ratio(ratios, level)
    at_or_above, below = estimate.lower >= margin, estimate.upper < margin
    p_above = _one_sided_p(estimate, margin, above=True)
    p_below = _one_sided_p(estimate, margin, above=False)
    if at_least:
        return MarginTest(estimate, margin, True, at_or_above, below, p_above, p_below)
    return MarginTest(estimate, margin, False, below, at_or_above, p_below, p_above)



def units_to_separate(log_scatter: float, distance: float, level: float = MARGIN_LEVEL) -> int:
    """The smallest number of units n >= 2 with t_{level, n-1} * log_scatter / sqrt(n) <
    `distance` (in log ratio): the units at which a ratio `distance` beyond the margin, measured
    with this scatter, puts its one-sided bound past the margin."""
    _check_level(level)
    if not (log_scatter >= 0 and distance > 0):
        raise ValueError(f"need log_scatter >= 0 and distance > 0, got {log_scatter!r}, "
                         f"{distance!r}")
    units = 2
    while stats.t.ppf(level, units - 1) * log_scatter / math.sqrt(units) >= distance:
        units += 1
    return units
