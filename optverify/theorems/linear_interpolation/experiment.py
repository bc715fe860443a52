"""Experiment layer of `linear-interpolation` (torch): train many nets batched across seeds,
evaluate the loss along each straight path at all alphas, and measure the fraction of monotone
paths and the largest bumps per model family.

Source: Goodfellow, Vinyals, Saxe (2015), arXiv:1412.6544, Section 2 ("the objective function
decreases monotonically" along theta(alpha) = (1 - alpha) theta_0 + alpha theta_T, observed for
classifiers trained on real images); Lucas et al. (ICML 2021), "Analyzing Monotonic Linear
Interpolation in Neural Network Loss Landscapes" (Adam, batch normalization and a large distance
travelled are where they report non-monotone paths). A path is monotone when its largest bump
max_alpha [l(alpha) - min_(alpha' <= alpha) l(alpha')] is within the rounding floor
16 eps(dtype) max_alpha l(alpha) (paths.ROUNDING_ULPS: the digits loss is a mean of at most 1797
terms, whose pairwise summation error is about log2(1797) ~ 11 ulps, below the floor); bumps
narrower than the alpha grid are not seen. A path with a non-finite loss (diverged training) is
counted in the table's "diverged" column and left out of the fractions.

Main check (threshold fixed before measuring from the abstract's "never encounter any significant
obstacles": `statement.MONOTONE_THRESHOLD` = 9/10): over MLP and CNN classifiers trained by SGD on
scikit-learn's 8x8 digits (digits.py), the fraction of monotone paths is at least 9/10, judged by
its 98% Clopper-Pearson interval (the kit's judging level: consistent when the interval's lower
end reaches 9/10, violated when its upper end lies below). Its negative controls are the true
fractions 0.55 (a coin flip that merely leans monotone) and 0.8 at the check's number of paths
(80 quick, 96 full: 64 of 80 puts the upper end at 0.893, below 9/10; the former 48 quick paths
could not refute 0.8 at 98%), both violated there. Reported beside it: each
digits family, and the Lucas et al. settings (Adam, batch norm, a ten times larger SGD step) with
their non-monotone fractions and distances travelled. The synthetic families of the earlier sweep
(scalar and 4x4 deep linear nets of depth 2, 3, 4 by GD on ||W_N..W_1 - Phi||_F^2/2, teacher-data
ReLU MLPs by GD and SGD) keep their decisive check `monotone-fraction` with the same controls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import (
    ConfidenceInterval,
    Figure,
    Panel,
    Series,
    Session,
    resolve,
)
from optverify.numerics.proportions import clopper_pearson
from optverify.theorems.linear_interpolation import digits
from optverify.theorems.linear_interpolation.paths import (
    ROUNDING_ULPS,
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
from optverify.theorems.linear_interpolation.symbolic import MONOTONE_THRESHOLD

THRESHOLD = float(MONOTONE_THRESHOLD)
"""At least 9 in 10 trained paths are monotone (the paper's "never ... any significant obstacles",
see `statement.MAIN_BOUND`; fixed in advance)."""
BARRIER_THRESHOLD = 0.5
"""At least half of the straight paths between two seeds' digits solutions must be flagged
non-monotone (fixed before measuring): two independent minima are separated by a barrier on the
straight line (Goodfellow et al. 2015, Section 2, interpolating between solutions), so a
monotonicity test that flags fewer would be blind to the rises the main check counts."""
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
class DigitsConfig:
    """The real-data sweep on sklearn's digits, fixed before measuring: seeds per main family (MLP,
    CNN) and per Lucas et al. setting, SGD steps, training images (the first `samples`; the loss
    along the path is the cross-entropy over all of them), the alpha grid, the model sizes and the
    optimizers' steps. `sgd_learning_rate` 0.1 with batch 32 is the plain SGD of Goodfellow et
    al.'s classifiers; `adam_learning_rate` 1e-3 is Adam's default; `large_learning_rate` 1.0
    (ten times the SGD step) is the "large distance travelled" setting of Lucas et al. (2021)."""

    seeds: int
    setting_seeds: int
    steps: int
    samples: int
    alphas: int
    mlp_width: int = 32
    cnn_channels: int = 6
    batch_size: int = 32
    sgd_learning_rate: float = 0.1
    adam_learning_rate: float = 1e-3
    large_learning_rate: float = 1.0

    @classmethod
    def quick(cls) -> DigitsConfig:
        return cls(seeds=40, setting_seeds=8, steps=200, samples=512, alphas=26)

    @classmethod
    def full(cls) -> DigitsConfig:
        return cls(seeds=48, setting_seeds=24, steps=1000, samples=1797, alphas=26)

    @classmethod
    def paper(cls) -> DigitsConfig:
        return cls(seeds=256, setting_seeds=128, steps=10000, samples=1797, alphas=101)


@dataclass(frozen=True)
class DigitsSetting:
    """One trained family on the digits: its table name, check key, model and training."""

    name: str
    key: str
    architecture: digits.Architecture
    training: digits.Training
    seeds: int


def main_settings(config: DigitsConfig) -> tuple[DigitsSetting, ...]:
    """The main check's families: MLP and CNN classifiers trained by plain SGD."""
    sgd = digits.Training("sgd", config.sgd_learning_rate, config.steps, config.batch_size)
    return (
        DigitsSetting(f"digits MLP 64-{config.mlp_width}-10 (SGD)", "digits-mlp-sgd",
                      digits.Architecture("mlp", config.mlp_width), sgd, config.seeds),
        DigitsSetting(f"digits CNN 3x3x{config.cnn_channels}, pool (SGD)", "digits-cnn-sgd",
                      digits.Architecture("cnn", config.cnn_channels), sgd, config.seeds),
    )


