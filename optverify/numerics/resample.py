"""Resampling the independent units of a sweep whose points share their randomness.

When every point of a sweep is estimated from the same paths, seeds or networks (the units), the
points' errors are correlated and a regression interval that treats them as independent is too
narrow. The honest interval resamples the units: draw n_units of them with replacement, recompute
every point from the same draw (so the correlation between points is kept), refit, and take the
percentile interval of the refitted exponent over BOOTSTRAP_RESAMPLES draws (Efron's
nonparametric bootstrap, as scipy.stats.bootstrap's "percentile" method; here the statistic maps a
whole (n_units, n_points) block to the sweep's y vector, which scipy's per-sample API does not).
The draws are seeded, so an interval is reproducible from the run's seed and the check's name.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from optverify.numerics.fit import JUDGING_LEVEL, ConfidenceInterval, weighted_slopes

BOOTSTRAP_RESAMPLES = 999
"""B, fixed: 999 draws put the 1% and 99% percentiles of the judging level on whole order
statistics ((B + 1) * 0.01 = 10) and keep a sweep's resampling to a fraction of a second."""

MIN_UNITS = 5
"""Fewer units than this cannot be resampled meaningfully (a bootstrap of 4 units has 35 distinct
draws)."""

Statistic = Callable[[np.ndarray], np.ndarray]
"""Maps a (k, n_points) array of units to the sweep's y vector (n_points,)."""


def mean_over_units(units: np.ndarray) -> np.ndarray:
    """The default statistic: the mean over the units (axis 0)."""
    return units.mean(axis=0)


def validated_units(units, n_points: int) -> np.ndarray:
    """A (n_units, n_points) array of finite per-unit values, one column per point of the sweep."""
    units = np.asarray(units, dtype=float)
    if units.ndim != 2 or units.shape[1] != n_points:
        raise ValueError(f"units must be an array (n_units, {n_points}), one column per point, "
                         f"got shape {units.shape}")
    if units.shape[0] < MIN_UNITS:
        raise ValueError(f"resampling needs at least {MIN_UNITS} units, got {units.shape[0]}")
    if not np.all(np.isfinite(units)):
        raise ValueError("units must be finite")
    return units


def resampled_points(units: np.ndarray, statistic: Statistic | None, seed: int,
                     n_resamples: int = BOOTSTRAP_RESAMPLES) -> np.ndarray:
    """The sweep's y vector recomputed on `n_resamples` draws of the units with replacement, as an
    array (n_resamples, n_points). The mean is computed from draw counts in one product."""
    rng = np.random.default_rng(seed)
    n_units = units.shape[0]
    draws = rng.integers(0, n_units, size=(n_resamples, n_units))
    if statistic is None:
        counts = np.zeros((n_resamples, n_units))
        np.add.at(counts, (np.arange(n_resamples)[:, None], draws), 1.0)
        return counts @ units / n_units
    return np.stack([np.asarray(statistic(units[draw]), dtype=float).ravel() for draw in draws])


def percentile_interval(samples: np.ndarray, level: float = JUDGING_LEVEL) -> ConfidenceInterval:
    """The percentile interval of resampled estimates (non-finite ones dropped)."""
    samples = np.asarray(samples, dtype=float)
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return ConfidenceInterval(float("nan"), float("nan"), level)
    low, high = np.quantile(samples, [0.5 - level / 2, 0.5 + level / 2])
    return ConfidenceInterval(float(low), float(high), level)


def resampled_slope_interval(x, resampled_y: np.ndarray, weights=None,
                             level: float = JUDGING_LEVEL) -> ConfidenceInterval:
    """The percentile interval of the weighted least-squares slope of log y against x over the
    resampled sweeps (an exponential rate's bootstrap interval); sweeps with a non-positive point
    are dropped."""
    x = np.asarray(x, dtype=float).ravel()
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
    resampled = np.asarray(resampled_y, dtype=float)
    usable = resampled[np.all(resampled > 0, axis=1)]
    return percentile_interval(weighted_slopes(x, np.log(usable), w), level)
