"""Numeric layer of `flat-activations` (mpmath, d = 1): the expected forward-only update in closed
form against quadrature, the flatness of the per-example loss, and the descent direction.

Source: Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 5; GLMtron (Kakade,
Kalai, Kanade, Shamir 2011). For x ~ N(0, 1), y = u(v x + c) and the staircase u of `model`:
E[(u(w x + b) - y) x] = h sum_j [sign(w) phi((t_j - b)/w) - sign(v) phi((t_j - c)/v)] and
E[u(w x + b) - y] = h sum_j [Phi((b - t_j)/|w|) - Phi((c - t_j)/|v|)] (Phi through erf).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from mpmath import mp

from optverify.claim import Layer, Progress, RunConfig
from optverify.results import Check, LayerResult, Table, Verdict
from optverify.theorems.flat_activations.model import Staircase
from optverify.verdict import identity_check, inequality_check

FLOOR_DIGITS_MARGIN = 10
"""Precision floor 10^-(digits - 10): ten digits of headroom for the sums over ~55 thresholds and
the quadrature's own error estimate."""


@dataclass(frozen=True)
class NumericConfig:
    """stair: the activation; target: (v*, b*); points: generic (w, b) where the checks run."""

    stair: Staircase
    target: tuple[float, float] = (1.3, 0.2)
    points: tuple[tuple[float, float], ...] = ((0.4, -0.3), (-0.7, 0.5), (2.1, 0.05))

    @classmethod
    def for_run(cls, quick: bool) -> NumericConfig:
        return cls(Staircase(15 if quick else 55, 2.0))


def staircase(z, stair: Staircase):
    h = 2 * mp.mpf(stair.half_width) / (stair.steps - 1)
    index = mp.floor((z + stair.half_width) / h + mp.mpf(1) / 2)
    return -stair.half_width + h * min(max(index, 0), stair.steps - 1)


def thresholds(stair: Staircase):
    h = 2 * mp.mpf(stair.half_width) / (stair.steps - 1)
    return [-stair.half_width + (j - mp.mpf(1) / 2) * h for j in range(1, stair.steps)], h


def gaussian_density(x):
    return mp.exp(-x**2 / 2) / mp.sqrt(2 * mp.pi)


def gaussian_cdf(x):
    return (1 + mp.erf(x / mp.sqrt(2))) / 2


def closed_form_update(w, b, v, c, stair: Staircase):
    """(E[(u(w x + b) - y) x], E[u(w x + b) - y]) in closed form (module docstring)."""
    ts, h = thresholds(stair)
    along = h * mp.fsum(mp.sign(w) * gaussian_density((t - b) / w)
                        - mp.sign(v) * gaussian_density((t - c) / v) for t in ts)
    level = h * mp.fsum(gaussian_cdf((b - t) / abs(w)) - gaussian_cdf((c - t) / abs(v)) for t in ts)
    return along, level


def quadrature_update(w, b, v, c, stair: Staircase):
    """The same expectations by mp.quad, split at every jump of the integrand."""
    ts, _ = thresholds(stair)
    cuts = sorted({(t - b) / w for t in ts} | {(t - c) / v for t in ts})
    nodes = [-mp.inf, *cuts, mp.inf]

    def integral(weight):
        return mp.fsum(mp.quad(lambda x: (staircase(w * x + b, stair) - staircase(v * x + c, stair))
                               * weight(x) * gaussian_density(x), [lo, hi])
                       for lo, hi in itertools.pairwise(nodes))
    return integral(lambda x: x), integral(lambda x: 1)


def per_example_loss_derivative(w, b, x, v, c, stair: Staircase):
    """d/dw (u(w x + b) - u(v x + c))^2 at one sample, by mpmath numerical differentiation."""
    return mp.diff(lambda s: (staircase(s * x + b, stair) - staircase(v * x + c, stair)) ** 2, w)


