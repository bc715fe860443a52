"""Numeric layer of `linear-interpolation` (mpmath): exact path losses and exact path derivatives
of scalar and 2x2 deep linear nets on a fine alpha grid at the session's precision.

Source: Goodfellow, Vinyals, Saxe (2015), arXiv:1412.6544, Section 2. For the loss
l = ||W_N ... W_1 - Phi||_F^2 / 2 along W_i(alpha) = W_i^0 + alpha D_i (D_i = W_i^T - W_i^0):
dl/dalpha = <P(alpha) - Phi, sum_i W_N..W_(i+1) D_i W_(i-1)..W_1> exactly (product rule). Reported
per path: the monotonicity margin min_alpha -dl/dalpha and the largest bump
max_alpha [l(alpha) - min_(alpha' <= alpha) l(alpha')], for the symbolic counter-example and for
GD-trained nets from small random inits.

Negative controls (optverify issue 9), through the same computations: the bump read off the grid's
highest point without refining the root, the monotone path (1/2, 1/2) -> (1, 1) for the
non-monotonicity check, and the product rule with only the first layer's term.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy
from mpmath import mp

from optverify.kit import Judgement, Session, Verdict
from optverify.numerics.deep_linear import end_to_end_mp, layer_gradients_mp
from optverify.theorems.linear_interpolation.symbolic import (
    MINIMIZER,
    MONOTONE_START,
    MONOTONE_THRESHOLD,
    find_counter_example,
)


@dataclass(frozen=True)
class NumericConfig:
    """Grid size, GD steps and instances per (width, depth) family for the mpmath layer."""

    grid_points: int
    gd_steps: int
    instances: int
    families: tuple[tuple[int, int], ...] = ((1, 2), (1, 3), (1, 4), (2, 2), (2, 3))
    init_scale: float = 0.5
    learning_rate: float = 0.1

    @classmethod
    def quick(cls) -> NumericConfig:
        return cls(grid_points=101, gd_steps=300, instances=2)

    @classmethod
    def full(cls) -> NumericConfig:
        return cls(grid_points=401, gd_steps=600, instances=6)


@dataclass(frozen=True)
class PathStatistics:
    """One path on the alpha grid: the losses l(alpha_k), the monotonicity margin
    min_k -dl/dalpha(alpha_k) and the largest bump max_k [l(alpha_k) - min_(j <= k) l(alpha_j)]."""

    losses: list
    margin: mp.mpf
    bump: mp.mpf


@dataclass(frozen=True)
class DeepLinearInstance:
    """Initial layers W_1^0, ..., W_N^0 and the target Phi of l = ||W_N..W_1 - Phi||_F^2 / 2."""

    starts: list
    target: mp.matrix


@dataclass(frozen=True)
class CounterExamplePath:
    """The symbolic counter-example in mpmath: its grid statistics, the root alpha* of the exact
    dl/dalpha started from the grid's highest point, residual = |l(alpha*) - l(0) - sympy's
    exact bump| and grid_residual = |l(grid top) - l(0) - sympy's bump| (the control: no root
    refinement)."""

    start: tuple
    statistics: PathStatistics
    alpha_star: mp.mpf
    alpha_star_sympy: str
    residual: mp.mpf
    grid_residual: mp.mpf = mp.zero

    @property
    def values(self) -> dict[str, float | str]:
        return {"alpha_star": float(self.alpha_star), "alpha_star_sympy": self.alpha_star_sympy,
                "grid_bump": float(self.statistics.bump), "margin": float(self.statistics.margin)}


@dataclass(frozen=True)
class TrainedPath:
    """The straight path of one GD-trained deep linear net: its grid statistics, the product-rule
    slope against mpmath's numerical derivative at alpha = 1/3 (and the first-layer-only control,
    `partial_slope_residual`), and whether it is monotone (bump within the floor times max l)."""

    width: int
    depth: int
    index: int
    statistics: PathStatistics
    slope_residual: mp.mpf
    monotone: bool
    partial_slope_residual: mp.mpf = mp.zero

    def row(self) -> tuple:
        statistics = self.statistics
        return (f"{self.width}x{self.width}", self.depth, self.index, float(statistics.losses[0]),
                float(statistics.losses[-1]), float(statistics.margin), float(statistics.bump),
                bool(self.monotone))


def frobenius_inner(a: mp.matrix, b: mp.matrix):
    return mp.fsum(a[i, j] * b[i, j] for i in range(a.rows) for j in range(a.cols))


def path_point(starts: list, ends: list, alpha) -> list:
    return [s + alpha * (e - s) for s, e in zip(starts, ends)]


def path_loss(starts: list, ends: list, target: mp.matrix, alpha):
    residual = end_to_end_mp(path_point(starts, ends, alpha)) - target
    return frobenius_inner(residual, residual) / 2


def path_slope(starts: list, ends: list, target: mp.matrix, alpha, terms: int | None = None):
    """Exact dl/dalpha by the product rule (all layers' terms; `terms` = 1 keeps only the first
    layer's, the false alternative of the product-rule check)."""
    layers = path_point(starts, ends, alpha)
    residual = end_to_end_mp(layers) - target
    derivative = mp.zeros(target.rows, target.cols)
    for i, (s, e) in enumerate(list(zip(starts, ends))[:terms]):
        derivative += end_to_end_mp(layers[:i] + [e - s] + layers[i + 1:])
    return frobenius_inner(residual, derivative)


def gradient_descent(starts: list, target: mp.matrix, steps: int, learning_rate) -> list:
    """GD on ||W_N..W_1 - Phi||^2/2: the layer gradients at G = W_N..W_1 - Phi."""
    layers = list(starts)
    for _ in range(steps):
        gradients = layer_gradients_mp(layers, end_to_end_mp(layers) - target)
        layers = [w - learning_rate * g for w, g in zip(layers, gradients)]
    return layers


def slope_twin_residual(starts: list, ends: list, target: mp.matrix, alpha,
                        terms: int | None = None):
    """|exact product-rule slope - mpmath's numerical derivative of the path loss| at alpha
    (`terms`: see `path_slope`)."""
    numerical = mp.diff(lambda a: path_loss(starts, ends, target, a), alpha)
    return abs(path_slope(starts, ends, target, alpha, terms) - numerical)


def path_statistics(starts: list, ends: list, target: mp.matrix,
                    grid_points: int) -> PathStatistics:
    """The grid statistics of one path."""
    alphas = [mp.mpf(k) / (grid_points - 1) for k in range(grid_points)]
    losses = [path_loss(starts, ends, target, a) for a in alphas]
    margin = min(-path_slope(starts, ends, target, a) for a in alphas)
    running, bump = losses[0], mp.zero
    for value in losses:
        running = min(running, value)
        bump = max(bump, value - running)
    return PathStatistics(losses, margin, bump)


def random_instance(rng, width: int, depth: int, scale: float) -> DeepLinearInstance:
    """Layers scale * N(0, 1) and target Phi: 1 for the scalar net (l = (1 - prod w)^2/2), else
    N(0, 1) entries."""
    starts = [mp.matrix([[mp.mpf(float(v)) for v in row]
                         for row in scale * rng.standard_normal((width, width))])
              for _ in range(depth)]
    if width == 1:
        return DeepLinearInstance(starts, mp.matrix([[1]]))
    target = mp.matrix([[mp.mpf(float(v)) for v in row]
                        for row in rng.standard_normal((width, width))])
    return DeepLinearInstance(starts, target)


def scalar(value) -> mp.matrix:
    return mp.matrix([[mp.mpf(sympy.Rational(value).p) / sympy.Rational(value).q]])


def counter_example_path(grid_points: int) -> CounterExamplePath:
    """The symbolic counter-example's path at the working precision."""
    example = find_counter_example()
    starts = [scalar(v) for v in example.start]
    ends = [scalar(v) for v in MINIMIZER]
    one = mp.matrix([[1]])
    statistics = path_statistics(starts, ends, one, grid_points)
    losses = statistics.losses
    grid_top = mp.mpf(max(range(len(losses)), key=losses.__getitem__)) / (len(losses) - 1)
    critical = mp.findroot(lambda a: path_slope(starts, ends, one, a), grid_top)
    peak_bump = path_loss(starts, ends, one, critical) - losses[0]
    exact = mp.mpf(example.bump.height.p) / example.bump.height.q
    grid_bump = path_loss(starts, ends, one, grid_top) - losses[0]
    return CounterExamplePath(example.start, statistics, critical, str(example.bump.alpha),
                              abs(peak_bump - exact), abs(grid_bump - exact))


def scalar_path_statistics(start: tuple, grid_points: int) -> PathStatistics:
    """The grid statistics of the scalar path start -> (1, 1) (e.g. the monotone control)."""
    return path_statistics([scalar(v) for v in start], [scalar(v) for v in MINIMIZER],
                           mp.matrix([[1]]), grid_points)


def judge_not_monotone(margin, floor) -> Judgement:
    """Not monotone: the margin min_alpha -dl/dalpha is below -floor."""
    verdict = Verdict.CONSISTENT if margin < -floor else Verdict.VIOLATED
    return Judgement(verdict, f"margin min -dl/dalpha = {float(margin):.6g} against "
                              f"-{mp.nstr(floor, 3)}",
                     {"margin": float(margin)})


def trained_path(rng, width: int, depth: int, index: int, config: NumericConfig,
                 floor: mp.mpf) -> TrainedPath:
    """Draw one instance, train it by GD at the working precision and measure its path."""
    instance = random_instance(rng, width, depth, config.init_scale)
    finals = gradient_descent(instance.starts, instance.target, config.gd_steps,
                              mp.mpf(config.learning_rate))
    statistics = path_statistics(instance.starts, finals, instance.target, config.grid_points)
    third = mp.mpf(1) / 3
    residual = slope_twin_residual(instance.starts, finals, instance.target, third)
    partial = slope_twin_residual(instance.starts, finals, instance.target, third, terms=1)
    return TrainedPath(width, depth, index, statistics, residual,
                       statistics.bump <= floor * max(statistics.losses), partial)


def verify(s: Session) -> None:
    config = s.preset(quick=NumericConfig.quick(), full=NumericConfig.full())
    rng = s.rng("numeric-init")
    floor = s.floor()
    example = counter_example_path(config.grid_points)
    margin, bump = example.statistics.margin, example.statistics.bump
    s.identity(
        "counter-example-bump",
        f"the counter-example {tuple(example.start)} -> (1, 1): l(alpha*) - l(0) at the root "
        "alpha* of the exact dl/dalpha equals sympy's exact bump",
        float(example.residual), values=example.values,
        controls={"the bump read off the grid's highest point (no root refinement)":
                  float(example.grid_residual)})
    monotone_control = scalar_path_statistics(MONOTONE_START, config.grid_points)
    s.decide(
        "counter-example-not-monotone",
        "on the fine grid, the counter-example's monotonicity margin min_alpha -dl/dalpha is "
        f"negative beyond the precision floor (grid bump {float(bump):.6g})",
        lambda observed: judge_not_monotone(observed, floor), margin,
        controls={f"the monotone path {tuple(MONOTONE_START)} -> (1, 1)":
                  monotone_control.margin},
        values={"margin": float(margin), "grid_bump": float(bump)})
    paths = [trained_path(rng, width, depth, index, config, floor)
             for width, depth in s.progress(config.families, "GD-trained deep linear paths")
             for index in range(config.instances)]
    s.identity(
        "path-slope-product-rule",
        "exact product-rule dl/dalpha equals mpmath's numerical derivative of the path loss "
        "at alpha = 1/3 (all trained instances)",
        float(max(path.slope_residual for path in paths)),
        controls={"the product rule with only the first layer's term":
                  float(max(path.partial_slope_residual for path in paths))})
    monotone = sum(int(path.monotone) for path in paths)
    s.proportion(
        "trained-monotone-fraction",
        "fraction of GD-trained deep linear paths (small random inits) that are monotone on the "
        f"grid (bump <= 10^-(digits-10) max l) is >= {MONOTONE_THRESHOLD} (reported, not "
        "decisive: few paths)",
        monotone, len(paths), float(MONOTONE_THRESHOLD), decisive=False)
    s.table("trained-paths", "Straight paths of GD-trained deep linear nets (mpmath)",
            ("width", "depth", "instance", "l(0)", "l(1)", "margin min -dl/dalpha",
             "largest bump", "monotone"), [path.row() for path in paths])
