"""Structured linear algebra for the ramp matrix W_ij = [i - j + 1]_+ and its banded inverse.

Section 4 of Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950: a piecewise-linear curve
sampled at x = 1..n is f = W p, with W = T^2 (T the lower-triangular matrix of ones) and, by
Lemma 1, W^{-1} = B the banded matrix (1 on the diagonal, -2 and 1 on the first two
sub-diagonals). So W p is a double cumulative sum (O(n)) and W^{-1} is banded. The extreme singular
values of W come from these structures without a dense SVD:
- sigma_max(W)^2 = lambda_max(W^T W), by Lanczos (`scipy.sparse.linalg.eigsh`) on the O(n)
  operator p -> W^T W p (its top eigenvalue is well separated: ratio ~ 0.025 to the next);
- sigma_min(W) = 1 / sigma_max(B), with lambda_max(B^T B) < 16 found by Lanczos on the banded
  inverse (16 I - B^T B)^{-1} (banded Cholesky, `scipy.linalg.cho_solve_banded`), whose top
  eigenvalues are well separated while those of B^T B cluster at 16.
The `_mp` functions refine these float64 eigenpairs at the caller's mpmath precision (power
iteration with cumulative sums for sigma_max, shifted inverse iteration with a banded Cholesky for
sigma_min), in O(n) mpmath operations per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

import mpmath
import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg
from mpmath import mp

from optverify.numerics.validation import require_int

GRAM_INVERSE_BOUND = 16
"""||B||_2 < 4 for every n (B = (I - S)^2 with ||I - S||_2 < 2), so B^T B < 16 I."""

_MP_MAX_ITERATIONS = 400


def ramp_matrix(n: int) -> np.ndarray:
    """Dense W_ij = [i - j + 1]_+ (1-based), float64."""
    require_int("the ramp matrix size n", n, minimum=2)
    index = np.arange(n)
    return np.maximum(index[:, None] - index[None, :] + 1, 0).astype(float)


def second_difference_matrix(n: int) -> scipy.sparse.csr_matrix:
    """B = W^{-1} (Lemma 1): 1 on the diagonal, -2 on the first and 1 on the second sub-diagonal."""
    require_int("the ramp matrix size n", n, minimum=2)
    diagonals = [np.ones(n), -2.0 * np.ones(n - 1), np.ones(n - 2)]
    return scipy.sparse.diags(diagonals, [0, -1, -2], format="csr")


def ramp_matvec(p: np.ndarray) -> np.ndarray:
    """W p along the last axis: a double cumulative sum, O(n)."""
    return np.cumsum(np.cumsum(p, axis=-1), axis=-1)


def ramp_rmatvec(q: np.ndarray) -> np.ndarray:
    """W^T q along the last axis: a double reversed cumulative sum, O(n)."""
    reversed_q = np.flip(q, axis=-1)
    return np.flip(np.cumsum(np.cumsum(reversed_q, axis=-1), axis=-1), axis=-1)


def _gram_operator(n: int) -> scipy.sparse.linalg.LinearOperator:
    return scipy.sparse.linalg.LinearOperator(
        (n, n), matvec=lambda x: ramp_rmatvec(ramp_matvec(np.ravel(x))), dtype=float
    )


def inverse_gram_bands(n: int) -> np.ndarray:
    """B^T B (pentadiagonal) in LAPACK upper banded storage, rows (2nd super, 1st super, diag)."""
    require_int("the ramp matrix size n", n, minimum=2)
    diagonal = np.full(n, 6.0)
    diagonal[-1] = 1.0
    if n >= 2:
        diagonal[-2] = 5.0
    first = np.full(n - 1, -4.0)
    first[-1] = -2.0
    bands = np.zeros((3, n))
    bands[0, 2:] = 1.0
    bands[1, 1:] = first
    bands[2] = diagonal
    return bands


def _shifted_inverse_operator(n: int) -> scipy.sparse.linalg.LinearOperator:
    """x -> (16 I - B^T B)^{-1} x by a banded Cholesky factorization (O(n) per product)."""
    shifted = -inverse_gram_bands(n)
    shifted[2] += GRAM_INVERSE_BOUND
    factor = scipy.linalg.cholesky_banded(shifted)
    return scipy.sparse.linalg.LinearOperator(
        (n, n), matvec=lambda x: scipy.linalg.cho_solve_banded((factor, False), np.ravel(x)),
        dtype=float,
    )


@dataclass(frozen=True)
class RampSpectrum:
    """The extreme singular values of W (size n) and the unit vectors that attain them.

    sigma_max, sigma_min: largest and smallest singular values of W.
    top_vector: unit right singular vector of sigma_max(W) (top eigenvector of W^T W).
    bottom_vector: unit top eigenvector of B^T B = (W W^T)^{-1}, i.e. the left singular vector of
        W at sigma_min(W).
    """

    n: int
    sigma_max: float
    sigma_min: float
    top_vector: np.ndarray | None = None
    bottom_vector: np.ndarray | None = None

    @property
    def gram_condition(self) -> float:
        """cond(W^T W) = (sigma_max / sigma_min)^2."""
        return (self.sigma_max / self.sigma_min) ** 2


def _lanczos_start(n: int) -> np.ndarray:
    """A fixed start vector for Lanczos: without `v0`, ARPACK starts from its own random vector,
    so the float64 eigenpairs (and every residual computed from them) changed from run to run.
    A fixed-seed Gaussian vector has a nonzero component on every eigenvector almost surely."""
    return np.random.default_rng(n).standard_normal(n)


def ramp_spectrum(n: int) -> RampSpectrum:
    """sigma_max(W) and sigma_min(W) in float64 from O(n) structured products (no dense SVD)."""
    require_int("the ramp matrix size n", n, minimum=2)
    if n <= 3:
        return ramp_spectrum_dense(n)
    start = _lanczos_start(n)
    top_value, top_vector = scipy.sparse.linalg.eigsh(_gram_operator(n), k=1, which="LA", tol=0,
                                                      v0=start)
    inverse_value, bottom_vector = scipy.sparse.linalg.eigsh(
        _shifted_inverse_operator(n), k=1, which="LA", tol=0, v0=start
    )
    largest_inverse_gram = GRAM_INVERSE_BOUND - 1.0 / float(inverse_value[0])
    return RampSpectrum(
        n=n,
        sigma_max=float(np.sqrt(top_value[0])),
        sigma_min=float(1.0 / np.sqrt(largest_inverse_gram)),
        top_vector=top_vector[:, 0],
        bottom_vector=bottom_vector[:, 0],
    )


def ramp_spectrum_dense(n: int) -> RampSpectrum:
    """The same extremes from a dense SVD of W (O(n^3)): the twin of `ramp_spectrum`."""
    require_int("the ramp matrix size n", n, minimum=2)
    left, singular_values, right = np.linalg.svd(ramp_matrix(n))
    return RampSpectrum(n, float(singular_values[0]), float(singular_values[-1]),
                        right[0], left[:, -1])


@dataclass(frozen=True)
class RampExtremes:
    """The extreme singular values of W at the caller's mpmath precision.

    sigma_max, sigma_min: largest and smallest singular values of W (mpf).
    """

    sigma_max: mpmath.mpf
    sigma_min: mpmath.mpf

    @property
    def gram_condition(self) -> mpmath.mpf:
        """cond(W^T W) = (sigma_max / sigma_min)^2."""
        return (self.sigma_max / self.sigma_min) ** 2


def ramp_matvec_mp(p: list) -> list:
    """W p at mpmath precision (double cumulative sum of a list of mpf)."""
    return list(accumulate(accumulate(p)))


def ramp_rmatvec_mp(q: list) -> list:
    """W^T q at mpmath precision."""
    return list(accumulate(accumulate(q[::-1])))[::-1]


@dataclass(frozen=True)
class Pentadiagonal:
    """A symmetric pentadiagonal matrix by its diagonals, mpf lists: main (n entries), first
    (n - 1) and second (n - 2) sub-diagonals."""

    main: list
    first: list
    second: list

    def shifted(self, shift: mpmath.mpf) -> Pentadiagonal:
        """shift I - A."""
        return Pentadiagonal([shift - v for v in self.main], [-v for v in self.first],
                             [-v for v in self.second])


def _inverse_gram_mp(n: int) -> Pentadiagonal:
    """B^T B at mpmath precision."""
    bands = inverse_gram_bands(n)
    return Pentadiagonal([mp.mpf(v) for v in bands[2]], [mp.mpf(v) for v in bands[1, 1:]],
                         [mp.mpf(v) for v in bands[0, 2:]])


def _pentadiagonal_cholesky_mp(matrix: Pentadiagonal) -> list[list]:
    """L with L L^T = A for a symmetric positive definite pentadiagonal A, at mpmath precision.

    mpmath has no banded solver, so this is the textbook band Cholesky (bandwidth 2): rows of L
    are [L_{j,j-2}, L_{j,j-1}, L_{j,j}].
    """
    main, first, second = matrix.main, matrix.first, matrix.second
    n = len(main)
    rows = []
    for j in range(n):
        far = second[j - 2] / rows[j - 2][2] if j >= 2 else mp.zero
        near_inner = far * rows[j - 1][1] if j >= 2 else mp.zero
        near = (first[j - 1] - near_inner) / rows[j - 1][2] if j >= 1 else mp.zero
        rows.append([far, near, mp.sqrt(main[j] - far**2 - near**2)])
    return rows


def _cholesky_solve_mp(rows: list[list], rhs: list) -> list:
    n = len(rows)
    y = []
    for j in range(n):
        value = rhs[j]
        if j >= 1:
            value -= rows[j][1] * y[j - 1]
        if j >= 2:
            value -= rows[j][0] * y[j - 2]
        y.append(value / rows[j][2])
    x = [mp.zero] * n
    for j in range(n - 1, -1, -1):
        value = y[j]
        if j + 1 < n:
            value -= rows[j + 1][1] * x[j + 1]
        if j + 2 < n:
            value -= rows[j + 2][0] * x[j + 2]
        x[j] = value / rows[j][2]
    return x


def _dot(a: list, b: list) -> mpmath.mpf:
    return mp.fsum(x * y for x, y in zip(a, b))


def _normalized(vector: list) -> list:
    norm = mp.sqrt(_dot(vector, vector))
    return [v / norm for v in vector]


def _rayleigh_iteration(step, start: np.ndarray, quotient) -> mpmath.mpf:
    """Iterate x <- step(x)/|step(x)| until the Rayleigh quotient is stable to the working
    precision; returns the converged quotient."""
    vector = _normalized([mp.mpf(float(v)) for v in start])
    previous = None
    floor = mp.mpf(10) ** (-mp.dps + 2)
    for _ in range(_MP_MAX_ITERATIONS):
        image = step(vector)
        value = quotient(vector, image)
        if previous is not None and abs(value - previous) <= floor * abs(value):
            return value
        previous = value
        vector = _normalized(image)
    raise ArithmeticError(f"Rayleigh iteration did not converge in {_MP_MAX_ITERATIONS} steps")


def ramp_spectrum_mp(n: int) -> RampExtremes:
    """sigma_max(W) and sigma_min(W) at the caller's mpmath precision, O(n) work per iteration.

    Starts from the float64 eigenvectors of `ramp_spectrum`. sigma_max: power iteration on W^T W
    (cumulative sums). sigma_min: inverse iteration on (s I - B^T B) with the shift s just above
    the float64 estimate of lambda_max(B^T B) (positive definite, so a band Cholesky applies).
    """
    require_int("the ramp matrix size n", n, minimum=2)
    start = ramp_spectrum(n) if n > 3 else ramp_spectrum_dense(n)
    top = _rayleigh_iteration(
        lambda v: ramp_rmatvec_mp(ramp_matvec_mp(v)), start.top_vector, _dot
    )
    largest_estimate = mp.mpf(1) / mp.mpf(start.sigma_min) ** 2
    # 1e-8 relative: far above the float64 error of the estimate, far below the eigenvalue gap.
    shift = largest_estimate * (1 + mp.mpf(10) ** -8)
    factor = _pentadiagonal_cholesky_mp(_inverse_gram_mp(n).shifted(shift))
    inverse = _rayleigh_iteration(
        lambda v: _cholesky_solve_mp(factor, v), start.bottom_vector, _dot
    )
    largest_inverse_gram = shift - 1 / inverse
    return RampExtremes(mp.sqrt(top), 1 / mp.sqrt(largest_inverse_gram))


def ramp_spectrum_dense_mp(n: int) -> RampExtremes:
    """sigma_max(W) and sigma_min(W) from mpmath's dense SVD (O(n^3)): the twin for small n."""
    require_int("the ramp matrix size n", n, minimum=2)
    matrix = mp.matrix([[max(i - j + 1, 0) for j in range(n)] for i in range(n)])
    values = mp.svd_r(matrix, compute_uv=False)
    return RampExtremes(max(values), min(values))
