"""Experiment layer of `linear-interpolation` (torch): train many small nets batched across
seeds, evaluate the loss along each straight path at all alphas in one batched pass, and measure
the fraction of monotone paths and the largest bumps per model family.

Source: Goodfellow, Vinyals, Saxe (2015), arXiv:1412.6544, Section 2 ("the objective function
decreases monotonically" along theta(alpha) = (1 - alpha) theta_0 + alpha theta_T, observed for
trained nets, "usually"). Families: scalar and 4x4 deep linear nets of depth 2, 3, 4
(GD on ||W_N..W_1 - Phi||_F^2/2, whitened inputs), one-hidden-layer ReLU MLPs on synthetic teacher
regression (full-batch GD) and classification (logistic loss, SGD). A path is monotone when its
largest bump max_alpha [l(alpha) - min_(alpha' <= alpha) l(alpha')] is within the rounding floor
16 eps(dtype) max_alpha l(alpha). A path with a non-finite loss (diverged training) is counted
in the table's "diverged" column and left out of the fractions.

Decisive check (the paper's claim made precise, threshold fixed before measuring from its
abstract's "never encounter any significant obstacles": `statement.MONOTONE_THRESHOLD` = 9/10):
the fraction of monotone paths over all trained models is at least 9/10, judged by its 95%
Clopper-Pearson interval (violated when the interval's upper end lies below 9/10). Its negative
controls are the true fractions 0.55 (a coin flip that merely leans monotone, which the earlier
threshold 1/2 accepted) and 0.8, at the sweep's number of paths: the quick sweep's 192 paths
reject both. Per-family fractions and the bump statistics are reported beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import (
    ConfidenceInterval,
    Figure,
    Judgement,
    Panel,
    Series,
    Session,
    resolve,
)
from optverify.numerics.proportions import clopper_pearson
from optverify.theorems.linear_interpolation.paths import (
    MlpParameters,
    deep_linear_loss,
    deep_linear_path_loss,
    finite_paths,
    largest_bumps,
    mlp_loss,
    mlp_outputs,
    mlp_path_loss,
    monotone,
)
from optverify.theorems.linear_interpolation.statement import MONOTONE_THRESHOLD
from optverify.verdict import judge_proportion

THRESHOLD = float(MONOTONE_THRESHOLD)
"""At least 9 in 10 trained paths are monotone (the paper's "never ... any significant obstacles",
see `statement.MAIN_BOUND`; fixed in advance)."""
FRACTION_ALTERNATIVES = (0.55, 0.8)
"""True monotone fractions the main check must reject at the sweep's number of paths."""


@dataclass(frozen=True)
class InterpolationConfig:
    """Seeds per family, training steps, the alpha grid and the model sizes."""

    seeds: int
    steps: int
    alphas: int = 101
    widths: tuple[int, ...] = (1, 4)
    depths: tuple[int, ...] = (2, 3, 4)
    linear_init_scale: float = 0.5
    linear_learning_rate: float = 0.05
    inputs: int = 8
    hidden: int = 16
    samples: int = 96
    mlp_learning_rate: float = 0.05
    batch_size: int = 16

    @classmethod
    def quick(cls) -> InterpolationConfig:
        return cls(seeds=24, steps=400)

    @classmethod
    def full(cls) -> InterpolationConfig:
        return cls(seeds=128, steps=2000)


@dataclass(frozen=True)
class FamilyPaths:
    """Path losses (S, A) of one model family; `name` is shown in tables and figures, `key` is
    its kebab-case check name."""

    name: str
    key: str
    losses: torch.Tensor


def train_deep_linear(width: int, depth: int, settings: InterpolationConfig, s: Session,
                      alphas: torch.Tensor) -> FamilyPaths:
    """Layers N(0, scale^2 / width); target Phi = 1 for the scalar net (the symbolic layer's
    l = (1 - prod w)^2/2), else N(0, 1/width) entries drawn per seed."""
    generator = s.generator(f"deep-linear-{width}-{depth}")
    shape = (settings.seeds, width, width)
    options = {"device": s.device, "dtype": s.torch_dtype}
    scale = settings.linear_init_scale / math.sqrt(width)
    starts = [scale * torch.randn(shape, generator=generator, **options) for _ in range(depth)]
    if width == 1:
        target = torch.ones(shape, **options)
    else:
        target = torch.randn(shape, generator=generator, **options) / math.sqrt(width)
    layers = [w.clone().requires_grad_(True) for w in starts]
    optimizer = torch.optim.SGD(layers, lr=settings.linear_learning_rate)
    for _ in range(settings.steps):
        optimizer.zero_grad()
        deep_linear_loss(layers, target).sum().backward()
        optimizer.step()
    ends = [w.detach() for w in layers]
    return FamilyPaths(f"deep linear {width}x{width}, depth {depth}",
                       f"deep-linear-width-{width}-depth-{depth}",
                       deep_linear_path_loss(starts, ends, target, alphas))


