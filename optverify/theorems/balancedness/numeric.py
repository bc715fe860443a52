"""Numeric layer of `balancedness`: gradient flow of a random deep linear net integrated at mpmath
precision keeps C_j = W_{j+1}^T W_{j+1} - W_j W_j^T constant to the integrator's error level, and
with weight decay C_j(t) = exp(-2 eta lambda t) C_j(0).

Source: the balancedness argument in the proof of Theorem 1 of Arora, Cohen, Hazan (2018),
arXiv:1802.06509; Procedure 1 (balanced initialization) of Arora, Cohen, Golowich, Hu (2019),
arXiv:1810.02281. Setting: square loss L^1(W_e) = 1/2 ||W_e - Phi||_F^2 to a random target Phi,
depth N = 3, flow dW_j/dt = -eta lambda W_j - eta dL^N/dW_j.

The integrator (`optverify.numerics.flow`, Gragg-Bulirsch-Stoer extrapolation) is explicit: it does
not conserve quadratic invariants by construction, as implicit Gauss-Legendre Runge-Kutta methods
would at any step size (which would make this check vacuous). So the measured drift of C_j is set
against the integrator's own error level, estimated independently by halving the macro step: the
identity holds when the drift is below that error propagated to C_j plus the precision floor
10^-(digits - 10). A ladder of looser integrator tolerances shows the drift following the error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import mpmath
import numpy as np
from mpmath import mp

from optverify.claim import Layer, Progress, RunConfig
from optverify.numerics.deep_linear import balanced_factors_mp, balancedness_gaps_mp, end_to_end_mp
from optverify.numerics.flow import (
    FlowEstimate,
    MAX_LEVELS,
    FlowSolution,
    deep_linear_flow,
    integrate_with_error,
    pack_factors,
    unpack_factors,
)
from optverify.numerics.mp_linalg import frobenius_norm, svd, to_mp
from optverify.results import Check, Figure, LayerResult, Panel, Series, Table
from optverify.verdict import identity_check

FLOOR_DIGITS_MARGIN = 10
"""Precision floor 10^-(digits - 10): ten digits of headroom for rounding accumulated over the
~10^4 operations of one integration."""

TOLERANCE_DIGITS_MARGIN = 6
"""The extrapolation stops when successive extrapolants agree to 10^-(digits - 6), just above the
rounding level, so the integration error sits at a few orders above 10^-digits."""


@dataclass(frozen=True)
class NumericConfig:
    """One random instance and how it is integrated.

    widths: d_0, ..., d_N (depth N = len(widths) - 1).
    init_scale: unbalanced factors have N(0, init_scale^2 / d_{j-1}) entries.
    target_scale: Phi and the matrix Procedure 1 factorizes have N(0, target_scale^2) entries.
    eta, weight_decay: the flow's learning rate and lambda (weight decay runs only).
    t_final: integration time; macro_steps: the coarse run's macro steps (the fine run doubles it).
    ladder_digits: looser integrator tolerances 10^-k for the drift-versus-error ladder.
    """

    widths: tuple[int, ...]
    init_scale: float
    target_scale: float
    eta: float
    weight_decay: float
    t_final: float
    macro_steps: int
    ladder_digits: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.widths) < 3 or min(self.widths) < 1:
            raise ValueError(f"a deep linear net needs depth N >= 2 and positive widths, "
                             f"got {self.widths}")
        positive = (self.init_scale, self.target_scale, self.eta, self.t_final)
        if not all(np.isfinite(value) and value > 0 for value in positive):
            raise ValueError(f"scales, eta and t_final must be positive and finite, got {positive}")
        if not (np.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"the weight decay must be non-negative, got {self.weight_decay}")
        if self.macro_steps < 1:
            raise ValueError(f"macro_steps must be at least 1, got {self.macro_steps}")

    @classmethod
    def quick(cls) -> NumericConfig:
        return cls((2, 2, 2, 2), 0.8, 1.0, 0.5, 0.3, 1.0, 2, (8, 16))

    @classmethod
    def full(cls) -> NumericConfig:
        return cls((2, 3, 3, 2), 0.8, 1.0, 0.5, 0.3, 2.0, 6, (8, 16, 24, 32))

    @property
    def shapes(self) -> list[tuple[int, int]]:
        return [(self.widths[j + 1], self.widths[j]) for j in range(len(self.widths) - 1)]


@dataclass(frozen=True)
class DriftMeasurement:
    """A drift of C_j along both runs of a FlowEstimate, with the tolerance it is judged against.

    drift: max over j and macro-step times of the deviation from the prediction, worse of the two
        runs. error: step-halving estimate of the end-state error (max-norm). propagated: that
        error carried to C_j (2 (||W_j|| + ||W_{j+1}||) sqrt(D) e + 2 D e^2, D the state size).
    floor: 10^-(digits - 10) times the squared factor scale. displacement: max-norm of
        W(t_final) - W(0), showing the state itself moved.
    """

    drift: float
    error: float
    propagated: float
    floor: float
    displacement: float
    levels: str

    @property
    def tolerance(self) -> float:
        return self.propagated + self.floor


Prediction = Callable[[object, mpmath.matrix], mpmath.matrix]
"""(t, C_j(0)) -> the predicted C_j(t)."""


def square_loss_gradient(target: mpmath.matrix) -> Callable[[np.ndarray], np.ndarray]:
    """grad L^1(W_e) = W_e - Phi for L^1 = 1/2 ||W_e - Phi||_F^2 (on object arrays of mpf)."""
    phi = np.array(target.tolist(), dtype=object)
    return lambda end_to_end: end_to_end - phi


def gap_deviation(solution: FlowSolution, shapes, prediction: Prediction):
    """max over macro-step times and j of ||C_j(t) - prediction(t, C_j(0))||_F."""
    initial = balancedness_gaps_mp(unpack_factors(solution.states[0], shapes))
    worst = mp.zero
    for t, state in zip(solution.times, solution.states):
        gaps = balancedness_gaps_mp(unpack_factors(state, shapes))
        for gap, gap0 in zip(gaps, initial):
            worst = max(worst, frobenius_norm(gap - prediction(t, gap0)))
    return worst


def _largest_factor_norm(solutions: Sequence[FlowSolution], shapes):
    return max(
        frobenius_norm(factor)
        for solution in solutions
        for state in solution.states
        for factor in unpack_factors(state, shapes)
    )


def measure(
    estimate: FlowEstimate, shapes, prediction: Prediction, digits: int
) -> DriftMeasurement:
    """The drift of C_j against `prediction` and the tolerance from the error estimate."""
    runs = (estimate.coarse, estimate.fine)
    drift = max(gap_deviation(run, shapes, prediction) for run in runs)
    size = len(estimate.fine.final)
    scale = _largest_factor_norm(runs, shapes)
    error_f = mp.sqrt(size) * estimate.error
    propagated = 4 * scale * error_f + 2 * error_f**2
    floor = mp.mpf(10) ** (-(digits - FLOOR_DIGITS_MARGIN)) * max(scale**2, mp.one)
    moved = max(abs(a - b) for a, b in zip(estimate.fine.final, estimate.fine.states[0]))
    levels = f"{max(estimate.coarse.levels)} / {max(estimate.fine.levels)}"
    return DriftMeasurement(float(drift), float(estimate.error), float(propagated), float(floor),
                            float(moved), levels)


def _constant(t, gap0):
    return gap0


def _decaying(eta, weight_decay) -> Prediction:
    rate = -2 * mp.mpf(eta) * mp.mpf(weight_decay)
    return lambda t, gap0: mp.exp(rate * t) * gap0


@dataclass(frozen=True)
class NumericInstance:
    """A random problem at the working precision.

    target: Phi of the square loss. product: the random matrix A that Procedure 1 factorizes.
    balanced: Procedure 1 factors of A. unbalanced: independent Gaussian factors.
    """

    target: mpmath.matrix
    product: mpmath.matrix
    balanced: list[mpmath.matrix]
    unbalanced: list[mpmath.matrix]


def random_instance(config: NumericConfig, run: RunConfig) -> NumericInstance:
    """A NumericInstance from the run's 'numeric' random stream (call inside mp.workdps)."""
    rng = run.numpy_rng("numeric")
    rows, cols = config.widths[-1], config.widths[0]
    target = to_mp(config.target_scale * rng.standard_normal((rows, cols)))
    product = to_mp(config.target_scale * rng.standard_normal((rows, cols)))
    unbalanced = [
        to_mp(config.init_scale / np.sqrt(fan_in) * rng.standard_normal((fan_out, fan_in)))
        for fan_out, fan_in in config.shapes
    ]
    return NumericInstance(target, product, balanced_factors_mp(product, config.widths[1:-1]),
                           unbalanced)


