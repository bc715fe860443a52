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
    weight_decay, decay_sample_every, decay_horizon, decay_samples: the decay sweep samples
        ||C_j|| at the decay_samples + 1 points x = eta lambda t = 0, h, 2h, .., decay_horizon
        (h = decay_horizon / decay_samples) of every run; a run with decay_sample_every = m
        takes the step eta lambda = h / m and m steps between samples (`eta_lambdas`). An
        integer m puts every run's samples on the same grid in x, so the rates fitted over a
        window in x are the same functional of each run and |rate + 2| is a smooth function of
        eta lambda (c_1 eta lambda + c_2 (eta lambda)^2 + .., the global-error expansion of a
        one-step method). Runs whose step did not divide h sampled grids of spacing 0.1 and
        0.096 (x <= 2 ended at 2.0 or 1.92), which moved |rate + 2| / (eta lambda) by about 1%
        from run to run (2.003, 2.003, 2.025, 2.025, 2.019, 1.975 in the full float64 run): a
        jagged term no vanishing correction models, so the judge's correction models disagreed.
        The full sweep ends at eta lambda = h / 8 = 0.0125: on one grid, the full run with seed
        1 still moved the ratio from 2.154 to 2.082 between 0.0083 and 0.05 (about
        (eta lambda)^3 relative), and a correction x^0.25 fitted to that bend extrapolated the
        exponent to 1.039 [1.009, 1.068] (inconclusive); up to 0.0125 the ratio moves by 0.1%
        (2.1536 .. 2.1551) and every surviving model agrees (1.0004 [0.9999, 1.0012]). Its
        smallest step h / 128 takes 5120 steps (the old 2000).
        The horizon x = eta lambda t <= 4 (a decay by e^-8) is what lets the rate test tell the
        exponential from a power law: over x <= 2 the power-law control (the points re-drawn as
        their best power law with the same residuals) fitted a rate whose interval still
        reached -2.
    float32_fixed_steps, float32_fixed_step_etas, float32_step_counts: the fixed-step and
        fixed-time sweeps of a float32 run (see `dtype_design`).
    """

    instances: int
    widths: tuple[int, ...]
    init_scale: float
    fixed_steps: int
    fixed_step_etas: tuple[float, ...]
    fixed_time: float
    step_counts: tuple[int, ...]
    weight_decay: float
    decay_sample_every: tuple[int, ...]
    decay_horizon: float
    decay_samples: int
    float32_fixed_steps: int = 2
    float32_fixed_step_etas: tuple[float, ...] = tuple(np.geomspace(1e-2, 5e-2, 8))
    float32_step_counts: tuple[int, ...] = (10, 20, 40, 80, 160)

    def __post_init__(self) -> None:
        require_widths("the layer widths", self.widths)
        for name, count in (("instances", self.instances), ("fixed_steps", self.fixed_steps),
                            ("float32_fixed_steps", self.float32_fixed_steps),
                            *(("a step count", steps)
                              for steps in (*self.step_counts, *self.float32_step_counts)),
                            *(("steps between decay samples", every)
                              for every in self.decay_sample_every)):
            require_int(name, count, minimum=1)
        require_positive("learning rates, fixed time, init scale and horizon",
                         (*self.fixed_step_etas, *self.float32_fixed_step_etas, self.fixed_time,
                          self.init_scale, self.decay_horizon))
        require_positive("the weight decay", self.weight_decay)
        require_int("decay_samples", self.decay_samples, minimum=1)
        require_between("each eta lambda", self.eta_lambdas, 0, 1)

    @property
    def eta_lambdas(self) -> tuple[float, ...]:
        """The decay runs' eta lambda = h / m, h = decay_horizon / decay_samples."""
        spacing = self.decay_horizon / self.decay_samples
        return tuple(spacing / every for every in self.decay_sample_every)

    @classmethod
    def quick(cls) -> ExperimentConfig:
        return cls(64, (3, 4, 4, 2), 0.5, 20, tuple(np.geomspace(1e-4, 1.5e-3, 6)), 1.0,
                   (10, 20, 40, 80, 160, 320), 0.5, (80, 40, 20, 10, 5, 3), 4.0, 40)

    @classmethod
    def full(cls) -> ExperimentConfig:
        counts = tuple(int(n) for n in np.unique(np.geomspace(10, 3000, 11).round()))
        return cls(256, (3, 4, 4, 2), 0.5, 20, tuple(np.geomspace(1e-5, 1.5e-3, 11)), 1.0,
                   counts, 0.5, (128, 64, 32, 16, 11, 8), 4.0, 40,
                   2, tuple(np.geomspace(1e-2, 5e-2, 11)),
                   tuple(int(n) for n in np.unique(np.geomspace(10, 200, 11).round())))

    @property
    def shapes(self) -> list[tuple[int, int]]:
        return [(self.widths[j + 1], self.widths[j]) for j in range(len(self.widths) - 1)]

    def dtype_design(self, dtype: str) -> ExperimentConfig:
        """The two drift sweeps for `dtype`, fixed before measuring by the rounding floor.

        Fixed steps: the drift after T steps is about eta^2 T ||G_{j+1}^T G_{j+1} - G_j G_j^T||
        while its rounding floor is ROUNDING_ULPS eps T max ||W_j||_F^2, so it resolves only for
        eta >~ 4 sqrt(eps) (||G|| ~ ||W|| here): 6e-8 in float64, where the float64 sweep
        (1e-4 .. 1.5e-3, T = 20) sits far above it, but 1.4e-3 in float32, where that sweep is
        all rounding. A float32 run therefore sweeps eta from 1e-2 (7 times the threshold) to
        5e-2 with T = 2 steps, so that eta T <= 0.1 keeps the O(eta T) departure from eta^2 at
        a few per cent (the asymptotic fit models the rest). The earlier float32 design, eta
        from 5e-3 (3.6 times the threshold) to 2e-2 at T = 5, measured its smallest drifts only
        about 3 times the floor (2.5 eta^2 against 16 eps T max ||W_j||_F^2, max ||W_j||_F^2 =
        2.1): their rounding (C_j computed in float32 carries about 1e-6) bent the local slopes
        to 1.99 at the small-eta end, a correction that grows toward the limit, and the full run
        with seed 1 was model-dependent (2.01 [2.009, 2.031]). Chosen over T = 5 with eta in
        [1e-2, 4e-2] or [2e-2, 1e-1] by full float32 runs at seeds 0-3 (the only design of the
        four consistent at all four: 2.0008 to 2.0011), then checked at unseen seeds.

        Fixed time s = eta T: the drift is about eta s ||G||^2 and the floor of a run of
        T = s / eta steps ROUNDING_ULPS eps (s / eta) max ||W_j||_F^2, so the ratio is again
        about eta^2 / (ROUNDING_ULPS eps) and the same threshold eta >~ 4 sqrt(eps) holds. The
        float64 counts (T <= 3000, eta >= 3.3e-4) sit far above it; in float32 they reach 0.24
        times it (the full float32 run resolved 3 of its 11 points when every point carried the
        longest run's floor, 7 of 11 with each point's own). A float32 run therefore takes
        T <= 200 (eta >= 5e-3 at s = 1, 3.6 times the threshold), from
        T = 10 (eta = 0.1, the float64 sweep's largest step). Measured after fixing this (full,
        seed 0): the geometric-mean drift is 2.6 times its floor at T = 200 and 990 times at
        T = 10 (the drift is about 0.38 eta, below the eta s ||W||^2 estimate)."""
        if dtype != "float32":
            return self
        return replaced(self, fixed_steps=self.float32_fixed_steps,
                        fixed_step_etas=self.float32_fixed_step_etas,
                        step_counts=self.float32_step_counts)
