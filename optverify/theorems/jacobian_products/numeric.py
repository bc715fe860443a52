"""Numeric layer of `jacobian-products`: mpmath at config.precision digits.

- The chi-square law behind the Gaussian Lyapunov exponent (Newman 1986): E log chi^2_n =
  log 2 + digamma(n/2) and Var(log chi^2_n) = trigamma(n/2), by mpmath quadrature.
- Products of scaled orthogonal Jacobians c Q_k: ||(c Q_T) ... (c Q_1)||_2 = c^T at every T, to the
  precision floor; at c = 0.01, T = 200 the product (norm 1e-400) lies below the float64 range: the
  direct float64 product underflows (reported "below precision"), the renormalized float64
  log-norm matches the mpmath one.
- A tanh RNN with ||W||_2 < 1 (Pascanu, Mikolov, Bengio 2013, arXiv:1211.5063, eq. (6)-(7), with
  gamma = 1 for tanh): ||prod_k diag(1 - tanh^2(a_k)) W||_2 <= ||W||_2^T at every T (margins).
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np
import torch
from mpmath import mp

from optverify.claim import Layer, Progress, RunConfig
from optverify.numerics.mp_linalg import to_mp
from optverify.numerics.precision import BELOW_PRECISION, machine_epsilon
from optverify.results import Check, Figure, LayerResult, Panel, Series
from optverify.theorems.jacobian_products.products import (
    check_depth,
    check_dimension,
    renormalized_log_norms,
)
from optverify.verdict import identity_check, inequality_check

FLOOR_DIGITS_MARGIN = 10
"""Precision floor 10^-(digits - 10): ten digits of headroom for the rounding of a few hundred
mpmath matrix products and of the quadrature."""

RENORMALIZATION_ULPS = 16
"""Each renormalized step adds a relative rounding of a few eps to the norm, so after T steps
the float64 log-norm carries at most RENORMALIZATION_ULPS * eps * T of rounding."""


@dataclass(frozen=True)
class NumericConfig:
    """dimensions: the n of the chi-square checks. matrix_size, depth, scales: the scaled
    orthogonal products. tiny_scale, tiny_depth: the product below float64 range.
    rnn_depth, rnn_norm, input_scale: the tanh RNN (||W||_2 = rnn_norm < 1)."""

    dimensions: tuple[int, ...]
    matrix_size: int
    depth: int
    scales: tuple[float, ...]
    tiny_scale: float
    tiny_depth: int
    rnn_depth: int
    rnn_norm: float
    input_scale: float

    def __post_init__(self) -> None:
        for dimension in (*self.dimensions, self.matrix_size):
            check_dimension(dimension)
        for depth in (self.depth, self.tiny_depth, self.rnn_depth):
            check_depth(depth)
        if not 0 < self.rnn_norm < 1:
            raise ValueError(f"the RNN bound needs 0 < ||W||_2 < 1, got {self.rnn_norm}")
        if not all(np.isfinite(c) and c > 0 for c in (*self.scales, self.tiny_scale)):
            raise ValueError("the orthogonal scalings c must be positive and finite")

    @classmethod
    def quick(cls) -> NumericConfig:
        return cls((2, 3, 8), 3, 20, (0.5, 1.5), 0.01, 200, 20, 0.9, 1.0)

    @classmethod
    def full(cls) -> NumericConfig:
        return cls((2, 3, 4, 5, 8, 16, 64), 4, 60, (0.5, 0.9, 1.1, 1.5), 0.01, 400, 60, 0.9, 1.0)


def chi_square_log_moments(dimension: int) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(E log X, Var log X) for X ~ chi^2_n by tanh-sinh quadrature (call inside mp.workdps)."""
    check_dimension(dimension)
    half = mp.mpf(dimension) / 2
    norm = 2**half * mp.gamma(half)

    def moment(power: int):
        density = lambda x: mp.log(x) ** power * x ** (half - 1) * mp.exp(-x / 2) / norm
        return mp.quad(density, [0, 1, dimension, 4 * dimension, mp.inf])

    mean = moment(1)
    return mean, moment(2) - mean**2


def orthogonal_mp(rng: np.random.Generator, size: int) -> mpmath.matrix:
    """A random orthogonal matrix at the working precision: QR (in mpmath) of a Gaussian matrix."""
    q, _ = mp.qr(to_mp(rng.standard_normal((size, size))))
    return q


def spectral_norm_mp(matrix: mpmath.matrix):
    """||A||_2 = sqrt(largest eigenvalue of A^T A) (mpmath's symmetric eigensolver, which also
    converges for the equal singular values of a scaled orthogonal matrix, where svd_r stalls)."""
    eigenvalues, _ = mp.eigsy(matrix.T * matrix)
    return mp.sqrt(max(eigenvalues))


