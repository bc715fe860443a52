"""Experiment layer: does depth accelerate full-batch GD on l_p regression?

Arora, Cohen, Hazan (2018), arXiv:1802.06509, Section 7 (Figures 2-3): on the UCI Ethanol set
(2565 x 128) with an l_4 loss, depth-2 and depth-3 linear networks (and the one-scalar
overparameterization w = w_1 * omega_2) reach a given loss in fewer GD iterations than plain
linear regression, and faster than AdaGrad and AdaDelta; with an l_2 loss depth gives no speed-up.
Measured here in the paper's own setting: bias-free, full batch, balanced near-zero init, a stated
step-size grid per depth and loss, several seeds (each seed a fresh draw of the data and of the
initial direction), on two generated sets (`data`): every depth 1..8, the losses l_2 and l_4,
and the baselines on depth 1. All models of one set and loss train in one tensor program
(`dynamics.train`). Thresholds and the grid are fixed below, before measuring (`speedup`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import Duration, Panel, Series, Session
from optverify.numerics.equivalence import MARGIN_LEVEL, estimate_ratio, units_to_separate
from optverify.numerics.threads import single_threaded_on_cpu
from optverify.theorems.depth_acceleration.config import (
    HARDEST_CONTROL,
    SIZING_POWER,
    ExperimentConfig,
    SetSpec,
    seeds_for_power,
)
from optverify.theorems.depth_acceleration.data import RegressionSet, ar1_heavy_tail, ethanol_like
from optverify.theorems.depth_acceleration.dynamics import (
    Column,
    Method,
    Problem,
    SweepResult,
    train,
)
from optverify.theorems.depth_acceleration.ethanol import UCI_ETHANOL, user_regression_set
from optverify.theorems.depth_acceleration.lp_loss import lp_loss, lp_optimum
from optverify.theorems.depth_acceleration.speedup import (
    MATERIAL_RATIO,
    LossTarget,
    Selection,
    at_geometric_mean,
    judge_faster,
    judge_not_faster,
    select_steps,
    speedup_ratios,
)
from optverify.theorems.depth_acceleration.width_independence import record_widths

START_SCALE = 1e-2
"""The balanced near-zero init: ||w_e(0)|| = 0.01 ||w*_2|| (w*_2 the least-squares solution of
that seed's data), a uniformly random direction, the same w_e(0) for every model of a seed."""


def draw_set(spec: SetSpec, rng: np.random.Generator) -> RegressionSet:
    if spec.fixed is not None:
        return spec.fixed
    if spec.name == "ethanol-like":
        return ethanol_like(rng, spec.rows, spec.cols)
    return ar1_heavy_tail(rng, spec.rows, spec.cols)


@dataclass(frozen=True)
class Seeds:
    """Each seed's data, initial w_e(0), and its l_2 / l_4 optimum losses and start losses."""

    sets: tuple[RegressionSet, ...]
    starts: np.ndarray
    optimum: dict
    start_loss: dict


def draw_seeds(s: Session, spec: SetSpec) -> Seeds:
    """Every seed's data and start; the l_4 optimum (Newton) only for the l_4 sweep's seeds."""
    sets, starts, optimum, start_loss = [], [], {2: [], 4: []}, {2: [], 4: []}
    for seed in range(max(spec.seeds, spec.l2_seeds)):
        rng = s.rng(f"{spec.name}-seed-{seed}")
        data = draw_set(spec, rng)
        direction = rng.standard_normal(spec.cols)
        least_squares = lp_optimum(data.features, data.targets, 2)
        start = START_SCALE * np.linalg.norm(least_squares.weights) * direction \
            / np.linalg.norm(direction)
        for power in (2, 4):
            if seed >= spec.seeds_for(power):
                continue
            best = least_squares if power == 2 else lp_optimum(data.features, data.targets, 4)
            optimum[power].append(best.loss)
            start_loss[power].append(lp_loss(data.features, data.targets, start, power))
        sets.append(data)
        starts.append(start)
    return Seeds(tuple(sets), np.stack(starts), optimum, start_loss)


def build_problem(s: Session, seeds: Seeds, power: int, target: LossTarget) -> Problem:
    """The stacked problem of the first len(seeds.optimum[power]) seeds (l_2: in the eigenbasis
    of X^T X, `Problem.in_eigenbasis`)."""
    like = dict(dtype=s.torch_dtype, device=s.device)
    optimum = np.array(seeds.optimum[power])
    count = optimum.size
    level = target.level(optimum, seeds.start_loss[power])
    problem = Problem(torch.tensor(np.stack([d.features for d in seeds.sets[:count]]), **like),
                      torch.tensor(np.stack([d.targets for d in seeds.sets[:count]]), **like),
                      torch.tensor(seeds.starts[:count], **like), power,
                      torch.tensor(optimum, **like), torch.tensor(level, **like))
    return problem.in_eigenbasis() if power == 2 else problem


def group_label(method: Method, depth: int) -> str:
    return f"depth {depth}" if method is Method.GD else method.value


def selections(result: SweepResult) -> dict[tuple[Method, int], Selection]:
    out = {}
    for key in dict.fromkeys((c.method, c.depth) for c in result.columns):
        index = [i for i, c in enumerate(result.columns) if (c.method, c.depth) == key]
        steps = np.array([result.columns[i].step for i in index])
        out[key] = select_steps(group_label(*key), steps, result.hits[:, index],
                                result.diverged[:, index])
    return out


def seconds_per_iteration(problem: Problem, column: Column, iterations: int = 50) -> float:
    """Wall time of one iteration of one model on one seed (a duration: machine and load)."""
    single = Problem(problem.features[:1], problem.targets[:1], problem.start[:1], problem.power,
                     problem.optimum_loss[:1], problem.optimum_loss[:1] - 1.0)
    begin = time.perf_counter()
    train(single, [column], iterations)
    return (time.perf_counter() - begin) / iterations


def _controls(ratios, seeds: int, faster: bool, depth: int) -> dict:
    base = ratios if ratios is not None else np.ones(seeds)
    if faster:
        return {f"depth 1 renamed depth {depth} (the same runs: ratio 1 on every seed)":
                np.ones(seeds),
                "a slowed-down deep run (the measured ratios moved to geometric mean 1.25, same "
                "scatter)": at_geometric_mean(base, 1.25)}
    return {"a material speed-up (the measured ratios moved to geometric mean 0.5, same scatter)":
            at_geometric_mean(base, 0.5),
            "a speed-up just past the threshold (geometric mean 0.7, same scatter)":
            at_geometric_mean(base, 0.7)}


def _seeds_needed(ratios, faster: bool) -> dict:
    """The seeds at which this check's scatter would refute the hardest control
    (`HARDEST_CONTROL`: 0.7 for "no material speed-up", 1.25 for "materially faster"), and at
    which its measured ratio would be shown against the margin with probability `SIZING_POWER`
    (`seeds_for_power`), as the seed counts were sized."""
    if ratios is None:
        return {}
    control = HARDEST_CONTROL[4 if faster else 2]
    estimate = estimate_ratio(ratios)
    needed = {f"seeds_to_refute_{control:g}":
              units_to_separate(estimate.log_scatter, abs(np.log(control / MATERIAL_RATIO)))}
    if estimate.geometric_mean != MATERIAL_RATIO:
        needed[f"seeds_to_separate_at_power_{SIZING_POWER:g}"] = seeds_for_power(
            estimate.geometric_mean, estimate.log_scatter)
    return needed


def record_depths(s: Session, spec: SetSpec, power: int, chosen: dict, target: LossTarget
                  ) -> dict:
    """One decisive main check per depth N >= 2: the speed-up ratio against the margin 0.8 by two
    one-sided tests (`speedup`)."""
    shallow = chosen[(Method.GD, 1)]
    ratios_by_depth = {}
    seeds = spec.seeds_for(power)
    for depth in sorted(d for m, d in chosen if m is Method.GD and d > 1):
        ratios = speedup_ratios(chosen[(Method.GD, depth)], shallow)
        ratios_by_depth[depth] = ratios
        faster = power == 4
        claim = (f"reaches the target in materially fewer iterations (ratio < {MATERIAL_RATIO:g})"
                 if faster else f"gives no material speed-up (ratio >= {MATERIAL_RATIO:g})")
        s.decide(
            f"{spec.name}-l{power}-depth-{depth}-vs-depth-1",
            f"{spec.name}, l_{power} loss: GD on a depth-{depth} linear chain (balanced near-zero "
            f"init{', = w_1 * omega_2' if depth == 2 else ''}) {claim} than depth 1, each at its "
            f"best grid step per seed; T = iterations to {target.describe()}, ratio T_N / T_1 per seed over {seeds} seeds (data sets), two one-sided "
            f"t-tests on the log ratios at {1 - MARGIN_LEVEL:.0%} each against the margin "
            f"{MATERIAL_RATIO:g}",
            judge_faster if faster else judge_not_faster, ratios, main=True,
            controls=_controls(ratios, seeds, faster, depth),
            values={"steps_depth_N": _span(chosen[(Method.GD, depth)].steps),
                    "steps_depth_1": _span(shallow.steps),
                    **_seeds_needed(ratios, faster)})
    return ratios_by_depth


def record_baselines(s: Session, spec: SetSpec, chosen: dict) -> None:
    """Depth 2 against the best of AdaGrad and AdaDelta (the paper's comparison), and Adam.

    Reported beside the main statement, not decisive: the claim's main statement is depth N
    against depth 1 (p = 4 faster, p = 2 no material speed-up); the paper's further "faster than
    AdaGrad and AdaDelta" depends on how those are tuned (each here at its own best grid step,
    where the paper's setting of them is not stated), and its verdict is shown as measured."""
    deep = chosen[(Method.GD, 2)]
    adaptive = [chosen[(m, 1)] for m in (Method.ADAGRAD, Method.ADADELTA)
                if chosen[(m, 1)].times is not None]
    best = min(adaptive, key=lambda sel: sel.times.mean()) if adaptive else chosen[
        (Method.ADAGRAD, 1)]
    ratios = speedup_ratios(deep, best)
    base = ratios if ratios is not None else np.ones(spec.seeds)
    s.decide(
        f"{spec.name}-l4-depth-2-vs-adagrad-adadelta",
        f"{spec.name}, l_4: GD on w_1 * omega_2 reaches the target in fewer iterations than the "
        f"best of AdaGrad and AdaDelta on w (each at its best grid step per seed; the better on "
        f"average was {best.label}); ratio T_2 / T_adaptive < 1 by its one-sided "
        f"{MARGIN_LEVEL:.0%} bound over {spec.seeds} seeds (the paper's comparison, reported beside the main statement)",
        lambda r: judge_faster(r, 1.0), ratios, decisive=False,
        controls={"the adaptive method renamed depth 2 (ratio 1)": np.ones(spec.seeds),
                  "a slower depth 2 (geometric mean 1.25)": at_geometric_mean(base, 1.25)},
        values={"best_adaptive": best.label, "steps_adaptive": _span(best.steps)})
    adam = speedup_ratios(deep, chosen[(Method.ADAM, 1)])
    s.decide(
        f"{spec.name}-l4-depth-2-vs-adam",
        f"{spec.name}, l_4: GD on w_1 * omega_2 against Adam on w (not in the paper; reported): "
        "ratio T_2 / T_Adam < 1", lambda r: judge_faster(r, 1.0), adam, decisive=False)


def _table_rows(chosen: dict, power: int, shallow: Selection, per_iteration: dict | None):
    rows = []
    for (method, depth), sel in chosen.items():
        if sel.times is None:
            rows.append((f"l_{power}", sel.label, "-", _span(sel.largest_stable), "not reached",
                         "-", "-", "-", "-"))
            continue
        ratio = "-"
        ratios = speedup_ratios(sel, shallow) if (method, depth) != (Method.GD, 1) else None
        if ratios is not None:
            interval = estimate_ratio(ratios)
            ratio = f"{interval.geometric_mean:.3g} [{interval.lower:.3g}, {interval.upper:.3g}]"
        seconds: Duration | str = "-"
        if per_iteration is not None:
            seconds = Duration(float(f"{per_iteration[(method, depth)] * sel.times.mean():.3g}"))
        rows.append((f"l_{power}", sel.label, _span(sel.steps), _span(sel.largest_stable),
                     f"{sel.times.mean():.0f}", f"{sel.times.std(ddof=1):.0f}",
                     f"{sel.times.min():.0f}-{sel.times.max():.0f}", ratio, seconds))
    return rows


def _span(values) -> str:
    """'a-b' over the seeds (or 'a' when they agree); '-' for none."""
    if values is None:
        return "-"
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return "-"
    low, high = f"{finite.min():.3g}", f"{finite.max():.3g}"
    return low if low == high else f"{low}-{high}"


def _curve_panel(spec: SetSpec, power: int, result: SweepResult, chosen: dict,
                 problem: Problem, target: LossTarget) -> Panel:
    """Excess loss (L - L*) / (L(0) - L*) of seed 0 at each depth's selected step."""
    optimum = float(problem.optimum_loss[0])
    start = float(result.curves[0, 0, 0])
    series = []
    for (method, depth), sel in chosen.items():
        if sel.steps is None or method is Method.ADAM:
            continue
        index = next(i for i, c in enumerate(result.columns)
                     if (c.method, c.depth, c.step) == (method, depth, sel.steps[0]))
        curve = (result.curves[:, 0, index] - optimum) / (start - optimum)
        keep = np.isfinite(curve) & (curve > 0)
        series.append(Series(sel.label, tuple(map(float, result.checkpoints[keep])),
                             tuple(map(float, curve[keep])), "line"))
    level = float((target.level(optimum, start) - optimum) / (start - optimum))
    end = max((line.x[-1] for line in series if line.x), default=float(result.steps))
    series.append(Series("target", (0.0, end), (level, level), "dashed"))
    return Panel(f"{spec.name}, l_{power} (seed 0, each at its selected step)", "iteration",
                 "(L - L*) / (L(0) - L*)", tuple(series), xscale="linear")


def record_set(s: Session, spec: SetSpec, config: ExperimentConfig) -> None:
    seeds = draw_seeds(s, spec)
    s.note(f"{spec.name}: {seeds.sets[0].description}; condition number of X (sigma_max / "
           f"sigma_min) over the seeds: {min(d.condition for d in seeds.sets):.4g} to "
           f"{max(d.condition for d in seeds.sets):.4g}; l_4 optimum by Newton's method.")
    rows, panels = [], []
    for power in (4, 2):
        problem = build_problem(s, seeds, power, config.target)
        result = train(problem, config.columns(power), config.steps,
                       config.checkpoint_every)
        chosen = selections(result)
        record_depths(s, spec, power, chosen, config.target)
        if power == 4:
            record_baselines(s, spec, chosen)
        per_iteration = None
        if spec.name != "ar1-heavy-tail":
            per_iteration = {key: seconds_per_iteration(problem,
                                                        Column(key[0], key[1], sel.steps[0]))
                             for key, sel in chosen.items() if sel.steps is not None}
        rows += _table_rows(chosen, power, chosen[(Method.GD, 1)], per_iteration)
        panels.append(_curve_panel(spec, power, result, chosen, problem, config.target))
    s.table(f"{spec.name}-time-to-target",
            f"{spec.name} ({spec.rows} x {spec.cols}; l_4: {spec.seeds} seeds, l_2: "
            f"{spec.l2_seeds} seeds, GD only): iterations to {config.target.describe()} at each method's selected step per seed (grid 2^{config.spacing:.3g} "
            f"spacing, budget {config.steps}); steps as ranges over the seeds; the ratio's "
            f"geometric mean with its one-sided {MARGIN_LEVEL:.0%} bounds; wall seconds = mean "
            "iterations x one model's measured time per iteration (a duration: machine and load)",
            ("loss", "model", "selected steps", "largest stable steps", "mean iterations", "sd",
             "range", f"T / T_depth1 [{2 * MARGIN_LEVEL - 1:.0%}]", "wall s"), rows)
    s.figure(f"{spec.name}-loss-curves", f"{spec.name}: training curves at the selected steps",
             panels, columns=2)


def user_data(s: Session) -> RegressionSet | None:
    """The user's Ethanol file (`--data uci-ethanol=PATH`, shape-checked, its SHA-256 recorded)
    as a regression set, or None (the generated stand-in)."""
    choice = s.data(UCI_ETHANOL)
    if choice.table is None:
        return None
    return user_regression_set(choice.table, choice.path, choice.sha256)


def data_used(config: ExperimentConfig, user: RegressionSet | None) -> str:
    """Which data the Ethanol sweep ran on, in words: the user's file (name, SHA-256, shape) or
    the generated stand-in."""
    ethanol = config.sets[0]
    if ethanol.fixed is not None:
        return f"Ethanol sweep data: {ethanol.fixed.description}."
    unused = ("" if user is None else f"; the user's file ({user.shape[0]} x {user.shape[1]}) "
              f"is not read at this scale, whose Ethanol set is {ethanol.rows} x {ethanol.cols}")
    return (f"Ethanol sweep data: the generated stand-in ({ethanol.name}, {ethanol.rows} x {ethanol.cols}, "
            f"a fresh draw per seed){unused}.")


def verify(s: Session) -> None:
    user = user_data(s)
    config = s.preset(quick=ExperimentConfig.quick(), full=ExperimentConfig.full(),
                        paper=ExperimentConfig.paper()).with_data(user)
    s.note(data_used(config, user))
    with single_threaded_on_cpu(s.device):
        record_widths(s, config)
        for spec in s.progress(config.sets, "regression sets"):
            record_set(s, spec, config)
