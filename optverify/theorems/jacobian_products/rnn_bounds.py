"""The claim's main check: Pascanu, Mikolov, Bengio (2013), arXiv:1211.5063, Section 2.1, measured
on tanh and sigmoid RNNs x_t = W f(x_(t-1)) + U u_t + b with the same W at every step (correlated
Jacobians), over lambda_1 = ||W||_2 around 1/gamma:

- sufficient condition for vanishing (decisive, main): ||dx_T/dx_k||_2 <= (gamma lambda_1)^(T - k)
  at every lag T - k on every path with gamma lambda_1 < 1, judged as the worst per-step log margin
  log(gamma lambda_1) - log ||dx_T/dx_k|| / (T - k). Its false alternatives, each of which must come
  out violated on the same paths: the bound with the spectral radius rho(W) in place of lambda_1
  (the first arXiv version's "largest eigenvalue"), and the bound with a constant
  IMPROVED_CONSTANT times smaller (the rate is attained where x_t stays at f's steepest point);
- necessary condition for explosion (decisive): on every path with gamma lambda_1 <= 1 no
  ||dx_T/dx_k|| exceeds 1; its false alternative, a threshold SHARPER_THRESHOLD / gamma, is
  violated by paths just above 1/gamma that explode;
- the first version's wording as written (reported, not decisive: the corrected statement is the
  main check): non-normal W with gamma rho(W) = WITNESS_RADIUS < 1 < gamma lambda_1 have
  ||dx_T/dx_(T-1)|| > 1, a transient growth that (gamma rho)^(T - k) forbids.

The paths: W Gaussian (non-normal, rho about half of lambda_1) or scaled Haar orthogonal (normal,
rho = lambda_1), rescaled to gamma lambda_1 in the sweep; inputs U u_t + b = -W f(0) + s xi_t with
xi_t ~ N(0, I) and s in the input scales (s = 0 pins x_t = 0, where f' = gamma).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import Panel, Series, Session, machine_epsilon
from optverify.numerics.haar import haar_orthogonal
from optverify.numerics.validation import require_int, require_positive
from optverify.theorems.jacobian_products.pascanu import (
    ACTIVATIONS,
    Activation,
    jacobian_log_norms,
    pinning_drive,
    radius_scaled_weights,
    rnn_states,
    scaled_weights,
    spectral_radius,
)
from optverify.theorems.jacobian_products.products import as_numpy

ROUNDING_ULPS = 16
"""Each factor of the backward product adds a relative rounding of at most about n eps to its
norm (a matrix product of n-term sums, Higham Section 3.5) and the SVD a few eps more, so the
per-step log-norm log ||dx_T/dx_k|| / (T - k) carries at most ROUNDING_ULPS * n * eps of rounding:
the tolerance of the per-step margins (fixed before measuring)."""

IMPROVED_CONSTANT = 0.95
"""The false alternative 'the gradients vanish at least like (0.95 gamma lambda_1)^(T - k)': a bound
5% tighter per step, which the paths pinned at f's steepest point must violate (there the bound is
attained)."""

SHARPER_THRESHOLD = 1.1
"""The false alternative 'explosion needs lambda_1 > 1.1 / gamma': the sweep holds gamma lambda_1 =
1.05, whose pinned orthogonal paths grow like 1.05^(T - k)."""

WITNESS_RADIUS = 0.9
"""gamma rho(W) of the non-normal counter-examples to the first version's wording."""


@dataclass(frozen=True)
class RnnBoundConfig:
    """dimension n, depth T (lags 1..T from the end), the swept gamma lambda_1 values, the input
    scales s, samples per (family, gamma lambda_1, s) cell, and the number of non-normal
    counter-examples to the eigenvalue wording."""

    dimension: int
    depth: int
    ratios: tuple[float, ...]
    input_scales: tuple[float, ...]
    samples: int
    witnesses: int

    def __post_init__(self) -> None:
        require_int("the dimension n", self.dimension, minimum=2)
        require_int("the number of Jacobians T", self.depth, minimum=1)
        require_int("the samples per cell", self.samples, minimum=1)
        require_int("the witnesses per cell", self.witnesses, minimum=1)
        require_positive("gamma lambda_1", np.array(self.ratios))
        if not any(1 < r <= SHARPER_THRESHOLD for r in self.ratios):
            raise ValueError(f"the sweep needs a gamma lambda_1 in (1, {SHARPER_THRESHOLD}] for "
                             "the sharper-threshold control")
        if not any(r < 1 for r in self.ratios) or min(self.input_scales) != 0:
            raise ValueError("the sweep needs gamma lambda_1 < 1 and the pinned input scale 0")

    @classmethod
    def quick(cls) -> RnnBoundConfig:
        return cls(8, 32, (0.5, 0.9, 0.95, 1.0, 1.05, 1.25), (0.0, 0.1, 1.0), 6, 24)

    @classmethod
    def full(cls) -> RnnBoundConfig:
        return cls(16, 64, (0.5, 0.8, 0.9, 0.95, 0.99, 1.0, 1.01, 1.05, 1.25, 1.5),
                   (0.0, 0.1, 1.0), 8, 48)


