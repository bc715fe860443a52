"""Learning times of deep linear nets from SMALL RANDOM initialization (the setting of Saxe,
McClelland, Ganguli 2014, arXiv:1312.6120, Section 2, Eqs. (8)-(9), and Section 3): no alignment with
the modes, no balancedness, the raw GD times (no division by the theory's log factor).

Setting: whitened inputs, target Sigma_31 = U diag(s) V^T with Haar-random U, V (a fresh pair per
initialization), square loss 1/2 ||W_N ... W_1 - Sigma_31||_F^2, hidden width `width`, every weight
entry i.i.d. N(0, sigma^2). All initializations and all modes run as one batched GD program; the
learning time of mode alpha is the first time t = eta x steps at which u_alpha = u_alpha^T W_e v_alpha
reaches s_alpha / 2.

The initial scale u_init, fixed before measuring:
- two layers: with a = W_1 v_alpha and b = W_2^T u_alpha (both N(0, sigma^2 I_width)), the linear
  phase of the flow grows a + b as e^{s t} and shrinks a - b as e^{-s t}, so u = a.b behaves as the
  aligned mode started at u_eff = |a + b|^2 / 4, of mean u_init = width sigma^2 / 2. sigma is chosen
  from u_init. The paper's time, t = (1/(2s)) ln[(s - u_0)/u_0] at u_f = s/2, is then
  (1/(2s)) ln(x - 1) in x = s/u_init (up to the random O(1) shift ln(u_init/u_eff)): Theta(x^-1 ln x)
  as x -> infinity, the limit of a small start relative to the strength. The claim is stated with
  that log factor (Bound.tight("s/u_init", -1, log_power=1)), in the variable x = s/u_init the log
  factor is about; it is not hidden by a sweep where the log looks constant.
- N >= 3 layers: per-layer gain g = u_init^(1/N) (sigma^2 = g^2 / width), the strength of the
  balanced aligned chain of that gain. Saxe et al. (Section 3): t ~ u_0^-(1 - 2/N) / ((N - 2) s), no
  log factor; corrections relative (u_init/s)^(1 - 2/N) vanish as x = s/u_init -> infinity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from optverify.numerics.haar import haar_orthogonal
from optverify.numerics.validation import require_depth
from optverify.theorems.saxe_dynamics.learning_crossing import (
    LEARNED_FRACTION,
    depth_flow_times,
    gd_crossing_times,
    require_small_start_sweep,
)



@dataclass(frozen=True)
class RandomStartConfig:
    """strengths: the singular values s of Sigma_31 (one net learns them all); width: hidden width;
    runs: independent random initializations (the units the intervals resample); u_init: the
    initial scale (module docstring); eta: GD learning rate; depth: weight layers."""

    strengths: tuple[float, ...]
    width: int
    runs: int
    u_init: float
    eta: float
    depth: int

    def __post_init__(self) -> None:
        require_small_start_sweep(self.strengths, self.u_init, self.eta, self.runs, "mode")
        if self.width < len(self.strengths):
            raise ValueError(f"the hidden width {self.width} must hold all "
                             f"{len(self.strengths)} modes")
        require_depth(self.depth)

    @property
    def modes(self) -> int:
        return len(self.strengths)

    @property
    def entry_std(self) -> float:
        """sigma of the weight entries (module docstring)."""
        if self.depth == 2:
            return math.sqrt(2 * self.u_init / self.width)
        return self.u_init ** (1 / self.depth) / math.sqrt(self.width)

    @property
    def relative_strengths(self) -> np.ndarray:
        """x = s / u_init, the variable the claim's limit is about."""
        return np.array(self.strengths) / self.u_init

    def flow_times(self) -> np.ndarray:
        """Per mode, the aligned balanced flow's time from u_0 = u_init to s/2 (depth N >= 3:
        t = int du / (N u^(2-2/N) (s - u)), Saxe et al. Section 3; tau = 1)."""
        if self.depth == 2:
            raise ValueError("the depth-N flow time is for N >= 3 (two layers: Eq. (9))")
        return depth_flow_times(self.strengths, self.u_init, self.depth)

    def predicted_horizon(self) -> float:
        """The slowest mode's predicted time from u_init (two layers: the closed form; deeper:
        the leading order u_init^-(1 - 2/N) / ((N - 2) s))."""
        s = min(self.strengths)
        if self.depth == 2:
            return math.log((s - self.u_init) / self.u_init) / (2 * s)
        return self.u_init ** -(1 - 2 / self.depth) / ((self.depth - 2) * s)


@dataclass(frozen=True)
class RandomStartRun:
    """times: GD learning times (runs, modes); effective_starts: two layers, |a + b|^2 / 4 per run
    and mode at initialization (None for deeper nets); steps: GD steps taken."""

    config: RandomStartConfig
    times: np.ndarray
    effective_starts: np.ndarray | None
    steps: int

    @property
    def learned(self) -> bool:
        return bool(np.isfinite(self.times).all())

    def decoupled_prediction(self) -> np.ndarray:
        """Two layers: each run's and mode's aligned-flow time from its own effective start,
        (1/(2s)) ln[(s - u_eff)/u_eff] (Eq. (9) at u_f = s/2)."""
        if self.effective_starts is None:
            raise ValueError("the decoupled prediction is the two-layer one")
        s = np.array(self.config.strengths)
        return np.log((s - self.effective_starts) / self.effective_starts) / (2 * s)


def initial_weights(config: RandomStartConfig, generator: torch.Generator, dtype, device
                    ) -> list[torch.Tensor]:
    """W_1 (width x modes), hidden layers (width x width), W_N (modes x width), batched over runs,
    entries N(0, sigma^2)."""
    widths = [config.modes, *([config.width] * (config.depth - 1)), config.modes]
    return [config.entry_std * torch.randn(config.runs, rows, cols, generator=generator,
                                           dtype=dtype, device=device)
            for cols, rows in zip(widths[:-1], widths[1:])]


def random_targets(config: RandomStartConfig, generator: torch.Generator, dtype, device
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Haar U, V per run (runs, modes, modes)."""
    def draw():
        return torch.stack([haar_orthogonal(config.modes, generator, dtype=dtype, device=device)
                            for _ in range(config.runs)])
    return draw(), draw()


def run_random_start(config: RandomStartConfig, generator: torch.Generator,
                     dtype=torch.float64, device: str = "cpu") -> RandomStartRun:
    """GD from small random initialization until every mode of every run reaches s/2 (or
    MAX_TIME_FACTOR times the predicted horizon passes: those times are NaN)."""
    left, right = random_targets(config, generator, dtype, device)
    strengths = torch.tensor(config.strengths, dtype=dtype, device=device)
    target = left @ torch.diag_embed(strengths.expand(config.runs, -1)) @ right.mT
    factors = initial_weights(config, generator, dtype, device)
    effective = None
    if config.depth == 2:
        grows = factors[0] @ right + factors[1].mT @ left  # a + b for every mode (runs, width, m)
        effective = (grows.square().sum(1) / 4).cpu().numpy()
    level = LEARNED_FRACTION * strengths

    def modes(product) -> torch.Tensor:
        return torch.diagonal(left.mT @ product @ right, dim1=-2, dim2=-1)

    times, steps = gd_crossing_times(factors, target, modes, level, config.eta,
                                     config.predicted_horizon())
    return RandomStartRun(config, times.cpu().numpy(), effective, steps)
