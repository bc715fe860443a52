"""The staircase activation of `flat-activations` and its forward-only (GLMtron) update in torch.

Source: Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 5; Kakade, Kalai,
Kanade, Shamir (2011, GLMtron). u has `steps` levels -a, -a + h, ..., a (h = 2a / (steps - 1)),
jumping by h at the thresholds t_j = -a + (j - 1/2) h, j = 1..steps-1:
u(z) = -a + h * clamp(floor((z + a) / h + 1/2), 0, steps - 1), so autograd returns exactly 0.
For x ~ N(0, I_d) and z = w^T x + b: E[1{z >= t} x] = w / ||w|| phi((t - b) / ||w||) and
E[1{z >= t}] = Phi((b - t) / ||w||), so the expected update E[(u(w^T x + b) - y) (x, 1)] is a sum of
Gaussian densities and erf terms over the thresholds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from optverify.numerics.validation import require_finite, require_int, require_positive


@dataclass(frozen=True)
class Staircase:
    """A non-decreasing step function with `steps` levels on [-half_width, half_width]."""

    steps: int = 55
    half_width: float = 2.0

    def __post_init__(self) -> None:
        require_int("a staircase's number of steps", self.steps, minimum=2)
        require_positive("the staircase's half_width", self.half_width)

    @property
    def height(self) -> float:
        return 2 * self.half_width / (self.steps - 1)

    def thresholds(self, dtype=torch.float64, device="cpu") -> torch.Tensor:
        j = torch.arange(1, self.steps, dtype=dtype, device=device)
        return -self.half_width + (j - 0.5) * self.height

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        index = torch.floor((z + self.half_width) / self.height + 0.5).clamp(0, self.steps - 1)
        return -self.half_width + self.height * index

    def residual_(self, z: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """u(z) - targets with z overwritten (the sampled update's inner loop: four in-place
        operations and one product instead of `self(z) - targets`'s eight new tensors); equal to
        it up to the rounding of (z + a) / h + 1/2 computed as z / h + (a / h + 1/2)."""
        index = z.mul_(1 / self.height).add_(self.half_width / self.height + 0.5).floor_()
        return index.clamp_(0, self.steps - 1).mul_(self.height).sub_(targets + self.half_width)

    def smooth(self, z: torch.Tensor, temperature: float) -> torch.Tensor:
        """The sigmoid-sum approximation -a + h sum_j sigmoid((z - t_j) / temperature)."""
        t = self.thresholds(z.dtype, z.device)
        return -self.half_width + self.height * torch.sigmoid((z.unsqueeze(-1) - t) / temperature
                                                             ).sum(-1)

    def bin_index(self, z: torch.Tensor) -> torch.Tensor:
        return torch.floor((z + self.half_width) / self.height + 0.5).clamp(0, self.steps - 1).long()


@dataclass(frozen=True)
class StepMoments:
    """sum_j h E[1{w^T x + b >= t_j} x] (along, shape (..., d)) and sum_j h E[1{w^T x + b >= t_j}]
    (level, shape (...))."""

    along: torch.Tensor
    level: torch.Tensor


def _step_moments(weights: torch.Tensor, bias: torch.Tensor, stair: Staircase) -> StepMoments:
    """The step moments of z = w^T x + b, batched over leading dimensions of weights (..., d) and
    bias (...)."""
    norm = weights.norm(dim=-1).clamp_min(torch.finfo(weights.dtype).tiny)
    t = stair.thresholds(weights.dtype, weights.device)
    standardized = (t - bias.unsqueeze(-1)) / norm.unsqueeze(-1)
    density = torch.exp(-standardized**2 / 2) / math.sqrt(2 * math.pi)
    tail = 0.5 * torch.erfc(standardized / math.sqrt(2))
    direction = weights / norm.unsqueeze(-1)
    return StepMoments((stair.height * density.sum(-1)).unsqueeze(-1) * direction,
                       stair.height * tail.sum(-1))


@dataclass(frozen=True)
class Update:
    """The forward-only update: weights = E[(u(w^T x + b) - y) x], bias = E[u(w^T x + b) - y]."""

    weights: torch.Tensor
    bias: torch.Tensor


def expected_update(weights, bias, target_weights, target_bias, stair: Staircase) -> Update:
    """The update for x ~ N(0, I_d), y = u(v^T x + c), in closed form (module docstring); leading
    dimensions are batched."""
    for name, values in (("the weights", weights), ("the bias", bias),
                         ("the target weights", target_weights), ("the target bias", target_bias)):
        require_finite(name, values)
    own = _step_moments(weights, bias, stair)
    target = _step_moments(target_weights, target_bias, stair)
    return Update(own.along - target.along, own.level - target.level)


@dataclass(frozen=True)
class SampledUpdate:
    """The forward-only update by Monte Carlo: the means for w and b, and the standard errors of
    all d + 1 entries (w first, then b)."""

    weights: torch.Tensor
    bias: torch.Tensor
    stderr: torch.Tensor


def monte_carlo_update(weights, bias, target_weights, target_bias, stair: Staircase,
                       samples: int, generator: torch.Generator) -> SampledUpdate:
    """The same expectation as `expected_update` by sampling x ~ N(0, I_d)."""
    for name, values in (("the weights", weights), ("the bias", bias),
                         ("the target weights", target_weights), ("the target bias", target_bias)):
        require_finite(name, values)
    x = torch.randn(samples, weights.shape[-1], generator=generator, dtype=weights.dtype,
                    device=weights.device)
    residual = stair(x @ weights + bias) - stair(x @ target_weights + target_bias)
    terms = torch.cat([residual.unsqueeze(-1) * x, residual.unsqueeze(-1)], dim=-1)
    mean = terms.mean(0)
    stderr = terms.std(0) / math.sqrt(samples)
    return SampledUpdate(mean[:-1], mean[-1], stderr)
