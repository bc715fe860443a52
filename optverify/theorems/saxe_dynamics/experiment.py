"""Experiment layer of `saxe-dynamics`: gradient descent on a whitened multi-mode linear regression,
each mode's sigmoidal learning curve and learning time against the gradient-flow predictions.

Source: Saxe, McClelland, Ganguli (2014), arXiv:1312.6120, Section 2 (Eqs. (6)-(9)) and Section 3.
Setting: whitened inputs (Sigma_11 = I), input-output correlation Sigma_31 = U S V^T with several
singular values s_alpha, square loss 1/2 ||W_e - Sigma_31||_F^2 (the whitened regression loss up to
a constant), GD with a small learning rate eta, so that t = eta x steps follows the flow with
tau = 1. The learning time is the time u_alpha = u_alpha^T W_e v_alpha takes to reach s_alpha / 2.

The paper's claim, in its setting (`random_start`): from SMALL RANDOM initialization (not aligned,
not balanced) each mode is learned in t ~ (1/(2s)) ln(s/u_0), and a deeper net (N >= 3 weight
layers) in t ~ u_0^{-(1 - 2/N)} / ((N - 2) s). The raw GD times, averaged over independent
initializations (the units the intervals resample), are fitted against x = s/u_init:
- main: two layers, Theta(x^-1 ln x) as x -> infinity, the log factor stated as the paper states it
  (its controls: 1/s with no log factor, 1/s^2, the relative-start law s^-(2-2/N) of depth N);
- depth N, Theta(x^-1) (controls: the two-layer law with its log factor, s^-(2-2/N), 1/s^2);
- reported: the two-layer times divided by ln(s/u_init), against 1/s.
The closed forms under the assumptions of the derivation (initialization along the modes, balanced,
Procedure 1 of arXiv:1810.02281 applied to W_e(0) = U diag(c_0 s) V^T) are checked too:
- two layers, u_0 = c_0 s: t = (1/(2s)) ln[(1 - c_0)/c_0], exactly ~ 1/s;
- N >= 3 layers, u_0 = c_0 s: t ~ s^{-(2 - 2/N)} exactly (from tau du/dt = N u^{2-2/N}(s - u)).
GD departs from the flow by O(eta): the largest |u_GD - u_flow| / s is checked to scale as eta.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy
import torch

from optverify.kit import (
    Bound,
    Figure,
    Panel,
    RateFit,
    Resolved,
    Series,
    Session,
    Table,
    fit_power_law,
    rate_panel,
    resolve,
)
from optverify.numerics.deep_linear import (
    balanced_factors,
    end_to_end,
    gradient_descent_step,
)
from optverify.numerics.haar import haar_orthogonal
from optverify.numerics.validation import require_depth, require_positive
from optverify.theorems.saxe_dynamics.dynamics import depth_learning_time_float
from optverify.theorems.saxe_dynamics.random_start import (
    RandomStartConfig,
    RandomStartRun,
    run_random_start,
)

LEARNING_TIME = Bound.tight("s", -1)
RANDOM_START_TWO_LAYER = Bound.tight("(s/u_init)", -1, log_power=1)
"""Saxe et al. Eq. (9) from a small start: t = (1/(2s)) ln[(s - u_0)/u_0] ~ x^-1 ln x in
x = s/u_init, as x -> infinity (a small start relative to the strength); the log factor is the
paper's, stated rather than divided out."""
RANDOM_START_DEEP = Bound.tight("(s/u_init)", -1)
"""Saxe et al. Section 3: t ~ u_0^{-(1 - 2/N)} / ((N - 2) s) for N >= 3, no log factor."""
GD_DEVIATION = Bound.tight("eta", 1, limit="zero")
LEARNING_TIME_ALTERNATIVES = (-2.0, -1.25, -0.75, -0.5)
"""The learning-time laws a 1/s check rules out: 1/s^2 and 1/sqrt(s), and 1/s off by a quarter."""
HORIZON_MARGIN = 1.25
"""GD runs 25% past the slowest mode's predicted learning time, so every mode crosses s/2."""
RANDOM_WIDTH = 32
"""Hidden width of the random-start nets: wider than the modes (up to 10), so that a learned mode
takes a small share (~1/32) of the hidden space the weaker modes grow in."""
TWO_LAYER_U_INIT = 1e-3
"""The two-layer random start, u_init = width sigma^2 / 2: x = s/u_init spans 250..8000, where the
paper's log factor moves the raw local exponent -1 + 1/ln x from -0.82 to -0.89 (visible, so the
stated log factor is tested, not assumed)."""
DEEP_U_INIT = 1e-2
"""The depth-3 random start (per-layer gain u_init^(1/3) = 0.22): learning times ~ 4.6/s keep the
depth-3 GD within the time budget; the corrections (u_init/s)^(1/3) are left to the judge's
vanishing-correction models."""


