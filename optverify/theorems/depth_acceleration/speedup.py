"""Time to a loss target, step-size selection, and the speed-up ratio's judgement.

Arora, Cohen, Hazan (2018), arXiv:1802.06509, Section 7: with an l_4 loss, depth (even one extra
scalar) makes GD reach a given training loss in fewer iterations than depth 1; with an l_2 loss it
does not. Made precise before measuring:
- time to target: the first iteration with L(w_t) <= L* + TARGET_FRACTION (L(w_0) - L*);
- per depth (or baseline), the step of a stated grid with the smallest mean time over seeds among
  the steps at which every seed reaches the target; the largest stable step is the largest grid
  step at which no seed diverges;
- the speed-up ratio T_N / T_1 per seed (same data and initial end-to-end vector), its 95%
  interval a t-interval on log(T_N / T_1) over seeds;
- "material": a ratio below MATERIAL_RATIO = 0.8. The paper's Figures 2-3 show depth-2 and depth-3
  l_4 curves reaching the depth-1 curve's final loss several times sooner (not 20% sooner); a 20%
  difference is also about the resolution of a grid with step ratio 2^(1/4) (the time to target
  scales like 1 / eta below the stability edge), so smaller differences are not read as speed-ups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from optverify.kit import Judgement, Verdict

TARGET_FRACTION = 1e-3
MATERIAL_RATIO = 0.8
LEVEL = 0.95


@dataclass(frozen=True)
class Selection:
    """A method's chosen grid step and its per-seed times (None when no grid step reaches the
    target on every seed), and its largest stable grid step (None when every step diverged)."""

    label: str
    step: float | None
    times: np.ndarray | None
    largest_stable: float | None
    steps_tried: int


def select_step(label: str, steps: np.ndarray, hits: np.ndarray, diverged: np.ndarray
                ) -> Selection:
    """steps: (k,) grid; hits, diverged: (seeds, k) for one method. Picks the step with the
    smallest mean time among those reached by every seed."""
    steps, hits, diverged = np.asarray(steps, float), np.asarray(hits), np.asarray(diverged)
    if hits.shape != diverged.shape or hits.shape[-1] != steps.size:
        raise ValueError(f"hits {hits.shape} and diverged {diverged.shape} must be (seeds, "
                         f"{steps.size})")
    reached = (hits >= 0).all(axis=0)
    stable = ~diverged.any(axis=0)
    largest = float(steps[stable].max()) if stable.any() else None
    if not reached.any():
        return Selection(label, None, None, largest, steps.size)
    means = np.where(reached, hits.mean(axis=0), np.inf)
    best = int(np.argmin(means))
    return Selection(label, float(steps[best]), hits[:, best].astype(float), largest, steps.size)


@dataclass(frozen=True)
class Ratio:
    """Per-seed ratios T_N / T_1, their geometric mean and 95% interval (t on the logs)."""

    ratios: np.ndarray
    mean: float
    low: float
    high: float


def ratio_interval(ratios) -> Ratio:
    """Geometric mean and the 95% t-interval of per-seed ratios (one seed: a point interval is not
    an interval, so at least two are needed)."""
    ratios = np.asarray(ratios, dtype=float)
    if ratios.ndim != 1 or ratios.size < 2 or not np.all(np.isfinite(ratios)) \
            or np.any(ratios <= 0):
        raise ValueError(f"a ratio interval needs >= 2 positive finite ratios, got {ratios}")
    logs = np.log(ratios)
    center = logs.mean()
    spread = logs.std(ddof=1) / math.sqrt(logs.size)
    half = stats.t.ppf(0.5 + LEVEL / 2, logs.size - 1) * spread
    return Ratio(ratios, math.exp(center), math.exp(center - half), math.exp(center + half))


def speedup_ratios(deep: Selection, shallow: Selection) -> np.ndarray | None:
    """T_deep / T_shallow per seed at the selected steps (None if either never reached it)."""
    if deep.times is None or shallow.times is None:
        return None
    return np.maximum(deep.times, 1) / np.maximum(shallow.times, 1)


def _describe(ratio: Ratio) -> str:
    return (f"ratio {ratio.mean:.3g} (95% interval [{ratio.low:.3g}, {ratio.high:.3g}] over "
            f"{ratio.ratios.size} seeds)")


def judge_faster(ratios, threshold: float = MATERIAL_RATIO) -> Judgement:
    """The claim "materially faster" (ratio < threshold): consistent when the interval lies below
    the threshold, violated when it lies at or above it, inconclusive when it straddles it.
    `ratios` None (a run never reached the target) is inconclusive."""
    return _judge(ratios, threshold, faster=True)


def judge_not_faster(ratios, threshold: float = MATERIAL_RATIO) -> Judgement:
    """The claim "no material speed-up" (ratio >= threshold): consistent when the interval lies at
    or above the threshold, violated when it lies below it, inconclusive when it straddles it."""
    return _judge(ratios, threshold, faster=False)


def _judge(ratios, threshold: float, faster: bool) -> Judgement:
    if ratios is None:
        return Judgement(Verdict.INCONCLUSIVE, "a run did not reach the target loss within its "
                         "iteration budget at any grid step", {"threshold": threshold})
    ratio = ratio_interval(ratios)
    below, above = ratio.high < threshold, ratio.low >= threshold
    if faster:
        verdict = Verdict.CONSISTENT if below else Verdict.VIOLATED if above else \
            Verdict.INCONCLUSIVE
        claim = f"< {threshold:g} ({'materially ' if threshold < 1 else ''}faster)"
    else:
        verdict = Verdict.CONSISTENT if above else Verdict.VIOLATED if below else \
            Verdict.INCONCLUSIVE
        claim = f">= {threshold:g} (no material speed-up)"
    values = {"ratio": ratio.mean, "ratio_low": ratio.low, "ratio_high": ratio.high,
              "threshold": threshold, "seeds": int(ratio.ratios.size)}
    return Judgement(verdict, f"{_describe(ratio)} against {claim}: {verdict.value}", values)


def at_geometric_mean(ratios, mean: float) -> np.ndarray:
    """The ratios rescaled to geometric mean `mean`, keeping their seed-to-seed scatter: a
    negative control's world (no speed-up: mean 1; a material one: mean 1/2)."""
    ratios = np.asarray(ratios, dtype=float)
    return ratios * mean / math.exp(np.log(ratios).mean())