def init_mlp(seeds: int, inputs: int, hidden: int, generator: torch.Generator,
             options: dict) -> MlpParameters:
    """He-uniform style init: hidden N(0, 2/d), output N(0, 1/h), zero biases."""
    return MlpParameters(
        torch.randn((seeds, hidden, inputs), generator=generator, **options) * math.sqrt(2 / inputs),
        torch.zeros((seeds, hidden), **options),
        torch.randn((seeds, hidden), generator=generator, **options) / math.sqrt(hidden),
        torch.zeros((seeds,), **options))


def train_mlp(classification: bool, settings: InterpolationConfig, s: Session,
              alphas: torch.Tensor) -> FamilyPaths:
    """Teacher data (a random ReLU MLP of the same shape); GD (regression) or SGD with
    mini-batches (classification, labels sign of the teacher)."""
    task = "classification" if classification else "regression"
    generator = s.generator(f"mlp-{task}")
    options = {"device": s.device, "dtype": s.torch_dtype}
    inputs = torch.randn((settings.samples, settings.inputs), generator=generator, **options)
    teacher = init_mlp(1, settings.inputs, settings.hidden, generator, options)
    outputs = mlp_outputs(teacher, inputs)[0]
    targets = torch.sign(outputs - outputs.median()) if classification else outputs
    start = init_mlp(settings.seeds, settings.inputs, settings.hidden, generator, options)
    parameters = [t.clone().requires_grad_(True) for t in start.tensors()]
    optimizer = torch.optim.SGD(parameters, lr=settings.mlp_learning_rate)
    for _ in range(settings.steps):
        if classification:
            batch = torch.randint(0, settings.samples, (settings.batch_size,),
                                  generator=generator, device=s.device)
            batch_inputs, batch_targets = inputs[batch], targets[batch]
        else:
            batch_inputs, batch_targets = inputs, targets
        optimizer.zero_grad()
        mlp_loss(MlpParameters(*parameters), batch_inputs, batch_targets,
                 classification).sum().backward()
        optimizer.step()
    end = MlpParameters(*(p.detach() for p in parameters))
    name = "ReLU MLP, classification (SGD)" if classification else "ReLU MLP, regression (GD)"
    return FamilyPaths(name, f"relu-mlp-{task}",
                       mlp_path_loss(start, end, inputs, targets, classification, alphas))


@dataclass(frozen=True)
class FamilySummary:
    """Monotone-path statistics of one family.

    paths / diverged: finite paths kept, and paths with a non-finite loss left out.
    monotone: paths whose largest bump is within the rounding floor.
    largest_relative_bump: max over paths of bump / l(0), or "below precision" (resolve()).
    relative_bumps: bump / l(0) per kept path; curves: the first three paths' losses;
    worst_seed, worst_curve: the seed with the largest relative bump and its path loss.
    """

    family: str
    key: str
    paths: int
    diverged: int
    monotone: int
    largest_relative_bump: str
    median_relative_bump: float
    median_final_over_initial: float
    relative_bumps: np.ndarray
    curves: np.ndarray
    worst_seed: int
    worst_curve: np.ndarray


def summarize(family: FamilyPaths, dtype: str) -> FamilySummary:
    finite = finite_paths(family.losses)
    kept = family.losses[finite]
    if kept.shape[0] == 0:
        raise ValueError(f"every path of the family {family.name!r} has a non-finite loss")
    initial = kept[:, 0]
    bumps = largest_bumps(kept)
    relative = (bumps / initial).cpu().numpy()
    worst = int(np.argmax(relative))
    resolved = resolve(float(bumps[worst]), float(kept[worst].abs().max()), dtype)
    return FamilySummary(
        family=family.name, key=family.key, paths=int(kept.shape[0]),
        diverged=int((~finite).sum()), monotone=int(monotone(kept, dtype).sum()),
        largest_relative_bump=(resolved.describe() if resolved.below_precision
                               else f"{float(relative[worst]):.3g}"),
        median_relative_bump=float(np.median(relative)),
        median_final_over_initial=float((kept[:, -1] / initial).median()),
        relative_bumps=relative, curves=kept[:3].cpu().numpy(),
        worst_seed=int(torch.nonzero(finite)[worst]), worst_curve=kept[worst].cpu().numpy())


def train_families(s: Session, settings: InterpolationConfig,
                   alphas: torch.Tensor) -> list[FamilySummary]:
    """Train every family (deep linear widths x depths, then the two MLP tasks) and summarize."""
    jobs = [lambda w=w, d=d: train_deep_linear(w, d, settings, s, alphas)
            for w in settings.widths for d in settings.depths]
    jobs += [lambda c=c: train_mlp(c, settings, s, alphas) for c in (False, True)]
    return [summarize(job(), s.dtype) for job in s.progress(jobs, "train and interpolate")]


