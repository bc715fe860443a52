"""Gradient descent against the gradient flow of Saxe, McClelland, Ganguli (2014), arXiv:1312.6120,
Section 2 (Eqs. (6)-(9)): two layers, aligned balanced start, the largest |u_GD(t) - u(t)| / s over
t and modes, u(t) the closed form with tau = 1/eta in steps, is O(eta) (GD tracks the flow),
fitted over the step sizes whose deviation the dtype resolves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from optverify.kit import Bound, Figure, RateFit, Resolved, rate_panel, resolve
from optverify.theorems.saxe_dynamics.aligned_gd import Task, gd_trajectory, two_layer_closed_form
from optverify.theorems.saxe_dynamics.config import ExperimentConfig

GD_DEVIATION = Bound.tight("eta", 1, limit="zero")


HORIZON_MARGIN = 1.25
"""GD runs 25% past the slowest mode's predicted learning time, so every mode crosses s/2."""


@dataclass(frozen=True)
class Deviation:
    """max over time, starts and modes of |u_GD - u(t)| / s for two layers, and the scale of its
    rounding floor (s_max times the number of steps)."""

    value: float
    rounding_scale: float


def max_deviation(task: Task, eta: float, horizon: float) -> Deviation:
    steps = math.ceil(horizon / eta)
    history = gd_trajectory(task, 2, eta, steps)
    times = eta * torch.arange(steps + 1, dtype=history.dtype, device=history.device)
    exact = two_layer_closed_form(times, task.strengths, task.starts)
    return Deviation(float(((history - exact).abs() / task.strengths).max()),
                     float(task.strengths.max()) * steps)


@dataclass(frozen=True)
class DeviationSweep:
    """The GD-vs-flow deviation per learning rate, resolved against the dtype's rounding floor."""

    etas: tuple[float, ...]
    resolved: tuple[Resolved, ...]

    @property
    def kept_etas(self) -> list[float]:
        return [eta for eta, r in zip(self.etas, self.resolved) if not r.below_precision]

    @property
    def kept_values(self) -> list[float]:
        return [r.value for r in self.resolved if not r.below_precision]

    @property
    def values(self) -> dict[str, str]:
        return {f"max_deviation_eta_{eta:g}": r.describe()
                for eta, r in zip(self.etas, self.resolved)}


def deviation_sweep(config: ExperimentConfig, task: Task, horizon: float, dtype: str,
                    progress) -> DeviationSweep:
    deviations = [max_deviation(task, eta, horizon)
                  for eta in progress(config.etas, "torch: GD vs closed form")]
    return DeviationSweep(tuple(config.etas), tuple(resolve(d.value, d.rounding_scale, dtype)
                                                   for d in deviations))


def deviation_figure(sweep: DeviationSweep, fit: RateFit) -> Figure:
    return Figure("gd-deviation", "GD vs the closed-form flow", (rate_panel(
        "max |u_GD - u_flow| / s", "learning rate eta", "max deviation", sweep.kept_etas,
        sweep.kept_values, fit, GD_DEVIATION),))
