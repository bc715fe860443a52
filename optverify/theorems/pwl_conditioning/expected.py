"""Exact expected SGD (Lemma 2) for the three learners of Section 4, without a step loop.

Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Lemma 2 and Theorem 3, Section 4.1.3.
SGD on 1/2 ||p_hat - p||^2 is linear in the parameters, and a fresh mini-batch is independent of
the current iterate, so the expected iterate follows the expected recursion exactly:
- fully connected (U, target W^{-1} = B): with W = Q S V^T and c = eta lambda S_11^2,
  E[U_t] - W^{-1} = -V diag((1 - c s_i^2 / s_1^2)^t / s_i) Q^T, so
  ||E[U_t] - W^{-1}||_2 = max_i |1 - c s_i^2/s_1^2|^t / s_i. Each term decreases in t (0 < c < 1),
  so the first t below a target tau is max_i ceil(log(tau s_i) / log(1 - c s_i^2/s_1^2)), and
  only the singular values s_i < 1/tau contribute. Those are 1/sqrt(mu) for the eigenvalues
  mu > tau^2 of the pentadiagonal B^T B (Lemma 1), found by a banded eigensolver (O(n^2), no
  dense SVD); s_1 comes from the structured Lanczos of `structured.ramp_spectrum`.
- convolution (3 taps v, target v* = (1, -2, 1)): E[v_t] - v* = (I - eta n C)^t (-v*), C the
  exact 3x3 window moment (moments.py); with eta = c / (n lambda_max(C)) the filter error
  ||E[v_t] - v*|| / ||v*|| is a sum of decreasing exponentials in the eigenbasis of C, so its
  first time below a target is found by bisection on t (monotone), for every n at once.
- preconditioned (taps v' on whitened windows R w, R = C_m^{-1/2}, raw filter R v'):
  E[v'_t] - v'* = (I - eta n R C R)^t (-v'*), eta = c / (n lambda_max(R C R)); the raw filter
  error R (E[v'_t] - v'*) is evaluated for every t up to a horizon at once (counts are tens).
"""

from __future__ import annotations

import math

from dataclasses import dataclass

import numpy as np
import scipy.linalg
from mpmath import mp

from optverify.numerics.validation import require_between, require_positive
from optverify.theorems.pwl_conditioning.structured import (
    inverse_gram_bands,
    ramp_spectrum,
    ramp_spectrum_dense,
)

SECOND_DIFFERENCE = np.array([1.0, -2.0, 1.0])
DENSE_SPECTRUM_BELOW = 64
"""Sizes below this take the whole spectrum from a dense SVD (the banded solver's twin)."""


@dataclass(frozen=True)
class RampSpectrumBelow:
    """The singular values of W below a cut, and the extremes.

    n: size; sigma_max, sigma_min: the largest and smallest singular values of W;
    below: every singular value of W smaller than `cut`, ascending.
    """

    n: int
    sigma_max: float
    sigma_min: float
    cut: float
    below: np.ndarray


def ramp_singular_values_below(n: int, cut: float) -> RampSpectrumBelow:
    """Every singular value s < cut of W (f = W p), as 1/sqrt of the eigenvalues mu > 1/cut^2 of
    the pentadiagonal B^T B (banded LAPACK, absolute error ~ 16 eps, so relative ~ 64 eps cut^2 on
    these); sigma_max by structured Lanczos. Small n: from a dense SVD."""
    require_positive("the target error", cut)
    if n < DENSE_SPECTRUM_BELOW:
        return ramp_singular_values_below_dense(n, cut)
    mu = scipy.linalg.eigvals_banded(inverse_gram_bands(n), lower=False, select="v",
                                     select_range=(1.0 / cut**2, 17.0))
    below = np.sort(1.0 / np.sqrt(mu))
    return RampSpectrumBelow(n, ramp_spectrum(n).sigma_max, float(below[0]), cut, below)


def ramp_singular_values_below_dense(n: int, cut: float) -> RampSpectrumBelow:
    """The same from a dense SVD of W (O(n^3)): the twin of `ramp_singular_values_below`."""
    dense = ramp_spectrum_dense(n)
    index = np.arange(n)
    values = np.linalg.svd(np.maximum(index[:, None] - index[None, :] + 1, 0).astype(float),
                           compute_uv=False)
    return RampSpectrumBelow(n, dense.sigma_max, dense.sigma_min, cut,
                             np.sort(values[values < cut]))


