"""Experiment layer: SGD on the three learners of Section 4 at the paper's sizes, and Fig. 6.

Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Lemma 2, Theorem 3, Section 4.1.3 and
Fig. 6. The learners map a curve f = W p (k = 3) to its breakpoint vector p: fully connected
p_hat = U f (target W^{-1}), convolution p_hat_t = v . (f_{t-2}, f_{t-1}, f_t) (target
(1, -2, 1)), and the convolution on windows whitened by C_m^{-1/2} (C_m from m sampled curves).
Plain SGD with eta = c / lambda_max(expected Hessian), c = 1/2.
- Exact expectation (expected.py, no step loop): Lemma 2 gives the expected iterate in closed
  form, so the iterations until ||E[U_t] - W^{-1}||_2 < 1/2 (and until a relative error) are exact
  for n up to 2048; fitted against n^3.5 (the claimed lower bound) and n^4 (tight). The same for
  the 3-tap filter from the exact moment C(n) (claimed Theta(n^3)), n up to 4096.
- Stochastic twin (linear_sgd.py): mini-batch SGD at the sizes it reaches, many steps per kernel;
  its hitting times must contain the exact expected ones within their seed spread.
- Preconditioned: iterations to relative filter error 1e-6 (counts of tens) for n = 4..1024, exact
  expectation with the sampled C_m and stochastic SGD, judged by their spread over n.
- Fig. 6 (figure6.py): Adam at n = 100 with the authors' rates; reported, not decisive.
"""

from __future__ import annotations

from optverify.kit import Panel, Series, Session, rate_panel
from optverify.theorems.pwl_conditioning.config import ExperimentConfig
from optverify.theorems.pwl_conditioning.expected_iterations import (
    CLAIMED_CONVOLUTION,
    CLAIMED_FULLY_CONNECTED,
    record_expected_convolution,
    record_expected_fully_connected,
)
from optverify.theorems.pwl_conditioning.figure6 import record_figure6
from optverify.theorems.pwl_conditioning.preconditioned import (
    figure_whitening,
    preconditioning,
    record_preconditioned,
)
from optverify.theorems.pwl_conditioning.sgd_twins import record_twins, twin_panel

# -- exact expectations ------------------------------------------------------------------------


# -- preconditioning ---------------------------------------------------------------------------


# -- the stochastic twin -------------------------------------------------------------------------


# -- figures -----------------------------------------------------------------------------------


def verify(s: Session) -> None:
    config = s.preset(quick=ExperimentConfig.quick(), full=ExperimentConfig.full(),
                        paper=ExperimentConfig.paper())
    fully = record_expected_fully_connected(s, config)
    conv = record_expected_convolution(s, config)
    precondition = preconditioning(config.preconditioned_sizes,
                                   config.preconditioning_samples, config.step_factor,
                                   config.preconditioned_target,
                                   config.preconditioned_horizon, s.rng("preconditioning"))
    twins = record_twins(s, config, precondition)
    preconditioned_twin = twins[-1][1]
    record_preconditioned(s, config, precondition, preconditioned_twin.sizes,
                          preconditioned_twin.crossings)
    checks = {check.name: check for check in s.checks}
    s.figure("expected-iterations-vs-n", "Exact expected SGD iterations (Lemma 2) vs n", [
        rate_panel("fully connected, error < 1/2", "n", "iterations", fully.sizes, fully.absolute,
                   checks["expected-sgd-fully-connected-vs-n"].fit, CLAIMED_FULLY_CONNECTED),
        rate_panel(f"convolution, filter error < {config.relative_target:g}", "n",
                   "iterations", conv.sizes, conv.times,
                   checks["expected-sgd-convolution-vs-n"].fit, CLAIMED_CONVOLUTION),
        Panel(f"preconditioned, filter error < {config.preconditioned_target:g}", "n",
              "iterations", (Series("exact expectation", tuple(float(n) for n in
                                                               precondition.sizes),
                                    tuple(float(t) for t in precondition.times), "points"),),
              yscale="linear"),
    ], columns=3)
    s.figure("sgd-vs-expectation", "Stochastic SGD against its exact expectation",
             [twin_panel(learner, data) for learner, data in twins], columns=3)
    record_figure6(s, config, figure_whitening(config.figure_size,
                                                  config.preconditioning_samples,
                                                  s.rng("figure-preconditioning")))
    s.note(f"SGD step eta = {config.step_factor} / lambda_max(expected Hessian) (fully "
           f"connected: eta lambda S_11^2 = {config.step_factor}); mini-batch {config.batch}; "
           f"checkpoints grow by {config.checkpoint_ratio} (every step for the preconditioned "
           "learner). The Adam hitting-time sweeps of the earlier version are gone: Adam is shown "
           "in Fig. 6 only.")
