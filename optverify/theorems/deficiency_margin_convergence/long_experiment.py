"""Theorem 1 of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281, decided on the long runs of
`long_runs` (float64 GD at the largest step the hypotheses allow, to l(T) <= 1e-6 l(0)): the
hypotheses, the lemma at every step (the main check), the margin kept, the envelope and the
iteration count against a stopped, a half-rate and a sublinear run, and the exponential decay in
the lemma clock kappa against a power law.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from optverify.kit import Bound, Figure, Panel, Series, Session, fit_for_bound, machine_epsilon
from optverify.theorems.deficiency_margin_convergence import long_runs
from optverify.theorems.deficiency_margin_convergence.conditions import (
    contraction_exponent,
    hypotheses_judgement,
)
from optverify.theorems.deficiency_margin_convergence.grid_runs import HARDER_PERTURBATION

LINEAR_CONVERGENCE = Bound.upper("kappa", -1, exponential=True)
"""Theorem 1 in the lemma's clock kappa = eta c^{2(N-1)/N} t: l(t)/l(0) <= (1 - eta c^p)^t <= e^-kappa,
an exponential decay at rate at least 1 per unit of kappa (O(exp(-kappa)))."""


LINEAR_CONVERGENCE_POINTS = 40


def _long_run_statement(run: long_runs.LongRun) -> str:
    return (f"{run.spec.label}, {run.losses.shape[1]} instances: float64 GD at the largest step "
            f"the hypotheses allow (eta = min eta_max(c) = {run.eta:.4g}) for {run.steps} steps, "
            f"to l(T)/l(0) <= {float(run.final_ratio.max()):.2g}")


def record_long_run(s: Session, run: long_runs.LongRun) -> None:
    """Theorem 1 and its lemma along a run to l(T) <= 1e-6 l(0), each check with its controls."""
    key, depth, x = run.spec.key, run.depth, run.guaranteed
    head = _long_run_statement(run)
    tolerance = long_runs.rounding_tolerance(run.spec)
    stopped = long_runs.stopped_run(run.losses)
    slower = long_runs.slower_envelope_run(run.losses, x)
    s.decide(f"long-run-hypotheses-{key}",
             f"{head}: every instance meets Theorem 1's margin and balancedness hypotheses "
             "(measured) at eta (eta <= eta_max(c) holds by construction)", hypotheses_judgement,
             run.hypotheses, values={"delta (max)": float(run.delta.max()),
                                     "delta_max (min)": float(run.delta_max.min())},
             controls={f"the same W_e(0) with a {HARDER_PERTURBATION:g} times larger balancing "
                       "perturbation (not delta-balanced)":
                       long_runs.harder_perturbed_hypotheses(run, HARDER_PERTURBATION)})
    s.inequality(f"long-run-lemma-{key}",
                 f"{head}: the lemma l(t+1) <= (1 - eta sigma_min(W_e(t))^{{2(N-1)/N}}) l(t) at "
                 "every step (margin relative to l(t); tolerance: the relative rounding of l at "
                 "the smallest loss of the run, 64 eps ||Phi||_F / ||W_e - Phi||_F)",
                 long_runs.lemma_margin(run.losses, run.sigmas, run.eta, depth), tolerance,
                 main=True, values=run.values(),
                 controls={"a run that stops at the initialization (l(t) = l(0))":
                           long_runs.lemma_margin(stopped, run.sigmas, run.eta, depth),
                           "a run at half the lemma's decrease": long_runs.lemma_margin(
                               long_runs.slower_run(run.losses, run.sigmas, run.eta, depth),
                               run.sigmas, run.eta, depth)})
    s.inequality(f"long-run-margin-kept-{key}",
                 f"{head}: sigma_min(W_e(t)) >= c at every step (reported, not decisive: a step "
                 "of the proof, implied by the lemma's monotone loss and the Weyl margin claim of "
                 "the symbolic layer; a stopped or slower run keeps the margin too, so no false "
                 "alternative of Theorem 1 breaks it)",
                 float((run.sigmas - run.margins).min()),
                 64 * machine_epsilon("float64") * run.target_norm, decisive=False)
    s.inequality(f"long-run-envelope-{key}",
                 f"{head}: Theorem 1's linear convergence l(t) <= l(0) (1 - eta c^{{2(N-1)/N}})^t "
                 "at every step (margin min_t [l(0)(1 - x)^t - l(t)] / l(0), tolerance 64 eps)",
                 long_runs.envelope_margin(run.losses, x), 64 * machine_epsilon("float64"),
                 controls={"a run that stops at the initialization":
                           long_runs.envelope_margin(stopped, x),
                           "a linear convergence at half the guaranteed rate":
                           long_runs.envelope_margin(slower, x),
                           "a sublinear convergence l(0) / (1 + eta c^p t)":
                           long_runs.envelope_margin(long_runs.sublinear_run(run.losses, x), x)})
    kappas = run.spec.kappas
    s.inequality(f"long-run-iteration-count-{key}",
                 f"{head}: Theorem 1's iteration count: after T = ceil(log(l(0)/eps) / (eta "
                 f"c^{{2(N-1)/N}})) steps, l(T) <= eps, for eps = l(0) e^-kappa, kappa in "
                 f"{kappas} (fixed before the run); margin min (eps - l(T)) / eps",
                 long_runs.iteration_count_margin(run.losses, x, kappas), tolerance,
                 values={f"T(kappa = {kappa:g})": int(long_runs.iteration_times(x, kappa).max())
                         for kappa in kappas},
                 controls={"a run that stops at the initialization":
                           long_runs.iteration_count_margin(stopped, x, kappas),
                           "a linear convergence at half the guaranteed rate":
                           long_runs.iteration_count_margin(slower, x, kappas)})
    kx, ky = long_runs.convergence_points(run, LINEAR_CONVERGENCE_POINTS)
    s.fitted_rate(f"long-run-linear-convergence-{key}",
                  f"{head}: l(t)/l(0) decays exponentially in kappa = eta c^{{2(N-1)/N}} t at a "
                  "rate of at least 1 (Theorem 1's e^-kappa), and a power law is rejected "
                  f"(log-linear fit over {LINEAR_CONVERGENCE_POINTS} points of the run's second "
                  "half, log-loss averaged over instances)",
                  fit_for_bound(kx, ky, LINEAR_CONVERGENCE), LINEAR_CONVERGENCE, rules_out=-0.5,
                  controls={"a power law through the same end points": fit_for_bound(
                      kx, long_runs.power_law_through_ends(kx, ky), LINEAR_CONVERGENCE)})


def long_run_figure(runs: Sequence[long_runs.LongRun]) -> Figure:
    panels = []
    for run in runs:
        stride = max(1, run.steps // 400)
        steps = np.arange(0, run.steps + 1, stride)
        x = float(run.guaranteed[0])
        ratio = run.losses[steps, 0] / run.losses[0, 0]
        panels.append(Panel(
            f"{run.spec.key}: l(t)/l(0), first instance, eta = {run.eta:.3g}", "step t",
            "l(t) / l(0)",
            (Series("float64 GD", tuple(float(t) for t in steps), tuple(float(v) for v in ratio),
                    "line"),
             Series("Theorem 1 envelope (1 - eta c^p)^t", tuple(float(t) for t in steps),
                    tuple(float(v) for v in np.exp(steps * math.log1p(-x))), "dashed")),
            xscale="linear"))
        decrease = ((run.losses[:-1] - run.losses[1:])
                    / (run.eta * run.sigmas[:-1] ** contraction_exponent(run.depth)
                       * run.losses[:-1]))[:, 0]
        panels.append(Panel(
            f"{run.spec.key}: measured / guaranteed per-step decrease (>= 1: the lemma holds)",
            "step t", "decrease ratio",
            (Series("first instance", tuple(float(t) for t in steps[:-1]),
                    tuple(float(v) for v in decrease[steps[:-1]]), "line"),),
            xscale="linear", yscale="linear"))
    return Figure("long-runs", "Theorem 1 along runs to l(T) <= 1e-6 l(0) at eta = eta_max(c)",
                  tuple(panels), columns=2)
