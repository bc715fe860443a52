"""Time to a loss target, step-size selection, and the speed-up ratio's judgement.

Arora, Cohen, Hazan (2018), arXiv:1802.06509, Section 7: with an l_4 loss, depth (even one extra
scalar) makes GD reach a given training loss in fewer iterations than depth 1; with an l_2 loss it
does not. Made precise before measuring:
- time to target: the first iteration with L(w_t) <= L* + TARGET_FRACTION (L(w_0) - L*) at the
  quick and full scales; at the paper scale the paper's own target, L(w_t) <= L* + 1e-5
  (`LossTarget`, on targets scaled to unit mean square);
- the step: per seed (each seed is its own data set, as the paper's one data set) and per depth
  (or baseline), the step of a stated grid with the smallest time to target on that seed (the
  paper tunes each model's step on its data set). A step shared by all seeds (the smallest mean
  time among the steps every seed reaches, the rule before issue 18) is held back by the hardest
  seed, so what it estimates drifts with the number of seeds (ar1-heavy-tail, l_2, depth 2:
  T_2 / T_1 = 0.998 over 8 seeds, 0.644 over 40); the per-seed best does not;
- the speed-up ratio T_N / T_1 per seed (same data and initial end-to-end vector);
- the judge (`optverify.numerics.equivalence`): two one-sided t-tests on the log ratios at 1%
  each (TOST-style, the kit's judging level), against the margin MATERIAL_RATIO = 0.8 fixed
  before measuring. "Materially faster" (l_4) is shown when the one-sided 99% upper bound of the
  geometric mean ratio lies below 0.8 and refuted when the lower bound lies at or above it; "no material speed-up" (l_2) is shown
  when the lower bound lies at or above 0.8 (non-inferiority) and refuted when the upper bound
  lies below it; otherwise inconclusive. The paper's Figures 2-3 show depth-2 and depth-3 l_4
  curves reaching the depth-1 curve's final loss several times sooner (not 20% sooner); a 20%
  difference is also about the resolution of a grid with step ratio 2^(1/4) (the time to target
  scales like 1 / eta below the stability edge), so smaller differences are not read as speed-ups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optverify.kit import Judgement, Verdict
from optverify.numerics.equivalence import MarginTest, compare_ratio_to_margin

TARGET_FRACTION = 1e-3
MATERIAL_RATIO = 0.8

PAPER_EXCESS = 1e-5
"""The paper scale's target: training loss within 1e-5 of the optimum loss, absolute (the paper's
setting as issue 20 states it for Arora, Cohen, Hazan 2018), on targets scaled to unit mean
square."""


@dataclass(frozen=True)
class LossTarget:
    """The loss a run must reach: L* + excess (L(0) - L*) when `relative`, else L* + excess."""

    excess: float
    relative: bool

    def __post_init__(self) -> None:
        if not self.excess > 0:
            raise ValueError(f"the target's excess must be positive, got {self.excess!r}")

    def level(self, optimum, start):
        """The loss to reach, per seed (arrays of optimum and start losses)."""
        optimum = np.asarray(optimum, dtype=float)
        if self.relative:
            return optimum + self.excess * (np.asarray(start, dtype=float) - optimum)
        return optimum + self.excess

    def describe(self) -> str:
        return (f"L <= L* + {self.excess:g} (L(0) - L*)" if self.relative
                else f"L <= L* + {self.excess:g}")


RELATIVE_TARGET = LossTarget(TARGET_FRACTION, relative=True)
PAPER_TARGET = LossTarget(PAPER_EXCESS, relative=False)


@dataclass(frozen=True)
class Selection:
    """A method's per-seed chosen grid steps and times (both None when some seed reaches the
    target at no grid step), and per seed its largest stable grid step (NaN when every step
    diverged on that seed)."""

    label: str
    steps: np.ndarray | None
    times: np.ndarray | None
    largest_stable: np.ndarray
    steps_tried: int


def select_steps(label: str, steps: np.ndarray, hits: np.ndarray, diverged: np.ndarray
                 ) -> Selection:
    """steps: (k,) ascending grid; hits, diverged: (seeds, k) for one method (hits -1: not
    reached). Per seed, the step with the smallest time (the smaller step on a tie)."""
    steps, hits, diverged = np.asarray(steps, float), np.asarray(hits), np.asarray(diverged)
    if hits.ndim != 2 or hits.shape != diverged.shape or hits.shape[-1] != steps.size:
        raise ValueError(f"hits {hits.shape} and diverged {diverged.shape} must be (seeds, "
                         f"{steps.size})")
    largest = np.array([steps[~row].max() if (~row).any() else np.nan for row in diverged])
    times = np.where(hits >= 0, hits, np.iinfo(np.int64).max)
    if not (hits >= 0).any(axis=1).all():
        return Selection(label, None, None, largest, steps.size)
    best = times.argmin(axis=1)
    return Selection(label, steps[best], hits[np.arange(hits.shape[0]), best].astype(float),
                     largest, steps.size)


def speedup_ratios(deep: Selection, shallow: Selection) -> np.ndarray | None:
    """T_deep / T_shallow per seed at the selected steps (None if either never reached it)."""
    if deep.times is None or shallow.times is None:
        return None
    return np.maximum(deep.times, 1) / np.maximum(shallow.times, 1)


def judge_faster(ratios, threshold: float = MATERIAL_RATIO) -> Judgement:
    """The claim "materially faster" (ratio < threshold), two one-sided tests: consistent when the
    upper bound lies below the threshold, violated when the lower bound lies at or above it,
    inconclusive otherwise. `ratios` None (a run never reached the target) is inconclusive."""
    return _judge(ratios, threshold, at_least=False)


def judge_not_faster(ratios, threshold: float = MATERIAL_RATIO) -> Judgement:
    """The claim "no material speed-up" (ratio >= threshold, non-inferiority), two one-sided
    tests: consistent when the lower bound lies at or above the threshold, violated when the upper
    bound lies below it, inconclusive otherwise."""
    return _judge(ratios, threshold, at_least=True)


def _judge(ratios, threshold: float, at_least: bool) -> Judgement:
    if ratios is None:
        return Judgement(Verdict.INCONCLUSIVE, "a seed did not reach the target loss within its "
                         "iteration budget at any grid step", {"threshold": threshold})
    test = compare_ratio_to_margin(ratios, threshold, at_least)
    verdict = _verdict(test)
    wording = ("no material speed-up" if at_least else
               "materially faster" if threshold < 1 else "faster")
    estimate = test.estimate
    values = {"ratio": estimate.geometric_mean, "ratio_low": estimate.lower,
              "ratio_high": estimate.upper, "interval_level": estimate.interval.level,
              "log_scatter": estimate.log_scatter, "p_claim": test.p_claim,
              "p_opposite": test.p_opposite, "threshold": threshold,
              "seeds": estimate.units}
    return Judgement(verdict, f"{test.describe()} ({wording}): {verdict.value}", values)


def _verdict(test: MarginTest) -> Verdict:
    if test.claim_shown:
        return Verdict.CONSISTENT
    return Verdict.VIOLATED if test.opposite_shown else Verdict.INCONCLUSIVE


def at_geometric_mean(ratios, mean: float) -> np.ndarray:
    """The ratios rescaled to geometric mean `mean`, keeping their seed-to-seed scatter: a
    negative control's world (no speed-up: mean 1; a material one: mean 1/2)."""
    ratios = np.asarray(ratios, dtype=float)
    return ratios * mean / math.exp(np.log(ratios).mean())