@dataclass(frozen=True)
class RnnPaths:
    """One activation's paths: per path the swept gamma lambda_1 of its cell, gamma lambda_1 and
    gamma rho(W) measured on the W used (float64),
    whether W is normal (scaled orthogonal), the input scale, whether it is a counter-example to
    the eigenvalue wording, and log ||dx_T/dx_(T-m)||_2 for m = 1..T (shape (T, paths))."""

    activation: str
    gamma: float
    cell_ratio: np.ndarray
    ratio: np.ndarray
    radius_ratio: np.ndarray
    normal: np.ndarray
    input_scale: np.ndarray
    witness: np.ndarray
    log_norms: np.ndarray

    @property
    def lags(self) -> np.ndarray:
        return np.arange(1, self.log_norms.shape[0] + 1)[:, None]

    def per_step_margin(self, rate: np.ndarray, paths: np.ndarray) -> float:
        """min over the chosen paths and every lag of log(rate) - log ||dx_T/dx_k|| / (T - k)."""
        return float((np.log(rate[paths]) - self.log_norms[:, paths] / self.lags).min())

    def largest_log_norm(self, paths: np.ndarray) -> float:
        """max over the chosen paths and lags of log ||dx_T/dx_k||_2."""
        return float(self.log_norms[:, paths].max())


