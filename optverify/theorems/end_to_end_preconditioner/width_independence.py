"""The end-to-end trajectory of gradient descent on deep linear networks from the same balanced
W_e at several hidden widths (Theorem 1 of Arora, Cohen, Hazan 2018, arXiv:1802.06509: the
end-to-end dynamics do not depend on the widths): equal up to float rounding; the negative control
embeds the same W_e unbalanced, where the trajectories differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import Panel, Series, Session, machine_epsilon, resolve
from optverify.numerics.deep_linear import balanced_factors, end_to_end, gradient_descent_step
from optverify.theorems.end_to_end_preconditioner.config import ExperimentConfig
from optverify.theorems.end_to_end_preconditioner.preconditioner import rotate_hidden
from optverify.theorems.end_to_end_preconditioner.sampling import Sampler


def gd_trajectory(factors, phi, eta: float, steps: int) -> torch.Tensor:
    """W_e(t) for t = 0..steps under GD on ||W_e - Phi||^2 / 2, stacked (steps + 1, rows, cols)."""
    path = [end_to_end(factors)]
    for _ in range(steps):
        factors = gradient_descent_step(factors, lambda w: w - phi, eta)
        path.append(end_to_end(factors))
    return torch.stack(path)


@dataclass(frozen=True)
class WidthSpread:
    """spread: max over widths of ||W_e^width(t) - W_e^first(t)||_F for t = 0..steps; scale: the
    largest ||W_e(t)||_F over all widths and steps."""

    spread: np.ndarray
    scale: float

    @property
    def worst(self) -> float:
        return float(self.spread.max())


def width_trajectories(sampler: Sampler, config: ExperimentConfig,
                       balanced: bool) -> WidthSpread:
    """End-to-end trajectories from one W_e (3 x 2) at every hidden width; when not balanced, the
    extra hidden units get non-zero input weights (W_1 rows) while their output weights stay 0, so
    W_e(0) is the same but the factors are unbalanced."""
    target = sampler.gaussian(3, 2)
    phi = sampler.gaussian(3, 2)
    paths = []
    for width in config.widths:
        hidden = [width] * (config.width_depth - 1)
        factors = balanced_factors(target, hidden)
        if not balanced and width > 2:
            factors[0] = factors[0].clone()
            factors[0][2:, :] = sampler.gaussian(width - 2, 2)
        factors = rotate_hidden(factors, sampler.rotations(hidden))
        paths.append(gd_trajectory(factors, phi, config.trajectory_eta,
                                   config.trajectory_steps))
    reference = paths[0]
    spread = torch.stack([torch.linalg.matrix_norm(path - reference) for path in paths[1:]])
    scale = float(torch.linalg.matrix_norm(torch.stack(paths)).max())
    return WidthSpread(spread.amax(dim=0).cpu().numpy(), scale)


def width_tolerance(dtype: str, config: ExperimentConfig, scale: float) -> float:
    """Rounding floor of a GD trajectory: each step's matrix products carry at most
    (depth * max width) * eps relative error (the standard bound for inner products of that
    length), accumulated at most linearly over the steps while GD contracts towards Phi."""
    eps = machine_epsilon(dtype)
    return (config.trajectory_steps * config.width_depth * max(config.widths)
            * eps * scale)


def _width_panel(config: ExperimentConfig, balanced: WidthSpread, unbalanced: WidthSpread,
                 tolerance: float) -> Panel:
    steps = np.arange(1, len(balanced.spread))
    tiny = np.finfo(float).tiny
    widths = ", ".join(map(str, config.widths))
    return Panel(
        f"W_e 3x2, N = {config.width_depth}, eta = {config.trajectory_eta:g}, widths {widths}",
        "GD step t",
        "max_width ||W_e^width(t) - W_e^first(t)||_F",
        (Series("balanced inits", tuple(map(float, steps)),
                tuple(float(max(v, tiny)) for v in balanced.spread[1:])),
         Series("unbalanced control", tuple(map(float, steps)),
                tuple(float(max(v, tiny)) for v in unbalanced.spread[1:])),
         Series("rounding floor (tolerance)", (float(steps[0]), float(steps[-1])),
                (tolerance, tolerance), "dashed")),
        xscale="linear",
    )


def record_widths(s: Session, config: ExperimentConfig, sampler: Sampler) -> None:
    """The end-to-end trajectory from one balanced W_e at several hidden widths, and the
    unbalanced control."""
    balanced = width_trajectories(sampler, config, balanced=True)
    unbalanced = width_trajectories(sampler, config, balanced=False)
    tolerance = width_tolerance(s.dtype, config, balanced.scale)
    s.identity(
        "end-to-end-trajectory-width-independent",
        f"GD from one balanced W_e (3x2, N = {config.width_depth}) at hidden widths "
        f"{', '.join(map(str, config.widths))} (random rotations of the hidden spaces): max over "
        f"{config.trajectory_steps} steps and widths of ||W_e^width(t) - W_e^first(t)||_F; "
        "equal up to float rounding", balanced.worst, tolerance,
        values={"spread": resolve(balanced.worst, balanced.scale, s.dtype).describe(),
                "scale": balanced.scale, "unbalanced_spread": unbalanced.worst},
        controls={"the same W_e(0) embedded unbalanced (extra hidden units with non-zero input "
                  "and zero output weights), same spread measure": unbalanced.worst},
    )
    s.figure("width-independence", "End-to-end trajectory spread across hidden widths",
             (_width_panel(config, balanced, unbalanced, tolerance),))
