"""Experiment layer of `jacobian-products`: the main check on tanh and sigmoid RNNs
(`rnn_bounds`), then batched torch products of T random Jacobians.

Sources: Pascanu, Mikolov, Bengio (2013), arXiv:1211.5063, Section 2.1 eq. (5)-(7) and Section 3
(clipping, Algorithm 1; orthogonal initialization as a remedy); Newman (1986) for
lambda_1 = log sigma + (1/2)(log(2/n) + digamma(n/2)) of iid N(0, sigma^2/n) Jacobians.

For a unit v and iid Gaussian Jacobians, log ||J_T ... J_1 v|| is a sum of T iid terms
(1/2) log((sigma^2/n) chi^2_n) by rotation invariance, so its mean is T lambda_1 and its variance
T trigamma(n/2)/4 at every T, not only asymptotically. Measured here, with paths as a leading
batch dimension and the scales sigma as a second one:
- the growth rate per (n, sigma) (`growth_rate`): the per-path estimate log||prod v|| / T at the largest T against
  lambda_1, within a Bonferroni-corrected 98% CI (decisive; it rules out the annealed rate
  log sigma), and the exponential law itself: the geometric-mean norm on a grid of T, each point
  from its own block of paths (independent points), fitted log-linearly against lambda_1 and
  against a power law (decisive);
- the variance law Var(log ||prod v||) = Theta(T) (`variance_law`; TIGHT 1; each depth from its
  own block of products, so the points are independent) and its constant trigamma(n/2)/4
  (ruling out the delta-method value 1/(2n));
- the renormalized log-norm against the plain product wherever the plain product is a vector of
  normal floats, within a first-order rounding bound (`rounding_twin`);
- sanity checks (`singular_value_bounds`, `rnn_gradients`; they hold by construction, up to
  rounding): sigma_min^T <= ||prod v|| / ||v|| <= sigma_max^T for Jacobians with prescribed
  singular values; Haar orthogonal Jacobians keep
  log ||prod v|| = 0 (the orthogonal-initialization remedy); the tanh RNN gradient obeys
  log ||dL/ds_{T-t}|| <= t log ||W||_2 (|1 - s^2| <= 1); gradient-norm clipping caps the update
  norm at the threshold and keeps its direction.
"""

from __future__ import annotations

import math

from optverify.kit import Panel, Session
from optverify.theorems.jacobian_products import rnn_bounds
from optverify.theorems.jacobian_products.config import ExperimentConfig
from optverify.theorems.jacobian_products.gaussian_products import (
    FAMILY_LEVEL,
    bonferroni_z,
    gaussian_sweep,
)
from optverify.theorems.jacobian_products.growth_rate import (
    growth_panel,
    growth_rate,
    record_growth_rate,
)
from optverify.theorems.jacobian_products.rnn_gradients import (
    RnnRun,
    clipped_gradients,
    record_clipping,
    record_rnn_bound,
    rnn_panel,
    rnn_runs,
)
from optverify.theorems.jacobian_products.rounding_twin import (
    compare_twins,
    record_twin,
    twin_batch,
)
from optverify.theorems.jacobian_products.singular_value_bounds import (
    bounds_panel,
    orthogonal_log_norms,
    record_orthogonal,
    record_singular_values,
    singular_value_runs,
)
from optverify.theorems.jacobian_products.variance_law import (
    record_variance_law,
    variance_law,
    variance_panel,
)


def verify(s: Session) -> None:
    rnn_bounds.verify(s)
    config = s.preset(quick=ExperimentConfig.quick(), full=ExperimentConfig.full())
    sweeps = s.map(lambda n: gaussian_sweep(s, config, n), config.dimensions,
                   "torch: Gaussian Jacobian products")
    z = bonferroni_z(len(config.dimensions) * (len(config.sigmas) + 1))
    rows, growth_panels, variance_panels = [], [], []
    for sweep in sweeps:
        law = variance_law(s, sweep, config)
        fit = record_variance_law(s, sweep, config, law, z)
        rows += [record_growth_rate(s, sweep, config, growth_rate(sweep, config, index), z)
                 for index in range(len(config.sigmas))]
        growth_panels.append(growth_panel(sweep, config))
        variance_panels.append(variance_panel(sweep, law, fit))
    record_twin(s, config, compare_twins(
        s.map(lambda n: twin_batch(s, config, n), config.dimensions, "torch: twin products")))
    bounds = singular_value_runs(s, config)
    for run in bounds:
        record_singular_values(s, config, run)
    record_orthogonal(s, config, orthogonal_log_norms(s, config))
    runs = rnn_runs(s, config)
    record_rnn_bound(s, runs, config)
    dimension = config.dimensions[-1]
    record_clipping(s, config, dimension, clipped_gradients(s, config, dimension))
    _record_figures(s, growth_panels, variance_panels, bounds_panel(bounds, config),
                    rnn_panel(runs))
    _record_tables(s, rows, runs)
    s.note(f"{s.dtype} on {s.device}; log-norms accumulated with renormalization at every "
           f"step; CI checks Bonferroni-corrected to a {100 * FAMILY_LEVEL:g}% family-wise level.")


def _record_figures(s: Session, growth_panels: list[Panel], variance_panels: list[Panel],
                    singular_values: Panel, rnn_gradients: Panel) -> None:
    s.figure("log-norm-vs-T", "Log-norm of products of T Gaussian Jacobians", growth_panels,
             columns=len(growth_panels))
    s.figure("log-variance-vs-T", "Variance of the log-norm against T", variance_panels,
             columns=len(variance_panels))
    s.figure("bounds-and-rnn", "Singular-value bounds and tanh RNN gradients",
             (singular_values, rnn_gradients), columns=2)


def _record_tables(s: Session, rows: list[tuple], runs: list[RnnRun]) -> None:
    s.table("lyapunov-rates", "Growth rate of log ||J_T ... J_1 v|| per step: closed form "
            "lambda_1, per-path estimate at the largest T, and the log-linear fit",
            ("n", "sigma", "lambda_1", "per-path rate", "standard error", "fitted rate"), rows)
    s.table("tanh-rnn-rates", "tanh RNN: mean gradient log-norm per step back in time",
            ("weight", "||W||_2", "log ||W||_2", "measured rate"),
            ((r.label, r.weight_norm, math.log(r.weight_norm), r.rate) for r in runs))

