"""Theorem 1's grid of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281, recorded per depth N
(runs in grid_runs): inside the hypotheses, the hypotheses met, the lemma at every step, the fitted
decay rate of log l(t) against the guaranteed -log(1 - eta c^{2(N-1)/N}) and the rate's exponent
in eta; outside the step-size hypothesis (reported), the same rate and how loose the guarantee is;
the rate, loss-curve and large-step tables and panels.
"""

from __future__ import annotations

import numpy as np

from optverify.kit import Bound, Panel, Series, Session, fit_power_law, rate_panel
from optverify.theorems.deficiency_margin_convergence import long_runs
from optverify.theorems.deficiency_margin_convergence.conditions import (
    contraction_exponent,
    hypotheses_judgement,
)
from optverify.theorems.deficiency_margin_convergence.config import ExperimentConfig
from optverify.theorems.deficiency_margin_convergence.gradient_descent import (
    loss_curve_series,
    rate_resolution,
)
from optverify.theorems.deficiency_margin_convergence.grid_runs import (
    HARDER_PERTURBATION,
    DepthRuns,
    fitted_rates,
    half_rate_runs,
    mean_rates,
)

RATE_IN_STEP_SIZE = Bound.upper("eta", 1)
"""Theorem 1 guarantees rate >= eta c^{2(N-1)/N} for every eta up to its bound: as eta -> 0 the rate
cannot fall faster than eta^1, an upper bound on the exponent (gradient flow makes it exactly 1)."""


def _finite_min(values: np.ndarray) -> float:
    """The smallest finite value; NaN (an inconclusive margin) when no value is finite."""
    finite = values[np.isfinite(values)]
    return float(finite.min()) if finite.size else float("nan")


def _record_rate_exponent(s: Session, name: str, statement: str, eta: np.ndarray,
                          rate: np.ndarray, decisive: bool = True, sanity: bool = False) -> None:
    """The decay rate's exponent in eta, fitted over the step sizes whose rate the dtype resolves
    (a finite positive rate; inconclusive, below precision, when fewer than three do)."""
    s.rate(name, statement, eta, rate, RATE_IN_STEP_SIZE, decisive=decisive, sanity=sanity,
           resolved=np.isfinite(rate) & (rate > 0))


def record_depth(s: Session, run: DepthRuns, config: ExperimentConfig) -> None:
    depth, inside, outside = run.depth, run.inside, run.outside
    inside_ratio = inside.rate / inside.guaranteed
    outside_ratio = outside.rate / outside.guaranteed
    middle = len(config.margins) // 2
    s.decide(f"hypotheses-met-n{depth}",
             f"N = {depth}: every inside-hypotheses run meets Theorem 1's margin c > 0 and "
             "balancedness delta <= c^2/(256 N^3 ||Phi||_F^{2(N-1)/N}) (both measured on the "
             "perturbed factors) at its own step size (eta = eta_max(c) x fraction, so the "
             "step-size part holds by construction)", hypotheses_judgement, inside.hypotheses,
             controls={f"the same W_e(0) with a {HARDER_PERTURBATION:g} times larger balancing "
                       "perturbation (not delta-balanced)": inside.hypotheses_harder})
    tolerance = rate_resolution(s.dtype)
    resolvable = inside.smallest_guaranteed_decrease(depth) > tolerance
    statement = (f"N = {depth}, inside the hypotheses, over the first {config.inside_steps} "
                 "steps of every (margin, eta_max x fraction, instance) run: l(t+1) <= (1 - eta "
                 "sigma_min(W_e(t))^{2(N-1)/N}) l(t) (margin relative to l(t), tolerance: the "
                 "dtype's rounding floor 64 eps of a relative difference); the runs to "
                 "l <= 1e-6 l(0) are long-run-lemma-*")
    unresolved = "" if resolvable else (
        f"the smallest guaranteed per-step decrease eta c^p = "
        f"{inside.smallest_guaranteed_decrease(depth):.3g} is under the {s.dtype} tolerance "
        f"{tolerance:.3g}, so a run that stops would pass too (worst margin "
        f"{inside.lemma_margin(depth):.3g}); not decisive")
    s.inequality(f"lemma-every-step-n{depth}", statement, inside.lemma_margin(depth),
                 tolerance, values={"steps": config.inside_steps}, decisive=resolvable,
                 below_precision=unresolved,
                 controls={"a run that stops at the initialization (l(t) = l(0))":
                           inside.lemma_margin(depth, long_runs.stopped_run(inside.losses)),
                           "a run at half the lemma's decrease": inside.lemma_margin(
                               depth, long_runs.slower_run(inside.losses, inside.sigmas,
                                                           inside.eta, depth))})
    half = fitted_rates(half_rate_runs(inside), [config.inside_steps] * len(
        config.inside_fractions), run.problem.floor, run.problem.resolution)
    statement = (f"N = {depth}, inside the hypotheses, first {config.inside_steps} steps: fitted "
                 "rate of log l(t) >= -log(1 - eta c^{2(N-1)/N}) (margin: min measured/guaranteed "
                 "- 1, over the runs whose rate the dtype resolves)")
    values = {"min ratio": _finite_min(inside_ratio), "max ratio": -_finite_min(-inside_ratio)}
    half_decrease = config.inside_steps * inside.smallest_guaranteed_decrease(depth) / 2
    margin = _finite_min(inside_ratio) - 1
    resolvable = half_decrease > run.problem.resolution
    unresolved = "" if resolvable else (
        f"at half the guaranteed rate the smallest run would decrease by {half_decrease:.3g} "
        f"over the window, under the {s.dtype} rate resolution {run.problem.resolution:.3g}, so "
        f"the check cannot tell it from the claim (measured worst margin {margin:.3g}); not "
        "decisive")
    s.inequality(f"rate-above-guarantee-n{depth}", statement, margin, 0.0, values=values,
                 decisive=resolvable, below_precision=unresolved,
                 controls={"a linear convergence at half the guaranteed rate":
                           _finite_min(half / inside.guaranteed) - 1})
    _record_rate_exponent(
        s, f"rate-exponent-inside-n{depth}",
        f"N = {depth}, inside the hypotheses (c = {config.margins[middle]}, mean over "
        f"{config.instances} instances): decay rate vs eta over eta_max x "
        f"{config.inside_fractions}; a sanity check: at eta <= 1e-7 the rate of any smooth "
        "descent is linear in eta to first order (Taylor), so the exponent 1 cannot fail",
        inside.eta[middle].mean(axis=-1), mean_rates(inside.rate[middle]), sanity=True)
    _record_rate_exponent(
        s, f"rate-exponent-outside-n{depth}",
        f"N = {depth}, OUTSIDE the step-size hypothesis (eta {min(config.outside_step_sizes):g}.."
        f"{max(config.outside_step_sizes):g}, c = {config.margins[middle]}, mean over "
        f"{config.instances} instances): decay rate vs eta",
        np.array(config.outside_step_sizes), mean_rates(outside.rate[middle]), decisive=False)
    s.inequality(f"rate-above-guarantee-outside-n{depth}",
                 f"N = {depth}, OUTSIDE the step-size hypothesis: fitted rate >= guaranteed and "
                 "l(t) <= l(0)(1 - eta c^p)^t (margin: min measured/guaranteed - 1)",
                 _finite_min(outside_ratio) - 1, 0.0, decisive=False,
                 values={"min ratio": _finite_min(outside_ratio),
                         "max ratio": -_finite_min(-outside_ratio),
                         "envelope margin": outside.envelope_margin})


