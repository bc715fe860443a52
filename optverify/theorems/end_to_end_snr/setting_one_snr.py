"""Setting I of Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 3, Figs. 4 and 5:
the SNR of the stochastic gradient of N1's last layer at initialization for k = 1..4, end-to-end
vs decomposition, in float32 and float64, averaged over random initializations, with the rules
stated in `setting_one` (one-sided at 1%: the collapse SNR_e2e(3) / SNR_e2e(1) < 10^-3 against a
slower exponential; the decomposition keeps its signal; below float32 resolution for k >= 3; the
form of the fall, or its bounds where fewer than three k are resolved), and the float64 block
estimator against the loop over every tuple (twin).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from optverify.kit import Judgement, Panel, Series, Session, Verdict, machine_epsilon
from optverify.numerics.fit import JUDGING_LEVEL
from optverify.numerics.growth import MIN_POINTS, compare_growth
from optverify.theorems.end_to_end_snr import line_images, networks
from optverify.theorems.end_to_end_snr.snr_estimate import (
    SnrEstimate,
    antithetic_gradients,
    authors_snr,
    block_estimate,
    estimate_snr,
    exact_pair_estimate,
    loop_last_layer_gradients,
    plain_snr,
)

APPROACHES = ("end-to-end", "decomposition")


FLOAT_TYPES = ("float32", "float64")


RESOLUTION_ULPS = 16


COLLAPSE_RATIO = 1e-3


KEPT_RATIO = 0.1


ONE_SIDED = (1 - JUDGING_LEVEL) / 2
"""Each bound of this module is one-sided at 1%: the kit's judging level (98%, 1% per side)."""


STANDARD_ERRORS = float(stats.norm.ppf(1 - ONE_SIDED / 2))
"""2.576: a mean SNR is resolved above this many standard errors and its bounds are mean -+ this
many, each one-sided at 0.5%, so that a ratio of two bounds (every SNR judge below) holds at 1%
per side (Bonferroni)."""


SLOWER_DECADES_PER_IMAGE = 1.0
"""The slower exponential the collapse must rule out: one decade per added image (10^-2 at k = 3,
above float32 resolution from the SNR(1) of about 1e-3 measured at k = 1 in earlier runs)."""