def crossing_time(previous, hit, error_previous, error_hit, target: float) -> np.ndarray:
    """The time log(error) reaches log(target), interpolated linearly between the checkpoint
    `previous` (error above the target) and `hit` (below): exact for an error that decays
    exponentially between the two; `hit` itself where the two errors coincide (0/0 included);
    `previous` where the error reached exactly 0 (an infinite drop)."""
    previous, hit = np.asarray(previous, dtype=float), np.asarray(hit, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        drop = np.log(np.asarray(error_previous, dtype=float)
                      / np.asarray(error_hit, dtype=float))
        needed = np.log(np.asarray(error_previous, dtype=float) / target)
        share = np.where(drop > 0, needed / drop, 1.0)
    return previous + (hit - previous) * np.clip(share, 0.0, 1.0)


def _log_contraction(spectrum: RampSpectrumBelow, factor: float) -> np.ndarray:
    """log(1 - c s_i^2 / s_1^2) for the kept s_i (log1p: these ratios reach 1e-13 at n = 2000)."""
    return np.log1p(-factor * (spectrum.below / spectrum.sigma_max) ** 2)


def expected_error(spectrum: RampSpectrumBelow, factor: float, steps) -> np.ndarray:
    """||E[U_t] - W^{-1}||_2 for every t in `steps` (vectorized over t), exact where it is below
    the cut's 1/cut (the terms of the larger singular values are then smaller)."""
    require_between("the step factor c = eta lambda_max", factor, 0, 1)
    steps = np.asarray(steps, dtype=float)
    logs = steps[:, None] * _log_contraction(spectrum, factor)[None, :] - np.log(spectrum.below)
    return np.exp(logs.max(axis=1))


def expected_hitting_time(spectrum: RampSpectrumBelow, factor: float, target: float) -> int:
    """The first t with ||E[U_t] - W^{-1}||_2 < target (Lemma 2), per singular value in closed
    form: max_i ceil(log(target s_i) / log(1 - c s_i^2/s_1^2)) over the s_i < 1/target: the
    floor of `expected_crossing_time` + 1 (0 where no term lies above the target)."""
    crossing = expected_crossing_time(spectrum, factor, target)
    return 0 if crossing == 0.0 else math.floor(crossing) + 1


def expected_crossing_time(spectrum: RampSpectrumBelow, factor: float, target: float) -> float:
    """The continuous time at which ||E[U_t] - W^{-1}||_2 reaches `target`: each term
    |1 - c s_i^2/s_1^2|^t / s_i is exponential in t, so the norm (their maximum) crosses at
    max_i log(target s_i) / log(1 - c s_i^2/s_1^2); `expected_hitting_time` is its floor + 1."""
    require_between("the step factor c = eta lambda_max", factor, 0, 1)
    require_positive("the target error", target)
    if spectrum.cut < 1 / target:
        raise ValueError(f"the spectrum is cut at {spectrum.cut}, below 1/target = {1 / target}")
    kept = spectrum.below < 1 / target
    if not kept.any():
        return 0.0
    needed = np.log(target * spectrum.below[kept]) / _log_contraction(spectrum, factor)[kept]
    return float(np.max(needed))


def ramp_crossing_time(n: int, factor: float, target: float) -> float:
    """`expected_crossing_time` for size n, from the spectrum cut at 1/target."""
    return expected_crossing_time(ramp_singular_values_below(n, 1.0 / target * (1 + 1e-9)),
                                  factor, target)


def ramp_hitting_time(n: int, factor: float, target: float) -> int:
    """`expected_hitting_time` for size n, from the spectrum cut at 1/target."""
    return expected_hitting_time(ramp_singular_values_below(n, 1.0 / target * (1 + 1e-9)),
                                 factor, target)


@dataclass(frozen=True)
class FilterProblem:
    """The expected recursion of a 3-tap learner: e_{t+1} = (I - c M / lambda_max(M)) e_t in the
    learner's coordinates, raw filter error R e_t; M = R C R (R = I without preconditioning).

    values, vectors: the eigendecomposition of M, (sizes, 3) ascending and (sizes, 3, 3), computed
    at high precision (cond(C) reaches 1e12); raw: R, (sizes, 3, 3); start: e_0 = -R^{-1} v*."""

    values: np.ndarray
    vectors: np.ndarray
    raw: np.ndarray
    start: np.ndarray

    @property
    def condition(self) -> np.ndarray:
        return self.values[:, -1] / self.values[:, 0]


def _mp_eigh(matrix) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = mp.eigsy(matrix)
    order = sorted(range(3), key=lambda i: values[i])
    return (np.array([float(values[i]) for i in order]),
            np.array([[float(vectors[r, i]) for i in order] for r in range(3)]))


def filter_problem(moments, whitening=None, digits: int = 40) -> FilterProblem:
    """The 3-tap problems of the exact moments C (a list of 3x3 sympy or mpmath matrices, or an
    array (sizes, 3, 3)), whitened by R (sizes, 3, 3) when given; M = R C R, its eigenpairs and
    R^{-1} v* in mpmath at `digits` digits."""
    problems = []
    with mp.workdps(digits):
        for index, moment in enumerate(moments):
            exact = mp.matrix([[mp.mpf(str(moment[r, c])) if not isinstance(moment, np.ndarray)
                                else mp.mpf(float(moment[r, c])) for c in range(3)]
                               for r in range(3)])
            raw = (mp.eye(3) if whitening is None
                   else mp.matrix([[mp.mpf(float(v)) for v in row] for row in whitening[index]]))
            values, vectors = _mp_eigh(raw * exact * raw)
            start = -(mp.lu_solve(raw, mp.matrix(SECOND_DIFFERENCE.tolist())))
            problems.append((values, vectors, np.array(raw.tolist(), dtype=float),
                             np.array([float(v) for v in start])))
    values, vectors, raws, starts = (np.stack(column) for column in zip(*problems))
    return FilterProblem(values, vectors, raws, starts)


def filter_errors(problem: FilterProblem, factor: float, steps) -> np.ndarray:
    """||R E[e_t]|| / ||v*||: for a 1-D `steps` at every t for every size, (sizes, T); for a 2-D
    `steps` (sizes, T) at each size's own t."""
    require_between("the step factor c = eta lambda_max", factor, 0, 1)
    log_rate = np.log1p(-factor * problem.values / problem.values[:, -1:])     # (sizes, 3)
    coefficients = np.einsum("sji,sj->si", problem.vectors, problem.start)     # (sizes, 3)
    steps = np.asarray(steps, dtype=float)
    grid = steps if steps.ndim == 2 else steps[None, :]
    decay = np.exp(grid[:, :, None] * log_rate[:, None, :])                    # (sizes, T, 3)
    raw_vectors = problem.raw @ problem.vectors                                # (sizes, 3, 3)
    errors = np.einsum("sab,stb->sta", raw_vectors, decay * coefficients[:, None, :])
    return np.linalg.norm(errors, axis=-1) / np.linalg.norm(SECOND_DIFFERENCE)


def filter_hitting_times(problem: FilterProblem, factor: float, target: float,
                         horizon: int | None = None) -> np.ndarray:
    """The first t with ||R E[e_t]|| / ||v*|| < target, per size.

    Without a horizon the error must be monotone in t (R = I: orthogonal decaying components), and
    integer bisection finds the first t for every size at once; with one, every t <= horizon is
    evaluated and the first below the target taken (horizon + 1 where none is)."""
    require_positive("the target error", target)
    if horizon is not None:
        below = filter_errors(problem, factor, np.arange(horizon + 1)) < target
        return np.where(below.any(axis=1), below.argmax(axis=1), horizon + 1)
    if not np.allclose(problem.raw, np.eye(3)):
        raise ValueError("bisection needs the monotone (unwhitened) error; pass a horizon")

    def above(steps: np.ndarray) -> np.ndarray:
        return filter_errors(problem, factor, steps[:, None].astype(float))[:, 0] >= target

    low = np.zeros(problem.start.shape[0], dtype=np.int64)     # error(low) >= target
    high = np.ones_like(low)
    while (still := above(high)).any():
        low, high = np.where(still, high, low), np.where(still, 2 * high, high)
    while np.any(high - low > 1):
        middle = (low + high) // 2
        still = above(middle)
        low, high = np.where(still, middle, low), np.where(still, high, middle)
    return high


def filter_crossing_times(problem: FilterProblem, factor: float, target: float,
                          horizon: int | None = None) -> np.ndarray:
    """Per size, the continuous time at which the expected filter error reaches `target`:
    log(error) interpolated linearly between the last step above it and the first below
    (`filter_hitting_times`), the rule the stochastic twin's crossings use (linear_sgd)."""
    hits = filter_hitting_times(problem, factor, target, horizon)
    steps = np.stack([np.maximum(hits - 1, 0), hits], axis=1).astype(float)
    errors = filter_errors(problem, factor, steps)
    return crossing_time(steps[:, 0], steps[:, 1], errors[:, 0], errors[:, 1], target)
