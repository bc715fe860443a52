"""Numeric layer of `saxe-dynamics`: the mode ODEs integrated at mpmath precision against the closed
form u(t), the implicit closed form t(u) of the depth-N equation (mpmath quadrature) and the time to
learn.

Source: Saxe, McClelland, Ganguli (2014), arXiv:1312.6120, Section 2 (tau du/dt = 2u(s - u), the
sigmoidal solution and t(u_f) = (tau/(2s)) ln[u_f (s - u_0) / (u_0 (s - u_f))]) and Section 3
(tau du/dt = N u^{2 - 2/N} (s - u) for N = N_l - 1 weight layers).

The integrator (`optverify.numerics.flow`, explicit Gragg-Bulirsch-Stoer extrapolation) knows
nothing of the closed forms. Its error is estimated by step halving: the coarse and the fine run
are compared at every time they share, and the largest difference, plus the precision floor
(the session's floor 10^-(digits - 10)) times the scale s, is the tolerance each comparison is judged against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mpmath import mp

from optverify.kit import Panel, Series, Session
from optverify.numerics.flow import FlowEstimate, integrate, integrate_with_error, mp_vector
from optverify.numerics.validation import (
    require_between,
    require_depth,
    require_int,
    require_positive,
)
from optverify.theorems.saxe_dynamics.dynamics import (
    chain_power,
    depth_learning_time,
    depth_rate,
    learning_time,
    mode_strength,
    validate_mode,
)

TOLERANCE_DIGITS_MARGIN = 6
"""The extrapolation stops when successive extrapolants agree to 10^-(digits - 6)."""

INTEGRATION_DIGITS = 50
"""The digits the extrapolation aims at: min(precision, 50). At 500 digits the Gragg-Bulirsch-Stoer
integrator (order <= 32 at 16 levels) cannot reach 10^-494 in these macro steps (ArithmeticError
in the quick layer); above 50 digits the flow is computed at the run's precision but integrated
to 10^-44, and the comparisons are judged against that error level and the floor of 50 digits,
10^-40 (times the scale s), as at 50 digits: with the floor of 500 digits the step-halving error
estimate alone was below the closed-form residuals (4 checks violated in the quick layer)."""


@dataclass(frozen=True)
class NumericConfig:
    """Modes (s, u_0), tau, the integration horizon and the depths of the deeper equation.

    modes: (s, u_0) pairs, integrated together as one vector state (the field is elementwise).
    tau: time constant (1 / learning rate). t_final: horizon; macro_steps: the coarse run's count.
    depths: numbers of weight layers N >= 3 for the depth-N equation (N = 2 is the two-layer one).
    learned_fraction: u_f = learned_fraction * s for the hitting times.
    quadrature_points: about how many fine-run times are checked against the quadrature t(u).
    """

    modes: tuple[tuple[float, float], ...]
    tau: float
    t_final: float
    macro_steps: int
    depths: tuple[int, ...]
    learned_fraction: float = 0.5
    quadrature_points: int = 8

    def __post_init__(self) -> None:
        for s, u0 in self.modes:
            validate_mode(s, u0, self.tau)
        for depth in self.depths:
            require_depth(depth)
        require_positive("t_final", self.t_final)
        require_int("macro_steps", self.macro_steps, minimum=1)
        require_between("learned_fraction", self.learned_fraction, 0, 1)

    @classmethod
    def quick(cls) -> NumericConfig:
        return cls(((1.0, 0.05), (2.0, 0.02)), 1.0, 3.0, 16, (3,), quadrature_points=6)

    @classmethod
    def full(cls) -> NumericConfig:
        return cls(((0.5, 0.05), (1.0, 0.05), (2.0, 0.01), (3.0, 0.003)), 1.0, 6.0, 48, (3, 4),
                   quadrature_points=16)


def mode_field(strengths, depth: int, tau):
    """du_alpha/dt = N u_alpha^{2 - 2/N} (s_alpha - u_alpha) / tau for every mode at once (the
    rate of `depth_rate`, its checks done once here; a negative strength raises)."""
    require_depth(depth)
    s = mp_vector(strengths)
    scale = mp.mpf(depth) / tau

    def field(t, state: np.ndarray) -> np.ndarray:
        if any(u < 0 for u in state):
            raise ValueError("the mode strengths must stay non-negative")
        powers = np.array([chain_power(u, depth) for u in state], dtype=object)
        return powers * (s - state) * scale  # array first: mpf * ndarray goes through repr

    return field


def pathwise_error(estimate: FlowEstimate):
    """max over the times both runs share of the max-norm difference of their states."""
    fine = dict(zip(estimate.fine.times, estimate.fine.states))
    width = mp.mpf(10) ** -(mp.dps - 5) * max(1, abs(estimate.fine.times[-1]))
    differences = [mp.zero]
    for time, coarse_state in zip(estimate.coarse.times, estimate.coarse.states):
        match = next((t for t in fine if abs(t - time) <= width), None)
        if match is not None:
            differences.append(max(abs(a - b) for a, b in zip(coarse_state, fine[match])))
    return max(differences)


@dataclass(frozen=True)
class Comparison:
    """A trajectory against an independent reference: worst deviation and its tolerance parts."""

    residual: float
    error: float
    floor: float

    @property
    def tolerance(self) -> float:
        return self.error + self.floor

    @property
    def values(self) -> dict[str, float]:
        return {"error_estimate": self.error, "floor": self.floor}


def slow_closed_form(t, s, u0, tau=1):
    """The control's wrong closed form: the solution of tau du/dt = u(s - u) (rate s, not 2s)."""
    return mode_strength(t / 2, s, u0, tau)


