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
from fractions import Fraction

import mpmath
import numpy as np
from mpmath import mp

from optverify.kit import Session, Verdict
from optverify.theorems.flat_activations.model import Staircase


@dataclass(frozen=True)
class NumericConfig:
    """stair: the activation; target: (v*, b*); points: generic (w, b) where the checks run."""

    stair: Staircase
    target: tuple[float, float] = (1.3, 0.2)
    points: tuple[tuple[float, float], ...] = ((0.4, -0.3), (-0.7, 0.5), (2.1, 0.05))

    @classmethod
    def quick(cls) -> NumericConfig:
        return cls(Staircase(15, 2.0))

    @classmethod
    def full(cls) -> NumericConfig:
        return cls(Staircase(55, 2.0))


def step_height(stair: Staircase) -> mpmath.mpf:
    return 2 * mp.mpf(stair.half_width) / (stair.steps - 1)


def staircase(z, stair: Staircase):
    h = step_height(stair)
    index = mp.floor((z + stair.half_width) / h + mp.mpf(1) / 2)
    return -stair.half_width + h * min(max(index, 0), stair.steps - 1)


def thresholds(stair: Staircase) -> list[mpmath.mpf]:
    h = step_height(stair)
    return [-stair.half_width + (j - mp.mpf(1) / 2) * h for j in range(1, stair.steps)]


def gaussian_density(x):
    return mp.exp(-x**2 / 2) / mp.sqrt(2 * mp.pi)


def gaussian_cdf(x):
    return (1 + mp.erf(x / mp.sqrt(2))) / 2


@dataclass(frozen=True)
class ExpectedUpdate:
    """along = E[(u(w x + b) - y) x], level = E[u(w x + b) - y] (mpf)."""

    along: mpmath.mpf
    level: mpmath.mpf

    def distance(self, other: ExpectedUpdate) -> mpmath.mpf:
        """max |difference| of the two entries."""
        return max(abs(self.along - other.along), abs(self.level - other.level))


def closed_form_update(w, b, v, c, stair: Staircase, height=None) -> ExpectedUpdate:
    """The expected update in closed form (module docstring); `height` overrides the step height
    h (the negative control uses the off-by-one height 2a / steps)."""
    ts = thresholds(stair)
    h = step_height(stair) if height is None else height
    along = h * mp.fsum(mp.sign(w) * gaussian_density((t - b) / w)
                        - mp.sign(v) * gaussian_density((t - c) / v) for t in ts)
    level = h * mp.fsum(gaussian_cdf((b - t) / abs(w)) - gaussian_cdf((c - t) / abs(v)) for t in ts)
    return ExpectedUpdate(along, level)


def _jump_nodes(w, b, v, c, stair: Staircase) -> list:
    """-oo, every x where u(w x + b) or u(v x + c) jumps (sorted), +oo."""
    ts = thresholds(stair)
    cuts = sorted({(t - b) / w for t in ts} | {(t - c) / v for t in ts})
    return [-mp.inf, *cuts, mp.inf]


def _interior_point(lo, hi):
    """A point strictly inside (lo, hi) (either end may be infinite, not both)."""
    if mp.isinf(lo):
        return hi - 1
    if mp.isinf(hi):
        return lo + 1
    return (lo + hi) / 2


QUADRATURE_DIGITS = 50
"""The quadrature twin runs at min(precision, 50) digits: mpmath's tanh-sinh quadrature over the
pieces costs 41 s of the quick layer at 50 digits and did not finish in 200 s at 100 (shared
2-core machine, load ~25; 0.7 s at 50 digits when idle); above 50 digits the closed form, computed
at the run's precision, is compared with the 50-digit quadrature against that precision's
floor 10^-40."""


def quadrature_update(w, b, v, c, stair: Staircase) -> ExpectedUpdate:
    """The same expectations by mp.quad, split at every jump of the integrand: between two jumps
    the residual u(w x + b) - u(v x + c) is constant, so it is evaluated once inside the piece
    (pieces where it is 0 add nothing) and mp.quad integrates weight(x) phi(x) over the piece."""
    nodes = _jump_nodes(w, b, v, c, stair)
    pieces = []
    for lo, hi in itertools.pairwise(nodes):
        inside = _interior_point(lo, hi)
        residual = staircase(w * inside + b, stair) - staircase(v * inside + c, stair)
        if residual != 0:
            pieces.append((residual, lo, hi))

    def integral(weight):
        return mp.fsum(residual * mp.quad(lambda x: weight(x) * gaussian_density(x), [lo, hi])
                       for residual, lo, hi in pieces)
    return ExpectedUpdate(integral(lambda x: x), integral(lambda x: 1))


