"""Experiment layer of `balancedness`: gradient descent on many random deep linear nets at once.

Source: the balancedness argument in the proof of Theorem 1 of Arora, Cohen, Hazan (2018),
arXiv:1802.06509, and the discrete analysis of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281.
Under GD with step eta, C_j = W_{j+1}^T W_{j+1} - W_j W_j^T changes by exactly
eta^2 (G_{j+1}^T G_{j+1} - G_j G_j^T) per step (weight decay: C_j <- (1 - eta lambda)^2 C_j + that),
so from unbalanced inits the drift max_j ||C_j(T) - C_j(0)||_F is
- Theta(eta^2) at a fixed number of steps T (TIGHT, exponent 2), and
- Theta(eta) at a fixed time eta T of the unscaled flow dW/ds = -grad (T = s / eta steps; TIGHT 1);
and with weight decay ||C_j|| decays like exp(-2 eta lambda t) after t steps, the continuous-time
rate of dC_j/dt = -2 eta lambda C_j (TIGHT rate -2 in x = eta lambda t), with an O(eta lambda)
discretization correction. Setting: square loss 1/2 ||W_e - Phi||_F^2 to a random target per
instance, instances as a leading batch dimension (and learning rates as a second one).
"""

from __future__ import annotations

from optverify.kit import Session, machine_epsilon
from optverify.theorems.balancedness.config import ExperimentConfig
from optverify.theorems.balancedness.drift import (
    DRIFT_AT_FIXED_STEPS,
    DRIFT_AT_FIXED_TIME,
    drift_figure,
    fixed_steps_sweep,
    fixed_time_sweep,
    record_drift,
)
from optverify.theorems.balancedness.gd_steps import (
    IDENTITY_ULPS,
    LAYER_WISE_RATES,
    random_instances,
)
from optverify.theorems.balancedness.weight_decay import (
    decay_correction,
    decay_figure,
    decay_runs,
    decay_table,
    record_decay,
)


def verify(s: Session) -> None:
    """Fit the drift exponents and the weight-decay rate over batched random instances."""
    config = s.preset(quick=ExperimentConfig.quick(), full=ExperimentConfig.full())
    config = config.dtype_design(s.dtype)
    instances = random_instances(config, s)
    steps_sweep = fixed_steps_sweep(config, instances, s.dtype)
    time_sweep = fixed_time_sweep(config, instances, s.dtype)
    wrong_steps = fixed_steps_sweep(config, instances, s.dtype, layer_wise=True)
    wrong_time = fixed_time_sweep(config, instances, s.dtype, layer_wise=True)
    decays = decay_runs(config, instances)
    where = (f"GD on {config.instances} random deep linear nets (widths {config.widths}, square "
             "loss, small unbalanced init)")
    fixed_steps = record_drift(
        s, "drift-fixed-steps", f"{where}: the drift max_j ||C_j(T) - C_j(0)||_F after T = "
        f"{config.fixed_steps} steps grows like eta^2 (eta in "
        f"[{min(config.fixed_step_etas):g}, {max(config.fixed_step_etas):g}], the {s.dtype} "
        "design)", steps_sweep, DRIFT_AT_FIXED_STEPS, wrong_steps, (1.0, 1.75, 2.25))
    fixed_time = record_drift(
        s, "drift-fixed-time", f"{where}: the drift at a fixed time eta T = {config.fixed_time} "
        "grows like eta", time_sweep, DRIFT_AT_FIXED_TIME, wrong_time, (0.0, 0.75, 1.25))
    record_decay(s, config, decays, where)
    residuals = steps_sweep.identity_residual.merge(time_sweep.identity_residual)
    for run in decays:
        residuals = residuals.merge(run.identity_residual)
    eps = machine_epsilon(s.dtype)
    s.identity("gd-one-step-identity",
               f"{where}: every GD step of the drift sweeps, and the weight-decay runs' steps at "
               f"the {config.decay_samples + 1} sampling times of the longest run, satisfy "
               "C_j(t+1) = (1 - eta lambda)^2 C_j(t) + eta^2 (G_{j+1}^T G_{j+1} - G_j G_j^T), "
               "residual relative to max ||W_j||_F^2", residuals.claim, IDENTITY_ULPS * eps,
               values={"machine_epsilon": eps},
               controls={f"{words} (same residual, same steps)": value
                         for words, value in residuals.alternatives.items()})
    s.figure(drift_figure(config, (fixed_steps, steps_sweep), (fixed_time, time_sweep)))
    s.figure(decay_figure(decays, decay_correction(decays).fit))
    s.table(decay_table(decays))
    s.note("Time t counts GD steps, as in dW_j/dt = -eta lambda W_j - eta dL^N/dW_j; the "
           "fixed-time sweep holds the unscaled time eta T of dW/ds = -grad L^N fixed.")
    s.note(f"Negative controls of the drift sweeps: the same sweeps under GD with "
           f"{LAYER_WISE_RATES}, whose C_j moves at first order (drift ~ eta at fixed steps, "
           "~ 1 at fixed time), fitted by the same asymptotic fit.")