@dataclass(frozen=True)
class ExperimentConfig:
    """strengths: the singular values s_alpha of Sigma_31; etas: GD learning rates (the smallest
    gives the learning times); relative_start: c_0 in u_0 = c_0 s of the aligned sweep;
    deep_depth: N >= 3 weight layers of the deeper net; random_two_layer, random_deep: the sweeps
    from small random initialization; learned_fraction: u_f / s."""

    strengths: tuple[float, ...]
    etas: tuple[float, ...]
    relative_start: float
    deep_depth: int
    random_two_layer: RandomStartConfig
    random_deep: RandomStartConfig
    learned_fraction: float = 0.5

    def __post_init__(self) -> None:
        require_positive("strengths, learning rates and starts",
                         (*self.strengths, *self.etas, self.relative_start))
        if len(self.strengths) < 3 or len(self.etas) < 3:
            raise ValueError("a power-law fit needs at least 3 strengths and 3 learning rates")
        if not self.relative_start < self.learned_fraction < 1:
            raise ValueError("the start must lie below the learned level u_f = fraction * s < s")
        require_depth(self.deep_depth, "the deeper net's depth N", minimum=3)
        if (self.random_two_layer.depth, self.random_deep.depth) != (2, self.deep_depth):
            raise ValueError("the random-start sweeps are the two-layer and the deeper net")

    @classmethod
    def quick(cls) -> ExperimentConfig:
        return cls(tuple(np.geomspace(0.5, 4.0, 6)), (0.02, 0.01, 0.005, 0.0025, 0.00125), 0.02, 3,
                   RandomStartConfig(tuple(np.geomspace(0.25, 4.0, 6)), RANDOM_WIDTH, 12,
                                     TWO_LAYER_U_INIT, 0.005, 2),
                   RandomStartConfig(tuple(np.geomspace(0.5, 4.0, 6)), RANDOM_WIDTH, 12,
                                     DEEP_U_INIT, 0.005, 3))

    @classmethod
    def full(cls) -> ExperimentConfig:
        return cls(tuple(np.geomspace(0.5, 8.0, 12)), (0.02, 0.01, 0.005, 0.0025, 0.00125),
                   0.02, 3,
                   RandomStartConfig(tuple(np.geomspace(0.25, 8.0, 10)), RANDOM_WIDTH, 24,
                                     TWO_LAYER_U_INIT, 0.0025, 2),
                   RandomStartConfig(tuple(np.geomspace(0.5, 8.0, 10)), RANDOM_WIDTH, 24,
                                     DEEP_U_INIT, 0.0025, 3))

    @property
    def modes(self) -> int:
        return len(self.strengths)


