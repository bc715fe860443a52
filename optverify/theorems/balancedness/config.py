"""Sizes of the torch experiment of `balancedness` (Arora, Cohen, Hazan 2018, arXiv:1802.06509;
Arora, Cohen, Golowich, Hu 2019, arXiv:1810.02281) at quick and full scale, read by the drift
sweeps (`drift`), the weight-decay runs (`weight_decay`) and the batched instances (`gd_steps`).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace as replaced

import numpy as np

from optverify.numerics.validation import (
    require_between,
    require_int,
    require_positive,
    require_widths,
)


@dataclass(frozen=True)
class ExperimentConfig:
    """The random instances and the three sweeps.

    widths: d_0..d_N; init_scale: factors have N(0, init_scale^2 / d_{j-1}) entries (small,
        unbalanced); the target Phi has N(0, 1) entries.
    fixed_steps, fixed_step_etas: T and the learning rates of the fixed-step sweep.
    fixed_time, step_counts: s = eta T and the step counts T (eta = s / T) of the fixed-time sweep.
    weight_decay, eta_lambdas, decay_horizon, decay_samples: the decay sweep runs
        T = decay_horizon / (eta lambda) steps for each eta lambda and samples ||C_j|| at
        decay_samples + 1 evenly spaced steps. The horizon x = eta lambda t <= 4 (a decay by
        e^-8) is what lets the rate test tell the exponential from a power law: over x <= 2 the
        power-law control (the points re-drawn as their best power law with the same residuals)
        fitted a rate whose interval still reached -2.
    float32_fixed_steps, float32_fixed_step_etas: the fixed-step sweep of a float32 run (see
        `fixed_step_design`).
    """

    instances: int
    widths: tuple[int, ...]
    init_scale: float
    fixed_steps: int
    fixed_step_etas: tuple[float, ...]
    fixed_time: float
    step_counts: tuple[int, ...]
    weight_decay: float
    eta_lambdas: tuple[float, ...]
    decay_horizon: float
    decay_samples: int
    float32_fixed_steps: int = 5
    float32_fixed_step_etas: tuple[float, ...] = tuple(np.geomspace(5e-3, 2e-2, 8))

    def __post_init__(self) -> None:
        require_widths("the layer widths", self.widths)
        for name, count in (("instances", self.instances), ("fixed_steps", self.fixed_steps),
                            ("float32_fixed_steps", self.float32_fixed_steps),
                            *(("a step count", steps) for steps in self.step_counts)):
            require_int(name, count, minimum=1)
        require_positive("learning rates, fixed time, init scale and horizon",
                         (*self.fixed_step_etas, *self.float32_fixed_step_etas, self.fixed_time,
                          self.init_scale, self.decay_horizon))
        require_positive("the weight decay", self.weight_decay)
        require_between("each eta lambda", self.eta_lambdas, 0, 1)

    @classmethod
    def quick(cls) -> ExperimentConfig:
        return cls(64, (3, 4, 4, 2), 0.5, 20, tuple(np.geomspace(1e-4, 1.5e-3, 6)), 1.0,
                   (10, 20, 40, 80, 160, 320), 0.5, (0.00125, 0.0025, 0.005, 0.01, 0.02, 0.04),
                   4.0, 40)

    @classmethod
    def full(cls) -> ExperimentConfig:
        counts = tuple(int(n) for n in np.unique(np.geomspace(10, 3000, 11).round()))
        return cls(256, (3, 4, 4, 2), 0.5, 20, tuple(np.geomspace(1e-5, 1.5e-3, 11)), 1.0,
                   counts, 0.5, (0.002, 0.004, 0.008, 0.016, 0.032, 0.05), 4.0, 40,
                   5, tuple(np.geomspace(5e-3, 2e-2, 11)))

    @property
    def shapes(self) -> list[tuple[int, int]]:
        return [(self.widths[j + 1], self.widths[j]) for j in range(len(self.widths) - 1)]

    def fixed_step_design(self, dtype: str) -> ExperimentConfig:
        """The fixed-step sweep for `dtype`, fixed before measuring by the rounding floor.

        The drift after T steps is about eta^2 T ||G_{j+1}^T G_{j+1} - G_j G_j^T|| while its
        rounding floor is ROUNDING_ULPS eps T max ||W_j||_F^2, so it resolves only for
        eta >~ 4 sqrt(eps) (||G|| ~ ||W|| here): 6e-8 in float64, where the float64 sweep
        (1e-4 .. 1.5e-3, T = 20) sits far above it, but 1.4e-3 in float32, where that sweep is
        all rounding. A float32 run therefore sweeps eta from 5e-3 (3.6 times the threshold, the
        drift about 13 times its floor) to 2e-2 with T = 5 steps, so that eta T <= 0.1 keeps the
        O(eta T) departure from eta^2 at a few per cent (the asymptotic fit models the rest)."""
        if dtype != "float32":
            return self
        return replaced(self, fixed_steps=self.float32_fixed_steps,
                        fixed_step_etas=self.float32_fixed_step_etas)
