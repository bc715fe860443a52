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
- depth N, on nets that each learn one strength (`single_strength`): the raw times are
  Theta(t_flow), t_flow the paper's depth-N flow time from u_init, whose limit x -> infinity
  (t_flow -> 0) is u_init^-(1-2/N) / ((N - 2) s) = Theta(x^-1) (controls: the two-layer law with
  its log factor, the relative-start law s^-(2-2/N), 1/s^2, t_flow^0.75 and t_flow^1.25);
  reported beside it: the same times against x (with t_flow's own exponent over that x: the
  correction ~ x^-(1-2/N) vanishes slowly), and one multi-mode net's times against t_flow (the
  modes compete: GD / t_flow falls across strengths);
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

from optverify.kit import Bound, Figure, Panel, Series, Session, Table, fit_power_law, rate_panel
from optverify.theorems.saxe_dynamics.aligned_gd import (
    Task,
    crossing_times,
    gd_trajectory,
    make_task,
    two_layer_closed_form,
)
from optverify.theorems.saxe_dynamics.config import ExperimentConfig
from optverify.theorems.saxe_dynamics.dynamics import depth_learning_time_float
from optverify.theorems.saxe_dynamics.gd_deviation import (
    GD_DEVIATION,
    HORIZON_MARGIN,
    deviation_figure,
    deviation_sweep,
)
from optverify.theorems.saxe_dynamics.random_start import RandomStartRun, run_random_start
from optverify.theorems.saxe_dynamics.single_strength import SingleStrengthRun, run_single_strength

LEARNING_TIME = Bound.tight("s", -1)
RANDOM_START_TWO_LAYER = Bound.tight("(s/u_init)", -1, log_power=1)
"""Saxe et al. Eq. (9) from a small start: t = (1/(2s)) ln[(s - u_0)/u_0] ~ x^-1 ln x in
x = s/u_init, as x -> infinity (a small start relative to the strength); the log factor is the
paper's, stated rather than divided out."""
RANDOM_START_DEEP = Bound.tight("(s/u_init)", -1)
"""Saxe et al. Section 3: t ~ u_0^{-(1 - 2/N)} / ((N - 2) s) for N >= 3, no log factor."""
FLOW_LAW = Bound.tight("t_flow", 1, limit="zero")
"""GD from a small random start takes a fixed multiple of the depth-N flow time t_flow from
u_0 = u_init (a random start is the aligned chain from a random multiple of u_init), as
x = s/u_init -> infinity, i.e. t_flow -> 0: the limit the judge's corrections vanish in."""
LEARNING_TIME_ALTERNATIVES = (-2.0, -1.25, -0.75, -0.5)
"""The learning-time laws a 1/s check rules out: 1/s^2 and 1/sqrt(s), and 1/s off by a quarter."""


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
                        deep: RandomStartRun, single: SingleStrengthRun) -> dict:
    """The paper's claim from small random initialization, raw times, intervals over the
    independent initializations (module docstring); every control is a units array, resampled
    like the check."""
    n = config.deep_depth
    deep_exponent = -2 + 2 / n
    x_two = two.config.relative_strengths
    log_two = np.log(x_two)
    mean_two = two.times.mean(0)
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
                  (x_two, two.times / log_two),
                  "1/s^2 (the raw times tilted by 1/s)": (x_two, two.times / x_two),
                  f"the depth-{n} relative-start law s^{deep_exponent:.4g} (the raw times "
                  f"tilted by s^{deep_exponent + 1:.4g})":
                  (x_two, two.times * x_two ** (deep_exponent + 1))},
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
    fits.update(depth_random_start_checks(s, n, single, deep))
    return fits


