"""Procedure 1 (balanced initialization) of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281, at
mpmath precision: its factors of a random A are exactly balanced (C_j = 0), multiply to A, and
each has the non-zero singular values of A to the power 1/N; the control is the naive
factorization W_N = A with identities below (same product, unbalanced).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mpmath
from mpmath import mp

from optverify.numerics.deep_linear import balancedness_gaps_mp, end_to_end_mp
from optverify.numerics.mp_linalg import frobenius_norm, svd


@dataclass(frozen=True)
class ProcedureResidual:
    """Procedure 1's guarantees at mpmath precision, each a residual that is 0 in exact arithmetic.

    gap: max_j ||C_j||_F. product: ||W_N...W_1 - A||_F. spectrum: the largest gap between each
    factor's non-zero singular values and those of A to the power 1/N.
    """

    gap: mpmath.mpf
    product: mpmath.mpf
    spectrum: mpmath.mpf

    @property
    def worst(self) -> float:
        return float(max(self.gap, self.product, self.spectrum))

    def as_values(self) -> dict[str, float]:
        return {"gap": float(self.gap), "product": float(self.product),
                "spectrum": float(self.spectrum)}


def procedure_one_residual(product: mpmath.matrix,
                           factors: Sequence[mpmath.matrix]) -> ProcedureResidual:
    """The residuals of Procedure 1's factors of `product` (see ProcedureResidual)."""
    depth = len(factors)
    _, target_values, _ = svd(product)
    root = [value ** (mp.one / depth) for value in target_values]
    spectrum_gap = mp.zero
    for factor in factors:
        _, values, _ = svd(factor)
        spectrum_gap = max(spectrum_gap, max(abs(a - b) for a, b in zip(values, root)))
    return ProcedureResidual(
        gap=max(frobenius_norm(gap) for gap in balancedness_gaps_mp(factors)),
        product=frobenius_norm(end_to_end_mp(factors) - product),
        spectrum=spectrum_gap,
    )


def naive_factors(product: mpmath.matrix, widths: Sequence[int]) -> list[mpmath.matrix]:
    """The negative control of Procedure 1: W_N = A (embedded), every other layer an identity
    embedding. W_N ... W_1 = A still, but the factors are unbalanced and their singular values
    are not those of A^(1/N)."""
    depth = len(widths) - 1
    factors = []
    for j in range(1, depth + 1):
        rows, cols = widths[j], widths[j - 1]
        layer = mp.zeros(rows, cols)
        if j == depth:
            for r in range(product.rows):
                for c in range(min(product.cols, cols)):
                    layer[r, c] = product[r, c]
        else:
            for i in range(min(rows, cols)):
                layer[i, i] = mp.one
        factors.append(layer)
    return factors
