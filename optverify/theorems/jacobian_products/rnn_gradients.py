"""Sanity checks on the tanh RNN of Pascanu, Mikolov, Bengio (2013), arXiv:1211.5063: the gradient
obeys log ||dL/ds_{T-t}|| <= t log ||W||_2 (Section 2.1, |1 - s^2| <= 1), and gradient-norm
clipping (Section 3, Algorithm 1) caps the update norm at the threshold and keeps its direction.
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
    clip_by_norm,
    gaussian_jacobians,
    lyapunov_exponent,
    spectral_norm,
    tanh_rnn_gradient_log_norms,
    tanh_rnn_states,
)
from optverify.theorems.jacobian_products.singular_value_bounds import LOG_ROUNDING_ULPS


@dataclass(frozen=True)
class RnnRun:
    """Gradient log-norms (t, paths) back-propagated t steps through a tanh RNN."""

    label: str
    weight_norm: float
    log_norms: np.ndarray

    @property
    def rate(self) -> float:
        depths = np.arange(1, self.log_norms.shape[0] + 1)
        return float(np.polyfit(depths, self.log_norms.mean(-1), 1)[0])


def _rnn_weights(s: Session, generator: torch.Generator, config: ExperimentConfig, norm: float,
                 orthogonal: bool) -> torch.Tensor:
    shape = (config.rnn_paths,)
    if orthogonal:
        return norm * haar_orthogonal(config.rnn_dimension, generator, shape, s.torch_dtype,
                                      s.device)
    raw = torch.randn(*shape, config.rnn_dimension, config.rnn_dimension, generator=generator,
                      dtype=s.torch_dtype, device=s.device)
    return norm * raw / spectral_norm(raw)[:, None, None]


def rnn_runs(s: Session, config: ExperimentConfig) -> list[RnnRun]:
    generator = s.generator("rnn")
    inputs = torch.randn(config.depth, config.rnn_paths, config.rnn_dimension, generator=generator,
                         dtype=s.torch_dtype, device=s.device)
    final = torch.randn(config.rnn_paths, config.rnn_dimension, generator=generator,
                        dtype=s.torch_dtype, device=s.device)
    start = torch.linalg.vector_norm(final, dim=-1).log()
    runs = []
    for norm, orthogonal in [*((n, False) for n in config.rnn_norms), (1.0, True)]:
        weight = _rnn_weights(s, generator, config, norm, orthogonal)
        logs = tanh_rnn_gradient_log_norms(weight, tanh_rnn_states(weight, inputs), final)
        label = f"{'orthogonal' if orthogonal else 'Gaussian'} W, ||W||_2 = {norm:g}"
        runs.append(RnnRun(label, norm, as_numpy(logs - start)))
    return runs


def record_rnn_bound(s: Session, runs: list[RnnRun], config: ExperimentConfig) -> None:
    contracting = [r for r in runs if r.weight_norm < 1]
    margins = []
    for r in contracting:
        depths = np.arange(1, r.log_norms.shape[0] + 1)[:, None]
        margins.append(float((depths * np.log(r.weight_norm) - r.log_norms).min()))
    s.inequality(
        "tanh-rnn-gradient-bound",
        f"tanh RNN (n = {config.rnn_dimension}, {config.rnn_paths} paths, inputs N(0, 1)) with "
        f"||W||_2 in {[r.weight_norm for r in contracting]}: log ||dL/ds_(T-t)|| - log "
        "||dL/ds_T|| <= t log ||W||_2 at every t (worst log margin). A sanity check: each "
        "Jacobian diag(1 - s_k^2) W has norm <= ||W||_2 because |1 - s^2| <= 1, so only "
        "rounding can break it",
        min(margins), LOG_ROUNDING_ULPS * machine_epsilon(s.dtype) * config.depth * config.depth,
        sanity=True,
        values={f"rate_{r.label}": r.rate for r in runs})


@dataclass(frozen=True)
class ClippedGradients:
    """Gradients back-propagated through exploding Gaussian Jacobians, before and after
    clipping: the largest norms, the fraction clipped and the worst change of direction."""

    largest_clipped_norm: float
    largest_unclipped_norm: float
    fraction_clipped: float
    worst_direction_change: float


def clipped_gradients(s: Session, config: ExperimentConfig, dimension: int) -> ClippedGradients:
    generator = s.generator("clipping")
    jacobians = gaussian_jacobians(generator, (config.clip_depth, config.bound_paths), dimension,
                                   config.clip_sigma, s.torch_dtype, s.device)
    gradient = torch.randn(config.bound_paths, dimension, generator=generator,
                           dtype=s.torch_dtype, device=s.device)
    gradients = []
    for jacobian in jacobians:
        gradient = (jacobian @ gradient[..., None])[..., 0]
        gradients.append(gradient)
    stacked = torch.stack(gradients)
    clipped = clip_by_norm(stacked, config.clip_threshold)
    norms = torch.linalg.vector_norm(stacked, dim=-1)
    clipped_norms = torch.linalg.vector_norm(clipped, dim=-1)
    cosine = (clipped * stacked).sum(-1) / (clipped_norms * norms)
    return ClippedGradients(float(clipped_norms.max()), float(norms.max()),
                            float((norms > config.clip_threshold).double().mean()),
                            float((1 - cosine).abs().max()))


def record_clipping(s: Session, config: ExperimentConfig, dimension: int,
                     clipping: ClippedGradients) -> None:
    tolerance = 4 * machine_epsilon(s.dtype)
    s.inequality(
        "clipping-bounds-update",
        f"gradients through T <= {config.clip_depth} Gaussian Jacobians with sigma = "
        f"{config.clip_sigma} (exploding, lambda_1 = "
        f"{lyapunov_exponent(config.clip_sigma, dimension):.3g}; {clipping.fraction_clipped:.3g} "
        f"of them clipped) clipped by norm at {config.clip_threshold} (Algorithm 1 of "
        "arXiv:1211.5063): every clipped update has norm <= threshold and keeps its direction "
        "(margin: the worse of 1 - largest clipped norm / threshold and -(1 - cos(clipped, "
        "unclipped)), worst over the updates; tolerance 4 eps). A sanity check: Algorithm 1 rescales g by "
        "min(1, threshold / ||g||), which caps the norm and keeps the direction by construction",
        min(1 - clipping.largest_clipped_norm / config.clip_threshold,
            -clipping.worst_direction_change), tolerance, sanity=True,
        values={"largest_unclipped_norm": clipping.largest_unclipped_norm,
                "fraction_clipped": clipping.fraction_clipped,
                "worst_direction_change": clipping.worst_direction_change})


def rnn_panel(runs: list[RnnRun]) -> Panel:
    series = []
    for r in runs:
        depths = tuple(float(t) for t in range(1, r.log_norms.shape[0] + 1))
        series.append(Series(f"{r.label} (rate {r.rate:.3g})", depths,
                             tuple(float(v) for v in r.log_norms.mean(-1))))
        if r.weight_norm < 1:
            series.append(Series(f"t log {r.weight_norm:g} (bound)", depths,
                                 tuple(t * math.log(r.weight_norm) for t in depths), "dashed"))
    return Panel("tanh RNN gradient back t steps", "t", "E log ||dL/ds_(T-t)|| / ||dL/ds_T||",
                 tuple(series), xscale="linear", yscale="linear")