@dataclass(frozen=True)
class Task:
    """Sigma_31 = U S V^T and the aligned start's initial strengths (1, modes), u_0 = c_0 s."""

    left: torch.Tensor
    right: torch.Tensor
    strengths: torch.Tensor
    starts: torch.Tensor

    @property
    def target(self) -> torch.Tensor:
        return self.left @ torch.diag(self.strengths) @ self.right.mT

    def mode_strengths(self, end_to_end_matrix: torch.Tensor) -> torch.Tensor:
        """u_alpha = u_alpha^T W_e v_alpha for each batched W_e."""
        return torch.diagonal(self.left.mT @ end_to_end_matrix @ self.right, dim1=-2, dim2=-1)


def make_task(config: ExperimentConfig, s: Session) -> Task:
    """Haar-random singular vectors U, V (drawn from the session's "data" stream) and the starts."""
    options = {"dtype": s.torch_dtype, "device": s.device}
    generator = s.generator("data")
    left = haar_orthogonal(config.modes, generator, **options)
    right = haar_orthogonal(config.modes, generator, **options)
    strengths = torch.tensor(config.strengths, **options)
    starts = (config.relative_start * strengths).unsqueeze(0)
    return Task(left, right, strengths, starts)


def gd_trajectory(task: Task, depth: int, eta: float, steps: int) -> torch.Tensor:
    """Mode strengths (steps + 1, 1, modes) along GD from the balanced mode-aligned start."""
    initial = task.left @ torch.diag_embed(task.starts) @ task.right.mT
    factors = balanced_factors(initial, [task.strengths.numel()] * (depth - 1))
    target = task.target

    def grad_loss(end_to_end_matrix):
        return end_to_end_matrix - target

    history = [task.mode_strengths(end_to_end(factors))]
    for _ in range(steps):
        factors = gradient_descent_step(factors, grad_loss, eta)
        history.append(task.mode_strengths(end_to_end(factors)))
    return torch.stack(history)


def crossing_times(history: torch.Tensor, levels: torch.Tensor, eta: float) -> np.ndarray:
    """The first time each trajectory reaches its level, linearly interpolated between steps;
    NaN where it never does."""
    values = history.cpu().numpy()
    targets = np.broadcast_to(levels.cpu().numpy(), values.shape[1:])
    above = values >= targets
    first = np.where(above.any(0), above.argmax(0), -1)
    times = np.full(first.shape, np.nan)
    for index in zip(*np.nonzero(first > 0)):
        k = first[index]
        before, after = values[(k - 1, *index)], values[(k, *index)]
        times[index] = eta * (k - 1 + (targets[index] - before) / (after - before))
    return times


def two_layer_closed_form(times: torch.Tensor, strengths: torch.Tensor, starts: torch.Tensor):
    """u(t) = s / (1 + (s/u_0 - 1) e^{-2st}) for tau = 1, broadcast over (time, start, mode)."""
    t = times.view(-1, 1, 1)
    return strengths / (1 + (strengths / starts - 1) * torch.exp(-2 * strengths * t))


def flow_learning_times(config: ExperimentConfig, depth: int) -> np.ndarray:
    """Gradient-flow learning times (1 start, modes): the closed form at N = 2, quadrature else."""
    starts = config.relative_start * np.array(config.strengths)[None]
    return np.array([[depth_learning_time_float(config.learned_fraction * s, s, u0, depth)
                      for s, u0 in zip(config.strengths, row)] for row in starts])


@dataclass(frozen=True)
class DepthRun:
    """GD at the smallest learning rate for one depth: learning times (1, modes), the flow's."""

    depth: int
    measured: np.ndarray
    flow: np.ndarray
    history: torch.Tensor
    eta: float


def run_depth(config: ExperimentConfig, task: Task, depth: int) -> DepthRun:
    eta = min(config.etas)
    flow = flow_learning_times(config, depth)
    steps = math.ceil(HORIZON_MARGIN * flow.max() / eta)
    history = gd_trajectory(task, depth, eta, steps)
    measured = crossing_times(history, config.learned_fraction * task.strengths, eta)
    return DepthRun(depth, measured, flow, history, eta)


