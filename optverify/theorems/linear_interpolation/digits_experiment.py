"""The main check of `linear-interpolation` on real data: MLP and CNN classifiers trained by SGD on
scikit-learn's 8x8 digits (`digits`), whose straight paths theta(alpha) = (1 - alpha) theta_0 +
alpha theta_T must be monotone in at least 9 of 10 cases (Goodfellow, Vinyals, Saxe 2015,
arXiv:1412.6544, Section 2), judged by the 98% Clopper-Pearson interval of the fraction; the
paths between two seeds' solutions (a barrier: the monotonicity test must see it), and the
settings where Lucas et al. (ICML 2021) report non-monotone paths (Adam, batch norm, a ten times
larger SGD step) as reported findings.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from optverify.kit import Session
from optverify.theorems.linear_interpolation import digits
from optverify.theorems.linear_interpolation.families import (
    FRACTION_ALTERNATIVES,
    THRESHOLD,
    FamilyPaths,
    FamilySummary,
    summarize,
    table_row,
)
from optverify.theorems.linear_interpolation.paths import ROUNDING_ULPS
from optverify.theorems.linear_interpolation.symbolic import MONOTONE_THRESHOLD

BARRIER_THRESHOLD = 0.5
"""At least half of the straight paths between two seeds' digits solutions must be flagged
non-monotone (fixed before measuring): two independent minima are separated by a barrier on the
straight line (Goodfellow et al. 2015, Section 2, interpolating between solutions), so a
monotonicity test that flags fewer would be blind to the rises the main check counts."""


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


def digits_alphas(summary: DigitsSummary) -> torch.Tensor:
    """The alpha grid of a digits family's curves (uniform on [0, 1])."""
    return torch.linspace(0, 1, summary.paths.curves.shape[-1], dtype=torch.float64)
