"""Symbolic layer of `jacobian-products`: sympy proves the singular-value bounds on products of
Jacobians, the exact norm c^T of a product of scaled orthogonal matrices, and the chi-square law
behind the closed-form top Lyapunov exponent of iid Gaussian Jacobians.

Sources: the product rule dL/ds_0 = dL/ds_T prod_k ds_{k+1}/ds_k and its exponential growth or
decay (Bengio, Simard, Frasconi 1994; Pascanu, Mikolov, Bengio 2013, arXiv:1211.5063, Section 2.1,
eq. (5)-(7)); the top Lyapunov exponent of iid Gaussian matrices (Newman 1986; Cohen and Newman
1984): for n x n matrices with N(0, sigma^2 / n) entries and a unit vector v,
||G v||^2 ~ (sigma^2 / n) chi^2_n, so lambda_1 = (1/2) E log ||G v||^2
= log sigma + (1/2) (log(2 / n) + digamma(n / 2)).

Rotations are written with the rational parametrization cos = (1 - t^2) / (1 + t^2),
sin = 2 t / (1 + t^2), so every identity is one of rational functions, which sympy decides exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy

from optverify.kit import Session
from optverify.numerics.deep_linear import end_to_end_symbolic
from optverify.numerics.validation import require_int

SCALE = sympy.Symbol("c", positive=True)
SIGMA = sympy.Symbol("sigma", positive=True)
CHI_SQUARE_VARIABLE = sympy.Symbol("x", positive=True)


@dataclass(frozen=True)
class SymbolicConfig:
    """depths: the T of the scaled orthogonal products; moment_dimensions: the n of the Lyapunov
    closed form; variance_dimensions: the n of the variance law.

    sympy reduces E (log chi^2_n)^2 to closed form for n = 2, 3, 5; for even n >= 4 it returns
    unreduced Meijer-G terms, so the variance law is proved here for those n and checked at every
    n by mpmath quadrature in the numeric layer."""

    depths: tuple[int, ...]
    moment_dimensions: tuple[int, ...]
    variance_dimensions: tuple[int, ...]

    @classmethod
    def quick(cls) -> SymbolicConfig:
        return cls((1, 2), (3, 5), (3,))

    @classmethod
    def full(cls) -> SymbolicConfig:
        return cls((1, 2, 3), (2, 3, 4, 5), (2, 3, 5))


def rotation(parameter: sympy.Expr, reflect: bool = False, skew: int = 1) -> sympy.Matrix:
    """The 2 x 2 rotation (or reflection, det -1) with cos = (1 - t^2)/(1 + t^2). skew != 1
    multiplies the upper sine by `skew`: a matrix that is not orthogonal (a false instance)."""
    cos = (1 - parameter**2) / (1 + parameter**2)
    sin = 2 * parameter / (1 + parameter**2)
    if reflect:
        return sympy.Matrix([[cos, skew * sin], [sin, -cos]])
    return sympy.Matrix([[cos, -skew * sin], [sin, cos]])


def scaled_orthogonal_residual(depth: int, skew: int = 1) -> sympy.Matrix:
    """P^T P - c^(2T) I for P = (c Q_T) ... (c Q_1), Q_k alternating rotations and reflections:
    zero means ||P v|| = c^T ||v|| for every v, so ||P||_2 = c^T exactly. skew = 2: the first
    factor's upper sine doubled, so Q_1 is not orthogonal (the negative control)."""
    require_int("the number of Jacobians T", depth, minimum=1)
    factors = [SCALE * rotation(sympy.Symbol(f"t{k}", real=True), reflect=k % 2 == 1,
                                skew=skew if k == 0 else 1)
               for k in range(depth)]
    total = end_to_end_symbolic(factors)  # the Jacobian of step k applied after step k - 1
    return (total.T * total - SCALE ** (2 * depth) * sympy.eye(2)).applyfunc(sympy.cancel)


@dataclass(frozen=True)
class SvdMatrix:
    """A = U diag(s1, s2) V^T with symbolic rotations U, V: the matrix, its right factor V, and
    the singular values s1 (large) and s2 (small)."""

    matrix: sympy.Matrix
    right: sympy.Matrix
    large: sympy.Symbol
    small: sympy.Symbol


def svd_matrix(index: int) -> SvdMatrix:
    """A = U diag(s1, s2) V^T with symbolic rotations U, V and singular values."""
    left = rotation(sympy.Symbol(f"u{index}", real=True))
    right = rotation(sympy.Symbol(f"v{index}", real=True))
    large, small = sympy.symbols(f"s{index}_1 s{index}_2", positive=True)
    return SvdMatrix(left * sympy.diag(large, small) * right.T, right, large, small)


