"""Experiment layer: gradient descent on deep linear networks against the end-to-end rule of
Theorem 1 of Arora, Cohen, Hazan (2018), arXiv:1802.06509 (Eq. 10, discrete form).

Three measurements, all batched over random balanced initializations (Procedure 1 of
arXiv:1810.02281, hidden spaces mixed by random rotations so the factors are dense):
1. one GD step of the factors, mapped to W_e, minus one step of the end-to-end rule (`one_step`):
   claimed
   O(eta^2) and tight (the eta^2 cross terms of the product do not vanish), fitted per depth;
2. the end-to-end trajectory of GD from the same balanced W_e at several hidden widths
   (`width_independence`): equal up to
   float rounding (its negative control embeds the same W_e unbalanced, where the trajectories
   differ);
3. the gap between the layer-wise velocity and Theorem 1 once balancedness is broken (`imbalance`,
   over a fixed time horizon `horizon`), against
   max_j ||C_j||_F, C_j = W_{j+1}^T W_{j+1} - W_j W_j^T (first-order perturbation: slope 1; a
   derived statement, not the paper's, so reported but not decisive).
Loss: L^1(W) = ||W - Phi||_F^2 / 2, Phi Gaussian.
"""

from __future__ import annotations

from optverify.kit import Session
from optverify.theorems.end_to_end_preconditioner.config import ExperimentConfig
from optverify.theorems.end_to_end_preconditioner.horizon import record_horizon
from optverify.theorems.end_to_end_preconditioner.imbalance import record_imbalance
from optverify.theorems.end_to_end_preconditioner.one_step import (
    UNBALANCED_DELTA,
    one_step_errors,
    record_step,
)
from optverify.theorems.end_to_end_preconditioner.sampling import Sampler
from optverify.theorems.end_to_end_preconditioner.width_independence import record_widths


def verify(s: Session) -> None:
    """GD against the end-to-end rule: O(eta^2) step error, width independence, imbalance drift."""
    config = s.preset(quick=ExperimentConfig.quick(), full=ExperimentConfig.full())
    config = config.for_dtype(s.dtype)
    sampler = Sampler.of(s, "init")
    control_sampler = Sampler.of(s, "controls")
    panels = [record_step(s, shape, one_step_errors(sampler, shape, config), config,
                          one_step_errors(control_sampler, shape, config, UNBALANCED_DELTA))
              for shape in s.progress(config.step_shapes, "one GD step vs the end-to-end rule")]
    s.figure("gd-step-error", "One GD step against one end-to-end step",
             [panel for panel in panels if panel is not None], columns=2)
    record_widths(s, config, sampler)
    record_imbalance(s, config, sampler)
    record_horizon(s, config, sampler)