def lucas_settings(config: DigitsConfig) -> tuple[DigitsSetting, ...]:
    """Lucas et al. (2021)'s settings where monotonicity breaks, on the digits MLP: Adam, batch
    normalization (SGD), and a ten times larger SGD step (a larger distance travelled)."""
    mlp = digits.Architecture("mlp", config.mlp_width)
    return (
        DigitsSetting("digits MLP (Adam)", "digits-mlp-adam", mlp,
                      digits.Training("adam", config.adam_learning_rate, config.steps,
                                      config.batch_size), config.setting_seeds),
        DigitsSetting("digits MLP, batch norm (SGD)", "digits-mlp-batch-norm",
                      digits.Architecture("mlp", config.mlp_width, batch_norm=True),
                      digits.Training("sgd", config.sgd_learning_rate, config.steps,
                                      config.batch_size), config.setting_seeds),
        DigitsSetting("digits MLP, SGD step x10 (far travel)", "digits-mlp-large-step", mlp,
                      digits.Training("sgd", config.large_learning_rate, config.steps,
                                      config.batch_size), config.setting_seeds),
    )


@dataclass(frozen=True)
class FamilyPaths:
    """Path losses (S, A) of one model family; `name` is shown in tables and figures, `key` is
    its kebab-case check name."""

    name: str
    key: str
    losses: torch.Tensor


def train_deep_linear(width: int, depth: int, config: InterpolationConfig, s: Session,
                      alphas: torch.Tensor) -> FamilyPaths:
    """Layers N(0, scale^2 / width); target Phi = 1 for the scalar net (the symbolic layer's
    l = (1 - prod w)^2/2), else N(0, 1/width) entries drawn per seed."""
    generator = s.generator(f"deep-linear-{width}-{depth}")
    shape = (config.seeds, width, width)
    options = {"device": s.device, "dtype": s.torch_dtype}
    scale = config.linear_init_scale / math.sqrt(width)
    starts = [scale * torch.randn(shape, generator=generator, **options) for _ in range(depth)]
    if width == 1:
        target = torch.ones(shape, **options)
    else:
        target = torch.randn(shape, generator=generator, **options) / math.sqrt(width)
    layers = [w.clone().requires_grad_(True) for w in starts]
    optimizer = torch.optim.SGD(layers, lr=config.linear_learning_rate)
    for _ in range(config.steps):
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
        torch.randn((seeds, hidden, inputs), generator=generator, **options)
        * math.sqrt(2 / inputs),
        torch.zeros((seeds, hidden), **options),
        torch.randn((seeds, hidden), generator=generator, **options) / math.sqrt(hidden),
        torch.zeros((seeds,), **options))


