"""Random balanced initializations for the experiment of `end-to-end-preconditioner` (Theorem 1 of
Arora, Cohen, Hazan 2018, arXiv:1802.06509): Procedure 1 of arXiv:1810.02281 at given hidden
widths, the hidden spaces mixed by Haar rotations so that the factors are dense, drawn from one
seeded torch stream on the run's dtype and device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from optverify.kit import Session
from optverify.numerics.deep_linear import balanced_factors
from optverify.numerics.haar import haar_orthogonal
from optverify.theorems.end_to_end_preconditioner.preconditioner import rotate_hidden


@dataclass(frozen=True)
class Sampler:
    """One seeded torch stream on the run's dtype and device: Gaussian tensors and Haar
    rotations, drawn in the order the measurements ask for them."""

    generator: torch.Generator
    dtype: torch.dtype
    device: str

    @classmethod
    def of(cls, s: Session, purpose: str) -> Sampler:
        return cls(s.generator(purpose), s.torch_dtype, s.device)

    def gaussian(self, *shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=self.generator, dtype=self.dtype, device=self.device)

    def rotations(self, widths, batch: tuple[int, ...] = ()) -> list[torch.Tensor]:
        """A Haar-random rotation of each hidden space."""
        return [haar_orthogonal(width, self.generator, batch, self.dtype, self.device)
                for width in widths]

    def tensor(self, values) -> torch.Tensor:
        return torch.tensor(values, dtype=self.dtype, device=self.device)


def dense_balanced_factors(target, hidden, sampler: Sampler):
    """Procedure 1 at the given hidden widths, hidden spaces mixed by random rotations."""
    rotations = sampler.rotations(hidden, target.shape[:-2])
    return rotate_hidden(balanced_factors(target, hidden), rotations)