def closed_form_comparison(config: NumericConfig, estimate: FlowEstimate, floor,
                           reference=mode_strength) -> Comparison:
    """max_{t, alpha} |u_alpha(t) - closed form| over the fine run (two layers; `reference` is
    the closed form, changed only by the negative controls)."""
    residual = max(
        abs(u - reference(t, s, u0, config.tau))
        for t, state in zip(estimate.fine.times, estimate.fine.states)
        for u, (s, u0) in zip(state, config.modes))
    return Comparison(float(residual), float(pathwise_error(estimate)), float(floor))


def quadrature_comparison(config: NumericConfig, estimate: FlowEstimate, depth: int,
                          floor, model_depth: int | None = None) -> Comparison:
    """max |t_k - t(u_alpha(t_k))| rate(u_alpha(t_k)) over the fine run: the time error of the
    quadrature solution carried to a strength error (the quadrature's own error estimate, carried
    the same way, joins the tolerance). model_depth: the depth of the equation whose quadrature
    is compared (default `depth`; the control's 2 ignores the depth)."""
    model_depth = depth if model_depth is None else model_depth
    residual, quad_error = mp.zero, mp.zero
    stride = max(1, (len(estimate.fine.times) - 1) // config.quadrature_points)
    for t, state in zip(estimate.fine.times[stride::stride], estimate.fine.states[stride::stride]):
        for u, (s, u0) in zip(state, config.modes):
            rate = depth_rate(u, s, depth, config.tau)
            quad_time, error = mp.quad(lambda v, s=s: 1 / depth_rate(v, s, model_depth,
                                                                     config.tau),
                                       [u0, u], error=True)
            residual = max(residual, abs(quad_time - t) * rate)
            quad_error = max(quad_error, error * rate)
    return Comparison(float(residual), float(pathwise_error(estimate) + quad_error), float(floor))


def hitting_time(field_for_mode, times, values, level, tolerance):
    """The time the integrated trajectory reaches `level`: the first macro step that crosses it is
    re-integrated by one GBS step of length h, and h is solved for by the secant method."""
    index = next((k for k, value in enumerate(values) if value >= level), None)
    if index is None:
        raise ValueError(f"the trajectory does not reach {mp.nstr(level, 5)} within the horizon")
    start_time, start = times[index - 1], values[index - 1]
    guess = (times[index] - start_time) * (level - start) / (values[index] - start)

    def overshoot(h):
        return integrate(field_for_mode, mp_vector([start]), h, 1, tolerance).final[0] - level

    return start_time + mp.findroot(overshoot, (guess, guess * (1 + mp.mpf(10) ** -3)))


@dataclass(frozen=True)
class HittingTimes:
    """Integrated hitting times of u_f against the formula, worst over modes; the tolerance is the
    pathwise strength error divided by the slowest rate at u_f (a time error) plus the floor."""

    residual: float
    tolerance: float
    rows: tuple[tuple, ...]


def depth_formula(u_final, s, u0, depth: int, tau):
    """The learning time the check compares with: the closed form at N = 2, the quadrature else."""
    return (learning_time(u_final, s, u0, tau) if depth == 2
            else depth_learning_time(u_final, s, u0, depth, tau))


def wrong_formula(u_final, s, u0, depth: int, tau):
    """The controls' formula: (tau/s) ln[...] (the 1/2 lost) at N = 2, and the two-layer closed
    form for N >= 3 (the depth ignored)."""
    return 2 * learning_time(u_final, s, u0, tau) if depth == 2 else learning_time(
        u_final, s, u0, tau)


def integrated_hits(config: NumericConfig, estimate: FlowEstimate, depth: int, tolerance):
    """The integrated time each mode first reaches u_f = learned_fraction * s (fine run)."""
    hits = []
    for alpha, (s, _) in enumerate(config.modes):
        values = [state[alpha] for state in estimate.fine.states]
        hits.append(hitting_time(mode_field([s], depth, config.tau), estimate.fine.times, values,
                                 config.learned_fraction * mp.mpf(s), tolerance))
    return hits


def hitting_times(config: NumericConfig, estimate: FlowEstimate, depth: int, tolerance, floor,
                  formula=depth_formula, hits=None):
    """The integrated hitting times (`hits`, or integrated afresh) against `formula`."""
    hits = integrated_hits(config, estimate, depth, tolerance) if hits is None else hits
    rows, residual, slowest = [], mp.zero, mp.inf
    for hit, (s, u0) in zip(hits, config.modes):
        u_final = config.learned_fraction * mp.mpf(s)
        predicted = formula(u_final, s, u0, depth, config.tau)
        residual = max(residual, abs(hit - predicted))
        slowest = min(slowest, depth_rate(u_final, s, depth, config.tau))
        rows.append((depth, s, u0, float(hit), float(predicted), float(abs(hit - predicted))))
    time_tolerance = pathwise_error(estimate) / slowest + floor
    return HittingTimes(float(residual), float(time_tolerance), tuple(rows))


def _trajectory_panel(config: NumericConfig, estimate: FlowEstimate) -> Panel:
    series = []
    grid = [config.t_final * k / 120 for k in range(121)]
    for alpha, (s, u0) in enumerate(config.modes):
        series.append(Series(f"mpmath flow, s = {s:g}",
                             tuple(float(t) for t in estimate.fine.times),
                             tuple(float(state[alpha] / s) for state in estimate.fine.states)))
        series.append(Series(f"closed form, s = {s:g}", tuple(grid),
                             tuple(float(mode_strength(t, s, u0, config.tau) / s) for t in grid),
                             "line"))
    return Panel(f"two-layer modes, tau = {config.tau:g}", "t", "u(t) / s", tuple(series),
                 xscale="linear", yscale="linear")


def integrate_depths(config: NumericConfig, tolerance, progress) -> dict[int, FlowEstimate]:
    """The coarse and fine GBS runs of every mode at once, for N = 2 and each deeper N."""
    strengths = [s for s, _ in config.modes]
    start = mp_vector([u0 for _, u0 in config.modes])
    return {depth: integrate_with_error(mode_field(strengths, depth, config.tau), start,
                                        config.t_final, config.macro_steps, tolerance)
            for depth in progress((2, *config.depths), "mpmath: mode ODEs")}


def quadrature_statement(depth: int) -> str:
    return (f"the integrated depth-{depth} ODE tau du/dt = {depth} u^(2 - 2/{depth}) (s - u) "
            "agrees with its implicit solution t(u) = tau int_{u_0}^{u} dv / "
            f"({depth} v^(2 - 2/{depth}) (s - v)) (mpmath quadrature); residual "
            "max |t_k - t(u(t_k))| du/dt")


def hitting_statement(config: NumericConfig, depth: int) -> str:
    formula = ("t(u_f) = (tau/(2s)) ln[u_f (s - u_0) / (u_0 (s - u_f))]" if depth == 2
               else "the quadrature t(u_f)")
    return (f"the integrated depth-{depth} trajectory first reaches u_f = "
            f"{config.learned_fraction:g} s at {formula}")


def verify(s: Session) -> None:
    """Integrate the mode ODEs at s.precision digits and compare with the closed forms."""
    config = s.preset(quick=NumericConfig.quick(), full=NumericConfig.full())
    with mp.workdps(s.precision):
        integration_digits = min(s.precision, INTEGRATION_DIGITS)
        floor = mp.mpf(10) ** -(integration_digits - (s.precision - s.floor_digits)) * max(
            strength for strength, _ in config.modes)
        tolerance = mp.mpf(10) ** -(integration_digits - TOLERANCE_DIGITS_MARGIN)
        estimates = integrate_depths(config, tolerance, s.progress)
        two = closed_form_comparison(config, estimates[2], floor)
        deeper = min(config.depths)
        s.identity("closed-form-vs-flow",
                   "the integrated two-layer ODE tau du/dt = 2u(s - u) equals u(t) = s e^{2st/tau} / "
                   "(e^{2st/tau} - 1 + s/u_0) at every macro-step time (residual max |u - closed "
                   "form|, tolerance: step-halving error + floor)", two.residual, two.tolerance,
                   values=two.values,
                   controls={"the closed form with rate s (tau du/dt = u(s - u))":
                             closed_form_comparison(config, estimates[2], floor,
                                                    slow_closed_form).residual,
                             f"the depth-{deeper} flow against the two-layer closed form":
                             closed_form_comparison(config, estimates[deeper], floor).residual})
        for depth in s.progress(config.depths, "mpmath: depth-N quadrature"):
            deep = quadrature_comparison(config, estimates[depth], depth, floor)
            s.identity(f"depth-{depth}-flow-vs-quadrature", quadrature_statement(depth),
                       deep.residual, deep.tolerance, values=deep.values,
                       controls={"the quadrature of the two-layer equation 2u(s - u) (depth "
                                 "ignored)": quadrature_comparison(config, estimates[depth], depth,
                                                                   floor, model_depth=2).residual})
        integrated = {depth: integrated_hits(config, estimates[depth], depth, tolerance)
                      for depth in (2, *config.depths)}
        hits = {depth: hitting_times(config, estimates[depth], depth, tolerance, floor,
                                     hits=integrated[depth]) for depth in integrated}
        for depth, hit in hits.items():
            wrong = hitting_times(config, estimates[depth], depth, tolerance, floor,
                                  formula=wrong_formula, hits=integrated[depth])
            s.identity(f"hitting-time-depth-{depth}", hitting_statement(config, depth),
                       hit.residual, hit.tolerance,
                       controls={("the learning time (tau/s) ln[...] (without the 1/2)"
                                  if depth == 2 else "the two-layer learning time (depth "
                                  "ignored)"): wrong.residual})
        s.figure("mpmath-modes", "Two-layer mode ODE at mpmath precision vs the closed form",
                 (_trajectory_panel(config, estimates[2]),))
    s.table("mpmath-hitting-times", "Integrated hitting times of u_f vs the formula",
            ("N", "s", "u_0", "integrated", "formula", "|difference|"),
            [row for hit in hits.values() for row in hit.rows])
    s.note(f"Explicit Gragg-Bulirsch-Stoer at {s.precision} digits (extrapolation tolerance "
           f"10^-{min(s.precision, INTEGRATION_DIGITS) - TOLERANCE_DIGITS_MARGIN}), "
           f"{config.macro_steps} and "
           f"{2 * config.macro_steps} macro steps over t in [0, {config.t_final:g}], "
           f"tau = {config.tau:g}.")
