"""Experiment layer of `saddle-points`: batched torch runs of GD, saddle-free Newton and Newton at
quadratic saddles, and critical points of random Gaussian-field quartics found by Newton.

Source: Dauphin et al. (2014), arXiv:1406.2572. Section 4: GD leaves a strict saddle along the
negative-curvature direction lambda_- = -b, |y_t| = (1 + eta b)^t eps, so the escape time from a
distance eps off the stable manifold to R is log(R/eps) / log(1 + eta b) ~ (1/(eta b)) log(1/eps);
Newton jumps to the critical point of a quadratic in one step. Section 5: saddle-free Newton
doubles |y| per step whatever b. Section 3 (Bray and Dean 2007): for Gaussian random fields the
index of a critical point grows with its loss and minima become rare as the dimension grows; here
measured on f = |x|^4/4 + V(x), V an isotropic Gaussian cubic field (`landscape`). The critical
points are those Newton finds from uniform starts in a ball: a finite-sample estimate that depends
on the search, not an enumeration.

The main bound is measured where no closed form decides it: GD from random starts eps off the
stable manifold of a non-quadratic saddle (`landscape.CoupledSaddle`: quartic, coupled, cubic in
the stable directions), whose escape time is set against log(1/eps) with the alternatives
log(1/eps)^2, log(1/eps)^(3/4), log(1/eps)^(5/4) and eps^(-1/2) as negative controls. The runs on
the quadratic saddle reproduce the closed form ceil(log(R/eps) / log(1 + eta b)) and are reported
as sanity checks (the closed form fitted against itself), except the exact count, which is judged
to the step (an off-by-one count is its control).
"""

from __future__ import annotations

from optverify.kit import Session
from optverify.theorems.saddle_points import index_energy
from optverify.theorems.saddle_points.config import ExperimentConfig
from optverify.theorems.saddle_points.coupled_escape import record_coupled_escape
from optverify.theorems.saddle_points.critical_points import record_landscape
from optverify.theorems.saddle_points.newton_landing import record_newton
from optverify.theorems.saddle_points.quadratic_escape import (
    record_quadratic_escape,
    trajectory_figure,
)


def verify(s: Session) -> None:
    """Escape times at quadratic and non-quadratic saddles, Newton's one step, and
    random-landscape statistics."""
    config = s.preset(quick=ExperimentConfig.quick(), full=ExperimentConfig.full())
    s.figure(trajectory_figure())
    record_quadratic_escape(s, config)
    record_coupled_escape(s, config)
    record_newton(s, config)
    record_landscape(s, config)
    index_energy.verify(s)
    s.note(f"{s.dtype} on {s.device}. Quadratic escape: a = 1, R = 1, x_0 = 1, escape when "
           "|y_t| >= R. Non-quadratic escape: f = b (x^4/4 - x^2/2 + x^2 |y|^2/2) + sum_j (a_j "
           f"y_j^2/2 + 0.3 y_j^3/3), {config.coupled_stable_dimensions} stable directions, "
           f"{config.coupled_starts} random starts (+-eps, y_0), |y_0| = "
           f"{config.coupled_start_norm:g}, a_j in [0.5, 2], GD step {config.coupled_eta:g}, "
           f"escape when |x| >= {config.coupled_radius:g}. Landscape: f = |x|^4/4 + sigma V(x), "
           f"V isotropic Gaussian cubic field, sigma = {config.field_scale:g}; "
           f"{config.field_functions} functions x {config.field_starts} Newton starts per d in "
           f"a ball of radius {config.start_radius:g}; the critical points are those Newton "
           "found, not all of them (the table lists how many the first half of the starts "
           "found: where the counts differ, the search is not exhaustive and misses saddles "
           "first, which biases the minima fraction upwards at large d).")


