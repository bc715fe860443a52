"""Checks on the runs from far from Phi (`global_runs`), Theorems 1 and 2 of Arora, Cohen, Golowich,
Hu (2019), arXiv:1810.02281.

Theorem 1 from margins c = 0.1, 0.25, 0.5 and Theorem 2's random balanced initialization, both run
to l <= 1e-6 l(0) at fixed step sizes far above Theorem 1's step-size condition (the factor
eta / eta_max(c) is reported; see `global_runs` for why the theorem's own step cannot be run here):
the lemma at every step and the iteration count T = log(1e6) / (eta c^{2(N-1)/N}) are reported,
each with the false alternatives it rules out. Theorem 2's probability of a margin is its own
statement, in its own setting, and is decisive.
"""

from __future__ import annotations

import numpy as np
from mpmath import mp

from optverify.kit import Session, machine_epsilon
from optverify.theorems.deficiency_margin_convergence import global_runs
from optverify.theorems.deficiency_margin_convergence.global_runs import (
    LOW_PROBABILITY,
    MARGIN_PROBABILITY,
    GlobalRunConfig,
    RunSummary,
)
from optverify.theorems.deficiency_margin_convergence.theorem2_probability import (
    margin_probability_mp,
)

LEMMA_TOLERANCE = 64 * machine_epsilon("float64") / global_runs.REDUCTION**0.5
"""The relative rounding of l(t) at the smallest loss a run judges, l = 1e-6 l(0): l is a sum of
squares of entries of W_e - Phi, each rounded at eps ||Phi||_F = eps, relative to
||W_e - Phi||_F >= 1e-3 ||W_e(0) - Phi||_F >= 1e-3 x 0.5 (c <= 0.5; Theorem 2's draws start at
distance about 1): 64 eps / 1e-3."""


def _beyond(summary: RunSummary, runs: np.ndarray) -> str:
    ratio = summary.step_ratio()[runs]
    return f"eta / eta_max(c) = {ratio.min():.3g} .. {ratio.max():.3g}"


def _record_runs(s: Session, key: str, head: str, summary: RunSummary, runs: np.ndarray,
                 inside: bool = False) -> None:
    """The lemma and the iteration count on the runs `runs` of a summary: decisive when `inside`
    Theorem 1's hypotheses (eta = eta_max(c)), otherwise reported (beyond its step-size
    condition)."""
    regime = ("Inside every hypothesis of Theorem 1 (eta = eta_max(c))" if inside else
              f"Reported, not decisive: {_beyond(summary, runs)}, beyond Theorem 1's step-size "
              "condition")
    bound, hit, x = summary.bound[runs], summary.hit[runs], summary.guaranteed[runs]
    steps = summary.steps
    values = {"runs": int(runs.size), "steps run": steps,
              "l(0) (mean)": float(summary.initial_loss[runs].mean()),
              "t_hit (max)": int(hit.max()), "Theorem 1's T (min)": int(bound.min()),
              "t_hit / T (max)": float((hit / bound).max()),
              "min_t sigma_min(W_e(t)) - c (min)": float(
                  (summary.smallest_sigma[runs] - summary.margins[runs]).min()),
              "c (min)": float(summary.margins[runs].min()),
              "eta / eta_max(c) (min)": float(summary.step_ratio()[runs].min())}
    largest = summary.largest_decrease[runs]
    s.inequality(f"{key}-lemma",
                 f"{head}: the lemma l(t+1) <= (1 - eta sigma_min(W_e(t))^{{2(N-1)/N}}) l(t) at "
                 "every step until l <= 1e-6 l(0) (margin relative to l(t); tolerance: the relative "
                 f"rounding of l at 1e-6 l(0)). {regime}",
                 float(summary.lemma_margin[runs].min()), LEMMA_TOLERANCE, decisive=inside,
                 values={**values,
                         "lemma margin (min)": float(summary.lemma_margin[runs].min())},
                 controls={"a run that stops (l(t+1) = l(t)): margin -eta s_t^p":
                           float(-largest.max()),
                           "a run at half the lemma's decrease: margin -eta s_t^p / 2":
                           float(-largest.max() / 2)})
    s.inequality(f"{key}-iteration-count",
                 f"{head}: every run reaches l(t) <= 1e-6 l(0) within Theorem 1's "
                 "T = ceil(log(1e6) / (eta c^{2(N-1)/N})) steps at its eta and measured margin c "
                 f"(margin min (T - t_hit) / T). {regime}",
                 global_runs.hitting_margin(hit, bound, steps), 0.0, decisive=inside,
                 values=values,
                 controls={"a linear convergence at half the guaranteed rate, l(0)(1 - x/2)^t":
                           global_runs.hitting_margin(global_runs.half_rate_hitting(x), bound,
                                                      int(global_runs.half_rate_hitting(x).max())),
                           "a sublinear convergence l(0) / (1 + x t)":
                           global_runs.hitting_margin(global_runs.sublinear_hitting(x), bound,
                                                      int(global_runs.sublinear_hitting(x).max()))})