def _weights(s: Session, generator: torch.Generator, config: RnnBoundConfig, gamma: float
             ) -> tuple[torch.Tensor, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The sweep's W (cells in order family x ratio x input scale x sample), then the witnesses;
    with each path's swept gamma lambda_1 (nan for a witness), normal flag, input scale and
    witness flag."""
    n, cells = config.dimension, len(config.ratios) * len(config.input_scales) * config.samples
    ratios = torch.tensor(config.ratios, dtype=s.torch_dtype, device=s.device)
    targets = ratios.repeat_interleave(len(config.input_scales) * config.samples) / gamma
    gaussian = torch.randn(cells, n, n, generator=generator, dtype=s.torch_dtype,
                           device=s.device)
    orthogonal = haar_orthogonal(n, generator, (cells,), s.torch_dtype, s.device)
    raw_witness = torch.randn(config.witnesses, n, n, generator=generator, dtype=s.torch_dtype,
                              device=s.device)
    radius = torch.full((config.witnesses,), WITNESS_RADIUS / gamma, dtype=s.torch_dtype,
                        device=s.device)
    weights = torch.cat([scaled_weights(gaussian, targets), scaled_weights(orthogonal, targets),
                         radius_scaled_weights(raw_witness, radius)])
    scales = np.tile(np.repeat(config.input_scales, config.samples), len(config.ratios))
    normal = np.r_[np.zeros(cells, bool), np.ones(cells, bool), np.zeros(config.witnesses, bool)]
    witness = np.r_[np.zeros(2 * cells, bool), np.ones(config.witnesses, bool)]
    swept = np.repeat(config.ratios, len(config.input_scales) * config.samples)
    return (weights, np.r_[swept, swept, np.full(config.witnesses, np.nan)], normal,
            np.r_[scales, scales, np.zeros(config.witnesses)], witness)


def rnn_paths(s: Session, config: RnnBoundConfig, activation: Activation) -> RnnPaths:
    generator = s.generator(f"pascanu-{activation.name}")
    weights, cell_ratio, normal, scales, witness = _weights(s, generator, config,
                                                            activation.gamma)
    noise = torch.randn(config.depth, weights.shape[0], config.dimension, generator=generator,
                        dtype=s.torch_dtype, device=s.device)
    scale = torch.tensor(scales, dtype=s.torch_dtype, device=s.device)[:, None]
    drives = pinning_drive(weights, activation) + scale * noise
    states = rnn_states(weights, drives, activation)
    log_norms = jacobian_log_norms(weights, states, activation)
    exact = weights.to(torch.float64)
    ratio = activation.gamma * torch.linalg.matrix_norm(exact, ord=2)
    radius = activation.gamma * spectral_radius(exact)
    return RnnPaths(activation.name, activation.gamma, cell_ratio, as_numpy(ratio),
                    as_numpy(radius), normal, scales, witness,
                    as_numpy(log_norms).astype(np.float64))


def _tolerance(s: Session, config: RnnBoundConfig) -> float:
    return ROUNDING_ULPS * config.dimension * machine_epsilon(s.dtype)


def _where(config: RnnBoundConfig, paths: RnnPaths) -> str:
    return (f"{paths.activation} RNN x_t = W f(x_(t-1)) + U u_t + b (gamma = {paths.gamma:g}), "
            f"n = {config.dimension}, the same W at every step, lags T - k = 1..{config.depth}; "
            f"W Gaussian (non-normal) or scaled orthogonal, {config.samples} per cell, inputs "
            f"-W f(0) + s N(0, I) with s in {config.input_scales} (s = 0 pins x_t = 0, f' = gamma)")


def record_vanishing_bound(s: Session, config: RnnBoundConfig, paths: RnnPaths) -> None:
    below = paths.cell_ratio < 1
    tolerance = _tolerance(s, config)
    margin = paths.per_step_margin(paths.ratio, below)
    s.inequality(
        f"pascanu-vanishing-bound-{paths.activation}",
        f"{_where(config, paths)}: for lambda_1 = ||W||_2 < 1/gamma (gamma lambda_1 in "
        f"{tuple(sorted(set(r for r in config.ratios if r < 1)))}, {int(below.sum())} paths) "
        "||dx_T/dx_k||_2 <= (gamma lambda_1)^(T - k) at every lag (margin: the worst per-step "
        "log(gamma lambda_1) - log ||dx_T/dx_k|| / (T - k); tolerance "
        f"{ROUNDING_ULPS} n eps)", margin, tolerance, main=True,
        controls={
            "the first arXiv version's wording, lambda_1 the largest eigenvalue modulus rho(W) "
            "(the bound (gamma rho)^(T - k))": paths.per_step_margin(paths.radius_ratio, below),
            f"a bound {IMPROVED_CONSTANT:g} times smaller per step, (0.95 gamma lambda_1)^(T - k)":
            paths.per_step_margin(IMPROVED_CONSTANT * paths.ratio, below)},
        values={"paths": int(below.sum()),
                "gamma_lambda_1_largest_measured": float(paths.ratio[below].max()),
                "largest_log_norm": paths.largest_log_norm(below)})


def record_explosion_condition(s: Session, config: RnnBoundConfig, paths: RnnPaths) -> None:
    tolerance = _tolerance(s, config) * config.depth
    at_most_one = paths.cell_ratio <= 1
    sharper = paths.cell_ratio <= SHARPER_THRESHOLD
    above = paths.cell_ratio > 1
    s.inequality(
        f"pascanu-explosion-needs-lambda1-above-threshold-{paths.activation}",
        f"{_where(config, paths)}: lambda_1 > 1/gamma is necessary for the gradients to explode: "
        f"on the {int(at_most_one.sum())} paths with gamma lambda_1 <= 1 no ||dx_T/dx_k||_2 "
        "exceeds 1 (margin: -max log ||dx_T/dx_k||; tolerance "
        f"{ROUNDING_ULPS} n eps T)", -paths.largest_log_norm(at_most_one), tolerance,
        controls={f"a sharper threshold: explosion needs lambda_1 > {SHARPER_THRESHOLD:g} / gamma "
                  f"(the {int(sharper.sum())} paths with gamma lambda_1 <= "
                  f"{SHARPER_THRESHOLD:g} stay below 1)": -paths.largest_log_norm(sharper)},
        values={"largest_log_norm_above_threshold": paths.largest_log_norm(above),
                "largest_log_norm_at_or_below": paths.largest_log_norm(at_most_one)})


def record_eigenvalue_wording(s: Session, config: RnnBoundConfig, paths: RnnPaths) -> None:
    witness = paths.witness
    peaks = paths.log_norms[:, witness].max(axis=0)
    grows = int((peaks > _tolerance(s, config)).sum())
    worst = int(np.argmax(peaks))
    lag = int(np.argmax(paths.log_norms[:, witness][:, worst])) + 1
    s.inequality(
        f"pascanu-eigenvalue-wording-as-written-{paths.activation}",
        f"The first arXiv version's wording as written: rho(W) < 1/gamma (largest eigenvalue "
        f"modulus) makes ||dx_T/dx_k|| <= (gamma rho)^(T - k). {config.witnesses} Gaussian "
        f"(non-normal) W with gamma rho(W) = {WITNESS_RADIUS:g} and gamma lambda_1 in "
        f"[{paths.ratio[witness].min():.3g}, {paths.ratio[witness].max():.3g}], {paths.activation} "
        f"RNN pinned at x_t = 0, n = {config.dimension}: {grows} of {config.witnesses} show "
        f"transient growth ||dx_T/dx_k|| > 1 (largest {math.exp(peaks[worst]):.4g} at lag "
        f"{lag}) although gamma rho < 1. Reported, not decisive: the corrected statement "
        "(lambda_1 the largest singular value) is the main check; rho < 1/gamma still makes "
        "the pinned products vanish in the long run (||(gamma W)^m||^(1/m) -> gamma rho)",
        paths.per_step_margin(paths.radius_ratio, witness), _tolerance(s, config),
        decisive=False,
        values={"witnesses_with_growth": grows, "largest_growth_factor": math.exp(peaks[worst]),
                "lag_of_largest_growth": lag,
                "log_norm_at_largest_lag_worst": float(paths.log_norms[-1, witness].max())})


def rate_rows(config: RnnBoundConfig, paths: RnnPaths) -> list[tuple]:
    """Per (W family, input scale, gamma lambda_1): the mean per-step rate log ||dx_T/dx_0|| / T
    against the bound's log(gamma lambda_1)."""
    rows = []
    sweep = ~paths.witness
    for normal in (False, True):
        for scale in config.input_scales:
            for ratio in config.ratios:
                cell = (sweep & (paths.normal == normal) & (paths.input_scale == scale)
                        & (paths.cell_ratio == ratio))
                rate = paths.log_norms[-1, cell] / config.depth
                rows.append((paths.activation, "orthogonal" if normal else "Gaussian", scale,
                             ratio, math.log(ratio), float(rate.mean()), float(rate.max())))
    return rows


def rate_panel_of(config: RnnBoundConfig, paths: RnnPaths) -> Panel:
    rows = rate_rows(config, paths)
    ratios = tuple(float(r) for r in config.ratios)
    series = [Series(f"{family}, s = {scale:g}", ratios,
                     tuple(row[5] for row in rows if row[1] == family and row[2] == scale))
              for family in ("Gaussian", "orthogonal") for scale in config.input_scales]
    series.append(Series("bound log(gamma lambda_1)", ratios, tuple(math.log(r) for r in ratios),
                         "dashed"))
    return Panel(f"{paths.activation} RNN (gamma = {paths.gamma:g})", "gamma lambda_1",
                 f"mean log ||dx_T/dx_0|| / T (T = {config.depth})", tuple(series),
                 xscale="linear", yscale="linear")


def verify(s: Session) -> None:
    config = s.preset(quick=RnnBoundConfig.quick(), full=RnnBoundConfig.full())
    panels, rows = [], []
    for activation in ACTIVATIONS:
        paths = rnn_paths(s, config, activation)
        record_vanishing_bound(s, config, paths)
        record_explosion_condition(s, config, paths)
        record_eigenvalue_wording(s, config, paths)
        panels.append(rate_panel_of(config, paths))
        rows += rate_rows(config, paths)
    s.figure("pascanu-rnn-rates", "RNN Jacobian products against (gamma lambda_1)^(T - k)",
             panels, columns=len(panels))
    s.table("pascanu-rnn-rates", "Per-step rate of ||dx_T/dx_0|| on the RNN paths against the "
            "bound log(gamma lambda_1)",
            ("activation", "W", "input scale s", "gamma lambda_1", "log(gamma lambda_1)",
             "mean rate", "largest rate"), rows)
