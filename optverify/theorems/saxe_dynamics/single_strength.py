"""Learning times of deep linear nets that EACH LEARN ONE STRENGTH, from small random
initialization: the depth-N law of Saxe, McClelland, Ganguli (2014), arXiv:1312.6120, Section 3,
per mode, without the competition between modes that one multi-mode net adds.

Setting: whitened inputs, a rank-1 target Sigma_31 = s a b^T per net (a, b uniform unit vectors in
R^dimension, fresh per net), square loss 1/2 ||W_N ... W_1 - Sigma_31||_F^2, hidden width `width`,
every weight entry i.i.d. N(0, g^2 / width) with per-layer gain g = u_init^(1/N) (the balanced
aligned chain of strength u_init). One net per (initialization, strength), all batched into one GD
program; the learning time is the first time t = eta x steps at which u = a^T W_e b reaches s/2.

The paper's depth-N flow (tau = 1), tau du/dt = N u^(2-2/N) (s - u), takes
t_flow(s) = int_{u_init}^{s/2} du / (N u^(2-2/N) (s - u)) from u_0 = u_init; its limit as
x = s/u_init -> infinity is u_init^-(1-2/N) / ((N - 2) s) = Theta(x^-1), approached with a relative
correction ~ x^-(1-2/N) (x^-1/3 at N = 3: the straight-line exponent of t_flow in x is still about
-0.93 over x = 50..400 and -0.975 over x = 500..8000). A random start is close to the aligned
chain started at a random multiple of u_init, so GD learns in Theta(t_flow): the statement judged,
free of t_flow's slow approach to its limit (the random start's own correction, also ~ x^-1/3,
remains: GD / t_flow drifts from about 1.23 to 1.21 over x = 500..8000).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from optverify.numerics.validation import require_depth, require_int
from optverify.theorems.saxe_dynamics.learning_crossing import (
    LEARNED_FRACTION,
    depth_flow_times,
    gd_crossing_times,
    require_small_start_sweep,
)



@dataclass(frozen=True)
class SingleStrengthConfig:
    """strengths: the strength s of each net's rank-1 target; dimension: input and output
    dimension; width: hidden width; runs: independent initializations per strength (the units the
    intervals resample); u_init: the initial scale (per-layer gain u_init^(1/N)); eta: GD learning
    rate; depth: N >= 3 weight layers."""

    strengths: tuple[float, ...]
    dimension: int
    width: int
    runs: int
    u_init: float
    eta: float
    depth: int

    def __post_init__(self) -> None:
        require_small_start_sweep(self.strengths, self.u_init, self.eta, self.runs, "strength")
        require_int("the input and output dimension", self.dimension, minimum=1)
        require_int("the hidden width", self.width, minimum=1)
        require_depth(self.depth, "the depth N of the single-strength nets", minimum=3)

    @property
    def entry_std(self) -> float:
        """sigma = u_init^(1/N) / sqrt(width) (module docstring)."""
        return self.u_init ** (1 / self.depth) / math.sqrt(self.width)

    @property
    def relative_strengths(self) -> np.ndarray:
        """x = s / u_init, the variable the paper's limit is about."""
        return np.array(self.strengths) / self.u_init

    def flow_times(self) -> np.ndarray:
        """t_flow per strength: the depth-N flow's time from u_init to s/2 (module docstring)."""
        return depth_flow_times(self.strengths, self.u_init, self.depth)

    def leading_times(self) -> np.ndarray:
        """The paper's leading order u_init^-(1-2/N) / ((N - 2) s) per strength."""
        n = self.depth
        return self.u_init ** -(1 - 2 / n) / ((n - 2) * np.array(self.strengths))


@dataclass(frozen=True)
class SingleStrengthRun:
    """times: GD learning times (runs, strengths), NaN where a net did not learn; steps taken."""

    config: SingleStrengthConfig
    times: np.ndarray
    steps: int

    @property
    def learned(self) -> bool:
        return bool(np.isfinite(self.times).all())


def unit_vectors(config: SingleStrengthConfig, generator: torch.Generator, dtype, device
                 ) -> torch.Tensor:
    """Uniform unit vectors, one per net (runs, strengths, dimension)."""
    gaussian = torch.randn(config.runs, len(config.strengths), config.dimension,
                           generator=generator, dtype=dtype, device=device)
    return gaussian / gaussian.norm(dim=-1, keepdim=True)


def initial_weights(config: SingleStrengthConfig, generator: torch.Generator, dtype, device
                    ) -> list[torch.Tensor]:
    """W_1 (width x dimension), hidden layers (width x width), W_N (dimension x width), batched
    over (runs, strengths), entries N(0, sigma^2)."""
    widths = [config.dimension, *([config.width] * (config.depth - 1)), config.dimension]
    return [config.entry_std * torch.randn(config.runs, len(config.strengths), rows, cols,
                                           generator=generator, dtype=dtype, device=device)
            for cols, rows in zip(widths[:-1], widths[1:])]


def run_single_strength(config: SingleStrengthConfig, generator: torch.Generator,
                        dtype=torch.float64, device: str = "cpu") -> SingleStrengthRun:
    """GD on every net until each reaches s/2 (or MAX_TIME_FACTOR times the slowest flow time
    passes: those times are NaN)."""
    left = unit_vectors(config, generator, dtype, device)
    right = unit_vectors(config, generator, dtype, device)
    strengths = torch.tensor(config.strengths, dtype=dtype, device=device)
    target = strengths[None, :, None, None] * left[..., :, None] * right[..., None, :]
    factors = initial_weights(config, generator, dtype, device)
    level = LEARNED_FRACTION * strengths

    def strength(product) -> torch.Tensor:
        return (left[..., None, :] @ product @ right[..., :, None])[..., 0, 0]

    times, steps = gd_crossing_times(factors, target, strength, level, config.eta,
                                     float(config.flow_times().max()))
    return SingleStrengthRun(config, times.cpu().numpy(), steps)