def train_mlp(classification: bool, config: InterpolationConfig, s: Session,
              alphas: torch.Tensor) -> FamilyPaths:
    """Teacher data (a random ReLU MLP of the same shape); GD (regression) or SGD with
    mini-batches (classification, labels sign of the teacher)."""
    task = "classification" if classification else "regression"
    generator = s.generator(f"mlp-{task}")
    options = {"device": s.device, "dtype": s.torch_dtype}
    inputs = torch.randn((config.samples, config.inputs), generator=generator, **options)
    teacher = init_mlp(1, config.inputs, config.hidden, generator, options)
    outputs = mlp_outputs(teacher, inputs)[0]
    targets = torch.sign(outputs - outputs.median()) if classification else outputs
    start = init_mlp(config.seeds, config.inputs, config.hidden, generator, options)
    parameters = [t.clone().requires_grad_(True) for t in start.tensors()]
    optimizer = torch.optim.SGD(parameters, lr=config.mlp_learning_rate)
    for _ in range(config.steps):
        if classification:
            batch = torch.randint(0, config.samples, (config.batch_size,),
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


@dataclass(frozen=True)
class DigitsSummary:
    """A digits family's path statistics with the median distance travelled
    ||theta_T - theta_0|| / ||theta_0||, the mean training accuracy of its final nets, and the
    statistics of the paths between two seeds' solutions (the monotonicity test's control; None
    where not measured)."""

    paths: FamilySummary
    median_distance: float
    mean_accuracy: float
    between_solutions: FamilySummary | None


def train_digits(setting: DigitsSetting, data: digits.Digits, alphas: torch.Tensor,
                 s: Session, between_solutions: bool) -> DigitsSummary:
    """Train the setting's nets and summarize their paths (and, when asked, the paths between
    consecutive seeds' solutions)."""
    nets = digits.train(setting.architecture, setting.training, data, setting.seeds,
                        s.generator(setting.key))
    family = FamilyPaths(setting.name, setting.key, digits.path_loss(nets, data, alphas))
    pairs = None
    if between_solutions:
        pairs = summarize(FamilyPaths(
            f"{setting.name}: solution -> another seed's solution",
            f"{setting.key}-between-solutions",
            digits.path_loss(digits.between_solutions(nets), data, alphas)), s.dtype)
    return DigitsSummary(summarize(family, s.dtype),
                         float(nets.distance_travelled().median()),
                         float(digits.accuracy(nets, data).mean()), pairs)


def train_families(s: Session, config: InterpolationConfig,
                   alphas: torch.Tensor) -> list[FamilySummary]:
    """Train every family (deep linear widths x depths, then the two MLP tasks) and summarize."""
    jobs = [lambda w=w, d=d: train_deep_linear(w, d, config, s, alphas)
            for w in config.widths for d in config.depths]
    jobs += [lambda c=c: train_mlp(c, config, s, alphas) for c in (False, True)]
    return [summarize(job(), s.dtype) for job in s.progress(jobs, "train and interpolate")]


def fraction_values(monotone: int, paths: int, interval: ConfidenceInterval) -> dict:
    return {"monotone": monotone, "paths": paths, "fraction": monotone / paths,
            "ci_low": interval.low, "ci_high": interval.high}


def table_row(summary: FamilySummary) -> tuple:
    interval = clopper_pearson(summary.monotone, summary.paths)
    return (summary.family, summary.paths, summary.diverged, summary.monotone,
            summary.monotone / summary.paths, interval.low, interval.high,
            summary.largest_relative_bump, summary.median_relative_bump,
            summary.median_final_over_initial)


def verify_digits(s: Session) -> list[DigitsSummary]:
    """The main check (MLP and CNN on the digits, SGD) and the Lucas et al. settings as reported
    findings; returns every digits family's summary (main families first)."""
    config = s.preset(quick=DigitsConfig.quick(), full=DigitsConfig.full(),
                      paper=DigitsConfig.paper())
    data = digits.load_digits(config.samples, s.device, s.torch_dtype)
    alphas = torch.linspace(0, 1, config.alphas, device=s.device, dtype=s.torch_dtype)
    settings = main_settings(config) + lucas_settings(config)
    mains = len(main_settings(config))
    summaries = [train_digits(setting, data, alphas, s, between_solutions=index < mains)
                 for index, setting in enumerate(s.progress(settings,
                                                            "digits: train and interpolate"))]
    main = [summary.paths for summary in summaries[:mains]]
    total = sum(summary.paths for summary in main)
    successes = sum(summary.monotone for summary in main)
    pairs = [summary.between_solutions for summary in summaries[:mains]]
    pair_paths = sum(pair.paths for pair in pairs)
    rising_pairs = sum(pair.paths - pair.monotone for pair in pairs)
    s.proportion(
        "monotone-fraction-digits",
        f"Main bound, on real data: over {total} MLP and CNN classifiers trained by SGD on "
        f"sklearn's 8x8 digits ({config.samples} images, {config.steps} steps, one seed each), "
        f"the fraction whose training cross-entropy is monotone along the straight path "
        f"theta_0 -> theta_T ({config.alphas} alphas; a rise above the running minimum counts "
        f"when it exceeds {ROUNDING_ULPS:g} eps(dtype) max l, the loss's rounding floor) is >= "
        f"{MONOTONE_THRESHOLD}, by its 98% Clopper-Pearson interval",
        successes, total, THRESHOLD, main=True, rules_out=FRACTION_ALTERNATIVES,
        values={"samples": config.samples, "steps": config.steps, "alphas": config.alphas,
                "solution_pairs": pair_paths, "solution_pairs_not_monotone": rising_pairs})
    s.proportion(
        "digits-test-sees-barriers",
        f"The monotonicity test sees rises on these models: of the {pair_paths} straight paths "
        "from one seed's SGD solution to the next seed's (MLP and CNN), at least "
        f"{BARRIER_THRESHOLD:g} are flagged non-monotone",
        rising_pairs, pair_paths, BARRIER_THRESHOLD, sanity=True)
    for index, summary in enumerate(summaries):
        finding = index >= mains
        family = summary.paths
        s.proportion(
            f"monotone-fraction-{family.key}",
            (f"Reported finding (Lucas et al. 2021 report non-monotone paths in this setting): "
             if finding else "") + f"{family.family}: monotone fraction >= {MONOTONE_THRESHOLD} "
            f"by its 98% CI; non-monotone {family.paths - family.monotone} / {family.paths}, "
            f"median distance travelled {summary.median_distance:.3g}",
            family.monotone, family.paths, THRESHOLD, decisive=False,
            values={"non_monotone": family.paths - family.monotone,
                    "non_monotone_fraction": (family.paths - family.monotone) / family.paths,
                    "median_distance_travelled": summary.median_distance,
                    "mean_training_accuracy": summary.mean_accuracy,
                    "largest_relative_bump": family.largest_relative_bump})
    s.table("digits-paths", "Straight paths of classifiers on sklearn's digits (bump relative to "
            "l(0); distance ||theta_T - theta_0|| / ||theta_0||)",
            ("family", "paths", "diverged", "monotone", "fraction", "CI low", "CI high",
             "largest bump / l(0)", "median bump / l(0)", "median l(1)/l(0)",
             "median distance", "train accuracy"),
            [table_row(summary.paths) + (summary.median_distance, summary.mean_accuracy)
             for summary in summaries]
            + [table_row(pair) + ("", "") for pair in pairs])
    return summaries


def verify(s: Session) -> None:
    digits_summaries = verify_digits(s)
    config = s.preset(quick=InterpolationConfig.quick(), full=InterpolationConfig.full())
    alphas = torch.linspace(0, 1, config.alphas, device=s.device, dtype=s.torch_dtype)
    summaries = train_families(s, config, alphas)
    total = sum(summary.paths for summary in summaries)
    successes = sum(summary.monotone for summary in summaries)
    s.proportion(
        "monotone-fraction",
        f"Over all {total} trained synthetic models (deep linear nets, teacher-data MLPs), the "
        f"fraction of monotone straight paths is >= {MONOTONE_THRESHOLD}, by its 98% "
        "Clopper-Pearson interval",
        successes, total, THRESHOLD, rules_out=FRACTION_ALTERNATIVES)
    for summary in summaries:
        interval = clopper_pearson(summary.monotone, summary.paths)
        s.proportion(
            f"monotone-fraction-{summary.key}",
            f"{summary.family}: monotone fraction >= {MONOTONE_THRESHOLD} by its 98% CI",
            summary.monotone, summary.paths, THRESHOLD, decisive=False,
            values={**fraction_values(summary.monotone, summary.paths, interval),
                    "largest_relative_bump": summary.largest_relative_bump})
    s.table("monotone-paths", "Straight paths per synthetic model family (bump relative to l(0))",
            ("family", "paths", "diverged", "monotone", "fraction", "CI low", "CI high",
             "largest bump / l(0)", "median bump / l(0)", "median l(1)/l(0)"),
            [table_row(summary) for summary in summaries])
    everything = [summary.paths for summary in digits_summaries] + summaries
    alphas_by_family = [digits_alphas(summary) for summary in digits_summaries] + \
        [alphas] * len(summaries)
    s.figure(curves_figure(everything, alphas_by_family))
    s.figure(bumps_figure(everything))


def digits_alphas(summary: DigitsSummary) -> torch.Tensor:
    """The alpha grid of a digits family's curves (uniform on [0, 1])."""
    return torch.linspace(0, 1, summary.paths.curves.shape[-1], dtype=torch.float64)


def curves_figure(summaries: list[FamilySummary], alphas: list[torch.Tensor]) -> Figure:
    """One panel per family: its first three paths and its worst path, each on its own grid."""
    panels = tuple(Panel(summary.family, "alpha", "training loss l(alpha)", tuple(
        Series(f"seed {i}", grid, tuple(float(v) for v in curve), "line")
        for i, curve in enumerate(summary.curves)) + (
        Series(f"seed {summary.worst_seed}: largest bump / l(0) "
               f"{summary.largest_relative_bump}", grid,
               tuple(float(v) for v in summary.worst_curve), "dashed"),),
        xscale="linear", yscale="log")
        for summary, grid in zip(summaries, (tuple(float(a) for a in g.cpu()) for g in alphas)))
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
    panel = Panel("Sorted non-zero largest bumps (paths with zero bump not drawn)",
                  "quantile over seeds",
                  "largest bump / l(0)", tuple(series), xscale="linear", yscale="log")
    return Figure("largest-bumps", "Largest bump of each straight path, per family", (panel,))
