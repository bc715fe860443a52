"""Setting I's data (Shalev-Shwartz, Shamir, Shammah 2017, arXiv:1703.07950, Section 3, Fig. 5):
28 x 28 binary images of one line segment, angle theta ~ U[0, pi], length ~ U[5, 23], centre
~ U[0, 27]^2; per-image label sign(pi/2 - theta); a k-tuple's label is the product of its k labels.

Rasterization (vectorized): a point p = c + t (cos theta, sin theta) lights pixel
image[round(p_0), round(p_1)] (pixel i covers [i - 1/2, i + 1/2)), for t on 4 * 23 + 1 equally
spaced points of [-length/2, length/2] (spacing <= 1/4 pixel); points outside the grid are dropped.
The mirror x_0 -> 27 - x_0 maps a line of angle theta to one of angle pi - theta, flips its label,
and leaves the distribution of images invariant (the centre's U[0, 27] is symmetric about 13.5):
the antithetic pairs of the SNR estimator in `setting_one`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from optverify.numerics.validation import (
    require_finite,
    require_int,
    require_non_negative,
    require_shape,
)

SIZE = 28
MIN_LENGTH, MAX_LENGTH = 5.0, 23.0
SAMPLES_ALONG = 4 * int(MAX_LENGTH) + 1
"""Points per segment: a spacing of at most 1/4 pixel, so no pixel the segment crosses is skipped
by more than a corner."""


@dataclass(frozen=True)
class Lines:
    """n line segments: angle theta in [0, pi], length, centre (n x 2) in pixel coordinates."""

    angles: torch.Tensor
    lengths: torch.Tensor
    centres: torch.Tensor

    def __post_init__(self) -> None:
        n = self.angles.shape[0]
        require_shape("the angles", self.angles, (None,))
        require_shape("the lengths", self.lengths, (n,))
        require_shape("the centres", self.centres, (n, 2))
        require_finite("the angles", self.angles)
        require_finite("the centres", self.centres)
        require_non_negative("the lengths", self.lengths)


def sample_lines(n: int, generator: torch.Generator, device="cpu") -> Lines:
    """n lines from the paper's distribution (float64 parameters)."""
    require_int("the number of lines", n, minimum=1)
    options = {"generator": generator, "dtype": torch.float64, "device": device}
    angles = math.pi * torch.rand(n, **options)
    lengths = MIN_LENGTH + (MAX_LENGTH - MIN_LENGTH) * torch.rand(n, **options)
    centres = (SIZE - 1) * torch.rand(n, 2, **options)
    return Lines(angles, lengths, centres)


def rasterize(lines: Lines, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Binary images (n, 28, 28) of the segments, in `dtype`."""
    n = lines.angles.shape[0]
    t = torch.linspace(-0.5, 0.5, SAMPLES_ALONG, dtype=torch.float64,
                       device=lines.angles.device)
    offsets = lines.lengths[:, None] * t[None, :]
    first = torch.round(lines.centres[:, :1] + offsets * torch.cos(lines.angles)[:, None])
    second = torch.round(lines.centres[:, 1:] + offsets * torch.sin(lines.angles)[:, None])
    inside = (first >= 0) & (first < SIZE) & (second >= 0) & (second < SIZE)
    flat = torch.where(inside, first * SIZE + second, torch.full_like(first, SIZE * SIZE)).long()
    images = torch.zeros(n, SIZE * SIZE + 1, dtype=dtype, device=lines.angles.device)
    images.scatter_(1, flat, 1.0)
    return images[:, :-1].reshape(n, SIZE, SIZE)


def mirror(images: torch.Tensor) -> torch.Tensor:
    """x_0 -> 27 - x_0 (flip the first image axis): angle theta -> pi - theta."""
    return images.flip(-2)


def image_labels(angles: torch.Tensor) -> torch.Tensor:
    """sign(pi/2 - theta) in {-1, +1} (theta = pi/2 exactly, of probability 0, gets -1)."""
    return torch.where(angles < math.pi / 2, 1.0, -1.0).to(torch.float64)


def tuple_labels(labels: torch.Tensor) -> torch.Tensor:
    """The product of the per-image labels along the last axis (the k images of a tuple)."""
    if labels.dim() < 1 or labels.shape[-1] < 1:
        raise ValueError("tuple labels need at least one image per tuple")
    if not bool(((labels == 1) | (labels == -1)).all()):
        raise ValueError("per-image labels must be +-1")
    return labels.prod(dim=-1)