def verify(config: RunConfig, progress: Progress) -> LayerResult:
    settings = NumericConfig.for_run(config.quick)
    stair = settings.stair
    rng = config.numpy_rng("numeric-samples")
    samples = rng.standard_normal(8)
    checks: list[Check] = []
    rows = []
    with mp.workdps(config.precision):
        floor = mp.mpf(10) ** -(config.precision - FLOOR_DIGITS_MARGIN)
        v, c = (mp.mpf(value) for value in settings.target)
        residuals, derivatives, margins = [], [], []
        for w0, b0 in progress(settings.points, "expected update at generic (w, b)"):
            w, b = mp.mpf(w0), mp.mpf(b0)
            closed = closed_form_update(w, b, v, c, stair)
            quadrature = quadrature_update(w, b, v, c, stair)
            residuals.append(max(abs(p - q) for p, q in zip(closed, quadrature)))
            derivatives.extend(abs(per_example_loss_derivative(w, b, mp.mpf(float(x)), v, c,
                                                                 stair)) for x in samples)
            descent = -(closed[0] * (v - w) + closed[1] * (c - b))
            margins.append(descent)
            rows.append((float(w0), float(b0), mp.nstr(closed[0], 12), mp.nstr(closed[1], 12),
                         mp.nstr(residuals[-1], 3), mp.nstr(descent, 8)))
        checks.append(identity_check(
            Layer.NUMERIC, "closed-form-vs-quadrature",
            f"d = 1, {stair.steps}-step staircase, x ~ N(0, 1), y = u({settings.target[0]} x + "
            f"{settings.target[1]}): E[(u(w x + b) - y) x] and E[u(w x + b) - y] as sums of phi "
            "and erf terms equal mp.quad split at the jumps, at 3 generic (w, b) (max residual; "
            "tolerance 10^-(digits - 10))", float(max(residuals)), float(floor),
            precision_digits=config.precision))
        largest = max(derivatives)
        checks.append(identity_check(
            Layer.NUMERIC, "per-example-gradient-zero",
            "the gradient d/dw (u(w x + b) - y)^2 by mpmath differentiation at 8 Gaussian samples x "
            "and 3 generic (w, b) is 0 (flat activation; tolerance 10^-(digits - 10))",
            float(largest), float(floor), precision_digits=config.precision))
        checks.append(inequality_check(
            Layer.NUMERIC, "forward-only-descends",
            "the forward-only step -E[(u - y)(x, 1)] is non-zero and points toward (v*, b*): "
            "-(g_w (v* - w) + g_b (b* - b)) > 0 at every generic (w, b) (the margin must clear the "
            "precision floor)", float(min(margins) - floor), 0.0,
            values={f"descent_{i}": float(m) for i, m in enumerate(margins)}))
        population = mp.diff(lambda s: population_loss(s, mp.mpf(settings.points[0][1]), v, c,
                                                       stair), mp.mpf(settings.points[0][0]))
        checks.append(Check(
            Layer.NUMERIC, "population-loss-not-flat",
            "the population loss E[(u(w x + b) - y)^2] is smooth in w (the Gaussian averages the "
            "jumps), so its derivative is not E[per-example derivative] = 0: the zero gradient is "
            "that of every sample (what SGD/autograd see), not of the expectation",
            Verdict.CONSISTENT if abs(population) > floor else Verdict.VIOLATED,
            detail=f"d/dw E[loss] = {mp.nstr(population, 8)} at (w, b) = {settings.points[0]}",
            decisive=False, values={"population_derivative": float(population)}))
    table = Table("expected-update", f"Expected forward-only update, d = 1, {stair.steps} steps",
                  ("w", "b", "E[(u - y) x]", "E[u - y]", "|closed - quad|", "descent margin"),
                  tuple(rows))
    return LayerResult(Layer.NUMERIC, checks=tuple(checks), tables=(table,))


def population_loss(w, b, v, c, stair: Staircase):
    """E[(u(w x + b) - u(v x + c))^2] for x ~ N(0, 1): a piecewise-constant integrand, summed as
    Phi differences between consecutive jumps."""
    ts, _ = thresholds(stair)
    cuts = sorted({(t - b) / w for t in ts} | {(t - c) / v for t in ts})
    nodes = [-mp.inf, *cuts, mp.inf]
    total = []
    for lo, hi in itertools.pairwise(nodes):
        x = (lo + hi) / 2 if mp.isfinite(lo) and mp.isfinite(hi) else (hi - 1 if mp.isfinite(hi)
                                                                     else lo + 1)
        gap = staircase(w * x + b, stair) - staircase(v * x + c, stair)
        total.append(gap**2 * (gaussian_cdf(hi) - gaussian_cdf(lo)))
    return mp.fsum(total)
