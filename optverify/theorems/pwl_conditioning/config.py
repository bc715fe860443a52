"""Sizes of the torch experiment of `pwl-conditioning` (Shalev-Shwartz, Shamir, Shammah 2017,
arXiv:1703.07950, Section 4) at quick, full and paper scale, read by every sub-claim module of the
layer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ExperimentConfig:
    """Sweeps of the experiment layer (quick and full presets).

    fully_connected_sizes, convolution_sizes: the exact expected sweeps; preconditioned_sizes: the
    preconditioned sweep (exact expectation and SGD); sgd_sizes: the stochastic twin's sizes per
    learner; seeds: SGD runs per size (fully connected, convolution); preconditioned_seeds: SGD runs
    per size of the preconditioned twin, sized so that its 98% Bonferroni interval clears the
    margin with power 99% per size at the worst measured Lyapunov bias and scatter (log ratio
    -0.019, per-seed log sd 0.052; 300 seeds at each of 3 preconditioner draws):
    (t_{1 - 0.01/2K, R-1} + z_{1 - 0.01/K}) 0.052 / sqrt(R) < log 1.05 - 0.019 gives R = 108 for
    the K = 4 quick sizes and 126 for the K = 9 full ones (the other twins' scatter is 0.002-0.011
    and their bias under 0.2%: their seeds already clear it);
    figure_iterations, deep_iterations: Fig. 6 checkpoints of
    the linear learners and of the deep network; figure_mode: how they relate to the paper's."""

    fully_connected_sizes: tuple[int, ...]
    convolution_sizes: tuple[int, ...]
    preconditioned_sizes: tuple[int, ...]
    sgd_sizes: dict
    seeds: int
    preconditioned_seeds: int
    preconditioning_samples: int
    figure_iterations: tuple[int, ...]
    deep_iterations: tuple[int, ...]
    figure_mode: str
    batch: int = 16
    step_factor: float = 0.5
    checkpoint_ratio: float = 1.01
    relative_target: float = 0.05
    preconditioned_target: float = 1e-6
    preconditioned_horizon: int = 400
    figure_size: int = 100

    @classmethod
    def quick(cls) -> ExperimentConfig:
        return cls(fully_connected_sizes=(16, 32, 64, 128, 256, 512),
                   convolution_sizes=(16, 32, 64, 128, 256, 512, 1024),
                   preconditioned_sizes=(4, 16, 64, 256),
                   sgd_sizes={"fully-connected": (3, 4, 5), "convolution": (4, 6, 8)},
                   seeds=6, preconditioned_seeds=108, preconditioning_samples=2000,
                   figure_iterations=(100, 500), deep_iterations=(100,),
                   figure_mode="quick mode: 100 and 500 Adam iterations (the paper: 500, 10,000, "
                               "50,000); deep network 100")

    @classmethod
    def full(cls) -> ExperimentConfig:
        return cls(fully_connected_sizes=(16, 32, 64, 128, 256, 512, 1024, 2048),
                   convolution_sizes=(16, 32, 64, 128, 256, 512, 1024, 2048, 4096),
                   preconditioned_sizes=(4, 8, 16, 32, 64, 128, 256, 512, 1024),
                   sgd_sizes={"fully-connected": (3, 4, 5, 6, 8),
                              "convolution": (4, 6, 8, 12)},
                   seeds=8, preconditioned_seeds=128, preconditioning_samples=10000,
                   figure_iterations=(500, 10_000, 50_000), deep_iterations=(500, 10_000),
                   figure_mode="linear learners at the paper's 500, 10,000, 50,000 Adam "
                               "iterations; the deep network at 500 and 10,000 only (its 50,000 "
                               "do not fit the CPU time budget)")

    @classmethod
    def paper(cls) -> ExperimentConfig:
        """The full sweeps with Fig. 6's deep network at all of the paper's 500, 10,000 and
        50,000 Adam iterations."""
        return replace(cls.full(), deep_iterations=(500, 10_000, 50_000),
                       figure_mode="linear learners and the deep network at the paper's 500, "
                                   "10,000, 50,000 Adam iterations")