def per_example_loss_derivative(w, b, x, v, c, stair: Staircase):
    """d/dw (u(w x + b) - u(v x + c))^2 at one sample, by mpmath numerical differentiation."""
    return mp.diff(lambda s: (staircase(s * x + b, stair) - staircase(v * x + c, stair)) ** 2, w)


def population_loss(w, b, v, c, stair: Staircase):
    """E[(u(w x + b) - u(v x + c))^2] for x ~ N(0, 1): a piecewise-constant integrand, summed as
    Phi differences between consecutive jumps."""
    total = []
    for lo, hi in itertools.pairwise(_jump_nodes(w, b, v, c, stair)):
        x = (lo + hi) / 2 if mp.isfinite(lo) and mp.isfinite(hi) else (hi - 1 if mp.isfinite(hi)
                                                                     else lo + 1)
        gap = staircase(w * x + b, stair) - staircase(v * x + c, stair)
        total.append(gap**2 * (gaussian_cdf(hi) - gaussian_cdf(lo)))
    return mp.fsum(total)


@dataclass(frozen=True)
class PointCheck:
    """The measurements at one generic (w, b) (mpf, under the caller's precision).

    closed: the closed-form update; residual: its distance to quadrature; derivatives: |d/dw| of
    the per-example loss at each sample x; descent: -(g_w (v* - w) + g_b (b* - b)).
    """

    w: float
    b: float
    closed: ExpectedUpdate
    residual: mpmath.mpf
    control_residual: mpmath.mpf
    derivatives: tuple[mpmath.mpf, ...]
    descent: mpmath.mpf

    def row(self) -> tuple:
        return (float(self.w), float(self.b), mp.nstr(self.closed.along, 12),
                mp.nstr(self.closed.level, 12), mp.nstr(self.residual, 3),
                mp.nstr(self.descent, 8))


def check_point(w0: float, b0: float, config: NumericConfig, samples: np.ndarray,
                quadrature_digits: int) -> PointCheck:
    """The measurements at (w0, b0) at the working precision, the quadrature at
    `quadrature_digits` (QUADRATURE_DIGITS)."""
    stair = config.stair
    v, c = (mp.mpf(value) for value in config.target)
    w, b = mp.mpf(w0), mp.mpf(b0)
    closed = closed_form_update(w, b, v, c, stair)
    with mp.workdps(quadrature_digits):
        quadrature = quadrature_update(w, b, v, c, stair)
    residual = closed.distance(quadrature)
    wrong = closed_form_update(w, b, v, c, stair, 2 * mp.mpf(stair.half_width) / stair.steps)
    control_residual = wrong.distance(quadrature)
    derivatives = tuple(abs(per_example_loss_derivative(w, b, mp.mpf(float(x)), v, c, stair))
                        for x in samples)
    descent = -(closed.along * (v - w) + closed.level * (c - b))
    return PointCheck(w0, b0, closed, residual, control_residual, derivatives, descent)


def descent_margin(x, m):
    """-(g_w (v - w) + g_b (c - b)) with (g_w, g_b) = `closed_form_update`, written once for
    `--rigorous` (sign(w) as w / |w|: the instance's w, v are non-zero)."""
    w, b, v, c = x["w"], x["b"], x["v"], x["c"]
    height = 2 * x["half_width"] / (x["steps"] - 1)
    ts = [-x["half_width"] + (j - m.number("1/2")) * height for j in range(1, x["steps"])]

    def density(z):
        return m.exp(-z ** 2 / 2) / m.sqrt(2 * m.pi)

    def cdf(z):
        return (1 + m.erf(z / m.sqrt(2))) / 2

    along = height * sum(w / m.abs(w) * density((t - b) / w) - v / m.abs(v) * density((t - c) / v)
                         for t in ts)
    level = height * sum(cdf((b - t) / m.abs(w)) - cdf((c - t) / m.abs(v)) for t in ts)
    return -(along * (v - w) + level * (c - b))


