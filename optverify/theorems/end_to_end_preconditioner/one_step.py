"""One gradient-descent step of the factors of a deep linear network, mapped to W_e, against one
step of the end-to-end rule of Theorem 1 of Arora, Cohen, Hazan (2018), arXiv:1802.06509 (Eq. 10,
discrete form): the difference is claimed O(eta^2) and tight (the eta^2 cross terms of the product
do not vanish), fitted per depth; the control starts from unbalanced factors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import BELOW_PRECISION, Bound, Session, fit_power_law, rate_panel, resolve
from optverify.numerics.deep_linear import end_to_end, layer_gradients
from optverify.numerics.precision import MIN_RESOLVED_POINTS
from optverify.theorems.end_to_end_preconditioner.config import ExperimentConfig
from optverify.theorems.end_to_end_preconditioner.preconditioner import end_to_end_step
from optverify.theorems.end_to_end_preconditioner.sampling import Sampler, dense_balanced_factors

STEP_BOUND = Bound.tight("eta", 2, limit="zero")


@dataclass(frozen=True)
class StepErrors:
    """errors: ||one GD step mapped to W_e - one end-to-end step||_F, shape (etas, instances);
    scales: ||W_e||_F + ||Phi||_F of each instance."""

    errors: np.ndarray
    scales: np.ndarray


UNBALANCED_DELTA = 0.1
"""Size of the Gaussian perturbation that unbalances the negative control's inits."""


def one_step_errors(sampler: Sampler, shape, config: ExperimentConfig,
                    unbalanced_delta: float | None = None) -> StepErrors:
    """||prod_j (W_j - eta (lambda W_j + dL/dW_j)) - (W_e + eta V_thm1)||_F for every eta and
    balanced init of W_e's (rows, cols, depth). unbalanced_delta: the negative control's false
    world, each factor perturbed by delta * Gaussian (Theorem 1's hypothesis broken, so the first
    order no longer cancels)."""
    rows, cols, depth = shape
    batch = config.instances
    target = sampler.gaussian(batch, rows, cols)
    phi = sampler.gaussian(batch, rows, cols)
    hidden = [min(rows, cols) + 1] * (depth - 1)
    factors = dense_balanced_factors(target, hidden, sampler)
    if unbalanced_delta is not None:
        factors = [w + unbalanced_delta * sampler.gaussian(*w.shape) for w in factors]
    w_e = end_to_end(factors)
    grad = w_e - phi
    layer_grads = layer_gradients(factors, grad)
    eta = sampler.tensor(config.etas).view(-1, 1, 1, 1)
    lam = config.weight_decay
    stepped = [w.unsqueeze(0) - eta * (lam * w + g) for w, g in zip(factors, layer_grads)]
    rule = end_to_end_step(w_e, grad, depth, eta, lam)
    errors = torch.linalg.matrix_norm(end_to_end(stepped) - rule)
    scale = torch.linalg.matrix_norm(w_e) + torch.linalg.matrix_norm(phi)
    return StepErrors(errors.cpu().numpy(), scale.cpu().numpy())


def resolved_step_sizes(measured: StepErrors, dtype: str) -> np.ndarray:
    """The step sizes at which every instance's error resolves above `dtype` rounding."""
    resolved = np.array([[resolve(float(e), float(s), dtype).value is not None
                          for e, s in zip(row, measured.scales)] for row in measured.errors])
    return resolved.all(axis=1)


def _step_values(etas, errors, geometric_mean, keep) -> dict:
    per_instance = [fit_power_law(etas, errors[:, i]).exponent for i in range(errors.shape[1])]
    return {"instance_exponent_min": min(per_instance),
            "instance_exponent_max": max(per_instance),
            "error_over_eta2_at_smallest_eta": float(geometric_mean[0] / etas[0] ** 2),
            "step_sizes_below_precision": int((~keep).sum())}


def record_step(s: Session, shape, measured: StepErrors, config: ExperimentConfig,
                unbalanced: StepErrors | None = None):
    """The one-step error's exponent in eta for one shape; returns its rate panel (None when
    fewer than three step sizes resolve). Negative controls: the exponents 1.75 and 2.25 (the
    points tilted) and, when given, the same sweep from unbalanced inits (`unbalanced`), where
    the error is first order."""
    rows, cols, depth = shape
    keep = resolved_step_sizes(measured, s.dtype)
    statement = (
        f"N = {depth}, W_e {rows}x{cols}: ||one GD step of the factors mapped to W_e - one step "
        "of the end-to-end rule||_F = Theta(eta^2) (geometric mean over "
        f"{config.instances} balanced inits, weight decay {config.weight_decay:g})"
    )
    name = f"gd-step-vs-end-to-end-rule-n{depth}"
    etas = np.array(config.etas)
    with np.errstate(divide="ignore"):
        geometric_mean = np.exp(np.log(measured.errors).mean(axis=1))
    values = (_step_values(etas[keep], measured.errors[keep], geometric_mean[keep], keep)
              if keep.sum() >= MIN_RESOLVED_POINTS else {"error_at_smallest_eta": BELOW_PRECISION})
    controls = {}
    if unbalanced is not None:
        kept = resolved_step_sizes(unbalanced, s.dtype)
        controls[f"the same sweep from unbalanced inits (balanced + {UNBALANCED_DELTA:g} "
                 "Gaussian: Theorem 1's hypothesis broken)"] = (
            etas[kept], np.exp(np.log(unbalanced.errors[kept]).mean(axis=1)))
    check = s.rate(name, statement, etas, geometric_mean, STEP_BOUND, values=values,
                   rules_out=(1.75, 2.25), controls=controls, resolved=keep)
    if check.fit is None:
        return None
    return rate_panel(f"N = {depth}, W_e {rows}x{cols}", "step size eta",
                      "||GD step - end-to-end step||_F", etas[keep], geometric_mean[keep],
                      check.fit, STEP_BOUND, measured_label="geometric mean over inits")
