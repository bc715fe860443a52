"""Numeric layer of `jacobian-products`: mpmath at the session's precision (s.precision digits).

- The chi-square law behind the Gaussian Lyapunov exponent (Newman 1986): E log chi^2_n =
  log 2 + digamma(n/2) and Var(log chi^2_n) = trigamma(n/2), by mpmath quadrature.
- Newman's constants in the experiment's normalization (G with N(0, sigma^2/n) entries, sigma =
  3/4): E log ||G u|| = lambda_1 and Var log ||G u|| = trigamma(n/2)/4, by quadrature over the
  density of ||G u|| itself (an independent twin of the chi-square quadrature).
- At c = 0.01, T = 200 the product of scaled orthogonal Jacobians c Q_k (norm 1e-400) lies below
  the float64 range: the direct float64 product underflows (reported "below precision"), the
  renormalized float64 log-norm matches the mpmath one (the same accumulation in float32 does
  not: the negative control).
- Sanity checks (true by construction, up to rounding): ||(c Q_T) ... (c Q_1)||_2 = c^T at every
  T, to the precision floor; a tanh RNN with ||W||_2 < 1 (Pascanu, Mikolov, Bengio 2013,
  arXiv:1211.5063, eq. (6)-(7), with gamma = 1 for tanh): ||prod_k diag(1 - tanh^2(a_k)) W||_2 <=
  ||W||_2^T at every T (margins).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import numpy as np
import torch
from mpmath import mp

from optverify.kit import (
    BELOW_PRECISION,
    Figure,
    IntegerRange,
    Panel,
    RealRange,
    Series,
    Session,
    machine_epsilon,
)
from optverify.numerics.haar import haar_orthogonal_mp
from optverify.numerics.mp_linalg import to_mp
from optverify.numerics.validation import require_between, require_int, require_positive
from optverify.theorems.jacobian_products.products import renormalized_log_norms

SMALLEST_SUBNORMAL = float(np.nextafter(0.0, 1.0))
"""4.9e-324: the smallest positive float64; a norm below it can only be held as 0."""

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
            require_int("the dimension n", dimension, minimum=2)
        for depth in (self.depth, self.tiny_depth, self.rnn_depth):
            require_int("the number of Jacobians T", depth, minimum=1)
        require_between("the RNN bound's ||W||_2", self.rnn_norm, 0, 1)
        require_positive("the orthogonal scalings c", np.array((*self.scales, self.tiny_scale)))

    @classmethod
    def quick(cls) -> NumericConfig:
        return cls((2, 3, 8), 3, 20, (0.5, 1.5), 0.01, 200, 20, 0.9, 1.0)

    @classmethod
    def full(cls) -> NumericConfig:
        return cls((2, 3, 4, 5, 8, 16, 64), 4, 60, (0.5, 0.9, 1.1, 1.5), 0.01, 400, 60, 0.9, 1.0)


@dataclass(frozen=True)
class LogMoments:
    """E log X and Var log X of a chi-square variable X."""

    mean: mpmath.mpf
    variance: mpmath.mpf


def chi_square_log_moments(dimension: int) -> LogMoments:
    """E log X and Var log X for X ~ chi^2_n by tanh-sinh quadrature (call inside mp.workdps)."""
    require_int("the dimension n", dimension, minimum=2)
    half = mp.mpf(dimension) / 2
    norm = 2**half * mp.gamma(half)

    def moment(power: int):
        density = lambda x: mp.log(x) ** power * x ** (half - 1) * mp.exp(-x / 2) / norm
        return mp.quad(density, [0, 1, dimension, 4 * dimension, mp.inf])

    mean = moment(1)
    return LogMoments(mean, moment(2) - mean**2)


STEP_SIGMA = mpmath.mpf(3) / 4
"""The scale sigma of the one-step check: a value != 1, so that the normalization N(0, sigma^2/n)
of the experiment's Jacobians enters the closed forms."""