@dataclass(frozen=True)
class SnrConfig:
    """images: the pool per initialization (cut into blocks for each k); blocks: the block size per
    k of the float64 end-to-end estimator (block = k: disjoint tuples, the estimator of every other
    series); pair_groups: at k = 2 that estimator sums every pair of each of pair_groups groups of
    the pool exactly where the hinge is active on every pair (`exact_pair_estimate`);
    decisive: whether the SNR checks decide (quick mode's pool is too small to resolve k = 1)."""

    sizes: tuple[int, ...]
    images: int
    inits: int
    blocks: tuple[int, ...]
    decisive: bool
    pair_groups: int = 16

    def __post_init__(self) -> None:
        if min(self.sizes) < 1 or self.sizes[0] != 1 or self.inits < 2:
            raise ValueError("SnrConfig needs sizes starting at k = 1 and inits >= 2")
        if len(self.blocks) != len(self.sizes) or any(
                not k <= block <= self.images // 2 for k, block in zip(self.sizes, self.blocks)):
            raise ValueError("SnrConfig needs one block size per k, k <= block <= images / 2")
        if not 2 <= self.pair_groups <= self.images // 4:
            raise ValueError("SnrConfig needs 2 <= pair_groups <= images / 4")

    def block(self, k: int) -> int:
        return self.blocks[self.sizes.index(k)]

    @classmethod
    def quick(cls) -> SnrConfig:
        return cls((1, 2, 3, 4), images=1024, inits=2, blocks=(1, 8, 6, 5), decisive=False,
                   pair_groups=8)

    @classmethod
    def full(cls) -> SnrConfig:
        return cls((1, 2, 3, 4), images=8192, inits=3, blocks=(1, 16, 8, 6), decisive=True)


@dataclass(frozen=True)
class SnrSummary:
    """One (dtype, approach, k): the mean SNR over initializations, its statistical standard
    error (the per-initialization errors combined), and the spread over initializations."""

    mean: float
    stderr: float
    spread: float
    per_init: tuple[float, ...]

    @property
    def resolved(self) -> bool:
        return self.mean > STANDARD_ERRORS * self.stderr

    @property
    def upper(self) -> float:
        return max(self.mean, 0.0) + STANDARD_ERRORS * self.stderr

    @property
    def lower(self) -> float:
        return max(self.mean - STANDARD_ERRORS * self.stderr, 0.0)


def summarize(estimates: list[SnrEstimate]) -> SnrSummary:
    snrs = np.array([e.snr for e in estimates])
    stderr = math.sqrt(sum(e.snr_stderr**2 for e in estimates)) / len(estimates)
    return SnrSummary(float(snrs.mean()), stderr, float(snrs.std(ddof=1)), tuple(snrs))


def resolution_floor(dtype: str) -> float:
    """SNR below which ||E g||^2 is under 16 eps(dtype) of E||g||^2."""
    return RESOLUTION_ULPS * machine_epsilon(dtype)


def describe(summary: SnrSummary, dtype: str) -> str:
    """A number only where it is resolved and above the dtype's floor; otherwise 'below
    precision' (its upper bound under the floor) or 'unresolved (< bound)'."""
    floor = resolution_floor(dtype)
    if summary.upper < floor or (summary.resolved and summary.mean < floor):
        return "below precision"
    if not summary.resolved:
        return f"unresolved (< {summary.upper:.2g})"
    return f"{summary.mean:.3g}"


@dataclass(frozen=True)
class SnrSweep:
    """summaries[(dtype, approach, k)]; exact_pairs: the initializations whose float64
    end-to-end k = 2 estimate summed every pair exactly (the others used blocks)."""

    config: SnrConfig
    summaries: dict
    exact_pairs: int = 0

    def series(self, dtype: str, approach: str) -> dict[int, SnrSummary]:
        return {k: self.summaries[(dtype, approach, k)] for k in self.config.sizes}


def _cast(params: dict, dtype: torch.dtype) -> dict:
    return {name: value.to(dtype) for name, value in params.items()}


def snr_sweep(s: Session, config: SnrConfig) -> SnrSweep:
    """Per initialization: a fresh pool of images and their mirrors, cut into blocks for each k;
    N1 and one N2 per k drawn in float64 and cast to each dtype. Every series uses disjoint
    tuples (block = k) except the float64 end-to-end one (config.blocks)."""
    def estimates_at(init: int) -> dict:  # one task per initialization on a cluster (s.map)
        estimates = {}
        lines = line_images.sample_lines(config.images,
                                         s.generator(f"setting-one-images-{init}"), s.device)
        images = line_images.rasterize(lines)
        labels = line_images.image_labels(lines.angles)
        n1_64 = networks.init_n1(s.generator(f"setting-one-n1-{init}"), torch.float64, s.device)
        n2_64 = {k: networks.init_n2(k, s.generator(f"setting-one-n2-{init}-{k}"),
                                     torch.float64, s.device) for k in config.sizes}
        for dtype in FLOAT_TYPES:
            kind = getattr(torch, dtype)
            n1 = _cast(n1_64, kind)
            x = images.to(kind)
            with torch.no_grad():
                pairs = torch.stack([networks.features(n1, x),
                                     networks.features(n1, line_images.mirror(x))], dim=1)
            for k in config.sizes:
                n2 = _cast(n2_64[k], kind)
                for approach in APPROACHES:
                    blocked = (dtype, approach) == ("float64", "end-to-end")
                    exact = (exact_pair_estimate(n1, n2, pairs, labels, config.pair_groups)
                             if blocked and k == 2 else None)
                    estimates[(dtype, approach, k)] = exact or block_estimate(
                        approach, n1, n2, pairs, labels.to(kind), k,
                        config.block(k) if blocked else k)
                    if exact is not None:
                        estimates["exact-pairs"] = True
        return estimates

    per_init = s.map(estimates_at, range(config.inits), "Setting I SNR over initializations")
    keys = [key for key in per_init[0] if key != "exact-pairs"]
    return SnrSweep(config, {key: summarize([estimates[key] for estimates in per_init])
                             for key in keys},
                    sum("exact-pairs" in estimates for estimates in per_init))


def judge_collapse(series: dict[int, SnrSummary], at: int = 3) -> Judgement:
    """SNR(at) / SNR(1) below COLLAPSE_RATIO (its one-sided 1% bounds)."""
    first, later = series[1], series[at]
    if not first.resolved:
        return Judgement(Verdict.INCONCLUSIVE, "SNR at k = 1 is not resolved")
    upper = later.upper / first.lower
    lower = later.lower / (first.mean + STANDARD_ERRORS * first.stderr)
    verdict = (Verdict.CONSISTENT if upper < COLLAPSE_RATIO else
               Verdict.VIOLATED if lower >= COLLAPSE_RATIO else Verdict.INCONCLUSIVE)
    return Judgement(verdict, f"SNR(k={at}) / SNR(k=1) in [{lower:.3g}, {upper:.3g}] against "
                     f"< {COLLAPSE_RATIO:g}: {verdict.value}",
                     {"ratio_low": lower, "ratio_high": upper})


def judge_kept(series: dict[int, SnrSummary]) -> Judgement:
    """SNR(k) / SNR(1) at least KEPT_RATIO for every k (its one-sided 1% bounds)."""
    first = series[1]
    if not first.resolved:
        return Judgement(Verdict.INCONCLUSIVE, "SNR at k = 1 is not resolved")
    lows = {k: v.lower / (first.mean + STANDARD_ERRORS * first.stderr) for k, v in series.items()}
    highs = {k: v.upper / first.lower for k, v in series.items()}
    verdict = (Verdict.CONSISTENT if min(lows.values()) >= KEPT_RATIO else
               Verdict.VIOLATED if min(highs.values()) < KEPT_RATIO else Verdict.INCONCLUSIVE)
    detail = ", ".join(f"k={k}: [{lows[k]:.3g}, {highs[k]:.3g}]" for k in series)
    return Judgement(verdict, f"SNR(k) / SNR(1) {detail} against >= {KEPT_RATIO:g}: "
                     f"{verdict.value}", {f"ratio_low_k{k}": lows[k] for k in series})


def judge_below_resolution(series: dict[int, SnrSummary], floor: float) -> Judgement:
    """Every SNR of `series` below `floor` (its upper bound), violated if one is resolved above."""
    uppers = {k: v.upper for k, v in series.items()}
    verdict = (Verdict.CONSISTENT if max(uppers.values()) < floor else
               Verdict.VIOLATED if any(v.lower > floor for v in series.values())
               else Verdict.INCONCLUSIVE)
    detail = ", ".join(f"k={k}: < {u:.2g}" for k, u in uppers.items())
    return Judgement(verdict, f"upper bounds {detail} against the floor {floor:.3g}: "
                     f"{verdict.value}", {f"upper_k{k}": u for k, u in uppers.items()})


def first_step_bounds(series: dict[int, SnrSummary]) -> str:
    """Where fewer than three k are resolved, what the first step says, in words: unresolved at
    k = 2, the bound on the fall and the steepest power law it allows; resolved, the fall's
    bounds and what a power law and an exponential through k = 1, 2 predict at k = 3 against the
    bound measured there."""
    first, second = series[1], series[2]
    if not first.resolved:
        return ""
    if not second.resolved:
        fall = second.upper / first.lower
        return (f"SNR(2) < {second.upper:.2g}, so SNR(2) / SNR(1) < {fall:.2g}: a power law "
                f"k^-p through SNR(1) needs p > {-math.log2(fall):.3g}, an exponential a factor "
                f"below {fall:.2g} per added image")
    low, high = second.lower / first.upper, second.upper / first.lower
    text = (f"SNR(2) / SNR(1) in [{low:.2g}, {high:.2g}] (a power law through both: p in "
            f"[{-math.log2(high):.3g}, {-math.log2(low):.3g}])")
    third = series.get(3)
    if third is not None and not third.resolved:
        ratio = second.mean / first.mean
        text += (f"; at k = 3 an exponential through k = 1, 2 predicts {second.mean * ratio:.2g} "
                 f"and the power law {second.mean * (2 / 3) ** -math.log2(ratio):.2g}, against "
                 f"the bound SNR(3) < {third.upper:.2g}")
    return text


def judge_decay_form(series: dict[int, SnrSummary]) -> Judgement:
    """The kit's exponential-vs-power-law test on the resolved points (every initialization);
    below three resolved k, 'below resolution' with the bounds of `first_step_bounds`."""
    x = [k for k, v in series.items() if v.resolved for snr in v.per_init if snr > 0]
    y = [snr for v in series.values() if v.resolved for snr in v.per_init if snr > 0]
    if len(set(x)) < 3 or len(x) < MIN_POINTS:
        bounds = first_step_bounds(series)
        return Judgement(Verdict.INCONCLUSIVE, f"below resolution: resolved only at k in "
                         f"{sorted(set(x))}; the form needs at least 3 resolved k"
                         + (f"; {bounds}" if bounds else ""))
    comparison = compare_growth(x, y)
    verdict = (Verdict.CONSISTENT if comparison.power_law_rejected else
               Verdict.VIOLATED if comparison.exponential_rejected else Verdict.INCONCLUSIVE)
    return Judgement(verdict, comparison.describe())


def _scaled_series(series: dict[int, SnrSummary], factor) -> dict[int, SnrSummary]:
    """The measured k = 1 SNR continued by factor(k) (an alternative law of the fall)."""
    first = series[1]
    return {k: SnrSummary(first.mean * factor(k), first.stderr * factor(k), 0.0,
                          tuple(v * factor(k) for v in first.per_init)) for k in series}


def slower_exponential(series: dict[int, SnrSummary]) -> dict[int, SnrSummary]:
    """SNR(1) 10^-(SLOWER_DECADES_PER_IMAGE (k - 1)): an exponential fall too slow to collapse."""
    return _scaled_series(series, lambda k: 10.0 ** (-SLOWER_DECADES_PER_IMAGE * (k - 1)))


def steepest_power_law(series: dict[int, SnrSummary]) -> dict[int, SnrSummary]:
    """SNR(1) k^-p with p the steepest power the measured first step allows (SNR(1)'s lower bound
    over SNR(2)'s upper bound, or its value where resolved): the power law hardest to tell from a
    fast exponential."""
    first, second = series[1], series[2]
    high = second.mean if second.resolved else second.upper
    power = max(math.log2(first.lower / high), 0.0) if first.lower > 0 and high > 0 else 0.0
    return _scaled_series(series, lambda k: float(k) ** -power)


TWIN_TOLERANCE = 1e-9
"""Relative tolerance of the float64 twin comparison (both sides are the same sums in another
order: rounding only)."""


def _block_residual(approach: str, n1: dict, n2: dict, images: torch.Tensor,
                    labels: torch.Tensor) -> float:
    """|block_estimate(block = k) - estimate_snr(antithetic_gradients)| in ||E g||^2, over
    E||g||^2: the chain-rule gradients and gathering against torch.func on the same tuples."""
    tuples, k = labels.shape
    pairs = torch.stack([networks.features(n1, images),
                         networks.features(n1, line_images.mirror(images))], dim=2)
    plain = estimate_snr(antithetic_gradients(approach, n1, n2, pairs, labels))
    blocked = block_estimate(approach, n1, n2, pairs.reshape(tuples * k, 2, networks.FEATURES),
                             labels.reshape(-1), k, k)
    return abs(blocked.signal - plain.signal) / plain.second_moment


def record_estimator_twin(s: Session, tuples: int = 24, k: int = 2) -> None:
    generator = s.generator("setting-one-twin", device="cpu")
    lines = line_images.sample_lines(tuples * k, generator)
    images = line_images.rasterize(lines).reshape(tuples, k, 28, 28)
    labels = line_images.image_labels(lines.angles).reshape(tuples, k)
    n1 = networks.init_n1(generator, torch.float64)
    n2 = networks.init_n2(k, generator, torch.float64)
    residuals, controls = [], []
    for approach in APPROACHES:
        batched = networks.last_layer_gradients(approach, n1, n2, networks.features(n1, images),
                                                labels)
        twin = plain_snr(loop_last_layer_gradients(approach, n1, n2, images, labels))
        residuals.append(abs(plain_snr(batched) - twin) / twin)
        controls.append(abs(authors_snr(batched) - twin) / twin)
        residuals.append(_block_residual(approach, n1, n2, images, labels))
    s.identity("setting-i-snr-estimator-twin",
               f"Setting I: the SNR ||mean g||^2 / mean||g - mean g||^2 of per-example gradients "
               f"batched by torch.func (vmap + grad) equals a loop-based autograd twin through the "
               f"whole network, and the closed-form block estimator with blocks of k images "
               f"equals the torch.func antithetic one on the same tuples (its ||E g||^2 relative "
               f"to E||g||^2) ({tuples} tuples, k = {k}, float64, both approaches; relative "
               f"tolerance {TWIN_TOLERANCE:g})", max(residuals), TWIN_TOLERANCE,
               controls={"the authors' script's SNR, S / (E||g||^2 - S^2) with S = ||mean g||^2 "
                         "(the square of a squared norm subtracted)": max(controls)})


def record_snr(s: Session, sweep: SnrSweep) -> None:
    config = sweep.config
    where = (f"N1's last layer at initialization, {config.images} images per initialization "
             f"(float64 end-to-end: every k-subset of blocks of {config.blocks} images for k = "
             f"{config.sizes}, at k = 2 every pair of {config.pair_groups} groups summed exactly "
             f"in {sweep.exact_pairs} of {config.inits} initializations; otherwise "
             f"floor({config.images} / k) tuples) x 2^k mirror patterns, {config.inits} "
             "initializations")
    quick = "" if config.decisive else " (quick mode: too few samples to resolve k = 1; reported)"
    values = {"exact_pair_inits": sweep.exact_pairs}
    for (dtype, approach, k), summary in sweep.summaries.items():
        key = f"snr_{approach}_{dtype}_k{k}"
        values[key] = describe(summary, dtype)
        if summary.resolved:
            values[key + "_spread"] = summary.spread
        values[key + "_stat_stderr"] = summary.stderr
    for dtype in FLOAT_TYPES:
        e2e, dec = sweep.series(dtype, "end-to-end"), sweep.series(dtype, "decomposition")
        s.decide(f"setting-i-e2e-snr-collapse-{dtype}",
                 f"Setting I ({dtype}): the end-to-end SNR ({where}) at k = 3 is below "
                 f"{COLLAPSE_RATIO:g} of its k = 1 value{quick}", judge_collapse, e2e,
                 decisive=config.decisive,
                 rules_out="a slower exponential fall (one decade per added image) or the "
                 "decomposition's behaviour",
                 controls={"a slower exponential, one decade per added image from the measured "
                           "k = 1 value (10^-2 at k = 3)": slower_exponential(e2e),
                           "the decomposition's measured SNR": dec},
                 values=values if dtype == "float64" else {})
        s.decide(f"setting-i-dec-snr-kept-{dtype}",
                 f"Setting I ({dtype}): the decomposition's SNR ({where}) at every k is at least "
                 f"{KEPT_RATIO:g} of its k = 1 value{quick}", judge_kept, dec,
                 decisive=config.decisive,
                 rules_out="a decomposition that loses its signal with k like the end-to-end "
                 "gradient", controls={"the end-to-end measured SNR": e2e})
    floor = resolution_floor("float32")
    late = {k: v for k, v in sweep.series("float32", "end-to-end").items() if k >= 3}
    s.decide("setting-i-e2e-below-float32",
             f"Setting I: the end-to-end SNR at k >= 3 (float32) is below float32 resolution, "
             f"||E g||^2 < 16 eps(float32) E||g||^2 (SNR < {floor:.3g}); the stricter floor for "
             f"the mean vector, SNR < {floor**2:.3g}, is not decided{quick}",
             lambda series: judge_below_resolution(series, floor), late,
             decisive=config.decisive,
             rules_out="an end-to-end gradient whose signal float32 still resolves",
             controls={"the decomposition's measured SNR at k >= 3":
                       {k: v for k, v in sweep.series("float32", "decomposition").items()
                        if k >= 3}},
             values={"floor_second_moment": floor, "floor_mean_vector": floor**2})
    e2e = sweep.series("float64", "end-to-end")
    s.decide("setting-i-e2e-decay-form",
             "Setting I (float64, block U-statistic): the end-to-end SNR decays exponentially in k "
             "(the kit's exponential-vs-power-law F-test on the resolved initializations); with "
             "fewer than three resolved k, below resolution, reported with the bounds of the "
             "first step (undecided, so reported, not decisive)",
             judge_decay_form, e2e, decisive=False,
             controls={"the steepest power law the first step allows, from the measured k = 1 "
                       "value": steepest_power_law(e2e)})
    _snr_figure_and_table(s, sweep)


def _snr_figure_and_table(s: Session, sweep: SnrSweep) -> None:
    panels, rows = [], []
    for dtype in FLOAT_TYPES:
        series = []
        for approach in APPROACHES:
            data = sweep.series(dtype, approach)
            kept = [(k, v.mean) for k, v in data.items()
                    if v.resolved and v.mean >= resolution_floor(dtype)]
            bounds = [(k, v.upper) for k, v in data.items() if not v.resolved]
            if kept:
                series.append(Series(approach, tuple(float(k) for k, _ in kept),
                                     tuple(m for _, m in kept), "points"))
            if bounds:
                series.append(Series(f"{approach}: upper bound (unresolved)",
                                     tuple(float(k) for k, _ in bounds),
                                     tuple(b for _, b in bounds), "dashed"))
            for k, v in data.items():
                rows.append((dtype, approach, k, describe(v, dtype),
                             f"{v.spread:.2g}" if v.resolved else "-", f"{v.stderr:.2g}",
                             f"{v.upper:.2g}"))
        series.append(Series("16 eps(float32)", (1.0, float(max(sweep.config.sizes))),
                             (resolution_floor("float32"),) * 2, "dashed"))
        panels.append(Panel(f"Setting I SNR vs k ({dtype})", "k", "SNR", tuple(series),
                            xscale="linear"))
    s.figure("setting-i-snr", "Setting I: SNR of N1's last-layer gradient at initialization",
             panels, columns=2)
    s.table("setting-i-snr", "Setting I SNR (mean over initializations; spread = standard "
            "deviation over them; stat. s.e. of the mean; upper = mean + 2.576 s.e.)",
            ("dtype", "approach", "k", "SNR", "spread", "stat. s.e.", "upper"), rows)
