"""Experiment layer of `saxe-dynamics`: gradient descent on a whitened multi-mode linear regression,
each mode's sigmoidal learning curve and learning time against the gradient-flow predictions.

Source: Saxe, McClelland, Ganguli (2014), arXiv:1312.6120, Section 2 (Eqs. (6)-(9)) and Section 3.
Setting: whitened inputs (Sigma_11 = I), input-output correlation Sigma_31 = U S V^T with several
singular values s_alpha, square loss 1/2 ||W_e - Sigma_31||_F^2 (the whitened regression loss up to
a constant), GD with a small learning rate eta, so that t = eta x steps follows the flow with
tau = 1. Initialization along the modes, balanced (Procedure 1 of arXiv:1810.02281 applied to
W_e(0) = U diag(u_0) V^T), as in Saxe et al.; each mode strength u_alpha = u_alpha^T W_e v_alpha
then obeys the scalar mode dynamics. Two starts, batched: relative u_0 = c_0 s_alpha and a common
absolute u_0. The learning time is the time u_alpha takes to reach s_alpha / 2.

What is claimed and what follows from the mode equations:
- two layers, u_0 = c_0 s: t = (1/(2s)) ln[(1 - c_0)/c_0], exactly ~ 1/s (TIGHT, exponent -1);
- two layers, common u_0: t = (1/(2s)) ln[(s - u_0)/u_0], 1/s times a log (the O(tau/s) ln(s/eps)
  of the paper): t / ln[(s - u_0)/u_0] ~ 1/s, while t itself has a local exponent -1 + 1/ln(s/u_0);
- N >= 3 layers, common small u_0: t ~ u_0^{-(1 - 2/N)} / ((N - 2) s) to leading order (~ 1/s);
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
from optverify.theorems.saxe_dynamics.dynamics import (
    depth_learning_time_float,
    validate_depth,
)

LEARNING_TIME = Bound.tight("s", -1)
GD_DEVIATION = Bound.tight("eta", 1)
LEARNING_TIME_ALTERNATIVES = (-2.0, -1.25, -0.75, -0.5)
"""The learning-time laws a 1/s check rules out: 1/s^2 and 1/sqrt(s), and 1/s off by a quarter."""
HORIZON_MARGIN = 1.25
"""GD runs 25% past the slowest mode's predicted learning time, so every mode crosses s/2."""


@dataclass(frozen=True)
class ExperimentConfig:
    """strengths: the singular values s_alpha of Sigma_31; etas: GD learning rates (the smallest
    gives the learning times); relative_start: c_0 in u_0 = c_0 s; absolute_start: the common u_0;
    deep_depth: N >= 3 weight layers of the deeper net; learned_fraction: u_f / s."""

    strengths: tuple[float, ...]
    etas: tuple[float, ...]
    relative_start: float
    absolute_start: float
    deep_depth: int
    learned_fraction: float = 0.5

    def __post_init__(self) -> None:
        values = (*self.strengths, *self.etas, self.relative_start, self.absolute_start)
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"strengths, learning rates and starts must be positive and finite, "
                             f"got {values}")
        if len(self.strengths) < 3 or len(self.etas) < 3:
            raise ValueError("a power-law fit needs at least 3 strengths and 3 learning rates")
        if not (self.relative_start < self.learned_fraction < 1
                and self.absolute_start < self.learned_fraction * min(self.strengths)):
            raise ValueError("the starts must lie below the learned level u_f = fraction * s < s")
        validate_depth(self.deep_depth)
        if self.deep_depth < 3:
            raise ValueError(f"the deeper net needs N >= 3 weight layers, got {self.deep_depth}")

    @classmethod
    def quick(cls) -> ExperimentConfig:
        return cls(tuple(np.geomspace(0.5, 4.0, 6)), (0.02, 0.01, 0.005), 0.02, 1e-3, 3)

    @classmethod
    def full(cls) -> ExperimentConfig:
        return cls(tuple(np.geomspace(0.5, 8.0, 12)), (0.02, 0.01, 0.005, 0.0025, 0.00125),
                   0.02, 1e-3, 3)

    @property
    def modes(self) -> int:
        return len(self.strengths)