def gaussian_step_log_moments(dimension: int, sigma) -> LogMoments:
    """E log r and Var log r for r = ||G u||, G with N(0, sigma^2/n) entries and a unit u, by
    quadrature over r's own density 2 r^(n-1) e^(-r^2/(2 s^2)) / ((2 s^2)^(n/2) Gamma(n/2)),
    s^2 = sigma^2/n (call inside mp.workdps): the per-step mean and variance of the experiment's
    log-norms, in its normalization, independent of the chi-square quadrature."""
    require_int("the dimension n", dimension, minimum=2)
    half = mp.mpf(dimension) / 2
    scale_squared = mp.mpf(sigma) ** 2 / dimension
    norm = (2 * scale_squared) ** half * mp.gamma(half) / 2
    width = mp.sqrt(scale_squared * dimension)

    def moment(power: int):
        density = lambda r: (mp.log(r) ** power * r ** (dimension - 1)
                             * mp.exp(-r**2 / (2 * scale_squared)) / norm)
        return mp.quad(density, [0, width / 4, width, 4 * width, mp.inf])

    mean = moment(1)
    return LogMoments(mean, moment(2) - mean**2)


def spectral_norm_mp(matrix: mpmath.matrix):
    """||A||_2 = sqrt(largest eigenvalue of A^T A) (mpmath's symmetric eigensolver, which also
    converges for the equal singular values of a scaled orthogonal matrix, where svd_r stalls)."""
    eigenvalues, _ = mp.eigsy(matrix.T * matrix)
    return mp.sqrt(max(eigenvalues))


@dataclass(frozen=True)
class OrthogonalProduct:
    """residual: max over t <= T of max |P_t^T P_t / c^(2t) - I| (max-row-sum norm) for
    P_t = (c Q_t) ... (c Q_1); log_norms: log ||P_t||_2 for t = 1..T."""

    residual: mpmath.mpf
    log_norms: tuple[mpmath.mpf, ...]


def scaled_orthogonal_residual(rng: np.random.Generator, size: int, depth: int,
                               scale) -> OrthogonalProduct:
    """Products P_t = (c Q_t) ... (c Q_1) of Haar orthogonal Q_k: a zero residual means every
    singular value of P_t is c^t, so ||P_t v|| = c^t ||v|| for all v."""
    scale = mp.mpf(scale)
    total = mp.eye(size)
    worst, logs = mp.zero, []
    for step in range(1, depth + 1):
        total = scale * haar_orthogonal_mp(size, rng) * total
        gram = total.T * total / scale ** (2 * step) - mp.eye(size)
        worst = max(worst, mp.mnorm(gram, 1))
        logs.append(mp.log(spectral_norm_mp(total)))
    return OrthogonalProduct(worst, tuple(logs))


@dataclass(frozen=True)
class TinyProduct:
    """The product of T matrices c Q_k with c^T below float64: mpmath and float64 log-norms."""

    mp_log_norm: float
    renormalized_log_norm: float
    direct_norm: float
    exact_log_norm: float
    float32_log_norm: float

    @property
    def direct_log_norm(self) -> float:
        """log of the direct float64 product's norm (-inf where it underflows to 0)."""
        return math.log(self.direct_norm) if self.direct_norm > 0 else -math.inf

    @property
    def direct_residual(self) -> float:
        """The direct float64 product's relative log-norm error. Where its norm underflows to 0
        below the float64 range, the smallest error any norm it can hold would have (a lower
        bound on its error, finite): every non-zero float64 is at least the smallest subnormal,
        so its log-norm is at least log(SMALLEST_SUBNORMAL); inf where the exact norm was
        representable."""
        if self.direct_norm > 0:
            return abs(self.direct_log_norm - self.mp_log_norm) / abs(self.mp_log_norm)
        floor = math.log(SMALLEST_SUBNORMAL)
        if self.mp_log_norm >= floor:
            return math.inf
        return (floor - self.mp_log_norm) / abs(self.mp_log_norm)


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
    single = stack.to(torch.float32)
    in_float32 = renormalized_log_norms(unit.to(torch.float32), lambda t: single[t - 1], depth)[-1]
    direct = unit
    for matrix in stack:
        direct = matrix @ direct
    return TinyProduct(float(mp_log), float(renormalized), float(direct.norm()),
                       float(depth * mp.log(mp.mpf(scale))), float(in_float32))


