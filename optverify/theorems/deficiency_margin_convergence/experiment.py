"""Torch experiment for Theorem 1 and Appendix C of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281.

Theorem 1 decided on long runs (`long_runs`): float64 GD at the largest step the hypotheses allow
to l(T) <= 1e-6 l(0) on matrix instances (the lemma at every step, the main check; the envelope
and the iteration count against a stopped, a half-rate and a sublinear run; the exponential decay
against a power law). Those runs start at c = 0.9; the runs from far from Phi (`global_runs`,
checked in `global_experiment`) start at c = 0.5 and 0.25 at Theorem 1's own step, at
c = 0.1-0.5 beyond it, and from Theorem 2's random balanced initialization. Then a grid:
gradient descent on l = 1/2 ||W_N ... W_1 - Phi||_F^2 (Phi 3 x 3,
singular values 1, 1.5, 2, hidden width 4) from initializations with deficiency margin exactly c,
batched over (margin, step size, instance) for each depth N, over its first steps:
- inside the hypotheses (eta up to Theorem 1's bound, delta-balanced factors): the lemma at every
  step, the fitted decay rate of log l(t) against the guaranteed -log(1 - eta c^{2(N-1)/N}), and the
  rate's exponent in eta;
- outside the hypotheses (eta far above the bound, labelled as such): the same rate, how loose the
  guarantee is, the exponent in eta, and where large steps stop converging.
Appendix C's necessity claims, reproduced as the paper states them: Claim 4 (even N, d = 1, Phi = 1,
an unbalanced initialization with a margin diverges) and Claim 5 (even N, symmetric Phi with a
negative eigenvalue -lambda, identity initialization: W_e stays PSD and l(t) >= lambda^2/2 for every
step size; `claim5`: decided while the runs keep the proof's invariant, and reported as written,
where float64 GD amplifies a rounding-sized break of it at N = 2).
"""

from __future__ import annotations

from optverify.kit import Session
from optverify.theorems.deficiency_margin_convergence import global_experiment, long_runs
from optverify.theorems.deficiency_margin_convergence.appendix_c import (
    failure_runs,
    failures_figure,
    record_failures,
)
from optverify.theorems.deficiency_margin_convergence.claim5 import COLUMNS as CLAIM5_COLUMNS
from optverify.theorems.deficiency_margin_convergence.claim5 import MIRROR_TOLERANCE
from optverify.theorems.deficiency_margin_convergence.config import ExperimentConfig
from optverify.theorems.deficiency_margin_convergence.grid_experiment import (
    depth_rows,
    large_step_rows,
    loss_panel,
    record_depth,
    step_size_panel,
)
from optverify.theorems.deficiency_margin_convergence.grid_runs import depth_runs
from optverify.theorems.deficiency_margin_convergence.long_experiment import (
    long_run_figure,
    record_long_run,
)


def verify(s: Session) -> None:
    """Rates inside and outside Theorem 1's hypotheses, and Appendix C's two failure cases."""
    config = s.preset(quick=ExperimentConfig.quick(), full=ExperimentConfig.full())
    long = long_runs.session_runs(s)
    for run in long:
        record_long_run(s, run)
    global_experiment.record(s)
    runs = [depth_runs(depth, config, s) for depth in s.progress(config.depths, "GD sweeps")]
    for run in runs:
        record_depth(s, run, config)
    failures = failure_runs(config, s)
    record_failures(s, failures, config)
    s.figure("rate-vs-step-size", "Fitted decay rate of log l(t) against the step size eta",
             [step_size_panel(run, config) for run in runs], columns=len(runs))
    s.figure("loss-curves", "GD from a deficiency margin (outside the step-size hypothesis)",
             (loss_panel(runs, config),))
    s.figure(failures_figure(failures, config))
    s.figure(long_run_figure(long))
    s.table("rates", "Fitted per-step decay rate of log l(t) vs Theorem 1's guaranteed "
            "-log(1 - eta c^{2(N-1)/N}) (mean over instances)",
            ("N", "regime", "c", "eta", "measured rate", "guaranteed rate", "ratio"),
            [row for run in runs for row in depth_rows(run, config)])
    s.table("large-steps", f"OUTSIDE the hypotheses: large step sizes, {config.large_steps} steps "
            f"from margins {config.margins}; Theorem 1 makes no claim here",
            ("N", "eta", "runs ending above l(0) or non-finite",
             "runs breaking l(t) <= l(0)(1 - eta c^p)^t", "runs"),
            [row for run in runs for row in large_step_rows(run, config)])
    s.table("claim4", "Appendix C Claim 4 (d = 1, Phi = 1): GD from W_e(0) = 1/2 (margin 1/2)",
            ("N", "eta", "init", "margin", "delta", "l(0)", "l(T)", "diverged"),
            [run.row for run in failures.claim4])
    s.table("claim5", "Appendix C Claim 5: identity init, symmetric Phi with a negative eigenvalue "
            f"(balanced: mirror imbalance <= {MIRROR_TOLERANCE:g})", CLAIM5_COLUMNS,
            [run.row for run in failures.claim5 + failures.claim5_perturbed])