def depth_random_start_checks(s: Session, n: int, single: SingleStrengthRun,
                              multi: RandomStartRun) -> dict:
    """Depth N from small random initialization (module docstring): the decisive check on nets
    that each learn one strength, against the paper's flow time t_flow; the same times against x
    (reported, with t_flow's own exponent over the same x); the multi-mode net's times against
    its t_flow (reported: the competition between modes)."""
    deep_exponent = -2 + 2 / n
    x, flow = single.config.relative_strengths, single.config.flow_times()
    mean = single.times.mean(0)
    two_layer = np.log(x - 1) / (2 * np.array(single.config.strengths))
    flow_slope = float(np.polyfit(np.log(x), np.log(flow), 1)[0])
    leading = single.config.leading_times()
    alternatives = {
        "the two-layer law (1/(2s)) ln(x - 1) (the raw times tilted by its ratio to t_flow)":
            two_layer / flow,
        f"the relative-start law s^{deep_exponent:.4g}, t_flow^{-deep_exponent:.4g} as x -> "
        f"infinity (the raw times tilted by t_flow^{-deep_exponent - 1:.4g})":
            flow ** (-deep_exponent - 1),
        "1/s^2, t_flow^2 as x -> infinity (the raw times tilted by t_flow)": flow}
    ratio = mean / flow
    decisive = s.rate(
        f"learning-time-depth-{n}-random-start",
        f"N = {n} weight layers from small random initialization (Gaussian entries, not "
        f"aligned, not balanced; one strength per net): the raw GD time to reach s/2 is "
        f"Theta(t_flow), t_flow = int du / (N u^(2-2/N) (s - u)) from u_init to s/2, the paper's "
        f"depth-N flow (Saxe et al. Section 3), whose limit x = s/u_init -> infinity "
        f"(t_flow -> 0) is u_init^-(1-2/N) / ((N - 2) s); mean over initializations",
        flow, None, FLOW_LAW, units=single.times,
        rules_out=f"the two-layer law with its log factor; s^{deep_exponent:.4g}; 1/s^2; "
                  "t_flow^0.75 and t_flow^1.25",
        controls={words: (flow, single.times * tilt) for words, tilt in alternatives.items()},
        values={"runs": single.config.runs, "hidden_width": single.config.width,
                "dimension": single.config.dimension, "u_init": single.config.u_init,
                "eta": single.config.eta, "gd_steps": single.steps,
                "relative_spread_over_initializations": float(np.max(single.times.std(0) / mean)),
                "gd_over_flow_smallest_x": float(ratio[0]),
                "gd_over_flow_largest_x": float(ratio[-1])})
    fits = {decisive.name: (mean, decisive.fit, FLOW_LAW, flow)}
    raw = s.rate(
        f"learning-time-depth-{n}-random-start-vs-x",
        f"the same raw times against x = s/u_init, Theta(x^-1) as x -> infinity (reported: "
        f"over this sweep t_flow's own straight-line exponent in x is {flow_slope:.4g}, its "
        f"relative correction ~ x^-(1-2/N) not yet gone)",
        x, None, RANDOM_START_DEEP, units=single.times, decisive=False,
        values={"flow_exponent_over_sweep": flow_slope,
                "flow_over_leading_order_smallest_x": float(flow[0] / leading[0]),
                "flow_over_leading_order_largest_x": float(flow[-1] / leading[-1])})
    fits[raw.name] = (mean, raw.fit, RANDOM_START_DEEP, x)
    fits.update(competition_check(s, n, multi))
    return fits


def competition_check(s: Session, n: int, multi: RandomStartRun) -> dict:
    """Reported: one net of width `multi.config.width` learns every strength at once; its times
    against t_flow show the modes' competition (GD over t_flow falls across strengths: the weak
    modes wait on the strong ones), which the paper's per-mode law leaves out."""
    x, flow = multi.config.relative_strengths, multi.config.flow_times()
    mean = multi.times.mean(0)
    ratio = mean / flow
    check = s.rate(
        f"learning-time-depth-{n}-multi-mode-competition",
        f"N = {n}, one net of hidden width {multi.config.width} learning all "
        f"{multi.config.modes} strengths from a small random start: its times against t_flow "
        f"(reported, not decisive: the modes compete, so the per-mode law need not hold)",
        flow, None, FLOW_LAW, units=multi.times, decisive=False,
        values={"runs": multi.config.runs, "hidden_width": multi.config.width,
                "eta": multi.config.eta, "gd_steps": multi.steps,
                "raw_exponent_in_x": float(np.polyfit(np.log(x), np.log(mean), 1)[0]),
                **{f"gd_over_flow_x{value:.4g}": float(r) for value, r in zip(x, ratio)}})
    return {check.name: (mean, check.fit, FLOW_LAW, flow)}


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
    single = run_single_strength(config.single_deep, s.generator("init-single"), s.torch_dtype,
                                 s.device)
    if not single.learned:
        raise ArithmeticError(f"depth {config.deep_depth}: a single-strength net did not reach "
                              f"s/2 within {single.steps} steps")
    runs = {depth: run_depth(config, task, depth)
            for depth in s.progress((2, config.deep_depth), "torch: aligned GD per depth")}
    for depth, run in random_runs.items():
        if not run.learned:
            raise ArithmeticError(f"depth {depth}: a mode did not reach s/2 from the random start "
                                  f"within {run.steps} steps")
    if not all(np.isfinite(run.measured).all() for run in runs.values()):
        raise ArithmeticError("a mode did not reach s/2 within the horizon")
    two, deep = runs[2], runs[config.deep_depth]
    fits = random_start_checks(s, config, random_runs[2], random_runs[config.deep_depth], single)
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
        s.figure(deviation_figure(sweep, deviation.fit))
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
