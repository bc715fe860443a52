"""The regression sets of the `depth-acceleration` claim, generated from the seed (no download).

Arora, Cohen, Hazan (2018), arXiv:1802.06509, Section 7, regress the ethanol concentration of the
UCI Gas Sensor Array Drift set (2565 examples x 128 features) with an l_p loss. The data cannot be
downloaded at run time, so two sets are generated instead:
- `ethanol_like`: 2565 x 128 Gaussian features with covariance Q diag(lambda) Q^T, lambda
  log-spaced from 1 down to 1 / condition (Q Haar-random: every feature correlated with every
  other), and a linear target y = X w* + noise with the noise variance set by the population R^2;
- `ar1_heavy_tail`: a small set built differently, so the finding does not rest on one matrix:
  AR(1) (Toeplitz) correlated features rho^|i - j|, uniform feature scales over a decade, and
  Student-t (5 degrees of freedom) noise.
Both targets are scaled to unit mean square, so step-size grids are comparable across sets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from optverify.numerics.validation import require_between, require_int


@dataclass(frozen=True)
class RegressionSet:
    """features: (rows, cols); targets: (rows,); how it was generated, in words; the condition
    number of its features (sigma_max / sigma_min of X, measured)."""

    name: str
    features: np.ndarray
    targets: np.ndarray
    description: str

    @property
    def shape(self) -> tuple[int, int]:
        return self.features.shape

    @property
    def condition(self) -> float:
        singular = torch.linalg.svdvals(torch.as_tensor(self.features))
        return float(singular[0] / singular[-1])


def _haar(rng: np.random.Generator, size: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((size, size)))
    return q * np.sign(np.diag(r))


def _linear_target(rng, features, noise, r_squared) -> np.ndarray:
    """X w* (w* Gaussian) plus noise scaled so that signal / (signal + noise) = r_squared, the
    whole scaled to unit mean square."""
    signal = features @ rng.standard_normal(features.shape[1])
    noise = noise * np.sqrt(signal.var() * (1 - r_squared) / r_squared / noise.var())
    target = signal + noise
    return target / np.sqrt(np.mean(target**2))


def ethanol_like(rng: np.random.Generator, rows: int = 2565, cols: int = 128,
                 condition: float = 100.0, r_squared: float = 0.9) -> RegressionSet:
    """Gaussian features, covariance eigenvalues log-spaced over [1 / condition^2, 1] (so the
    population condition number of X is `condition`), Haar-rotated; Gaussian noise."""
    require_int("rows", rows, 2)
    require_int("cols", cols, 1, maximum=rows)
    require_between("the population R^2", r_squared, 0, 1)
    require_between("the condition number", condition, 1, None, low_closed=True)
    scales = np.geomspace(1.0, 1.0 / condition, cols)
    features = (rng.standard_normal((rows, cols)) * scales) @ _haar(rng, cols).T
    targets = _linear_target(rng, features, rng.standard_normal(rows), r_squared)
    return RegressionSet(
        "ethanol-like", features, targets,
        f"{rows} x {cols} Gaussian features, covariance Q diag(lambda) Q^T with lambda "
        f"log-spaced over [{condition:g}^-2, 1] (Q Haar), target X w* + Gaussian noise at "
        f"population R^2 = {r_squared:g}, scaled to unit mean square")


def ar1_heavy_tail(rng: np.random.Generator, rows: int = 400, cols: int = 24,
                   correlation: float = 0.8, r_squared: float = 0.8) -> RegressionSet:
    """AR(1) features (corr rho^|i - j|) with scales uniform over [0.1, 1], Student-t(5) noise."""
    require_int("rows", rows, 2)
    require_int("cols", cols, 1, maximum=rows)
    require_between("the population R^2", r_squared, 0, 1)
    require_between("the AR(1) correlation", correlation, 0, 1, low_closed=True)
    lags = np.abs(np.subtract.outer(np.arange(cols), np.arange(cols)))
    root = np.linalg.cholesky(correlation**lags)
    scales = rng.uniform(0.1, 1.0, cols)
    features = (rng.standard_normal((rows, cols)) @ root.T) * scales
    targets = _linear_target(rng, features, rng.standard_t(5, rows), r_squared)
    return RegressionSet(
        "ar1-heavy-tail", features, targets,
        f"{rows} x {cols} AR(1) features (correlation {correlation:g}^|i-j|, scales uniform over "
        f"[0.1, 1]), target X w* + Student-t(5) noise at population R^2 = {r_squared:g}, scaled "
        "to unit mean square")
