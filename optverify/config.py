"""How a run is configured: mpmath digits, torch device and dtype, master seed, quick mode."""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

MIN_PRECISION_DIGITS = 10
MAX_PRECISION_DIGITS = 2000


@dataclass(frozen=True)
class RunConfig:
    """How to run the claims: mpmath digits, torch device and dtype, master seed, quick mode."""

    precision: int = 50
    device: str = "cpu"
    seed: int = 0
    quick: bool = False
    dtype: str = "float64"

    def __post_init__(self) -> None:
        if not MIN_PRECISION_DIGITS <= self.precision <= MAX_PRECISION_DIGITS:
            raise ValueError(
                f"precision must be between {MIN_PRECISION_DIGITS} and {MAX_PRECISION_DIGITS} "
                f"digits, got {self.precision}"
            )
        if self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}")

    def seed_for(self, purpose: str) -> int:
        """A seed derived from the master seed and a purpose name ('init', 'data', ...)."""
        return (self.seed * 1_000_003 + zlib.crc32(purpose.encode())) % 2**63

    def torch_generator(self, purpose: str) -> torch.Generator:
        import torch

        return torch.Generator(device=self.device).manual_seed(self.seed_for(purpose))

    def numpy_rng(self, purpose: str) -> np.random.Generator:
        return np.random.default_rng(self.seed_for(purpose))

    @property
    def torch_dtype(self) -> torch.dtype:
        import torch

        return getattr(torch, self.dtype)

    def as_dict(self) -> dict:
        return asdict(self)