def large_step_rows(run: DepthRuns, config: ExperimentConfig) -> list[tuple]:
    """Per (N, eta): runs ending above l(0) or non-finite, and runs breaking the envelope."""
    diverged = ~np.isfinite(run.large.final_ratio) | (run.large.final_ratio > 1)
    broken = run.large.envelope_margin < 0
    return [(run.depth, eta, int(diverged[:, j].sum()), int(broken[:, j].sum()), diverged[:, j].size)
            for j, eta in enumerate(config.large_step_sizes)]


def depth_rows(run: DepthRuns, config: ExperimentConfig) -> list[tuple]:
    inside, outside = run.inside, run.outside
    rows = []
    for i, c in enumerate(config.margins):
        for j, fraction in enumerate(config.inside_fractions):
            rows.append((run.depth, f"inside (eta_max x {fraction:g})", c,
                         float(inside.eta[i, j].mean()), float(mean_rates(inside.rate[i, j])),
                         float(inside.guaranteed[i, j].mean()),
                         float(mean_rates(inside.rate[i, j] / inside.guaranteed[i, j]))))
        for j, eta in enumerate(config.outside_step_sizes):
            rows.append((run.depth, "OUTSIDE (step size)", c, eta,
                         float(mean_rates(outside.rate[i, j])),
                         float(outside.guaranteed[i, j].mean()),
                         float(mean_rates(outside.rate[i, j] / outside.guaranteed[i, j]))))
    return rows


def step_size_panel(run: DepthRuns, config: ExperimentConfig) -> Panel:
    middle = len(config.margins) // 2
    eta = np.concatenate([run.inside.eta[middle].mean(axis=-1), config.outside_step_sizes])
    rate = np.concatenate([mean_rates(run.inside.rate[middle]),
                           mean_rates(run.outside.rate[middle])])
    resolved = np.isfinite(rate) & (rate > 0)
    title = (f"N = {run.depth}, c = {config.margins[middle]} (left: inside, right: outside the "
             "hypotheses)")
    if resolved.sum() >= 3:
        panel = rate_panel(title, "step size eta", "decay rate of log l per step", eta[resolved],
                           rate[resolved], fit_power_law(eta[resolved], rate[resolved]),
                           RATE_IN_STEP_SIZE)
    else:
        panel = Panel(title, "step size eta", "decay rate of log l per step (below precision)")
    guaranteed = np.sort(eta)
    c_power = config.margins[middle] ** contraction_exponent(run.depth)
    line = Series("Theorem 1 guarantee -log(1 - eta c^p)", tuple(guaranteed),
                  tuple(-np.log1p(-guaranteed * c_power)), "dashed")
    return Panel(panel.title, panel.xlabel, panel.ylabel, panel.series + (line,))


def loss_panel(runs, config: ExperimentConfig) -> Panel:
    series = []
    eta = min(config.outside_step_sizes)
    c = config.margins[1]
    for run in runs:
        samples = run.outside.sample_losses
        series.append(loss_curve_series(f"N={run.depth}, measured", samples))
        steps = np.arange(samples.size)
        envelope = samples[0] * (1 - eta * c ** contraction_exponent(run.depth)) ** steps
        series.append(Series(f"N={run.depth}, Theorem 1 envelope", tuple(float(s) for s in steps),
                             tuple(float(v) for v in envelope), "dashed"))
    return Panel(f"l(t) at eta = {eta:g}, c = {c}", "step t", "l(t)", tuple(series), xscale="linear")
