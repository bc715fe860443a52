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

from optverify.kit import Panel, Progress, Series, Session, Table
from optverify.numerics.deep_linear import balanced_factors_mp, balancedness_gaps_mp
from optverify.numerics.flow import (
    MAX_LEVELS,
    FlowEstimate,
    FlowSolution,
    deep_linear_flow,
    integrate_with_error,
    pack_factors,
    unpack_factors,
)
from optverify.numerics.mp_linalg import frobenius_norm, to_mp
from optverify.numerics.validation import (
    require_int,
    require_non_negative,
    require_positive,
    require_widths,
)
from optverify.theorems.balancedness.procedure_one import (
    ProcedureResidual,
    naive_factors,
    procedure_one_residual,
)

CONTROL_TOLERANCE_DIGITS = 16
"""The wrong-velocity control flow is integrated at the ladder's tolerance 10^-16 (its drift is
O(0.1), so integration error of 10^-16 cannot decide its verdict, and it stays cheap)."""

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
        require_widths("the layer widths", self.widths)
        require_positive("scales, eta and t_final",
                         (self.init_scale, self.target_scale, self.eta, self.t_final))
        require_non_negative("the weight decay", self.weight_decay)
        require_int("macro_steps", self.macro_steps, minimum=1)

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
    floor: the session's floor 10^-(digits - 10) times the squared factor scale. displacement: max-norm of
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
    estimate: FlowEstimate, shapes, prediction: Prediction, floor: mpmath.mpf
) -> DriftMeasurement:
    """The drift of C_j against `prediction` and the tolerance from the error estimate; `floor` is
    the precision floor 10^-(digits - 10), scaled here by the squared factor size."""
    runs = (estimate.coarse, estimate.fine)
    drift = max(gap_deviation(run, shapes, prediction) for run in runs)
    size = len(estimate.fine.final)
    scale = _largest_factor_norm(runs, shapes)
    error_f = mp.sqrt(size) * estimate.error
    propagated = 4 * scale * error_f + 2 * error_f**2
    scaled_floor = floor * max(scale**2, mp.one)
    moved = max(abs(a - b) for a, b in zip(estimate.fine.final, estimate.fine.states[0]))
    levels = f"{max(estimate.coarse.levels)} / {max(estimate.fine.levels)}"
    return DriftMeasurement(float(drift), float(estimate.error), float(propagated),
                            float(scaled_floor), float(moved), levels)


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


def random_instance(config: NumericConfig, rng: np.random.Generator) -> NumericInstance:
    """A NumericInstance drawn from `rng` (the session's 'numeric' stream; call inside
    mp.workdps)."""
    rows, cols = config.widths[-1], config.widths[0]
    target = to_mp(config.target_scale * rng.standard_normal((rows, cols)))
    product = to_mp(config.target_scale * rng.standard_normal((rows, cols)))
    unbalanced = [
        to_mp(config.init_scale / np.sqrt(fan_in) * rng.standard_normal((fan_out, fan_in)))
        for fan_out, fan_in in config.shapes
    ]
    return NumericInstance(target, product, balanced_factors_mp(product, config.widths[1:-1]),
                           unbalanced)


@dataclass(frozen=True)
class FlowRun:
    """One gradient-flow run to integrate: its vector field, initial factors and the predicted
    C_j(t)."""

    field: Callable
    factors: list[mpmath.matrix]
    prediction: Prediction


def flow_runs(config: NumericConfig, instance: NumericInstance) -> dict[str, FlowRun]:
    """The three runs: from balanced and from unbalanced factors without weight decay (C_j
    constant), and from the unbalanced factors with weight decay (C_j decaying)."""
    loss_gradient = square_loss_gradient(instance.target)
    flow = deep_linear_flow(config.shapes, loss_gradient, config.eta)
    decay_flow = deep_linear_flow(config.shapes, loss_gradient, config.eta, config.weight_decay)
    return {
        "balanced": FlowRun(flow, instance.balanced, _constant),
        "unbalanced": FlowRun(flow, instance.unbalanced, _constant),
        "weight-decay": FlowRun(decay_flow, instance.unbalanced,
                                _decaying(config.eta, config.weight_decay)),
    }


def layer_wise_rates(field: Callable, shapes) -> Callable:
    """The negative control's wrong velocity: `field` with layer j's velocity multiplied by j
    (learning rates eta_j = j eta), no longer the gradient flow of one L^N, so C_j is not
    conserved; integrated and measured exactly like the gradient flow."""
    sizes = [rows * cols for rows, cols in shapes]
    weights = np.concatenate([np.full(size, mp.mpf(j + 1), dtype=object)
                              for j, size in enumerate(sizes)])

    def wrong(t, state: np.ndarray) -> np.ndarray:
        return field(t, state) * weights

    return wrong


INTEGRATION_DIGITS = 50
"""The digits the extrapolation aims at: min(precision, 50). At 500 digits the Gragg-Bulirsch-Stoer
integrator cannot reach 10^-494 in these macro steps within 40 levels (ArithmeticError in the quick
layer); above 50 digits the flow is computed at the run's precision but integrated to 10^-44, and
the drift is judged against that error level, as at 50 digits."""


