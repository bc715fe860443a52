"""Model families of `linear-interpolation` (Goodfellow, Vinyals, Saxe 2015, arXiv:1412.6544,
Section 2): a family's straight-path loss curves and their summary (monotone paths, diverged
runs, largest and median bumps relative to l(0)), the threshold of the monotone fraction fixed
before measuring, its false alternatives, and a family's table row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import ConfidenceInterval, resolve
from optverify.numerics.proportions import clopper_pearson
from optverify.theorems.linear_interpolation.paths import finite_paths, largest_bumps, monotone
from optverify.theorems.linear_interpolation.symbolic import MONOTONE_THRESHOLD

THRESHOLD = float(MONOTONE_THRESHOLD)
"""At least 9 in 10 trained paths are monotone (the paper's "never ... any significant obstacles",
see `symbolic.MAIN_BOUND`; fixed in advance)."""


FRACTION_ALTERNATIVES = (0.55, 0.8)
"""True monotone fractions the main check must reject at the sweep's number of paths."""


@dataclass(frozen=True)
class FamilyPaths:
    """Path losses (S, A) of one model family; `name` is shown in tables and figures, `key` is
    its kebab-case check name."""

    name: str
    key: str
    losses: torch.Tensor


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


def fraction_values(monotone: int, paths: int, interval: ConfidenceInterval) -> dict:
    return {"monotone": monotone, "paths": paths, "fraction": monotone / paths,
            "ci_low": interval.low, "ci_high": interval.high}


def table_row(summary: FamilySummary) -> tuple:
    interval = clopper_pearson(summary.monotone, summary.paths)
    return (summary.family, summary.paths, summary.diverged, summary.monotone,
            summary.monotone / summary.paths, interval.low, interval.high,
            summary.largest_relative_bump, summary.median_relative_bump,
            summary.median_final_over_initial)