@dataclass(frozen=True)
class Certificates:
    """The residuals of the two sum-of-squares certificates (both must vanish)."""

    upper: sympy.Expr
    lower: sympy.Expr


def singular_value_certificates(swapped: bool = False) -> Certificates:
    """Sum-of-squares certificates of sigma_min ||w|| <= ||A w|| <= sigma_max ||w|| for a 2 x 2
    A = U diag(s1, s2) V^T and a symbolic w (residuals that must vanish):
      s1^2 ||w||^2 - ||A w||^2 = (s1^2 - s2^2) (V^T w)_2^2,
      ||A w||^2 - s2^2 ||w||^2 = (s1^2 - s2^2) (V^T w)_1^2.
    With s1 >= s2 both right-hand sides are >= 0; applied to w = A_{k-1} ... A_1 v at each step
    k they give prod_k s2_k <= ||A_T ... A_1 v|| / ||v|| <= prod_k s1_k by induction on T.
    swapped: the certificates with the two coordinates of V^T w exchanged (false ones, the
    negative control)."""
    svd = svd_matrix(1)
    large, small = svd.large, svd.small
    w = sympy.Matrix(sympy.symbols("w1 w2", real=True))
    image = svd.matrix * w
    coordinates = svd.right.T * w
    if swapped:
        coordinates = sympy.Matrix([coordinates[1], coordinates[0]])
    norm_w, norm_image = (w.T * w)[0], (image.T * image)[0]
    upper = large**2 * norm_w - norm_image - (large**2 - small**2) * coordinates[1] ** 2
    lower = norm_image - small**2 * norm_w - (large**2 - small**2) * coordinates[0] ** 2
    return Certificates(sympy.cancel(upper), sympy.cancel(lower))


def chi_square_density(dimension: int) -> sympy.Expr:
    """The chi^2_n density x^(n/2 - 1) e^(-x/2) / (2^(n/2) Gamma(n/2)) on x > 0."""
    half = sympy.Rational(dimension, 2)
    x = CHI_SQUARE_VARIABLE
    return x ** (half - 1) * sympy.exp(-x / 2) / (2**half * sympy.gamma(half))


def chi_square_log_moment(dimension: int, power: int = 1) -> sympy.Expr:
    """E (log X)^power for X ~ chi^2_n, integrated by sympy."""
    require_int("the dimension n", dimension, minimum=2)
    x = CHI_SQUARE_VARIABLE
    return sympy.integrate(sympy.log(x) ** power * chi_square_density(dimension), (x, 0, sympy.oo))


def lyapunov_exponent(dimension) -> sympy.Expr:
    """Closed-form top Lyapunov exponent of iid n x n Gaussian matrices with N(0, sigma^2/n)
    entries (Newman 1986): log sigma + (1/2) (log(2/n) + digamma(n/2))."""
    return sympy.log(SIGMA) + (sympy.log(sympy.Integer(2) / dimension)
                               + sympy.digamma(sympy.Rational(dimension, 2))) / 2


@dataclass(frozen=True)
class LyapunovResiduals:
    """(1/2) E log((sigma^2 / n) chi^2_n) minus lambda_1 (zero), and minus the annealed rate
    log sigma = (1/2) log E ||G v||^2 (the negative control: non-zero by Jensen's gap)."""

    closed_form: sympy.Expr
    annealed: sympy.Expr


def lyapunov_residuals(dimension: int) -> LyapunovResiduals:
    """The expectation integrated by sympy once, compared with both rates."""
    log_moment = chi_square_log_moment(dimension)
    mean_half_log = (sympy.log(SIGMA**2 / dimension) + log_moment) / 2
    return LyapunovResiduals(
        sympy.expand_log(mean_half_log - lyapunov_exponent(dimension), force=True),
        sympy.expand_log(mean_half_log - sympy.log(SIGMA), force=True))


def lyapunov_residual(dimension: int) -> sympy.Expr:
    """(1/2) E log((sigma^2 / n) chi^2_n) - lambda_1, with the expectation integrated by sympy."""
    return lyapunov_residuals(dimension).closed_form


@dataclass(frozen=True)
class VarianceResiduals:
    """Var(log chi^2_n) minus trigamma(n/2) (zero), and minus the delta-method value 2/n (the
    negative control)."""

    closed_form: sympy.Expr
    delta_method: sympy.Expr


def log_variance_residuals(dimension: int) -> VarianceResiduals:
    """Var(log chi^2_n) - trigamma(n/2): the per-step variance of log ||J_k u||^2, so that
    Var(log ||J_T ... J_1 v||) = T trigamma(n/2) / 4 exactly (independent chi-square steps)."""
    mean = chi_square_log_moment(dimension)
    second = chi_square_log_moment(dimension, power=2)
    variance = second - mean**2
    return VarianceResiduals(
        sympy.expand_func(variance - sympy.polygamma(1, sympy.Rational(dimension, 2))),
        sympy.expand_func(variance - sympy.Rational(2, dimension)))