def integrator_tolerance(digits: int) -> mpmath.mpf:
    """10^-(min(digits, INTEGRATION_DIGITS) - TOLERANCE_DIGITS_MARGIN), the extrapolation's
    stopping tolerance."""
    return mp.mpf(10) ** (-(min(digits, INTEGRATION_DIGITS) - TOLERANCE_DIGITS_MARGIN))


@dataclass(frozen=True)
class NumericMeasurements:
    """Everything the numeric layer measured at the working precision.

    procedure: Procedure 1's residuals; procedure_tolerance: the floor times max(||A||_F, 1).
    measured: each flow run's drift measurement.
    ladder: k -> the drift measurement of the unbalanced flow at the looser tolerance 10^-k.
    decay_panel: ||C_j(t)||_F along the weight-decay run against exp(-2 eta lambda t).
    naive_procedure: the residuals of the naive factorization (`naive_factors`), the control of
        Procedure 1.
    wrong_flow: the drift of the wrong-velocity flow (`layer_wise_rates`) from the balanced and
        the unbalanced factors, measured like the gradient flow's.
    wrong_decay: the weight-decay run's deviation from wrong predictions: 'exp(-eta lambda t)'
        (the constant 1 for 2) and 'constant' (C_j conserved despite the weight decay).
    """

    procedure: ProcedureResidual
    procedure_tolerance: float
    measured: dict[str, DriftMeasurement]
    ladder: dict[int, DriftMeasurement]
    decay_panel: Panel
    naive_procedure: ProcedureResidual
    wrong_flow: dict[str, DriftMeasurement]
    wrong_decay: dict[str, DriftMeasurement]

    @property
    def worst_ladder_ratio(self) -> float:
        return max(m.drift / m.tolerance for m in self.ladder.values())

    @property
    def wrong_flow_ratio(self) -> float:
        """The ladder's drift / tolerance ratio for the wrong-velocity flow (its control)."""
        return max(m.drift / m.tolerance for m in self.wrong_flow.values())


def measure_all(config: NumericConfig, instance: NumericInstance, digits: int,
                floor: mpmath.mpf, progress: Progress) -> NumericMeasurements:
    """Procedure 1's residuals, the three flow runs and the accuracy ladder (inside mp.workdps)."""
    procedure = procedure_one_residual(instance.product, instance.balanced)
    runs = flow_runs(config, instance)
    estimates, measured = {}, {}
    for label in progress(list(runs), "mpmath: gradient flow"):
        run = runs[label]
        estimates[label] = integrate_with_error(
            run.field, pack_factors(run.factors), config.t_final, config.macro_steps,
            integrator_tolerance(digits), MAX_LEVELS)
        measured[label] = measure(estimates[label], config.shapes, run.prediction, floor)
    ladder = {}
    for loose in progress(config.ladder_digits, "mpmath: accuracy ladder"):
        estimate = integrate_with_error(
            runs["unbalanced"].field, pack_factors(instance.unbalanced), config.t_final,
            config.macro_steps, mp.mpf(10) ** -loose)
        ladder[loose] = measure(estimate, config.shapes, _constant, floor)
    decay_panel = _trajectory_panel(estimates["weight-decay"].fine, config.shapes, config.eta,
                                    config.weight_decay)
    procedure_tolerance = float(floor * max(frobenius_norm(instance.product), mp.one))
    naive = procedure_one_residual(instance.product, naive_factors(instance.product, config.widths))
    wrong_flow = {}
    for label in progress(("balanced", "unbalanced"), "mpmath: wrong-velocity flow (control)"):
        run = runs[label]
        estimate = integrate_with_error(
            layer_wise_rates(run.field, config.shapes), pack_factors(run.factors), config.t_final,
            config.macro_steps, mp.mpf(10) ** -CONTROL_TOLERANCE_DIGITS)
        wrong_flow[label] = measure(estimate, config.shapes, _constant, floor)
    decayed = estimates["weight-decay"]
    wrong_decay = {
        "exp(-eta lambda t)": measure(decayed, config.shapes,
                                      _decaying(config.eta, config.weight_decay / 2), floor),
        "constant": measure(decayed, config.shapes, _constant, floor),
    }
    return NumericMeasurements(procedure, procedure_tolerance, measured, ladder,
                               decay_panel, naive, wrong_flow, wrong_decay)


def _drift_values(measurement: DriftMeasurement) -> dict:
    return {
        "error_estimate_step_halving": measurement.error,
        "error_propagated_to_C": measurement.propagated,
        "precision_floor": measurement.floor,
        "state_displacement": measurement.displacement,
        "extrapolation_levels_coarse_fine": measurement.levels,
    }


def _ladder_values(ladder: dict[int, DriftMeasurement]) -> dict:
    return ({f"drift_at_tol_1e-{k}": m.drift for k, m in ladder.items()}
            | {f"error_at_tol_1e-{k}": m.error for k, m in ladder.items()})


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


