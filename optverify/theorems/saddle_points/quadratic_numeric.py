"""GD, Newton and saddle-free Newton on the quadratic saddle (a x^2 - b y^2)/2 at mpmath precision,
against their closed forms (Dauphin et al. 2014, arXiv:1406.2572, Sections 4-5): GD (x_t, y_t) =
((1 - eta a)^t x_0, (1 + eta b)^t y_0) against the gradient-flow solution, Newton lands on the
saddle in one step, saddle-free Newton doubles |y| per step, and the exact escape count against
an off-by-one count.
"""

from __future__ import annotations

from dataclasses import dataclass

from mpmath import mp

from optverify.kit import Session
from optverify.theorems.saddle_points.config import NumericConfig
from optverify.theorems.saddle_points.mp_iterations import (
    Oracle,
    gd_step,
    newton_step,
    norm,
    quadratic_oracle,
    saddle_free_newton_step,
    steps_to_leave,
)


@dataclass(frozen=True)
class EscapeCount:
    """GD's steps from (1, 10^-k) until |y_t| >= R on (a x^2 - b y^2)/2, and the closed form
    ceil(log(R / 10^-k) / log(1 + eta b))."""

    a: float
    b: float
    exponent: int
    gd_steps: int
    closed_form: int

    @property
    def row(self) -> tuple[float, float, int, int, int]:
        return (self.a, self.b, self.exponent, self.gd_steps, self.closed_form)


@dataclass(frozen=True)
class QuadraticRuns:
    """The quadratic saddles' largest relative residuals (GD against its closed form over t,
    Newton's one step, saddle-free Newton's map against (0, 2y)) and GD's escape counts."""

    gd_residual: mp.mpf
    newton_residual: mp.mpf
    saddle_free_residual: mp.mpf
    escapes: tuple[EscapeCount, ...]
    gradient_flow_residual: mp.mpf
    saddle_free_one_step_residual: mp.mpf
    newton_as_saddle_free_residual: mp.mpf

    def escape_count_error(self, offset: int = 0) -> int:
        """The largest |GD steps - (closed form + offset)| (offset +-1: an off-by-one count)."""
        return max(abs(row.gd_steps - row.closed_form - offset) for row in self.escapes)


def gd_closed_form(a, b, eta, t):
    """GD's factors along x and y after t steps on (a x^2 - b y^2)/2: (1 - eta a)^t, (1 + eta b)^t."""
    return (1 - eta * a) ** t, (1 + eta * b) ** t


def gradient_flow_form(a, b, eta, t):
    """The gradient flow's factors at time eta t: e^{-eta a t}, e^{eta b t} (the continuous-time
    approximation, the negative control of the discrete closed form)."""
    return mp.exp(-eta * a * t), mp.exp(eta * b * t)


def gd_closed_form_residual(oracle: Oracle, a, b, eta, start: mp.matrix, steps: int,
                            form=gd_closed_form):
    """max over t <= steps of |x_t - x(t)| / |x(t)|, x(t) = (f_x(t) x_0, f_y(t) y_0) with the
    factors of `form` (by default GD's closed form)."""
    residual, point = mp.zero, start
    for t in range(1, steps + 1):
        point = gd_step(oracle, point, eta)
        along_x, along_y = form(a, b, eta, t)
        exact = mp.matrix([along_x * start[0], along_y * start[1]])
        residual = max(residual, norm(point - exact) / norm(exact))
    return residual


def gd_escape_count(oracle: Oracle, a, b, eta, exponent: int, radius: float) -> EscapeCount:
    y0 = mp.mpf(10) ** -exponent
    gd = steps_to_leave(lambda p: gd_step(oracle, p, eta), mp.matrix([mp.one, y0]), radius,
                        measure=lambda p: abs(p[1]))
    formula = mp.ceil(mp.log(radius / y0) / mp.log(1 + eta * b))
    return EscapeCount(float(a), float(b), exponent, gd, int(formula))