@dataclass(frozen=True)
class Deviation:
    """max over time, starts and modes of |u_GD - u(t)| / s for two layers, and the scale of its
    rounding floor (s_max times the number of steps)."""

    value: float
    rounding_scale: float


def max_deviation(task: Task, eta: float, horizon: float) -> Deviation:
    steps = math.ceil(horizon / eta)
    history = gd_trajectory(task, 2, eta, steps)
    times = eta * torch.arange(steps + 1, dtype=history.dtype, device=history.device)
    exact = two_layer_closed_form(times, task.strengths, task.starts)
    return Deviation(float(((history - exact).abs() / task.strengths).max()),
                     float(task.strengths.max()) * steps)


@dataclass(frozen=True)
class DeviationSweep:
    """The GD-vs-flow deviation per learning rate, resolved against the dtype's rounding floor."""

    etas: tuple[float, ...]
    resolved: tuple[Resolved, ...]

    @property
    def kept_etas(self) -> list[float]:
        return [eta for eta, r in zip(self.etas, self.resolved) if not r.below_precision]

    @property
    def kept_values(self) -> list[float]:
        return [r.value for r in self.resolved if not r.below_precision]

    @property
    def values(self) -> dict[str, str]:
        return {f"max_deviation_eta_{eta:g}": r.describe()
                for eta, r in zip(self.etas, self.resolved)}


def deviation_sweep(config: ExperimentConfig, task: Task, horizon: float, dtype: str,
                    progress) -> DeviationSweep:
    deviations = [max_deviation(task, eta, horizon)
                  for eta in progress(config.etas, "torch: GD vs closed form")]
    return DeviationSweep(tuple(config.etas), tuple(resolve(d.value, d.rounding_scale, dtype)
                                                   for d in deviations))


@dataclass(frozen=True)
class LearningTimeCase:
    """One learning-time sweep against s: the GD times, the flow's, and the claimed bound."""

    name: str
    statement: str
    measured: np.ndarray
    flow: np.ndarray
    bound: Bound
    decisive: bool = True
    main: bool = False
    rules_out: tuple[float, ...] = ()
    controls: tuple[tuple[str, np.ndarray], ...] = ()

    def values(self, strengths: np.ndarray) -> dict[str, float]:
        gap = float(np.max(np.abs(self.measured / self.flow - 1)))
        return {"flow_prediction_exponent": fit_power_law(strengths, self.flow).exponent,
                "max_relative_gap_gd_vs_flow": gap}


def learning_time_cases(config: ExperimentConfig, two: DepthRun,
                        deep: DepthRun) -> tuple[LearningTimeCase, ...]:
    """The aligned, balanced sweeps from u_0 = c_0 s: the closed forms' exponents at two layers
    and at depth N (each the other's control)."""
    n = config.deep_depth
    deep_exponent = -2 + 2 / n
    deep_relative = (f"the depth-{n} sweep from u_0 = c_0 s (s^{deep_exponent:.4g}), measured the "
                     "same way", deep.measured[0])
    two_relative = ("the two-layer sweep from u_0 = c_0 s (1/s), measured the same way",
                    two.measured[0])
    return (
        LearningTimeCase(
            "learning-time-two-layer", "two layers, aligned balanced start u_0 = c_0 s: the GD "
            "time for u_alpha to reach s_alpha/2 scales as 1/s (Saxe et al. Eq. (9): "
            "t = (tau/(2s)) ln[(1 - c_0)/c_0])", two.measured[0], two.flow[0], LEARNING_TIME,
            rules_out=LEARNING_TIME_ALTERNATIVES, controls=(deep_relative,)),
        LearningTimeCase(
            f"learning-time-depth-{n}-relative-start", f"N = {n} weight layers, aligned balanced "
            f"start u_0 = c_0 s: the learning time scales as s^-(2 - 2/N) = "
            f"s^{deep_exponent:.4g}, as tau du/dt = N u^(2-2/N) (s - u) implies (not the 1/s of "
            "two layers)", deep.measured[0], deep.flow[0],
            Bound.tight("s", -2 + sympy.Rational(2, n)),
            rules_out=(-1.0, -2.0, deep_exponent - 0.25, deep_exponent + 0.25),
            controls=(two_relative,)),
    )


