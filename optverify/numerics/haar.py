"""Haar-distributed orthogonal matrices, in torch (batched) and in mpmath.

Both take the QR factorization of a standard Gaussian matrix and move the signs of diag(R) into Q,
which makes Q exactly Haar-distributed (Mezzadri 2007, "How to generate random matrices from the
classical compact groups", Notices of the AMS 54(5)); without the sign fix Q is biased.
"""

from __future__ import annotations

import mpmath
import numpy as np
import torch
from mpmath import mp

from optverify.numerics.validation import require_int


def haar_orthogonal(
    size: int,
    generator: torch.Generator,
    batch: tuple[int, ...] = (),
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Haar-random orthogonal matrices of shape (*batch, size, size)."""
    require_int("size", size, minimum=1)
    gaussian = torch.randn(*batch, size, size, generator=generator, dtype=dtype, device=device)
    q, r = torch.linalg.qr(gaussian)
    return q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)


def haar_orthogonal_mp(size: int, rng: np.random.Generator) -> mpmath.matrix:
    """A Haar-random orthogonal matrix at mpmath's working precision (QR in mpmath of a Gaussian
    drawn in float64, with the sign fix)."""
    require_int("size", size, minimum=1)
    gaussian = mp.matrix(rng.standard_normal((size, size)).tolist())
    q, r = mp.qr(gaussian)
    for column in range(size):
        if r[column, column] < 0:
            for row in range(size):
                q[row, column] = -q[row, column]
    return q