def procedure_one_residual(product: mpmath.matrix, factors: Sequence[mpmath.matrix]) -> dict:
    """Procedure 1's guarantees at mpmath precision: max ||C_j||_F, ||W_N...W_1 - A||_F, and the
    largest gap between each factor's non-zero singular values and those of A to the power 1/N."""
    depth = len(factors)
    _, target_values, _ = svd(product)
    root = [value ** (mp.one / depth) for value in target_values]
    spectrum_gap = mp.zero
    for factor in factors:
        _, values, _ = svd(factor)
        spectrum_gap = max(spectrum_gap, max(abs(a - b) for a, b in zip(values, root)))
    return {
        "gap": max(frobenius_norm(gap) for gap in balancedness_gaps_mp(factors)),
        "product": frobenius_norm(end_to_end_mp(factors) - product),
        "spectrum": spectrum_gap,
    }


def _drift_values(measurement: DriftMeasurement) -> dict:
    return {
        "error_estimate_step_halving": measurement.error,
        "error_propagated_to_C": measurement.propagated,
        "precision_floor": measurement.floor,
        "state_displacement": measurement.displacement,
        "extrapolation_levels_coarse_fine": measurement.levels,
    }


def _drift_check(name: str, statement: str, measurement: DriftMeasurement, digits: int) -> Check:
    return identity_check(
        Layer.NUMERIC, name, statement, measurement.drift, measurement.tolerance,
        precision_digits=digits, values=_drift_values(measurement),
    )