def _drift_panel(found: NumericMeasurements) -> Panel:
    all_points = [*found.ladder.values(), found.measured["unbalanced"]]
    errors = [m.propagated for m in all_points]
    return Panel(
        "drift of C_j vs the integrator's error (explicit GBS, step halving)",
        "step-halving error estimate carried to C_j", "max_j,t ||C_j(t) - C_j(0)||_F",
        (Series("measured (unbalanced init)", tuple(errors), tuple(m.drift for m in all_points)),
         Series("drift = error estimate", (min(errors), max(errors)),
                (min(errors), max(errors)), "dashed")),
    )


def _drift_table(found: NumericMeasurements, digits: int) -> Table:
    return Table(
        "mpmath-drift", "Drift of C_j along the mpmath gradient flow and the integrator's error",
        ("run", "integrator tolerance", "drift", "error estimate", "error carried to C_j",
         "precision floor", "state displacement", "levels (coarse / fine)"),
        tuple((label, f"1e-{min(digits, INTEGRATION_DIGITS) - TOLERANCE_DIGITS_MARGIN}",
               m.drift, m.error, m.propagated, m.floor, m.displacement, m.levels)
              for label, m in found.measured.items())
        + tuple(("unbalanced, ladder", f"1e-{k}", m.drift, m.error, m.propagated, m.floor,
                 m.displacement, m.levels) for k, m in found.ladder.items()),
    )


WRONG_FLOW = ("the flow with layer-wise rates eta_j = j eta (not one gradient flow), integrated "
              "and measured the same way")


def verify(s: Session) -> None:
    """Integrate the flow at s.precision digits; judge the drift against the error level."""
    config = s.preset(quick=NumericConfig.quick(), full=NumericConfig.full())
    with mp.workdps(s.precision):
        instance = random_instance(config, s.rng("numeric"))
        found = measure_all(config, instance, s.precision, s.floor(), s.progress)
    s.identity("procedure-1-balanced",
               "Procedure 1 factors of a random A are exactly balanced (C_j = 0), multiply to A, "
               "and each has the non-zero singular values of A to the power 1/N (largest of the "
               "three residuals)",
               found.procedure.worst, found.procedure_tolerance, values=found.procedure.as_values(),
               controls={"the naive factorization W_N = A, identities below (same product, "
                         "unbalanced)": found.naive_procedure.worst})
    flow_words = (f"under gradient flow (eta = {config.eta}, square loss, widths {config.widths}, "
                  f"t in [0, {config.t_final}])")
    balanced, unbalanced = found.measured["balanced"], found.measured["unbalanced"]
    decaying = found.measured["weight-decay"]
    s.identity("flow-drift-balanced",
               "from Procedure 1 (balanced) factors, max_j,t ||C_j(t) - C_j(0)||_F "
               f"{flow_words} is at the integrator's error level",
               balanced.drift, balanced.tolerance, main=True, values=_drift_values(balanced),
               controls={WRONG_FLOW: found.wrong_flow["balanced"].drift})
    s.identity("flow-drift-unbalanced",
               "from unbalanced Gaussian factors, max_j,t ||C_j(t) - C_j(0)||_F "
               f"{flow_words} is at the integrator's error level",
               unbalanced.drift, unbalanced.tolerance, main=True,
               values=_drift_values(unbalanced),
               controls={WRONG_FLOW: found.wrong_flow["unbalanced"].drift})
    s.identity("flow-weight-decay",
               f"with weight decay lambda = {config.weight_decay}, max_j,t ||C_j(t) - "
               f"exp(-2 eta lambda t) C_j(0)||_F {flow_words} is at the integrator's error "
               "level", decaying.drift, decaying.tolerance, values=_drift_values(decaying),
               controls={"C_j(t) = exp(-eta lambda t) C_j(0), the constant 1 for 2":
                         found.wrong_decay["exp(-eta lambda t)"].drift,
                         "C_j conserved despite the weight decay":
                         found.wrong_decay["constant"].drift})
    s.identity("drift-follows-integrator-error",
               "with looser integrator tolerances 10^-k, the drift of C_j stays below the "
               "step-halving error estimate carried to C_j (plus the floor): the drift is "
               "integration error, not a failure of the invariant (residual: the worst drift / "
               "tolerance ratio, allowed 1)",
               found.worst_ladder_ratio, 1.0, values=_ladder_values(found.ladder),
               controls={f"{WRONG_FLOW} (its drift / tolerance ratio)": found.wrong_flow_ratio})
    s.figure("mpmath-drift", "Balancedness under mpmath gradient flow",
             (_drift_panel(found), found.decay_panel), columns=2)
    s.table(_drift_table(found, s.precision))
    s.note(f"Explicit Gragg-Bulirsch-Stoer integration at {s.precision} digits, "
           f"{config.macro_steps} and {2 * config.macro_steps} macro steps; implicit "
           "Gauss-Legendre methods would conserve C_j exactly and were not used.")