def quadratic_runs(config: NumericConfig) -> QuadraticRuns:
    """GD, Newton and saddle-free Newton from (0.7, -0.3), and GD's escapes, on every saddle."""
    eta = mp.mpf(config.eta)
    gd_residual = newton_residual = sfn_residual = mp.zero
    flow_residual = sfn_one_step = newton_doubling = mp.zero
    escapes, start = [], mp.matrix([mp.mpf("0.7"), mp.mpf("-0.3")])
    doubled = mp.matrix([0, 2 * start[1]])
    for a, b in config.saddles:
        a, b = mp.mpf(a), mp.mpf(b)
        oracle = quadratic_oracle(a, b)
        gd_residual = max(gd_residual,
                          gd_closed_form_residual(oracle, a, b, eta, start, config.gd_steps))
        flow_residual = max(flow_residual, gd_closed_form_residual(
            oracle, a, b, eta, start, config.gd_steps, gradient_flow_form))
        newton_image, sfn_image = newton_step(oracle, start), saddle_free_newton_step(oracle, start)
        newton_residual = max(newton_residual, norm(newton_image) / norm(start))
        sfn_one_step = max(sfn_one_step, norm(sfn_image) / norm(start))
        sfn_residual = max(sfn_residual, norm(sfn_image - doubled) / norm(start))
        newton_doubling = max(newton_doubling, norm(newton_image - doubled) / norm(start))
        escapes.extend(gd_escape_count(oracle, a, b, eta, exponent, config.radius)
                       for exponent in config.escape_exponents)
    return QuadraticRuns(gd_residual, newton_residual, sfn_residual, tuple(escapes),
                         flow_residual, sfn_one_step, newton_doubling)


def record_quadratic(s: Session, config: NumericConfig) -> None:
    """GD, Newton and saddle-free Newton on (a x^2 - b y^2)/2 against their closed forms."""
    runs = quadratic_runs(config)
    s.identity("gd-closed-form",
               f"GD on (a x^2 - b y^2)/2 for {config.gd_steps} steps: (x_t, y_t) = ((1 - eta a)^t "
               "x_0, (1 + eta b)^t y_0) (max relative residual over t and saddles)",
               runs.gd_residual,
               controls={"the gradient-flow solution (e^{-eta a t} x_0, e^{eta b t} y_0)":
                         runs.gradient_flow_residual})
    s.identity("newton-one-step-quadratic",
               "Newton from (0.7, -0.3) on (a x^2 - b y^2)/2 lands on the saddle (0, 0) in one step "
               "(residual |x_1| / |x_0|)", runs.newton_residual,
               controls={"saddle-free Newton's step -|H|^-1 g from the same start":
                         runs.saddle_free_one_step_residual})
    s.identity("saddle-free-newton-quadratic",
               "saddle-free Newton on (a x^2 - b y^2)/2 maps (x, y) to (0, 2y) (relative residual)",
               runs.saddle_free_residual,
               controls={"Newton's step -H^-1 g in place of -|H|^-1 g":
                         runs.newton_as_saddle_free_residual})
    s.identity("gd-escape-count",
               "GD from (1, 10^-k) needs exactly ceil(log(R/10^-k) / log(1 + eta b)) steps until "
               f"|y_t| >= R = {config.radius:g} (k up to {max(config.escape_exponents)}; residual: "
               "largest difference in steps; sanity: the count of an exact linear map)",
               float(runs.escape_count_error()), 0.0, precision_digits=0, sanity=True,
               controls={"a count one step too many (closed form + 1)":
                         float(runs.escape_count_error(1)),
                         "a count one step too few (closed form - 1)":
                         float(runs.escape_count_error(-1))})
    s.table("mpmath-gd-escape", "GD escape steps from (1, 10^-k) on (a x^2 - b y^2)/2 vs the "
            "closed form", ("a", "b", "k", "GD steps", "ceil(log(R/y_0)/log(1+eta b))"),
            (escape.row for escape in runs.escapes))