def scaled_orthogonal_residual(rng: np.random.Generator, size: int, depth: int, scale):
    """max over t <= T of max |P_t^T P_t / c^(2t) - I| (entries) for P_t = (c Q_t) ... (c Q_1):
    zero means every singular value of P_t is c^t, so ||P_t v|| = c^t ||v|| for all v; and the
    log-norms log ||P_t||_2."""
    scale = mp.mpf(scale)
    total = mp.eye(size)
    worst, logs = mp.zero, []
    for step in range(1, depth + 1):
        total = scale * orthogonal_mp(rng, size) * total
        gram = total.T * total / scale ** (2 * step) - mp.eye(size)
        worst = max(worst, mp.mnorm(gram, 1))
        logs.append(mp.log(spectral_norm_mp(total)))
    return worst, logs


@dataclass(frozen=True)
class TinyProduct:
    """The product of T matrices c Q_k with c^T below float64: mpmath and float64 log-norms."""

    mp_log_norm: float
    renormalized_log_norm: float
    direct_norm: float
    exact_log_norm: float


def tiny_product(rng: np.random.Generator, size: int, depth: int, scale: float) -> TinyProduct:
    """||(c Q_T) ... (c Q_1) v|| in mpmath, renormalized float64 and direct float64."""
    matrices = [scale * np.linalg.qr(rng.standard_normal((size, size)))[0] for _ in range(depth)]
    vector = rng.standard_normal(size)
    image = to_mp(vector.reshape(-1, 1))
    for matrix in matrices:
        image = to_mp(matrix) * image
    mp_log = mp.log(mp.norm(image)) - mp.log(mp.norm(to_mp(vector.reshape(-1, 1))))
    stack = torch.tensor(np.array(matrices), dtype=torch.float64)
    unit = torch.tensor(vector / np.linalg.norm(vector), dtype=torch.float64)
    renormalized = renormalized_log_norms(unit, lambda t: stack[t - 1], depth)[-1]
    direct = unit
    for matrix in stack:
        direct = matrix @ direct
    return TinyProduct(float(mp_log), float(renormalized), float(direct.norm()),
                       float(depth * mp.log(mp.mpf(scale))))


def tanh_rnn_margins(rng: np.random.Generator, size: int, depth: int, weight_norm: float,
                     input_scale: float) -> tuple[list, list]:
    """(relative margins 1 - ||P_t||_2 / ||W||^t, log ||P_t||_2) for t = 1..T, where P_t is the
    product of the last t Jacobians diag(1 - s_k^2) W of a tanh RNN s_k = tanh(W s_{k-1} + x_k)."""
    raw = to_mp(rng.standard_normal((size, size)))
    weight = raw * (mp.mpf(weight_norm) / spectral_norm_mp(raw))
    state = mp.matrix(size, 1)
    jacobians = []
    for _ in range(depth):
        drive = to_mp(input_scale * rng.standard_normal((size, 1)))
        state = (weight * state + drive).apply(mp.tanh)
        derivative = mp.diag([1 - state[i] ** 2 for i in range(size)])
        jacobians.append(derivative * weight)
    bound_norm = spectral_norm_mp(weight)
    total, margins, logs = mp.eye(size), [], []
    for t in range(1, depth + 1):
        total = total * jacobians[depth - t]
        norm = spectral_norm_mp(total)
        margins.append(1 - norm / bound_norm**t)
        logs.append(mp.log(norm))
    return margins, logs