@dataclass(frozen=True)
class RnnMargins:
    """margins: 1 - ||P_t||_2 / ||W||^t; log_norms: log ||P_t||_2; t = 1..T."""

    margins: tuple[mpmath.mpf, ...]
    log_norms: tuple[mpmath.mpf, ...]


def tanh_rnn_margins(rng: np.random.Generator, size: int, depth: int, weight_norm: float,
                     input_scale: float) -> RnnMargins:
    """The margins of ||P_t||_2 <= ||W||_2^t for t = 1..T, where P_t is the product of the last t
    Jacobians diag(1 - s_k^2) W of a tanh RNN s_k = tanh(W s_{k-1} + x_k)."""
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
    return RnnMargins(tuple(margins), tuple(logs))


def _chi_square_law(s: Session, dimensions: tuple[int, ...]) -> None:
    for dimension in s.progress(dimensions, "mpmath: chi-square log moments"):
        moments = chi_square_log_moments(dimension)
        half = mp.mpf(dimension) / 2
        s.identity(f"chi-square-log-mean-n{dimension}",
                   f"E log chi^2_{dimension} (mpmath quadrature) = log 2 + digamma({dimension}/2), "
                   "the law behind lambda_1 = log sigma + (1/2)(log(2/n) + digamma(n/2))",
                   float(abs(moments.mean - (mp.log(2) + mp.digamma(half)))),
                   controls={f"log E chi^2_{dimension} = log {dimension} (Jensen: the annealed "
                             "value)": float(abs(moments.mean - mp.log(dimension)))},
                   values={"E_log_chi2": float(moments.mean)})
        s.identity(f"chi-square-log-variance-n{dimension}",
                   f"Var(log chi^2_{dimension}) (mpmath quadrature) = trigamma({dimension}/2), so "
                   "Var(log ||J_T ... J_1 v||) = T trigamma(n/2) / 4",
                   float(abs(moments.variance - mp.psi(1, half))),
                   controls={f"the delta-method value 2/n = {2 / dimension:.4g}":
                             float(abs(moments.variance - mp.mpf(2) / dimension))},
                   values={"Var_log_chi2": float(moments.variance)})


def _gaussian_step_law(s: Session, dimensions: tuple[int, ...]) -> None:
    """Newman's constants in the experiment's normalization, checked before it measures them."""
    for dimension in s.progress(dimensions, "mpmath: one Gaussian step"):
        moments = gaussian_step_log_moments(dimension, STEP_SIGMA)
        half = mp.mpf(dimension) / 2
        lyapunov = mp.log(STEP_SIGMA) + (mp.log(mp.mpf(2) / dimension) + mp.digamma(half)) / 2
        s.identity(f"gaussian-step-log-mean-n{dimension}",
                   f"E log ||G u|| for G with N(0, sigma^2/{dimension}) entries, sigma = 3/4, u a "
                   "unit vector (mpmath quadrature over the density of ||G u||) = lambda_1 = log "
                   "sigma + (1/2)(log(2/n) + digamma(n/2)), the Lyapunov exponent the experiment "
                   "measures", float(abs(moments.mean - lyapunov)),
                   controls={"the annealed rate log sigma":
                             float(abs(moments.mean - mp.log(STEP_SIGMA)))},
                   values={"E_log_norm": float(moments.mean)})
        s.identity(f"gaussian-step-log-variance-n{dimension}",
                   f"Var log ||G u|| for G with N(0, sigma^2/{dimension}) entries, sigma = 3/4 "
                   "(mpmath quadrature over the density of ||G u||) = trigamma(n/2)/4, Newman's "
                   "per-step constant of Var(log ||J_T ... J_1 v||) = T trigamma(n/2)/4 in the "
                   "experiment's normalization",
                   float(abs(moments.variance - mp.psi(1, half) / 4)),
                   controls={f"the delta-method value 1/(2n) = {1 / (2 * dimension):.4g}":
                             float(abs(moments.variance - mp.mpf(1) / (2 * dimension)))},
                   values={"Var_log_norm": float(moments.variance),
                           "trigamma_over_4": float(mp.psi(1, half) / 4)})


