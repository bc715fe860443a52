"""The plan of a paper-scale run (`verify all --scale paper`), printed before anything runs: per
claim the sizes it runs at and an expected time (issue 20 item 2).

The expected times are estimates, not promises: each is a claim's measured full-run time
(FULL_RUN_SECONDS) times the growth of the part of its work that the paper scale enlarges; where
only that part grows this overestimates (the rest of the work is unchanged). A claim without paper
sizes runs its full sweeps, so its full time is the estimate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from optverify.datasets import DataSet
from optverify.theorems.depth_acceleration.ethanol import UCI_ETHANOL
from optverify.theorems.depth_acceleration.config import (
    FULL_DEPTH1_ITERATIONS,
    PAPER_DEPTH1_ITERATIONS,
)
from optverify.theorems.depth_acceleration.experiment import ExperimentConfig as DepthConfig

FULL_RUN_SECONDS = {
    "balancedness": 16.9, "end-to-end-preconditioner": 60.9,
    "deficiency-margin-convergence": 114.4, "pwl-conditioning": 59.9,
    "orthogonal-gradient-variance": 178.8, "saxe-dynamics": 45.0, "jacobian-products": 93.2,
    "end-to-end-snr": 123.2, "saddle-points": 65.8, "flat-activations": 14.3,
    "linear-interpolation": 55.6, "depth-acceleration": 129.3,
}
"""In-claim seconds of the full run: session 8's `verify all --workers 2` on 2 idle cores (9920f7d,
497 s wall in all), each claim's layer wall times summed (a layer's waits for its sub-tasks on the
other worker included)."""


@dataclass(frozen=True)
class PaperSizes:
    """What a claim's paper preset changes. sizes: in words; growth: the factor by which the
    enlarged part of the work grows over the full run (1: the full sweeps already are the
    paper's)."""

    sizes: str
    growth: float


_DEPTH_PAPER = DepthConfig.paper()


def depth_acceleration_growth() -> float:
    """The paper run's work over the full run's: the work per iteration (seeds x models x matrix
    size) times the ratio of the iterations each needs to its target, measured at depth 1 on l_4
    (the slowest column; the budgets are caps, not the work done)."""
    full = DepthConfig.full()
    per_iteration = (_DEPTH_PAPER.work() / _DEPTH_PAPER.steps) / (full.work() / full.steps)
    return per_iteration * PAPER_DEPTH1_ITERATIONS / FULL_DEPTH1_ITERATIONS


PAPER_SIZES = {
    "pwl-conditioning": PaperSizes(
        "Fig. 6 deep autoencoder at 500, 10,000 and 50,000 Adam iterations (full: 500, 10,000)",
        50_000 / 10_000),
    "end-to-end-snr": PaperSizes(
        "Setting I: race to 0.7 held-out accuracy, k = 1..4, 7 seeds, the decomposition within "
        "2,500 Adam steps and end-to-end to 8 x its time, at most 20,000 (full: k = 1, 3, 4, "
        "cap 400, 4 x; growth estimated from the e2e budgets)", 3.0),
    "orthogonal-gradient-variance": PaperSizes(
        "parity learning: 10d ReLU units, hinge loss, batch 128, 50,000 SGD steps, d = 5, 10, "
        "20, 30 (the full run already runs the paper's sizes)", 1.0),
    "depth-acceleration": PaperSizes(
        "Ethanol 2565 x 128 (the user's copy via --data uci-ethanol=PATH, else the stand-in) and "
        "the AR(1) set, widths 32, depths 1..8, GD to within 1e-5 of the optimum loss "
        f"(budget {_DEPTH_PAPER.steps:,} iterations), l_4 {_DEPTH_PAPER.sets[0].seeds} seeds, "
        f"l_2 {_DEPTH_PAPER.sets[0].l2_seeds}; growth = the work per iteration (seeds x models x "
        "matrix size) times the depth-1 iterations to each target "
        f"({PAPER_DEPTH1_ITERATIONS:,} vs the full run's {FULL_DEPTH1_ITERATIONS:,} to 1e-3 "
        f"(L(0) - L*); full: {'-'.join(str(s.seeds) for s in DepthConfig.full().sets)} and 64 "
        "seeds)", depth_acceleration_growth()),
}
"""The claims whose paper scale is stated; every other claim runs its full sweeps."""


@dataclass(frozen=True)
class ClaimPlan:
    """One claim's line of the plan; expected_s None where no full time was measured."""

    claim: str
    sizes: str
    expected_s: float | None


def known_datasets() -> tuple[DataSet, ...]:
    """The public data sets a claim can read from the user's copy (`--data NAME=PATH`)."""
    return (UCI_ETHANOL,)


def claim_plan(claim_id: str) -> ClaimPlan:
    stated = PAPER_SIZES.get(claim_id, PaperSizes("full sizes (no paper sizes stated)", 1.0))
    full_s = FULL_RUN_SECONDS.get(claim_id)
    return ClaimPlan(claim_id, stated.sizes, None if full_s is None else full_s * stated.growth)


def plan_lines(claim_ids: Sequence[str]) -> list[str]:
    """The plan in words: a line per claim, then the serial total."""
    plans = [claim_plan(claim_id) for claim_id in claim_ids]
    width = max((len(plan.claim) for plan in plans), default=0)
    lines = ["paper-scale plan (expected time: the full run's in-claim time on 2 CPU cores x the "
             "growth of the enlarged work):"]
    for plan in plans:
        expected = "unknown" if plan.expected_s is None else f"~{plan.expected_s:,.0f} s"
        lines.append(f"  {plan.claim:<{width}}  {expected:>10}  {plan.sizes}")
    known = [plan.expected_s for plan in plans if plan.expected_s is not None]
    unknown = len(plans) - len(known)
    lines.append(f"  total: ~{sum(known):,.0f} s serial"
                 + (f"; {unknown} claim(s) with no measured full time" if unknown else ""))
    return lines