def verify(config: RunConfig, progress: Progress) -> LayerResult:
    setup = NumericConfig.quick() if config.quick else NumericConfig.full()
    digits = config.precision
    rng = config.numpy_rng("numeric")
    checks: list[Check] = []
    with mp.workdps(digits):
        floor = mp.mpf(10) ** (-(digits - FLOOR_DIGITS_MARGIN))
        for dimension in progress(setup.dimensions, "mpmath: chi-square log moments"):
            mean, variance = chi_square_log_moments(dimension)
            half = mp.mpf(dimension) / 2
            mean_residual = abs(mean - (mp.log(2) + mp.digamma(half)))
            variance_residual = abs(variance - mp.psi(1, half))
            checks.append(identity_check(
                Layer.NUMERIC, f"chi-square-log-mean-n{dimension}",
                f"E log chi^2_{dimension} (mpmath quadrature) = log 2 + digamma({dimension}/2), "
                "the law behind lambda_1 = log sigma + (1/2)(log(2/n) + digamma(n/2))",
                float(mean_residual), float(floor), precision_digits=digits,
                values={"E_log_chi2": float(mean)}))
            checks.append(identity_check(
                Layer.NUMERIC, f"chi-square-log-variance-n{dimension}",
                f"Var(log chi^2_{dimension}) (mpmath quadrature) = trigamma({dimension}/2), so "
                "Var(log ||J_T ... J_1 v||) = T trigamma(n/2) / 4",
                float(variance_residual), float(floor), precision_digits=digits,
                values={"Var_log_chi2": float(variance)}))
        orthogonal_series = []
        for scale in progress(setup.scales, "mpmath: scaled orthogonal products"):
            residual, logs = scaled_orthogonal_residual(rng, setup.matrix_size, setup.depth,
                                                        scale)
            checks.append(identity_check(
                Layer.NUMERIC, f"scaled-orthogonal-c{scale:g}",
                f"for {setup.matrix_size} x {setup.matrix_size} random orthogonal Q_k and c = "
                f"{scale:g}: P_t^T P_t = c^(2t) I for P_t = (c Q_t) ... (c Q_1), so "
                f"||P_t v|| = c^t ||v|| at every t <= {setup.depth} (residual: worst max-row-sum "
                "norm of P_t^T P_t / c^(2t) - I)",
                float(residual), float(floor), precision_digits=digits,
                values={"log_norm_at_T": float(logs[-1]),
                        "T_log_c": float(setup.depth * mp.log(scale))}))
            orthogonal_series.append(Series(f"c = {scale:g}", tuple(range(1, setup.depth + 1)),
                                            tuple(float(v) for v in logs)))
        tiny = tiny_product(rng, setup.matrix_size, setup.tiny_depth, setup.tiny_scale)
        mp_residual = abs(tiny.mp_log_norm - tiny.exact_log_norm)
        direct = tiny.direct_norm if tiny.direct_norm > 0 else BELOW_PRECISION
        eps = machine_epsilon("float64")
        # the float64 matrices are orthogonal to ~eps, so each step's norm is c (1 + O(eps))
        float_tolerance = RENORMALIZATION_ULPS * eps * setup.tiny_depth
        checks.append(identity_check(
            Layer.NUMERIC, "renormalized-log-norm-below-float64",
            f"a product of T = {setup.tiny_depth} matrices {setup.tiny_scale:g} Q_k has norm "
            f"c^T = 1e{tiny.exact_log_norm / np.log(10):.0f}, below float64: the renormalized "
            "float64 log-norm equals the mpmath log-norm (residual relative to |log-norm|), while "
            "the direct float64 product underflows",
            abs(tiny.renormalized_log_norm - tiny.mp_log_norm) / abs(tiny.mp_log_norm),
            float_tolerance,
            values={"mp_log_norm": tiny.mp_log_norm, "T_log_c": tiny.exact_log_norm,
                    "mp_vs_T_log_c_residual": float(mp_residual),
                    "renormalized_float64_log_norm": tiny.renormalized_log_norm,
                    "direct_float64_norm": direct}))
        margins, rnn_logs = tanh_rnn_margins(rng, setup.matrix_size, setup.rnn_depth,
                                             setup.rnn_norm, setup.input_scale)
        checks.append(inequality_check(
            Layer.NUMERIC, "tanh-rnn-product-bound",
            f"tanh RNN, n = {setup.matrix_size}, ||W||_2 = {setup.rnn_norm}: "
            "||prod_k diag(1 - s_k^2) W||_2 <= ||W||_2^t at every t <= "
            f"{setup.rnn_depth} (margin 1 - ||P_t|| / ||W||^t, worst over t)",
            float(min(margins)), float(floor),
            values={"largest_margin": float(max(margins)),
                    "log_norm_at_T": float(rnn_logs[-1]),
                    "T_log_norm_W": float(setup.rnn_depth * np.log(setup.rnn_norm))}))
    depths = tuple(range(1, setup.rnn_depth + 1))
    rnn_panel = Panel(
        f"tanh RNN Jacobian products, ||W||_2 = {setup.rnn_norm} (mpmath)", "T",
        "log ||prod of T Jacobians||_2",
        (Series("mpmath", depths, tuple(float(v) for v in rnn_logs)),
         Series("T log ||W||_2 (bound)", depths,
                tuple(t * float(np.log(setup.rnn_norm)) for t in depths), "dashed")),
        xscale="linear", yscale="linear")
    orthogonal_panel = Panel("scaled orthogonal products (mpmath)", "T", "log ||prod c Q_k||_2",
                             tuple(orthogonal_series), xscale="linear", yscale="linear")
    return LayerResult(
        layer=Layer.NUMERIC,
        checks=tuple(checks),
        figures=(Figure("mpmath-products", "Jacobian products at high precision",
                        (orthogonal_panel, rnn_panel), columns=2),),
        notes=(f"mpmath at {digits} digits; precision floor 10^-{digits - FLOOR_DIGITS_MARGIN}.",),
    )