def _scaled_orthogonal(s: Session, config: NumericConfig, rng: np.random.Generator) -> Panel:
    series = []
    for scale in s.progress(config.scales, "mpmath: scaled orthogonal products"):
        product = scaled_orthogonal_residual(rng, config.matrix_size, config.depth, scale)
        s.identity(f"scaled-orthogonal-c{scale:g}",
                   f"for {config.matrix_size} x {config.matrix_size} random orthogonal Q_k and c = "
                   f"{scale:g}: P_t^T P_t = c^(2t) I for P_t = (c Q_t) ... (c Q_1), so "
                   f"||P_t v|| = c^t ||v|| at every t <= {config.depth} (residual: worst "
                   "max-row-sum norm of P_t^T P_t / c^(2t) - I). A sanity check: a product of "
                   "orthogonal matrices is orthogonal, so the residual measures only the "
                   "generated Q_k's orthogonality at the run's precision (the identity is proved "
                   "in the symbolic layer)", float(product.residual), sanity=True,
                   values={"log_norm_at_T": float(product.log_norms[-1]),
                           "T_log_c": float(config.depth * mp.log(scale))})
        series.append(Series(f"c = {scale:g}", tuple(range(1, config.depth + 1)),
                             tuple(float(v) for v in product.log_norms)))
    return Panel("scaled orthogonal products (mpmath)", "T", "log ||prod c Q_k||_2",
                 tuple(series), xscale="linear", yscale="linear")


def _below_float64(s: Session, config: NumericConfig, rng: np.random.Generator) -> None:
    tiny = tiny_product(rng, config.matrix_size, config.tiny_depth, config.tiny_scale)
    # the float64 matrices are orthogonal to ~eps, so each step's norm is c (1 + O(eps))
    float_tolerance = RENORMALIZATION_ULPS * machine_epsilon("float64") * config.tiny_depth
    s.identity("renormalized-log-norm-below-float64",
               f"a product of T = {config.tiny_depth} matrices {config.tiny_scale:g} Q_k has norm "
               f"c^T = 1e{tiny.exact_log_norm / np.log(10):.0f}, below float64: the renormalized "
               "float64 log-norm equals the mpmath log-norm (residual relative to |log-norm|; "
               "tolerance 16 eps T), while the direct float64 product underflows",
               abs(tiny.renormalized_log_norm - tiny.mp_log_norm) / abs(tiny.mp_log_norm),
               float_tolerance,
               controls={"the same renormalized accumulation in float32 (rounding 2^-24 per "
                         "step)": abs(tiny.float32_log_norm - tiny.mp_log_norm)
                         / abs(tiny.mp_log_norm),
                         "the direct float64 product (its norm underflows to 0; residual: that "
                         "of the closest log-norm a float64 can hold, log 4.9e-324 = -744.4)":
                         tiny.direct_residual},
               values={"mp_log_norm": tiny.mp_log_norm, "T_log_c": tiny.exact_log_norm,
                       "mp_vs_T_log_c_residual": float(abs(tiny.mp_log_norm
                                                           - tiny.exact_log_norm)),
                       "renormalized_float64_log_norm": tiny.renormalized_log_norm,
                       "direct_float64_norm": tiny.direct_norm if tiny.direct_norm > 0
                       else BELOW_PRECISION})


