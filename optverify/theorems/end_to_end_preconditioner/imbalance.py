"""Theorem 1 of Arora, Cohen, Hazan (2018), arXiv:1802.06509, once balancedness is broken: the gap
between the layer-wise velocity and the end-to-end rule against max_j ||C_j||_F, C_j =
W_{j+1}^T W_{j+1} - W_j W_j^T (first-order perturbation: slope 1; a derived statement, not the
paper's, so reported but not decisive).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import Bound, Session, rate_panel, resolve
from optverify.numerics.deep_linear import balancedness_gaps, end_to_end, layer_gradients
from optverify.theorems.end_to_end_preconditioner.config import ExperimentConfig
from optverify.theorems.end_to_end_preconditioner.preconditioner import (
    end_to_end_velocity,
    layerwise_velocity,
)
from optverify.theorems.end_to_end_preconditioner.sampling import Sampler, dense_balanced_factors

IMBALANCE_BOUND = Bound.tight("max_j ||C_j||", 1, limit="zero")


@dataclass(frozen=True)
class ImbalanceGaps:
    """imbalance: max_j ||C_j||_F; gap: the departure from the end-to-end rule; each of shape
    (perturbation sizes, instances)."""

    imbalance: np.ndarray
    gap: np.ndarray


def max_gap(factors) -> np.ndarray:
    """max_j ||C_j||_F of (batched) factors."""
    gaps = torch.stack([torch.linalg.matrix_norm(c) for c in balancedness_gaps(factors)])
    return gaps.amax(dim=0).cpu().numpy()


def imbalance_gaps(sampler: Sampler, config: ExperimentConfig) -> ImbalanceGaps:
    """Balanced factors plus delta * Gaussian perturbations (W_e 3 x 3, N = 3, widths 3): the
    gap is |layer-wise velocity - Theorem 1|_F / |Theorem 1|_F."""
    batch, depth = config.instances, 3
    target = sampler.gaussian(batch, 3, 3)
    phi = sampler.gaussian(batch, 3, 3)
    factors = dense_balanced_factors(target, [3] * (depth - 1), sampler)
    delta = sampler.tensor(config.imbalance_scales).view(-1, 1, 1, 1)
    perturbed = [w + delta * sampler.gaussian(batch, *w.shape[-2:]) for w in factors]
    w_e = end_to_end(perturbed)
    grad = w_e - phi
    layerwise = layerwise_velocity(perturbed, layer_gradients(perturbed, grad))
    formula = end_to_end_velocity(w_e, grad, depth)
    gap = torch.linalg.matrix_norm(layerwise - formula) / torch.linalg.matrix_norm(formula)
    return ImbalanceGaps(max_gap(perturbed), gap.cpu().numpy())


def geometric_mean(values: np.ndarray) -> np.ndarray:
    """Geometric mean over instances (the last axis)."""
    return np.exp(np.log(values).mean(axis=1))


def record_imbalance(s: Session, config: ExperimentConfig, sampler: Sampler) -> None:
    """The departure from Theorem 1 once balancedness is broken, against the imbalance."""
    measured = imbalance_gaps(sampler, config)
    # the gap is relative to ||rhs||, so its rounding floor is ulps * eps * 1
    resolved = np.array([all(resolve(float(v), 1.0, s.dtype).value is not None for v in row)
                         for row in measured.gap])
    x = geometric_mean(measured.imbalance[resolved])
    y = geometric_mean(measured.gap[resolved])
    check = s.rate(
        "imbalance-drift-from-rule",
        "broken balancedness: |layer-wise velocity - Theorem 1's rhs|_F / |rhs|_F grows like "
        "max_j ||C_j||_F^1 (first-order perturbation; derived here, not stated in the paper; "
        f"N = 3, W_e 3x3, geometric means over {config.instances} inits per perturbation size)",
        x, y, IMBALANCE_BOUND, decisive=False,
        values={"largest_imbalance": float(x.max()), "gap_at_largest": float(y.max()),
                "gap_over_imbalance_median": float(np.median(y / x)),
                "perturbation_sizes_below_precision": int((~resolved).sum())},
    )
    panel = rate_panel("Departure from the end-to-end rule under imbalance", "max_j ||C_j||_F",
                       "relative velocity gap", x, y, check.fit, IMBALANCE_BOUND,
                       measured_label="geometric mean over inits")
    s.figure("imbalance-drift", panel.title, (panel,))
    s.table("imbalance", "Relative velocity gap against the balancedness gap",
            ("max_j ||C_j||_F", "relative gap"), ((f"{a:.3g}", f"{b:.3g}") for a, b in zip(x, y)))