@dataclass(frozen=True)
class Task:
    """Sigma_31 = U S V^T and the two starts' initial strengths (2, modes)."""

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
    starts = torch.stack([config.relative_start * strengths,
                          torch.full_like(strengths, config.absolute_start)])
    return Task(left, right, strengths, starts)


def gd_trajectory(task: Task, depth: int, eta: float, steps: int) -> torch.Tensor:
    """Mode strengths (steps + 1, 2, modes) along GD from the balanced mode-aligned starts."""
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
    """Gradient-flow learning times (2 starts, modes): the closed form at N = 2, quadrature else."""
    starts = np.stack([config.relative_start * np.array(config.strengths),
                       np.full(config.modes, config.absolute_start)])
    return np.array([[depth_learning_time_float(config.learned_fraction * s, s, u0, depth)
                      for s, u0 in zip(config.strengths, row)] for row in starts])


@dataclass(frozen=True)
class DepthRun:
    """GD at the smallest learning rate for one depth: learning times (2, modes), the flow's."""

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


def deviation_sweep(setup: ExperimentConfig, task: Task, horizon: float, dtype: str,
                    progress) -> DeviationSweep:
    deviations = [max_deviation(task, eta, horizon)
                  for eta in progress(setup.etas, "torch: GD vs closed form")]
    return DeviationSweep(tuple(setup.etas), tuple(resolve(d.value, d.rounding_scale, dtype)
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


def learning_time_cases(setup: ExperimentConfig, two: DepthRun,
                        deep: DepthRun) -> tuple[LearningTimeCase, ...]:
    """The five sweeps: two layers from u_0 = c_0 s, from a common u_0 (log-corrected and raw),
    and the deeper net from a common u_0 and from u_0 = c_0 s."""
    strengths = np.array(setup.strengths)
    log_factor = np.log((strengths - setup.absolute_start) / setup.absolute_start)
    n = setup.deep_depth
    deep_exponent = -2 + 2 / n
    deep_relative = (f"the depth-{n} sweep from u_0 = c_0 s (s^{deep_exponent:.4g}), measured the "
                     "same way", deep.measured[0])
    two_relative = ("the two-layer sweep from u_0 = c_0 s (1/s), measured the same way",
                    two.measured[0])
    return (
        LearningTimeCase(
            "learning-time-two-layer", "two layers, u_0 = c_0 s: the GD time for u_alpha to reach "
            "s_alpha/2 scales as 1/s (Saxe et al. Eq. (9): t = (tau/(2s)) ln[(1 - c_0)/c_0])",
            two.measured[0], two.flow[0], LEARNING_TIME, main=True,
            rules_out=LEARNING_TIME_ALTERNATIVES, controls=(deep_relative,)),
        LearningTimeCase(
            "learning-time-two-layer-common-start-log-corrected", "two layers, common u_0: t / "
            "ln[(s - u_0)/u_0] scales as 1/s (t = O(tau/s) ln(s/eps))",
            two.measured[1] / log_factor, two.flow[1] / log_factor, LEARNING_TIME, main=True,
            rules_out=LEARNING_TIME_ALTERNATIVES,
            controls=(("the raw common-start times, the ln(s/u_0) factor kept",
                       two.measured[1]),)),
        LearningTimeCase(
            "learning-time-two-layer-common-start-raw", "two layers, common u_0: t itself against "
            "1/s (carries the ln(s/u_0) factor, so its local exponent is -1 + 1/ln(s/u_0); "
            "reported, not decisive)", two.measured[1], two.flow[1], LEARNING_TIME, decisive=False),
        LearningTimeCase(
            f"learning-time-depth-{n}-common-start", f"N = {n} weight layers, common small u_0: "
            "the learning time scales as 1/s (leading order u_0^{-(1 - 2/N)} / ((N - 2) s))",
            deep.measured[1], deep.flow[1], LEARNING_TIME,
            rules_out=(deep_exponent, -1.25, -0.75, -0.5), controls=(deep_relative,)),
        LearningTimeCase(
            f"learning-time-depth-{n}-relative-start", f"N = {n} weight layers, u_0 = c_0 s: the "
            f"learning time scales as s^-(2 - 2/N) = s^{deep_exponent:.4g}, as tau du/dt = "
            "N u^(2-2/N) (s - u) implies (not the 1/s of two layers)", deep.measured[0],
            deep.flow[0], Bound.tight("s", -2 + sympy.Rational(2, n)),
            rules_out=(-1.0, -2.0, deep_exponent - 0.25, deep_exponent + 0.25),
            controls=(two_relative,)),
    )


def verify(s: Session) -> None:
    """GD on the multi-mode regression: learning times vs s, and GD vs the flow's closed form."""
    setup = s.preset(quick=ExperimentConfig.quick(), full=ExperimentConfig.full())
    task = make_task(setup, s)
    strengths = np.array(setup.strengths)
    runs = {depth: run_depth(setup, task, depth)
            for depth in s.progress((2, setup.deep_depth), "torch: GD per depth")}
    if not all(np.isfinite(run.measured).all() for run in runs.values()):
        raise ArithmeticError("a mode did not reach s/2 within the horizon")
    two, deep = runs[2], runs[setup.deep_depth]
    fits = {}
    for case in learning_time_cases(setup, two, deep):
        check = s.rate(case.name, case.statement, strengths, case.measured, case.bound,
                       decisive=case.decisive, main=case.main, values=case.values(strengths),
                       rules_out=case.rules_out or "",
                       controls={words: (strengths, times) for words, times in case.controls})
        fits[case.name] = (case.measured, check.fit, case.bound)
    s.figure(_curves_figure(two, task))
    s.figure(_rates_figure(strengths, fits))
    sweep = deviation_sweep(setup, task, HORIZON_MARGIN * float(two.flow.max()), s.dtype,
                            s.progress)
    if len(sweep.kept_etas) >= 3:
        deviation = s.rate(
            "gd-vs-closed-form",
            "two layers: max over t, modes and starts of |u_GD(t) - u(t)| / s, u(t) the closed "
            "form with tau = 1/eta in steps, is O(eta) (GD tracks the flow)",
            sweep.kept_etas, sweep.kept_values, GD_DEVIATION, values=sweep.values,
            rules_out=(0.5, 0.75, 1.25, 2.0))
        s.figure(_deviation_figure(sweep, deviation.fit))
    s.table(_learning_time_table(setup, two, deep))
    s.note(f"{setup.modes} modes, s from {strengths.min():g} to {strengths.max():g}; c_0 = "
           f"{setup.relative_start:g}, common u_0 = {setup.absolute_start:g}; learning times "
           f"from GD at eta = {two.eta:g}; {s.dtype} on {s.device}.")


def _deviation_figure(sweep: DeviationSweep, fit: RateFit) -> Figure:
    return Figure("gd-deviation", "GD vs the closed-form flow", (rate_panel(
        "max |u_GD - u_flow| / s", "learning rate eta", "max deviation", sweep.kept_etas,
        sweep.kept_values, fit, GD_DEVIATION),))


def _learning_time_table(setup: ExperimentConfig, two: DepthRun, deep: DepthRun) -> Table:
    n = setup.deep_depth
    pairs = ((two.measured[0], two.flow[0]), (two.measured[1], two.flow[1]),
             (deep.measured[1], deep.flow[1]), (deep.measured[0], deep.flow[0]))
    return Table("learning-times", f"Learning times to s/2 (GD at eta = {two.eta:g}) and the flow's",
                 ("s", "N=2 c_0 s: GD", "flow", "N=2 u_0: GD", "flow",
                  f"N={n} u_0: GD", "flow", f"N={n} c_0 s: GD", "flow"),
                 tuple((float(s), *(float(v) for measured, flow in pairs
                                    for v in (measured[a], flow[a])))
                       for a, s in enumerate(setup.strengths)))


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


def _rates_figure(strengths: np.ndarray, fits) -> Figure:
    panels = tuple(rate_panel(name.removeprefix("learning-time-"), "mode strength s",
                              "learning time to s/2", strengths, times, fit, bound)
                   for name, (times, fit, bound) in fits.items())
    return Figure("learning-time-vs-s", "Learning time vs mode strength", panels, columns=2)