def log_variance_residual(dimension: int) -> sympy.Expr:
    return log_variance_residuals(dimension).closed_form


def large_n_limit(claimed: sympy.Expr = sympy.S.Zero) -> sympy.Expr:
    """lim_{m -> oo} digamma(m) - log m, with m = n/2, minus `claimed` (0: lambda_1 -> log sigma
    as n -> oo)."""
    half = sympy.Symbol("m", positive=True)
    return sympy.limit(sympy.digamma(half) - sympy.log(half), half, sympy.oo) - claimed


def _product_bounds(s: Session, depths: Sequence[int]) -> None:
    for depth in s.progress(depths, "sympy: scaled orthogonal products"):
        s.zero(f"scaled-orthogonal-T{depth}",
               f"for T = {depth} scaled orthogonal 2 x 2 Jacobians c Q_k (rotations and "
               "reflections with symbolic angles), P^T P = c^(2T) I, so ||P v|| = c^T ||v|| "
               "exactly", scaled_orthogonal_residual(depth),
               controls={"a non-orthogonal first factor (its upper sine doubled)":
                         scaled_orthogonal_residual(depth, skew=2)})
    certificates = singular_value_certificates()
    swapped = singular_value_certificates(swapped=True)
    s.zero("one-step-upper-certificate",
           "2 x 2 A = U diag(s1, s2) V^T (symbolic rotations U, V, singular values s, vector w): "
           "s1^2 ||w||^2 - ||A w||^2 = (s1^2 - s2^2) (V^T w)_2^2 >= 0, so ||A w|| <= sigma_max "
           "||w|| and ||prod v|| <= prod sigma_max ||v|| by induction on T",
           certificates.upper,
           controls={"the certificate with the coordinates of V^T w swapped": swapped.upper})
    s.zero("one-step-lower-certificate",
           "2 x 2 A = U diag(s1, s2) V^T: ||A w||^2 - s2^2 ||w||^2 = (s1^2 - s2^2) (V^T w)_1^2 >= "
           "0: ||A w|| >= sigma_min ||w||, so ||prod v|| >= prod sigma_min ||v||",
           certificates.lower,
           controls={"the certificate with the coordinates of V^T w swapped": swapped.lower})


def _lyapunov_law(s: Session, moments: Sequence[int], variances: Sequence[int]) -> None:
    for dimension in s.progress(moments, "sympy: chi-square log moments"):
        residuals = lyapunov_residuals(dimension)
        s.zero(f"lyapunov-closed-form-n{dimension}",
               f"for n = {dimension}: (1/2) E log ||G v||^2 with ||G v||^2 ~ (sigma^2/n) chi^2_n "
               "(sympy integral of the chi-square density) equals lambda_1 = log sigma + "
               "(1/2)(log(2/n) + digamma(n/2))", residuals.closed_form,
               controls={"the annealed rate log sigma = (1/2) log E ||G v||^2":
                         residuals.annealed})
    for dimension in s.progress(variances, "sympy: chi-square log variance"):
        residuals = log_variance_residuals(dimension)
        s.zero(f"log-variance-per-step-n{dimension}",
               f"for n = {dimension}: Var(log chi^2_n) = trigamma(n/2) (sympy integrals), so "
               "Var(log ||J_T ... J_1 v||) = T trigamma(n/2) / 4 grows linearly in T",
               residuals.closed_form,
               controls={"the delta-method value Var(log chi^2_n) = 2/n":
                         residuals.delta_method})
    s.zero("lyapunov-large-n-limit",
           "lambda_1 - log sigma = (1/2)(digamma(m) - log m) with m = n/2 tends to 0 as n -> oo",
           large_n_limit(),
           controls={"a non-zero limit log 2 of digamma(m) - log m (what sympy's limit returns in "
                     "the variable n; see the note)": large_n_limit(sympy.log(2))})


def verify(s: Session) -> None:
    """Prove the product bounds, the scaled-orthogonal norm and the Lyapunov closed form."""
    config = s.preset(quick=SymbolicConfig.quick(), full=SymbolicConfig.full())
    _product_bounds(s, config.depths)
    _lyapunov_law(s, config.moment_dimensions, config.variance_dimensions)
    s.note("Rotations use the rational parametrization (1 - t^2, 2t) / (1 + t^2), so each "
           "identity is decided exactly by sympy's rational-function cancellation.")
    s.note("sympy.limit(log(2/n) + digamma(n/2), n, oo) returns log 2 (a sympy limit error); "
           "the limit is taken in m = n/2, where sympy returns the correct 0.")
