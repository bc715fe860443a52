"""Sanity checks of products of Jacobians with prescribed singular values (Pascanu, Mikolov, Bengio
2013, arXiv:1211.5063, Section 2.1 and Section 3): sigma_min^T <= ||J_T ... J_1 v|| / ||v|| <=
sigma_max^T, and Haar orthogonal Jacobians keep log ||prod v|| = 0 (the orthogonal-initialization
remedy); both hold by construction, up to rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import Panel, Series, Session, machine_epsilon
from optverify.numerics.haar import haar_orthogonal
from optverify.theorems.jacobian_products.config import ExperimentConfig
from optverify.theorems.jacobian_products.products import (
    as_numpy,
    prescribed_singular_values,
    renormalized_log_norms,
)

LOG_ROUNDING_ULPS = 16
"""Each renormalized step adds a relative rounding of a few eps to the step's norm, so a log-norm
after T steps carries at most LOG_ROUNDING_ULPS * eps * T of rounding (used by the sanity checks,
e.g. for orthogonal matrices that are orthogonal to a few eps)."""


@dataclass(frozen=True)
class SingularValueRun:
    """Products of Jacobians U diag(s) V^T with s uniform in [low, high]: the log margins of the
    singular-value bounds at every T, of the exponential rate high^T (contracting) or low^T
    (expanding), and the mean log-norm at each T."""

    label: str
    low: float
    high: float
    upper_margin: float
    lower_margin: float
    regime_margin: float
    mean_log_norm_at_T: float
    mean_log_norms: np.ndarray

    @property
    def contracting(self) -> bool:
        return self.label == "contracting"


def singular_value_runs(s: Session, config: ExperimentConfig) -> list[SingularValueRun]:
    generator = s.generator("singular-values")
    depths = torch.arange(1, config.depth + 1, dtype=s.torch_dtype, device=s.device)[:, None]
    runs = []
    for label, (low, high) in (("contracting", config.contracting),
                               ("expanding", config.expanding)):
        jacobians = prescribed_singular_values(
            generator, (config.depth, config.bound_paths), config.bound_dimension, low, high,
            s.torch_dtype, s.device)
        vector = torch.randn(config.bound_paths, config.bound_dimension, generator=generator,
                             dtype=s.torch_dtype, device=s.device)
        logs = renormalized_log_norms(vector, lambda t, stack=jacobians: stack[t - 1], config.depth)
        logs = logs - torch.linalg.vector_norm(vector, dim=-1).log()
        values = torch.linalg.svdvals(jacobians).log()
        regime = (depths * math.log(high) - logs if label == "contracting"
                  else logs - depths * math.log(low))
        runs.append(SingularValueRun(
            label, low, high, float((values[..., 0].cumsum(0) - logs).min()),
            float((logs - values[..., -1].cumsum(0)).min()), float(regime.min()),
            float(logs[-1].mean()), as_numpy(logs.mean(-1))))
    return runs


def record_singular_values(s: Session, config: ExperimentConfig,
                            run: SingularValueRun) -> None:
    eps = machine_epsilon(s.dtype)
    tolerance = LOG_ROUNDING_ULPS * eps * config.depth * max(1.0, math.log(2.0) * config.depth)
    where = (f"{config.bound_paths} products of {config.bound_dimension} x "
             f"{config.bound_dimension} Jacobians U diag(s) V^T, s uniform in [{run.low}, "
             f"{run.high}], T <= {config.depth}")
    s.inequality(f"singular-value-bounds-{run.label}",
                 f"{where}: sum_k log sigma_min(J_k) <= log(||J_T ... J_1 v|| / ||v||) <= sum_k log "
                 "sigma_max(J_k) at every T (worst of the two log margins). A sanity check: "
                 "sigma_min ||w|| <= ||J w|| <= sigma_max ||w|| holds for every matrix (proved in "
                 "the symbolic layer), so only rounding can break it",
                 min(run.upper_margin, run.lower_margin), tolerance, sanity=True,
                 values={"upper_margin": run.upper_margin, "lower_margin": run.lower_margin})
    rate_words = ("shrinks at least like sigma_max^T" if run.contracting
                  else "grows at least like sigma_min^T")
    s.inequality(f"{run.label}-exponential-rate",
                 f"{where}: with all singular values {'below' if run.contracting else 'above'} "
                 f"1 the product {rate_words} ({'high' if run.contracting else 'low'} = "
                 f"{run.high if run.contracting else run.low}) at every T (log margin). A sanity "
                 "check: the singular values are drawn inside the range, so the bound holds by "
                 "construction", run.regime_margin, tolerance, sanity=True,
                 values={"mean_log_norm_at_T": run.mean_log_norm_at_T,
                         "T_log_high": config.depth * math.log(run.high),
                         "T_log_low": config.depth * math.log(run.low)})


def orthogonal_log_norms(s: Session, config: ExperimentConfig) -> torch.Tensor:
    """log ||J_t ... J_1 v|| / ||v|| for Haar orthogonal J_k, t = 1..T."""
    generator = s.generator("orthogonal")
    jacobians = haar_orthogonal(config.bound_dimension, generator,
                                (config.depth, config.bound_paths), s.torch_dtype, s.device)
    vector = torch.randn(config.bound_paths, config.bound_dimension, generator=generator,
                         dtype=s.torch_dtype, device=s.device)
    logs = renormalized_log_norms(vector, lambda t: jacobians[t - 1], config.depth)
    return logs - torch.linalg.vector_norm(vector, dim=-1).log()


def record_orthogonal(s: Session, config: ExperimentConfig, logs: torch.Tensor) -> None:
    s.identity(
        "orthogonal-rate-zero",
        f"{config.bound_paths} products of Haar orthogonal {config.bound_dimension} x "
        f"{config.bound_dimension} Jacobians (orthogonal initialization): log ||J_T ... J_1 v|| = "
        f"log ||v|| at every T <= {config.depth}, growth rate exactly 0 (worst |log-norm|). A "
        "sanity check: ||Q v|| = ||v|| for orthogonal Q, so only rounding (and the orthogonality "
        "of the generated Q to a few eps) enters",
        float(logs.abs().max()), LOG_ROUNDING_ULPS * machine_epsilon(s.dtype) * config.depth,
        sanity=True)


def bounds_panel(bounds: list[SingularValueRun], config: ExperimentConfig) -> Panel:
    depths = tuple(float(t) for t in range(1, config.depth + 1))
    series = []
    for run in bounds:
        low, high = run.low, run.high
        series += [
            Series(f"{run.label}: s in [{low}, {high}] (mean)", depths,
                   tuple(float(v) for v in run.mean_log_norms)),
            Series(f"T log {high}", depths, tuple(t * math.log(high) for t in depths), "dashed"),
            Series(f"T log {low}", depths, tuple(t * math.log(low) for t in depths), "dashed"),
        ]
    return Panel("singular values in a range", "T", "log ||J_T ... J_1 v|| / ||v||",
                 tuple(series), xscale="linear", yscale="linear")