def random_start_checks(s: Session, config: ExperimentConfig, two: RandomStartRun,
                        deep: RandomStartRun) -> dict:
    """The paper's claim from small random initialization, raw times fitted against
    x = s/u_init, intervals over the independent initializations (module docstring)."""
    n = config.deep_depth
    deep_exponent = -2 + 2 / n
    x_two, x_deep = two.config.relative_strengths, deep.config.relative_strengths
    log_two, log_deep = np.log(x_two), np.log(x_deep)
    mean_two, mean_deep = two.times.mean(0), deep.times.mean(0)
    prediction = two.decoupled_prediction()
    gap = two.times / prediction - 1
    fits = {}
    main = s.rate(
        "learning-time-two-layer-random-start",
        "two layers from small random initialization (Gaussian entries, not aligned, not "
        "balanced): the raw GD time for each mode to reach s/2 is Theta((1/s) ln(s/u_init)), "
        "i.e. x^-1 ln x in x = s/u_init as x -> infinity (Saxe et al. Eq. (9), "
        "t = (tau/(2s)) ln[(s - u_0)/u_0]); mean over initializations",
        x_two, None, RANDOM_START_TWO_LAYER, main=True, units=two.times,
        rules_out="1/s with no log factor; 1/s^2; the depth-"
                  f"{n} relative-start law s^{deep_exponent:.4g}; exponent +-0.25",
        controls={"1/s with no log factor (the raw times divided by ln x)":
                  (x_two, mean_two / log_two),
                  "1/s^2 (the raw times tilted by 1/s)": (x_two, mean_two / x_two),
                  f"the depth-{n} relative-start law s^{deep_exponent:.4g} (the raw times "
                  f"tilted by s^{deep_exponent + 1:.4g})":
                  (x_two, mean_two * x_two ** (deep_exponent + 1))},
        values={"runs": two.config.runs, "hidden_width": two.config.width,
                "u_init": two.config.u_init, "eta": two.config.eta, "gd_steps": two.steps,
                "raw_time_ratio_slowest_to_fastest": float(mean_two[0] / mean_two[-1]),
                "mean_gd_over_decoupled_prediction": float(np.mean(gap + 1)),
                "max_relative_gap_gd_vs_decoupled_prediction": float(np.max(np.abs(gap)))})
    fits[main.name] = (mean_two, main.fit, RANDOM_START_TWO_LAYER, x_two)
    corrected = s.rate(
        "learning-time-two-layer-random-start-log-corrected",
        "two layers from small random initialization: t / ln(s/u_init) scales as 1/s (the "
        "theory's own log factor divided out; reported, not decisive)",
        x_two, None, RANDOM_START_DEEP, decisive=False, units=two.times / log_two)
    fits[corrected.name] = (mean_two / log_two, corrected.fit, RANDOM_START_DEEP, x_two)
    deep_check = s.rate(
        f"learning-time-depth-{n}-random-start",
        f"N = {n} weight layers from small random initialization: the raw GD time for each mode "
        f"to reach s/2 is Theta(1/s) in x = s/u_init as x -> infinity (Saxe et al. Section 3: "
        f"t ~ u_0^-(1 - 2/N) / ((N - 2) s), no log factor); mean over initializations",
        x_deep, None, RANDOM_START_DEEP, units=deep.times,
        rules_out=f"the two-layer law with its log factor; s^{deep_exponent:.4g}; 1/s^2; "
                  "exponent +-0.25",
        controls={"the two-layer law x^-1 ln x (the raw times times ln x)":
                  (x_deep, mean_deep * log_deep),
                  f"the relative-start law s^{deep_exponent:.4g} (the raw times tilted by "
                  f"s^{deep_exponent + 1:.4g})": (x_deep, mean_deep * x_deep ** (deep_exponent + 1)),
                  "1/s^2 (the raw times tilted by 1/s)": (x_deep, mean_deep / x_deep)},
        values={"runs": deep.config.runs, "hidden_width": deep.config.width,
                "u_init": deep.config.u_init, "eta": deep.config.eta, "gd_steps": deep.steps,
                "relative_spread_over_initializations": float(np.max(deep.times.std(0)
                                                                     / mean_deep))})
    fits[deep_check.name] = (mean_deep, deep_check.fit, RANDOM_START_DEEP, x_deep)
    return fits


