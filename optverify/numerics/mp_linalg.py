"""High-precision linear algebra with mpmath: conversions, norms, SVD and PSD fractional powers.

Every function works at the caller's mpmath precision: wrap calls in `mpmath.mp.workdps(digits)`.
Nothing here changes global precision.
"""

from __future__ import annotations

from collections.abc import Sequence

import mpmath
import numpy as np
from mpmath import mp


def to_mp(array) -> mpmath.matrix:
    """An mpmath matrix from a numpy array, nested lists or an mpmath matrix (vectors -> columns)."""
    if isinstance(array, mpmath.matrix):
        return array.copy()
    values = np.asarray(array, dtype=object)
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    if values.ndim != 2:
        raise ValueError(f"expected a matrix, got an array of {values.ndim} dimensions")
    return mp.matrix([[mp.mpf(v) for v in row] for row in values.tolist()])


def to_numpy(matrix: mpmath.matrix) -> np.ndarray:
    """A float64 numpy copy of an mpmath matrix (loses precision: for plotting and summaries)."""
    return np.array(matrix.tolist(), dtype=float)


def identity(size: int) -> mpmath.matrix:
    return mp.eye(size)


def frobenius_norm(matrix: mpmath.matrix) -> mpmath.mpf:
    return mp.sqrt(mp.fsum(entry**2 for entry in matrix))


def max_abs(matrix: mpmath.matrix) -> mpmath.mpf:
    """The largest absolute entry (0 for an empty matrix)."""
    return max((abs(entry) for entry in matrix), default=mp.zero)


def product(matrices: Sequence[mpmath.matrix], size: int | None = None) -> mpmath.matrix:
    """matrices[-1] @ ... @ matrices[0]; the identity of `size` when the list is empty."""
    if not matrices:
        if size is None:
            raise ValueError("an empty product needs a size")
        return mp.eye(size)
    result = matrices[0]
    for matrix in matrices[1:]:
        result = matrix * result
    return result


def svd(matrix: mpmath.matrix) -> tuple[mpmath.matrix, list[mpmath.mpf], mpmath.matrix]:
    """Thin SVD A = U diag(s) V^T at the working precision, s in decreasing order."""
    u, s, v = mp.svd_r(matrix, full_matrices=False, compute_uv=True)
    return u, [s[i] for i in range(len(s))], v.T


def psd_power(matrix: mpmath.matrix, exponent) -> mpmath.matrix:
    """A^p for a symmetric positive semi-definite A through its eigendecomposition.

    Eigenvalues at rounding level (|lambda| <= 10^(-dps/2) * ||A||) count as 0, and 0^0 = 1, as in
    the fractional powers [W W^T]^{(j-1)/N} of Arora, Cohen, Hazan (2018), Theorem 1.
    """
    size = matrix.rows
    if exponent == 0:
        return mp.eye(size)
    symmetric = (matrix + matrix.T) / 2
    eigenvalues, vectors = mp.eigsy(symmetric)
    scale = max(max_abs(symmetric), mp.mpf(1))
    floor = scale * mp.mpf(10) ** (-(mp.dps // 2))
    powered = mp.zeros(size, size)
    for i in range(size):
        value = eigenvalues[i]
        powered[i, i] = mp.zero if value <= floor else value ** mp.mpf(exponent)
    return vectors * powered * vectors.T