def _trajectory_panel(solution: FlowSolution, shapes, eta, weight_decay) -> Panel:
    initial = balancedness_gaps_mp(unpack_factors(solution.states[0], shapes))
    times = [float(t) for t in solution.times]
    norms = [
        [float(frobenius_norm(gap)) for gap in balancedness_gaps_mp(unpack_factors(state, shapes))]
        for state in solution.states
    ]
    series = [
        Series(f"||C_{j + 1}(t)||_F (mpmath)", tuple(times), tuple(row[j] for row in norms))
        for j in range(len(initial))
    ]
    rate = -2 * eta * weight_decay
    series += [
        Series(f"exp(-2 eta lambda t) ||C_{j + 1}(0)||_F", tuple(times),
               tuple(float(frobenius_norm(gap)) * float(np.exp(rate * t)) for t in times), "dashed")
        for j, gap in enumerate(initial)
    ]
    return Panel(f"weight decay: eta = {eta}, lambda = {weight_decay}", "t",
                 "||C_j(t)||_F", tuple(series), xscale="linear", yscale="log")


def verify(config: RunConfig, progress: Progress) -> LayerResult:
    """Integrate the flow at config.precision digits; judge the drift against the error level."""
    setup = NumericConfig.quick() if config.quick else NumericConfig.full()
    digits = config.precision
    checks: list[Check] = []
    with mp.workdps(digits):
        instance = random_instance(setup, config)
        procedure = procedure_one_residual(instance.product, instance.balanced)
        floor = mp.mpf(10) ** (-(digits - FLOOR_DIGITS_MARGIN)) * max(
            frobenius_norm(instance.product), mp.one)
        checks.append(identity_check(
            Layer.NUMERIC, "procedure-1-balanced",
            "Procedure 1 factors of a random A are exactly balanced (C_j = 0), multiply to A, and "
            "each has the non-zero singular values of A to the power 1/N (largest of the three "
            "residuals)",
            float(max(procedure.values())), float(floor), precision_digits=digits,
            values={key: float(value) for key, value in procedure.items()},
        ))
        tolerance = mp.mpf(10) ** (-(digits - TOLERANCE_DIGITS_MARGIN))
        loss_gradient = square_loss_gradient(instance.target)
        flow = deep_linear_flow(setup.shapes, loss_gradient, setup.eta)
        decay_flow = deep_linear_flow(setup.shapes, loss_gradient, setup.eta, setup.weight_decay)
        runs = {
            "balanced": (flow, instance.balanced, _constant),
            "unbalanced": (flow, instance.unbalanced, _constant),
            "weight-decay": (decay_flow, instance.unbalanced,
                             _decaying(setup.eta, setup.weight_decay)),
        }
        measured, estimates = {}, {}
        for label in progress(list(runs), "mpmath: gradient flow"):
            field, factors, prediction = runs[label]
            estimates[label] = integrate_with_error(
                field, pack_factors(factors), setup.t_final, setup.macro_steps, tolerance,
                MAX_LEVELS)
            measured[label] = measure(estimates[label], setup.shapes, prediction, digits)
        ladder = []
        for loose in progress(setup.ladder_digits, "mpmath: accuracy ladder"):
            estimate = integrate_with_error(
                flow, pack_factors(instance.unbalanced), setup.t_final, setup.macro_steps,
                mp.mpf(10) ** -loose)
            ladder.append((loose, measure(estimate, setup.shapes, _constant, digits)))
        decay_panel = _trajectory_panel(estimates["weight-decay"].fine, setup.shapes, setup.eta,
                                        setup.weight_decay)
    flow_words = (f"under gradient flow (eta = {setup.eta}, square loss, widths {setup.widths}, "
                  f"t in [0, {setup.t_final}])")
    checks += [
        _drift_check("flow-drift-balanced",
                     "from Procedure 1 (balanced) factors, max_j,t ||C_j(t) - C_j(0)||_F "
                     f"{flow_words} is at the integrator's error level",
                     measured["balanced"], digits),
        _drift_check("flow-drift-unbalanced",
                     "from unbalanced Gaussian factors, max_j,t ||C_j(t) - C_j(0)||_F "
                     f"{flow_words} is at the integrator's error level",
                     measured["unbalanced"], digits),
        _drift_check("flow-weight-decay",
                     f"with weight decay lambda = {setup.weight_decay}, max_j,t ||C_j(t) - "
                     f"exp(-2 eta lambda t) C_j(0)||_F {flow_words} is at the integrator's error "
                     "level", measured["weight-decay"], digits),
    ]
    worst_ratio = max(m.drift / m.tolerance for _, m in ladder)
    checks.append(identity_check(
        Layer.NUMERIC, "drift-follows-integrator-error",
        "with looser integrator tolerances 10^-k, the drift of C_j stays below the step-halving "
        "error estimate carried to C_j (plus the floor): the drift is integration error, not a "
        "failure of the invariant (residual: the worst drift / tolerance ratio, allowed 1)",
        worst_ratio, 1.0, precision_digits=digits,
        values={f"drift_at_tol_1e-{k}": m.drift for k, m in ladder}
        | {f"error_at_tol_1e-{k}": m.error for k, m in ladder},
    ))
    all_points = [*[m for _, m in ladder], measured["unbalanced"]]
    errors = [m.propagated for m in all_points]
    drift_panel = Panel(
        "drift of C_j vs the integrator's error (explicit GBS, step halving)",
        "step-halving error estimate carried to C_j", "max_j,t ||C_j(t) - C_j(0)||_F",
        (Series("measured (unbalanced init)", tuple(errors), tuple(m.drift for m in all_points)),
         Series("drift = error estimate", (min(errors), max(errors)),
                (min(errors), max(errors)), "dashed")),
    )
    table = Table(
        "mpmath-drift", "Drift of C_j along the mpmath gradient flow and the integrator's error",
        ("run", "integrator tolerance", "drift", "error estimate", "error carried to C_j",
         "precision floor", "state displacement", "levels (coarse / fine)"),
        tuple((label, f"1e-{digits - TOLERANCE_DIGITS_MARGIN}", m.drift, m.error, m.propagated,
               m.floor, m.displacement, m.levels) for label, m in measured.items())
        + tuple(("unbalanced, ladder", f"1e-{k}", m.drift, m.error, m.propagated, m.floor,
                 m.displacement, m.levels) for k, m in ladder),
    )
    return LayerResult(
        layer=Layer.NUMERIC,
        checks=tuple(checks),
        figures=(Figure("mpmath-drift", "Balancedness under mpmath gradient flow",
                        (drift_panel, decay_panel), columns=2),),
        tables=(table,),
        notes=(f"Explicit Gragg-Bulirsch-Stoer integration at {digits} digits, "
               f"{setup.macro_steps} and {2 * setup.macro_steps} macro steps; implicit "
               "Gauss-Legendre methods would conserve C_j exactly and were not used.",),
    )