def _tanh_rnn(s: Session, config: NumericConfig, rng: np.random.Generator) -> Panel:
    rnn = tanh_rnn_margins(rng, config.matrix_size, config.rnn_depth, config.rnn_norm,
                           config.input_scale)
    s.inequality("tanh-rnn-product-bound",
                 f"tanh RNN, n = {config.matrix_size}, ||W||_2 = {config.rnn_norm}: "
                 "||prod_k diag(1 - s_k^2) W||_2 <= ||W||_2^t at every t <= "
                 f"{config.rnn_depth} (margin 1 - ||P_t|| / ||W||^t, worst over t). A sanity "
                 "check: |1 - tanh^2| <= 1 and submultiplicativity give the bound for every W and "
                 "input, so only rounding can break it",
                 float(min(rnn.margins)), float(s.floor()), sanity=True,
                 values={"largest_margin": float(max(rnn.margins)),
                         "log_norm_at_T": float(rnn.log_norms[-1]),
                         "T_log_norm_W": float(config.rnn_depth * np.log(config.rnn_norm))})
    depths = tuple(range(1, config.rnn_depth + 1))
    return Panel(
        f"tanh RNN Jacobian products, ||W||_2 = {config.rnn_norm} (mpmath)", "T",
        "log ||prod of T Jacobians||_2",
        (Series("mpmath", depths, tuple(float(v) for v in rnn.log_norms)),
         Series("T log ||W||_2 (bound)", depths,
                tuple(t * float(np.log(config.rnn_norm)) for t in depths), "dashed")),
        xscale="linear", yscale="linear")


NON_NORMAL_DOMAIN = {"a": RealRange(-2, 2), "b": RealRange(-2, 2), "d": RealRange(-2, 2),
                     "T": IntegerRange(1, 12)}
"""W = [[a, b], [0, d]]: every real 2 x 2 matrix with real eigenvalues up to an orthogonal change
of basis (Schur form), b measuring its departure from normality; products of length T <= 12."""


def _power_gram_top(x, m):
    """The largest eigenvalue of (W^T)^T W^T, i.e. ||W^T||_2^2, for W = [[a, b], [0, d]]."""
    weight = m.matrix([[x["a"], x["b"]], [0, x["d"]]])
    power = weight
    for _ in range(x["T"] - 1):
        power = m.matmul(power, weight)
    return m.symmetric_eigenvalues(m.matmul(m.transpose(power), power))[-1]


def eigenvalue_wording_margin(x, m):
    """rho(W)^(2T) - ||W^T||_2^2: the first arXiv version's bound with lambda_1 read as the
    largest eigenvalue modulus (gamma = 1, the tanh RNN pinned at x = 0, where dx_T/dx_0 = W^T)."""
    return m.max(m.abs(x["a"]), m.abs(x["d"])) ** (2 * x["T"]) - _power_gram_top(x, m)


def singular_value_margin(x, m):
    """||W||_2^(2T) - ||W^T||_2^2: eq. (11) with lambda_1 the largest singular value (true)."""
    weight = m.matrix([[x["a"], x["b"]], [0, x["d"]]])
    return (m.symmetric_eigenvalues(m.matmul(m.transpose(weight), weight))[-1] ** x["T"]
            - _power_gram_top(x, m))


def _wording_searches(s: Session) -> None:
    """Pascanu's lambda_1 as an eigenvalue (false for non-normal W) and as a singular value."""
    s.search("eigenvalue-wording-search",
             "eq. (11) with lambda_1 the largest eigenvalue modulus rho(W) (arXiv v1): "
             "||W^T||_2 <= rho(W)^T for W = [[a, b], [0, d]], a, b, d in [-2, 2], T in 1..12",
             eigenvalue_wording_margin, NON_NORMAL_DOMAIN, decisive=False)
    s.search("singular-value-bound-search",
             "eq. (11) with lambda_1 the largest singular value: ||W^T||_2 <= ||W||_2^T for the "
             "same W and T", singular_value_margin, NON_NORMAL_DOMAIN, decisive=False)


def verify(s: Session) -> None:
    _wording_searches(s)
    config = s.preset(quick=NumericConfig.quick(), full=NumericConfig.full())
    rng = s.rng("numeric")
    with mp.workdps(s.precision):
        _chi_square_law(s, config.dimensions)
        _gaussian_step_law(s, config.dimensions)
        orthogonal_panel = _scaled_orthogonal(s, config, rng)
        _below_float64(s, config, rng)
        rnn_panel = _tanh_rnn(s, config, rng)
    s.figure(Figure("mpmath-products", "Jacobian products at high precision",
                    (orthogonal_panel, rnn_panel), columns=2))
    s.note(f"mpmath at {s.precision} digits; precision floor 10^-{s.floor_digits}.")