def descent_instance(config: NumericConfig, point: tuple[float, float]) -> dict:
    """The exact instance of `descent_margin` at a point (w, b): the floats the layer uses."""
    return {"w": Fraction(point[0]), "b": Fraction(point[1]),
            "v": Fraction(config.target[0]), "c": Fraction(config.target[1]),
            "half_width": Fraction(config.stair.half_width), "steps": int(config.stair.steps)}


def population_derivative(config: NumericConfig) -> mpmath.mpf:
    """d/dw of the population loss at the first generic point."""
    v, c = (mp.mpf(value) for value in config.target)
    w0, b0 = config.points[0]
    return mp.diff(lambda s: population_loss(s, mp.mpf(b0), v, c, config.stair), mp.mpf(w0))


def verify(s: Session) -> None:
    config = s.preset(quick=NumericConfig.quick(), full=NumericConfig.full())
    stair = config.stair
    samples = s.rng("numeric-samples").standard_normal(8)
    quadrature_digits = min(s.precision, QUADRATURE_DIGITS)
    with mp.workdps(s.precision):
        points = [check_point(w0, b0, config, samples, quadrature_digits)
                  for w0, b0 in s.progress(config.points, "expected update at generic (w, b)")]
        quadrature_floor = mp.mpf(10) ** -(quadrature_digits - (s.precision - s.floor_digits))
        s.identity("closed-form-vs-quadrature",
                   f"d = 1, {stair.steps}-step staircase, x ~ N(0, 1), y = u({config.target[0]} x + "
                   f"{config.target[1]}): E[(u(w x + b) - y) x] and E[u(w x + b) - y] as sums of "
                   "phi and erf terms equal mp.quad split at the jumps, at 3 generic (w, b) (max "
                   f"residual; the quadrature at {quadrature_digits} digits, QUADRATURE_DIGITS "
                   "caps them; tolerance 10^-(its digits - 10))",
                   max(point.residual for point in points), quadrature_floor,
                   precision_digits=quadrature_digits,
                   controls={"the closed form with the off-by-one step height 2a / steps":
                             min(point.control_residual for point in points)})
        s.identity("per-example-gradient-zero",
                   "sanity (the derivative of a piecewise-constant function is 0 by definition): "
                   "the gradient d/dw (u(w x + b) - y)^2 by mpmath differentiation at 8 Gaussian "
                   "samples x and 3 generic (w, b) is 0 (flat activation; tolerance "
                   "10^-(digits - 10))",
                   max(d for point in points for d in point.derivatives), sanity=True)
        margins = [point.descent for point in points]
        s.inequality("forward-only-descends",
                     "the forward-only step -E[(u - y)(x, 1)] is non-zero and points toward (v*, b*): "
                     "-(g_w (v* - w) + g_b (b* - b)) > 0 at every generic (w, b) (the margin must "
                     "clear the precision floor)", min(margins) - s.floor(), 0.0,
                     controls={"the step with the opposite sign (ascent)":
                               min(-m for m in margins) - s.floor(),
                               "no step (the zero per-example gradient that autograd returns)":
                               -s.floor()},
                     values={f"descent_{i}": float(m) for i, m in enumerate(margins)},
                     exact=(descent_margin, descent_instance(
                         config, config.points[margins.index(min(margins))])))
        population = population_derivative(config)
        s.check("population-loss-not-flat",
                "the population loss E[(u(w x + b) - y)^2] is smooth in w (the Gaussian averages the "
                "jumps), so its derivative is not E[per-example derivative] = 0: the zero gradient "
                "is that of every sample (what SGD/autograd see), not of the expectation",
                Verdict.CONSISTENT if abs(population) > s.floor() else Verdict.VIOLATED,
                f"d/dw E[loss] = {mp.nstr(population, 8)} at (w, b) = {config.points[0]}",
                decisive=False, values={"population_derivative": float(population)})
    s.table("expected-update", f"Expected forward-only update, d = 1, {stair.steps} steps",
            ("w", "b", "E[(u - y) x]", "E[u - y]", "|closed - quad|", "descent margin"),
            (point.row() for point in points))