def judge_fraction(observed: tuple[int, int]) -> Judgement:
    """(monotone, paths) against "the fraction is at least THRESHOLD" (Clopper-Pearson, the kit's
    proportion rule)."""
    monotone_paths, paths = observed
    return judge_proportion(monotone_paths, paths, THRESHOLD)


def fraction_controls(paths: int) -> dict[str, tuple[int, int]]:
    """The alternative true fractions at the expected count out of `paths` (as the kit's
    `Session.proportion` builds them)."""
    return {f"a true fraction {fraction:g}": (round(fraction * paths), paths)
            for fraction in FRACTION_ALTERNATIVES}


def fraction_values(monotone: int, paths: int, interval: ConfidenceInterval) -> dict:
    return {"monotone": monotone, "paths": paths, "fraction": monotone / paths,
            "ci_low": interval.low, "ci_high": interval.high}


def table_row(summary: FamilySummary) -> tuple:
    interval = clopper_pearson(summary.monotone, summary.paths)
    return (summary.family, summary.paths, summary.diverged, summary.monotone,
            summary.monotone / summary.paths, interval.low, interval.high,
            summary.largest_relative_bump, summary.median_relative_bump,
            summary.median_final_over_initial)


def verify(s: Session) -> None:
    settings = s.preset(quick=InterpolationConfig.quick(), full=InterpolationConfig.full())
    alphas = torch.linspace(0, 1, settings.alphas, device=s.device, dtype=s.torch_dtype)
    summaries = train_families(s, settings, alphas)
    total = sum(summary.paths for summary in summaries)
    successes = sum(summary.monotone for summary in summaries)
    overall = clopper_pearson(successes, total)
    # Session.proportion does not attach the claim's bound to a main check, so the main check goes
    # through Session.decide with the same Clopper-Pearson rule and the same alternatives.
    s.decide(
        "monotone-fraction",
        f"Main bound: over all {total} trained models, the fraction of monotone straight paths is "
        f">= {MONOTONE_THRESHOLD} (the abstract's 'never encounter any significant obstacles'), "
        "by its 95% Clopper-Pearson interval",
        judge_fraction, (successes, total), main=True, controls=fraction_controls(total),
        values=fraction_values(successes, total, overall))
    for summary in summaries:
        interval = clopper_pearson(summary.monotone, summary.paths)
        s.proportion(
            f"monotone-fraction-{summary.key}",
            f"{summary.family}: monotone fraction >= {MONOTONE_THRESHOLD} by its 95% CI",
            summary.monotone, summary.paths, THRESHOLD, decisive=False,
            values={**fraction_values(summary.monotone, summary.paths, interval),
                    "largest_relative_bump": summary.largest_relative_bump})
    s.table("monotone-paths", "Straight paths per model family (bump relative to l(0))",
            ("family", "paths", "diverged", "monotone", "fraction", "CI low", "CI high",
             "largest bump / l(0)", "median bump / l(0)", "median l(1)/l(0)"),
            [table_row(summary) for summary in summaries])
    s.figure(curves_figure(summaries, alphas))
    s.figure(bumps_figure(summaries))


def curves_figure(summaries: list[FamilySummary], alphas: torch.Tensor) -> Figure:
    grid = tuple(float(a) for a in alphas.cpu())
    panels = tuple(Panel(summary.family, "alpha", "training loss l(alpha)", tuple(
        Series(f"seed {i}", grid, tuple(float(v) for v in curve), "line")
        for i, curve in enumerate(summary.curves)) + (
        Series(f"seed {summary.worst_seed}: largest bump / l(0) "
               f"{summary.largest_relative_bump}", grid,
               tuple(float(v) for v in summary.worst_curve), "dashed"),),
        xscale="linear", yscale="log")
        for summary in summaries)
    return Figure("path-losses", "Loss along the straight path theta_0 -> theta_T", panels,
                  columns=4)


def bumps_figure(summaries: list[FamilySummary]) -> Figure:
    series = []
    for summary in summaries:
        ordered = np.sort(summary.relative_bumps)
        quantiles = (np.arange(len(ordered)) + 0.5) / len(ordered)
        shown = ordered > 0
        series.append(Series(summary.family, tuple(float(q) for q in quantiles[shown]),
                             tuple(float(b) for b in ordered[shown])))
    panel = Panel("Sorted non-zero largest bumps (paths with zero bump not drawn)", "quantile over seeds",
                  "largest bump / l(0)", tuple(series), xscale="linear", yscale="log")
    return Figure("largest-bumps", "Largest bump of each straight path, per family", (panel,))
