"""Numeric layer: exact (mpmath, at the session's precision) GD trajectories of the scalar
overparameterization w = w_1 * omega_2 (Arora, Cohen, Hazan 2018, arXiv:1802.06509, Section 3)
against the discrete end-to-end rule w <- w - eta ||w|| (g + Pr_w(g)) (Eq. 12, N = 2, single
output), on a small l_4 regression instance from a balanced init near zero.

1. One GD step maps to the rule plus eta^2 omega_2 <w_1, g> g exactly (the sympy identity, here at
   the precision floor on the instance).
2. After a fixed number of steps, ||w^GD - w^rule|| = Theta(eta^2) (per-step O(eta^2) errors),
   fitted over three decades of eta; the false alternative is first order (exponent 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

from optverify.kit import Bound, Session, rate_panel

STEP_ERROR_BOUND = Bound.tight("eta", 2, limit="zero")
"""GD departs from the end-to-end rule by Theta(eta^2) as eta -> 0 (a small-step statement: only
corrections that vanish as eta -> 0 are candidates)."""


@dataclass(frozen=True)
class Instance:
    """features (rows x cols), targets of a small l_4 regression, the initial w; all mpmath."""

    features: mpmath.matrix
    targets: mpmath.matrix
    start: mpmath.matrix


@dataclass(frozen=True)
class NumericConfig:
    rows: int
    cols: int
    start_norm: float
    steps: int
    etas: tuple[float, ...]

    @classmethod
    def quick(cls) -> NumericConfig:
        return cls(rows=12, cols=3, start_norm=0.1, steps=10,
                   etas=tuple(np.geomspace(1e-6, 1e-3, 7)))

    @classmethod
    def full(cls) -> NumericConfig:
        return cls(rows=24, cols=4, start_norm=0.1, steps=40,
                   etas=tuple(np.geomspace(1e-6, 1e-3, 13)))


def draw_instance(rng: np.random.Generator, config: NumericConfig) -> Instance:
    """Gaussian features, a linear target plus noise, a random initial w of norm start_norm."""
    features = rng.standard_normal((config.rows, config.cols))
    targets = features @ rng.standard_normal(config.cols) + 0.3 * rng.standard_normal(config.rows)
    direction = rng.standard_normal(config.cols)
    start = config.start_norm * direction / np.linalg.norm(direction)
    return Instance(mpmath.matrix(features.tolist()), mpmath.matrix(targets.tolist()),
                    mpmath.matrix(start.tolist()))


def l4_gradient(instance: Instance, w: mpmath.matrix) -> mpmath.matrix:
    """grad of mean (x^T w - y)^4 / 4: X^T r^3 / m."""
    residual = instance.features * w - instance.targets
    cubed = mpmath.matrix([residual[i] ** 3 for i in range(residual.rows)])
    return instance.features.T * cubed / residual.rows


def _dot(a: mpmath.matrix, b: mpmath.matrix):
    return mpmath.fsum(a[i] * b[i] for i in range(a.rows))


def balanced_pair(w: mpmath.matrix) -> tuple[mpmath.matrix, mpmath.mpf]:
    """(w_1, omega_2) with w_1 omega_2 = w and ||w_1|| = omega_2 = ||w||^(1/2)."""
    omega = mpmath.sqrt(mpmath.sqrt(_dot(w, w)))
    return w / omega, omega


def gd_step(instance: Instance, w1: mpmath.matrix, omega: mpmath.mpf, eta):
    """One GD step on (w_1, omega_2) for L^1(w_1 omega_2)."""
    grad = l4_gradient(instance, w1 * omega)
    return w1 - eta * omega * grad, omega - eta * _dot(w1, grad)


def rule_step(instance: Instance, w: mpmath.matrix, eta) -> mpmath.matrix:
    """w - eta ||w|| (g + <g, w> w / ||w||^2)."""
    grad = l4_gradient(instance, w)
    norm_sq = _dot(w, w)
    return w - eta * mpmath.sqrt(norm_sq) * (grad + _dot(grad, w) / norm_sq * w)


def trajectory_gap(instance: Instance, eta, steps: int):
    """||w^GD(steps) - w^rule(steps)|| from the same balanced start."""
    w1, omega = balanced_pair(instance.start)
    w = instance.start
    for _ in range(steps):
        w1, omega = gd_step(instance, w1, omega, eta)
        w = rule_step(instance, w, eta)
    return mpmath.norm(w1 * omega - w)


def one_step_residuals(instance: Instance, eta) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(||GD step - rule step - eta^2 omega_2 <w_1, g> g||, the same without the eta^2 term)."""
    w1, omega = balanced_pair(instance.start)
    grad = l4_gradient(instance, instance.start)
    new_w1, new_omega = gd_step(instance, w1, omega, eta)
    gap = new_w1 * new_omega - rule_step(instance, instance.start, eta)
    correction = eta**2 * omega * _dot(w1, grad) * grad
    return mpmath.norm(gap - correction), mpmath.norm(gap)


def verify(s: Session) -> None:
    config = s.preset(quick=NumericConfig.quick(), full=NumericConfig.full())
    instance = draw_instance(s.rng("numeric-instance"), config)
    eta = mpmath.mpf(config.etas[len(config.etas) // 2])
    residual, uncorrected = one_step_residuals(instance, eta)
    s.identity("gd-step-minus-rule-is-eta-squared-term",
               f"l_4 instance {config.rows} x {config.cols}, balanced start ||w|| = "
               f"{config.start_norm:g}, eta = {float(eta):.3g}: GD step on (w_1, omega_2) mapped "
               "to w - discrete end-to-end step - eta^2 omega_2 <w_1, g> g = 0",
               residual, controls={"GD equal to the end-to-end rule (no eta^2 term)":
                                   uncorrected},
               values={"eta2_term": float(uncorrected)})
    etas = np.array(config.etas)
    gaps = [trajectory_gap(instance, mpmath.mpf(e), config.steps) for e in s.progress(
        etas, "GD on (w_1, omega_2) vs the end-to-end rule")]
    y = np.array([float(g) for g in gaps])
    check = s.rate(
        "trajectory-gap-order-eta-squared",
        f"after {config.steps} steps from the same balanced start (l_4, {config.rows} x "
        f"{config.cols}): ||w^GD - w^rule|| = Theta(eta^2), eta over [{etas[0]:.0e}, "
        f"{etas[-1]:.0e}] at {s.precision} digits", etas, y, STEP_ERROR_BOUND,
        rules_out=(1.0, 1.75),
        values={"gap_over_eta2_smallest": float(y[0] / etas[0] ** 2)})
    s.figure("trajectory-gap", "GD on (w_1, omega_2) against the end-to-end rule (mpmath)",
             (rate_panel("fixed number of steps", "step size eta", "||w^GD - w^rule||", etas, y,
                         check.fit, STEP_ERROR_BOUND),))