def _exact_margin_probability(inputs: int, scale: float) -> float:
    """P(||A - Phi|| < ||Phi||) for A ~ N(0, s^2 I_{d_0}), at 30 digits (a reference value for
    the Monte-Carlo fraction)."""
    with mp.workdps(30):
        return float(margin_probability_mp(inputs, scale, 0.0))


def _sweep_rows(sweep: global_runs.MarginSweep) -> list[tuple]:
    summary, rows = sweep.summary, []
    for i, margin in enumerate(sweep.margins):
        cell = sweep.cell(i)
        for j, eta in enumerate(sweep.step_sizes):
            runs = cell[j * sweep.instances:(j + 1) * sweep.instances]
            rows.append((summary.depth, margin, eta, float(summary.step_ratio()[runs].min()),
                         int(summary.hit[runs].max()), int(summary.bound[runs].min()),
                         float(summary.lemma_margin[runs].min())))
    return rows


def record(s: Session) -> None:
    """Theorem 1 from small margins and Theorem 2's random balanced init, each run to 1e-6 l(0)."""
    config = s.preset(quick=GlobalRunConfig.quick(), full=GlobalRunConfig.full(),
                      paper=GlobalRunConfig.paper())
    theorem_step = global_runs.theorem_step_runs(config.theorem_step_margins)
    for index, margin in enumerate(config.theorem_step_margins):
        _record_runs(s, f"theorem-step-n2-c{margin:g}",
                     f"Theorem 1 from margin c = {margin:g} at its own step eta_max(c) = "
                     f"{theorem_step.eta[index]:.4g} (N = 2, Phi = 1, W_1 = W_2 = sqrt(c): exactly "
                     f"balanced, ||W_e(0) - Phi|| = {1 - margin:g}), float64 GD to l <= 1e-6 l(0) "
                     f"in {int(theorem_step.hit[index])} steps", theorem_step,
                     np.array([index]), inside=True)
    rows = [(2, margin, float(theorem_step.eta[index]), 1.0, int(theorem_step.hit[index]),
             int(theorem_step.bound[index]), float(theorem_step.lemma_margin[index]))
            for index, margin in enumerate(config.theorem_step_margins)]
    for depth in s.progress(config.depths, "GD from small margins to 1e-6 l(0)"):
        sweep = global_runs.margin_sweep(depth, config.margins, config.step_sizes,
                                         config.instances,
                                         s.config.seed_for(f"small-margins-n{depth}"))
        for i, margin in enumerate(config.margins):
            head = (f"Theorem 1 from margin c = {margin:g} (N = {depth}, Phi = e_1^T 1 x 3, "
                    f"||W_e(0) - Phi||_F = {1 - margin:g}, hidden width 2, delta-balanced), "
                    f"float64 GD at eta in {config.step_sizes}, {config.instances} instances each")
            _record_runs(s, f"small-margin-n{depth}-c{margin:g}", head, sweep.summary,
                         sweep.cell(i))
        rows.extend(_sweep_rows(sweep))
    draws = global_runs.random_init_runs(config.draws, config.draw_inputs, config.draw_depth,
                                         config.draw_step_size,
                                         s.config.seed_for("theorem2-random-init"))
    setting = (f"Theorem 2 (d_N = 1, Phi = e_1^T, d_0 = {draws.inputs}, N = {config.draw_depth}): "
               "Procedure 1's balanced init of A ~ N(0, s^2 I), "
               f"s d_0 = {global_runs.DRAW_SCALE:g}")
    s.proportion("theorem2-random-init-margin",
                 f"{setting}: the fraction of {config.draws} draws with a positive deficiency "
                 f"margin is at least {MARGIN_PROBABILITY:g} (95% Clopper-Pearson)",
                 draws.positive, config.draws, MARGIN_PROBABILITY, rules_out=LOW_PROBABILITY,
                 values={"c of the draws with a margin (median)":
                         float(np.median(draws.draw_margins[draws.draw_margins > 0])),
                         "exact P(c > 0) (the numeric layer's quadrature)":
                         _exact_margin_probability(draws.inputs, draws.scale)})
    summary = draws.summary
    _record_runs(s, "theorem2-random-init-runs",
                 f"{setting}: the {draws.positive} draws with a margin, float64 GD at eta = "
                 f"{config.draw_step_size:g}", summary, np.arange(summary.eta.size))
    rows.append((config.draw_depth, "Theorem 2 draws", config.draw_step_size,
                 float(summary.step_ratio().min()), int(summary.hit.max()),
                 int(summary.bound.min()), float(summary.lemma_margin.min())))
    s.table("global-runs", "Runs from far from Phi to l <= 1e-6 l(0): the last step t_hit reached "
            "by any run of the cell against Theorem 1's T at that eta and margin (the smallest)",
            ("N", "c", "eta", "eta / eta_max(c) (min)", "t_hit (max)", "T (min)",
             "lemma margin (min)"), rows)
