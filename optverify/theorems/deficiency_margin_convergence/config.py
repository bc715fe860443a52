"""Sizes of the numeric and experiment layers for Arora, Cohen, Golowich, Hu (2019),
arXiv:1810.02281, at quick and full scale: the mpmath Theorem 1 instances and Theorem 2 sweep
(`NumericConfig`, read by `numeric` and `theorem2_probability`), and the torch
grid of Theorem 1 and Appendix C's Claims 4 and 5 (`ExperimentConfig`, read by `grid_runs` and
`appendix_c`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExperimentConfig:
    """Grid and run lengths; `quick` and `full` presets."""

    depths: tuple[int, ...]
    margins: tuple[float, ...]
    instances: int
    inside_fractions: tuple[float, ...]
    inside_steps: int
    outside_step_sizes: tuple[float, ...]
    flow_time: float
    large_step_sizes: tuple[float, ...]
    large_steps: int
    claim4_depths: tuple[int, ...]
    claim4_scales: tuple[float, ...]
    claim4_step_sizes: tuple[float, ...]
    claim4_steps: int
    claim5_depths: tuple[int, ...]
    claim5_step_sizes: tuple[float, ...]
    claim5_steps: int
    negative_eigenvalue: float = 0.5

    @classmethod
    def quick(cls) -> ExperimentConfig:
        return cls(
            depths=(2, 3), margins=(0.25, 0.5, 0.75), instances=2,
            inside_fractions=(1e-2, 1e-1, 1.0), inside_steps=60,
            outside_step_sizes=(3e-3, 6e-3, 1.2e-2, 2.4e-2), flow_time=2.0,
            large_step_sizes=(0.1, 0.2, 0.4), large_steps=200,
            claim4_depths=(2, 4), claim4_scales=(10.0, 100.0), claim4_step_sizes=(1e-2, 1e-1),
            claim4_steps=200,
            claim5_depths=(2, 4), claim5_step_sizes=(1e-2, 1e-1, 0.3), claim5_steps=300,
        )

    @classmethod
    def full(cls) -> ExperimentConfig:
        return cls(
            depths=(2, 3, 4), margins=(0.25, 0.5, 0.75), instances=4,
            inside_fractions=(1e-3, 1e-2, 1e-1, 1.0), inside_steps=300,
            outside_step_sizes=(1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2), flow_time=3.0,
            large_step_sizes=(0.05, 0.1, 0.2, 0.4, 0.8), large_steps=1000,
            claim4_depths=(2, 4, 6), claim4_scales=(10.0, 100.0, 1000.0),
            claim4_step_sizes=(1e-3, 1e-2, 1e-1), claim4_steps=1000,
            claim5_depths=(2, 4, 6), claim5_step_sizes=(1e-3, 1e-2, 3e-2, 1e-1, 0.3, 1.0),
            claim5_steps=3000,
        )


@dataclass(frozen=True)
class InstanceSpec:
    """A Theorem 1 instance: Phi's shape and singular values, hidden widths, designed margin."""

    rows: int
    cols: int
    singular_values: tuple[float, ...]
    hidden_widths: tuple[int, ...]
    design_margin: float

    @property
    def depth(self) -> int:
        return len(self.hidden_widths) + 1

    def label(self) -> str:
        return f"N={self.depth}, Phi {self.rows}x{self.cols}"


@dataclass(frozen=True)
class NumericConfig:
    """Sizes of the mpmath runs; `quick` and `full` presets."""

    instances: tuple[InstanceSpec, ...]
    steps: int
    scalar_margin: float
    scalar_kappa: float
    probability_inputs: tuple[int, ...]
    probability_scales: tuple[float, ...]
    probability_samples: int

    @classmethod
    def quick(cls) -> NumericConfig:
        return cls(
            instances=(
                InstanceSpec(2, 2, (1.0, 0.6), (3,), 0.3),
                InstanceSpec(2, 3, (1.2, 0.8), (2, 3), 0.4),
            ),
            steps=60,
            scalar_margin=0.9,
            scalar_kappa=1.0,
            probability_inputs=(20, 100),
            probability_scales=(0.1, 0.5, 1.0),
            probability_samples=2000,
        )

    @classmethod
    def full(cls) -> NumericConfig:
        return cls(
            instances=(
                InstanceSpec(2, 2, (1.0, 0.6), (3,), 0.3),
                InstanceSpec(2, 3, (1.2, 0.8), (2, 3), 0.4),
                InstanceSpec(3, 2, (1.5, 1.0), (2, 4, 2), 0.5),
                InstanceSpec(3, 3, (2.0, 1.5, 1.0), (3, 3, 3, 3), 0.6),
            ),
            steps=400,
            scalar_margin=0.9,
            scalar_kappa=6.0,
            probability_inputs=(20, 100, 400),
            probability_scales=(0.05, 0.2, 0.5, 1.0, 2.0),
            probability_samples=10000,
        )