def verify(s: Session) -> None:
    """GD from small random initialization (the claim's setting), GD from the aligned balanced
    start (the closed forms), and GD vs the flow's closed form."""
    config = s.preset(quick=ExperimentConfig.quick(), full=ExperimentConfig.full())
    task = make_task(config, s)
    strengths = np.array(config.strengths)
    random_runs = {start.depth: run_random_start(start, s.generator(f"init-{start.depth}"),
                                                 s.torch_dtype, s.device)
                   for start in s.progress((config.random_two_layer, config.random_deep),
                                           "torch: GD from random starts per depth")}
    runs = {depth: run_depth(config, task, depth)
            for depth in s.progress((2, config.deep_depth), "torch: aligned GD per depth")}
    for depth, run in random_runs.items():
        if not run.learned:
            raise ArithmeticError(f"depth {depth}: a mode did not reach s/2 from the random start "
                                  f"within {run.steps} steps")
    if not all(np.isfinite(run.measured).all() for run in runs.values()):
        raise ArithmeticError("a mode did not reach s/2 within the horizon")
    two, deep = runs[2], runs[config.deep_depth]
    fits = random_start_checks(s, config, random_runs[2], random_runs[config.deep_depth])
    for case in learning_time_cases(config, two, deep):
        check = s.rate(case.name, case.statement, strengths, case.measured, case.bound,
                       decisive=case.decisive, main=case.main, values=case.values(strengths),
                       rules_out=case.rules_out or "",
                       controls={words: (strengths, times) for words, times in case.controls})
        fits[case.name] = (case.measured, check.fit, case.bound, strengths)
    s.figure(_curves_figure(two, task))
    s.figure(_rates_figure(fits))
    sweep = deviation_sweep(config, task, HORIZON_MARGIN * float(two.flow.max()), s.dtype,
                            s.progress)
    if len(sweep.kept_etas) >= 3:
        deviation = s.rate(
            "gd-vs-closed-form",
            "two layers: max over t and modes of |u_GD(t) - u(t)| / s, u(t) the closed form "
            "with tau = 1/eta in steps, is O(eta) (GD tracks the flow)",
            sweep.kept_etas, sweep.kept_values, GD_DEVIATION, values=sweep.values,
            rules_out=(0.5, 0.75, 1.25, 2.0))
        s.figure(_deviation_figure(sweep, deviation.fit))
    s.table(_random_start_table(random_runs[2], random_runs[config.deep_depth]))
    s.table(_learning_time_table(config, two, deep))
    random = config.random_two_layer
    s.note(f"Random starts: {random.runs} initializations per depth, hidden width {random.width}, "
           f"entries N(0, sigma^2) (two layers: u_init = width sigma^2 / 2 = {random.u_init:g}; "
           f"depth {config.deep_depth}: per-layer gain u_init^(1/N), u_init = "
           f"{config.random_deep.u_init:g}), Haar U, V per initialization, GD at eta = "
           f"{random.eta:g} (two layers) and {config.random_deep.eta:g} (depth "
           f"{config.deep_depth}). Aligned sweep: {config.modes} modes, s from {strengths.min():g} "
           f"to {strengths.max():g}; c_0 = {config.relative_start:g}; learning times from GD at "
           f"eta = {two.eta:g}; {s.dtype} on {s.device}.")


