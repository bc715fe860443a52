"""Sizes of the torch experiment of `end-to-end-preconditioner` (Theorem 1 of Arora, Cohen, Hazan
2018, arXiv:1802.06509) at quick and full scale, read by every sub-claim module of the layer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from optverify.numerics.validation import (
    require_depth,
    require_int,
    require_non_negative,
    require_positive,
)


@dataclass(frozen=True)
class ExperimentConfig:
    """Sizes of the three measurements; `quick` and `full` are the presets.

    step_shapes: (rows, cols, depth) of W_e for the one-step error, hidden widths rank + 1.
    instances: random balanced inits per shape (a leading batch dimension).
    etas: step sizes (a second batch dimension); weight_decay: lambda in all GD steps.
    widths: hidden widths of the width-independence run (depth width_depth, target 3 x 2).
    trajectory_steps, trajectory_eta: GD steps and step size of that run.
    imbalance_scales: sizes delta of the perturbation that breaks balancedness.
    horizon_etas: step sizes of the fixed-time comparison (T = horizon / eta steps of GD and of
        the end-to-end rule from the same W_e); drift_scales: delta of its unbalanced runs, which
        use the smallest horizon eta.
    float32_etas: the one-step sweep's step sizes in a float32 run (see `for_dtype`).
    """

    step_shapes: tuple[tuple[int, int, int], ...]
    instances: int
    etas: tuple[float, ...]
    weight_decay: float
    widths: tuple[int, ...]
    width_depth: int
    trajectory_steps: int
    trajectory_eta: float
    imbalance_scales: tuple[float, ...]
    horizon: float
    horizon_etas: tuple[float, ...]
    drift_scales: tuple[float, ...]
    float32_etas: tuple[float, ...] = tuple(np.geomspace(1e-3, 3e-2, 6))

    def __post_init__(self) -> None:
        require_positive("every step size eta",
                         (*self.etas, *self.float32_etas, self.trajectory_eta, *self.horizon_etas))
        require_non_negative("the weight decay", self.weight_decay)
        for depth in (*(depth for _, _, depth in self.step_shapes), self.width_depth):
            require_depth(depth)
        for width in self.widths:
            require_int("a hidden width (at least the rank 2 of the 3 x 2 target)", width,
                        minimum=2)
        require_int("instances", self.instances, minimum=1)
        require_positive("the horizon", self.horizon)

    @classmethod
    def quick(cls) -> ExperimentConfig:
        return cls(
            step_shapes=((3, 2, 2), (2, 3, 3), (3, 3, 4), (2, 2, 6)),
            instances=8,
            etas=tuple(np.geomspace(1e-4, 1e-2, 5)),
            weight_decay=0.1,
            widths=(2, 3, 5, 8),
            width_depth=3,
            trajectory_steps=60,
            trajectory_eta=0.05,
            imbalance_scales=tuple(np.geomspace(1e-7, 1e-2, 6)),
            horizon=1.0,
            horizon_etas=(0.02, 0.01, 0.005, 0.0025),
            drift_scales=(1e-3, 1e-2, 1e-1),
        )

    @classmethod
    def full(cls) -> ExperimentConfig:
        return cls(
            step_shapes=((3, 2, 2), (2, 3, 3), (3, 3, 4), (4, 2, 5), (2, 2, 6)),
            instances=64,
            etas=tuple(np.geomspace(1e-4, 1e-2, 11)),
            weight_decay=0.1,
            widths=(2, 3, 5, 8, 16, 32),
            width_depth=4,
            trajectory_steps=400,
            trajectory_eta=0.05,
            imbalance_scales=tuple(np.geomspace(1e-8, 1e-2, 13)),
            horizon=1.0,
            horizon_etas=tuple(0.02 / 2**k for k in range(7)),
            drift_scales=tuple(np.geomspace(1e-4, 1e-1, 7)),
            float32_etas=tuple(np.geomspace(1e-3, 3e-2, 11)),
        )

    def for_dtype(self, dtype: str) -> ExperimentConfig:
        """The one-step sweep for `dtype`, fixed before measuring by the rounding floor: the error
        is about eta^2 ||the cross terms|| while W_e carries 16 eps ||W_e|| of rounding, so it
        resolves only for eta >~ 4 sqrt(eps): 6e-8 in float64, where 1e-4 .. 1e-2 sits far
        above it, but 1.4e-3 in float32, where that sweep resolves 2 to 4 of its 5 step sizes.
        A float32 run sweeps 1e-3 .. 3e-2 instead (points below the floor are still dropped;
        the O(eta^3) terms at the top are the asymptotic fit's finite-size correction)."""
        return self if dtype != "float32" else replace(self, etas=self.float32_etas)