def _deviation_figure(sweep: DeviationSweep, fit: RateFit) -> Figure:
    return Figure("gd-deviation", "GD vs the closed-form flow", (rate_panel(
        "max |u_GD - u_flow| / s", "learning rate eta", "max deviation", sweep.kept_etas,
        sweep.kept_values, fit, GD_DEVIATION),))


def _learning_time_table(config: ExperimentConfig, two: DepthRun, deep: DepthRun) -> Table:
    n = config.deep_depth
    pairs = ((two.measured[0], two.flow[0]), (deep.measured[0], deep.flow[0]))
    return Table("learning-times", f"Aligned balanced start u_0 = c_0 s: learning times to s/2 "
                 f"(GD at eta = {two.eta:g}) and the flow's",
                 ("s", "N=2: GD", "flow", f"N={n}: GD", "flow"),
                 tuple((float(s), *(float(v) for measured, flow in pairs
                                    for v in (measured[a], flow[a])))
                       for a, s in enumerate(config.strengths)))


def _random_start_table(two: RandomStartRun, deep: RandomStartRun) -> Table:
    """Per mode: mean GD time over initializations, its spread, and the predictions."""
    rows = []
    prediction = two.decoupled_prediction().mean(0)
    for a, s in enumerate(two.config.strengths):
        x = s / two.config.u_init
        rows.append((2, float(s), float(x), float(two.times[:, a].mean()),
                     float(two.times[:, a].std()), float(prediction[a]),
                     float(np.log(x - 1) / (2 * s))))
    n = deep.config.depth
    for a, s in enumerate(deep.config.strengths):
        leading = deep.config.u_init ** -(1 - 2 / n) / ((n - 2) * s)
        rows.append((n, float(s), float(s / deep.config.u_init), float(deep.times[:, a].mean()),
                     float(deep.times[:, a].std()), math.nan, float(leading)))
    return Table("random-start-learning-times",
                 "Small random initialization: GD learning times to s/2 (mean and standard "
                 "deviation over initializations) and the predictions",
                 ("N", "s", "x = s/u_init", "GD mean", "GD sd",
                  "aligned flow from each run's |a+b|^2/4 (mean)",
                  "from u_init: (1/(2s)) ln(x - 1) (N = 2), u_init^-(1-2/N)/((N-2)s)"),
                 tuple(rows))


def _curves_figure(run: DepthRun, task: Task) -> Figure:
    history = run.history[:, 0].cpu().numpy()
    stride = max(1, history.shape[0] // 60)
    times = run.eta * np.arange(history.shape[0])
    grid = torch.linspace(0, float(times[-1]), 200, dtype=task.strengths.dtype,
                          device=task.strengths.device)
    exact = two_layer_closed_form(grid, task.strengths, task.starts)[:, 0].cpu().numpy()
    strengths = task.strengths.cpu().numpy()
    series = []
    for alpha, s in enumerate(strengths):
        series.append(Series(f"GD, s = {s:.3g}", tuple(times[::stride]),
                             tuple(history[::stride, alpha] / s)))
        series.append(Series(f"closed form, s = {s:.3g}", tuple(grid.cpu().numpy()),
                             tuple(exact[:, alpha] / s), "line"))
    panel = Panel(f"two layers, u_0 = c_0 s, eta = {run.eta:g}", "t = eta x steps", "u(t) / s",
                  tuple(series), xscale="linear", yscale="linear")
    return Figure("sigmoidal-curves", "Mode strengths under GD vs the closed form", (panel,))


def _rates_figure(fits) -> Figure:
    panels = tuple(rate_panel(name.removeprefix("learning-time-"), "s (random starts: s/u_init)",
                              "learning time to s/2", x, times, fit, bound)
                   for name, (times, fit, bound, x) in fits.items())
    return Figure("learning-time-vs-s", "Learning time vs mode strength", panels, columns=2)
