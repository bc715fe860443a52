"""Symbolic layer: Lemma 1, W = T^2, Lemma 2 and the convolutional second moment C in closed form.

Section 4 of Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950.
- W_ij = [i - j + 1]_+ equals T^2 (T lower-triangular ones), for symbolic indices and a family of n.
- Lemma 1: W^{-1} = B, the banded (1, -2, 1) matrix (checked as W B = I for a family of n, and the
  interior identity (d + 1) - 2 d + (d - 1) = 0 for symbolic d).
- Lemma 2: with E[p p^T] = lambda I and U_0 = 0, SGD on 1/2 ||U f - p||^2 has
  E[U_t] = eta lambda W^T sum_{i<t} (I - eta lambda W W^T)^i; checked against the expected
  recursion E[U_{t+1}] = E[U_t] - eta lambda (E[U_t] W - I) W^T for symbolic eta, lambda.
  lambda = k/(3n) under the paper's distribution (exact enumeration).
- C (3x3 second moment of the convolution windows) as a rational function of n, against exact
  enumeration; cond(C) = Theta(n^3): tr(C) e_2(C) / det(C) / n^3 -> 3/2 and
  tr e_2 / (9 det) <= cond(C) <= tr e_2 / det, so cond(C) / n^3 lies in [1/6, 3/2] asymptotically.
- The constant of sigma_max(W) / n^2: W / n^2 tends to the Volterra operator V^2 on L^2[0, 1],
  whose top singular value is 1/beta^2 for the cantilever (clamped-free beam) equation
  h'''' = beta^4 h, h(0) = h'(0) = 0, h''(1) = h'''(1) = 0; sympy derives its characteristic
  equation 1 + cos(beta) cosh(beta) = 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sympy

from optverify.kit import Judgement, Session, Verdict
from optverify.theorems.pwl_conditioning.moments import (
    breakpoint_covariance_enumerated,
    breakpoint_variance,
    conv_second_moment_enumerated,
    conv_second_moment_symbolic,
    n_symbol,
)


@dataclass(frozen=True)
class SymbolicConfig:
    """Sizes of the symbolic layer (quick and full presets).

    family: the n of the W = T^2 and Lemma 1 checks; lemma2_sizes, lemma2_horizon: the n and the
    last t of Lemma 2; enumerated_sizes: the n of the exact enumerations of E[p p^T] and C.
    """

    family: range
    lemma2_sizes: tuple[int, ...]
    lemma2_horizon: int
    enumerated_sizes: tuple[int, ...]

    @classmethod
    def quick(cls) -> SymbolicConfig:
        return cls(range(2, 9), (2, 3), 3, (3, 4, 5))

    @classmethod
    def full(cls) -> SymbolicConfig:
        return cls(range(2, 17), (2, 3, 4), 4, (3, 4, 5, 6, 7))


def ramp_matrix_symbolic(n: int) -> sympy.Matrix:
    return sympy.Matrix(n, n, lambda i, j: sympy.Max(i - j + 1, 0))


def ones_lower(n: int) -> sympy.Matrix:
    return sympy.Matrix(n, n, lambda i, j: 1 if i >= j else 0)


def second_difference_symbolic(n: int) -> sympy.Matrix:
    taps = {0: 1, 1: -2, 2: 1}
    return sympy.Matrix(n, n, lambda i, j: taps.get(i - j, 0))


def lemma2_closed_form(w: sympy.Matrix, step: sympy.Expr, t: int) -> sympy.Matrix:
    """E[U_t] = step W^T sum_{i<t} (I - step W W^T)^i, step = eta lambda."""
    size = w.shape[0]
    contraction = sympy.eye(size) - step * w * w.T
    total, power = sympy.zeros(size, size), sympy.eye(size)
    for _ in range(t):
        total += power
        power = power * contraction
    return step * w.T * total


def lemma2_recursion(w: sympy.Matrix, step: sympy.Expr, t: int) -> sympy.Matrix:
    """The expected SGD recursion E[U_{s+1}] = E[U_s] - step (E[U_s] W - I) W^T from U_0 = 0."""
    size = w.shape[0]
    u = sympy.zeros(size, size)
    for _ in range(t):
        u = u - step * (u * w - sympy.eye(size)) * w.T
    return u


@dataclass(frozen=True)
class BeamDeterminant:
    """The boundary determinant of the clamped-free beam, as an expression in its symbol beta."""

    determinant: sympy.Expr
    beta: sympy.Symbol


def cantilever_determinant() -> BeamDeterminant:
    """det of the boundary conditions h''(1) = h'''(1) = 0 on the solutions
    h = A (cos bx - cosh bx) + C (sin bx - sinh bx) of h'''' = b^4 h with h(0) = h'(0) = 0."""
    beta, x = sympy.symbols("beta x", positive=True)
    basis = [sympy.cos(beta * x) - sympy.cosh(beta * x), sympy.sin(beta * x) - sympy.sinh(beta * x)]
    rows = [[sympy.diff(h, x, order).subs(x, 1) for h in basis] for order in (2, 3)]
    return BeamDeterminant(sympy.Matrix(rows).det(), beta)


def cantilever_gap() -> sympy.Expr:
    """The beam's boundary determinant minus 2 beta^5 (1 + cos(beta) cosh(beta))."""
    beam = cantilever_determinant()
    beta = beam.beta
    return beam.determinant - 2 * beta**5 * (1 + sympy.cos(beta) * sympy.cosh(beta))


def square_entry_gap() -> sympy.Expr:
    """(T^2)_ij - (i - j + 1) = sum_{m=j..i} 1 - (i - j + 1) for symbolic i >= j."""
    i, j, m = sympy.symbols("i j m", integer=True, positive=True)
    return sympy.summation(1, (m, j, i)) - (i - j + 1)


def ramp_square_gap(sizes: Iterable[int]) -> sympy.Matrix:
    """W - T^2 for every n in `sizes`, block-diagonal."""
    return sympy.diag(*[ramp_matrix_symbolic(n) - ones_lower(n) ** 2 for n in sizes])


def lemma1_interior_gap() -> sympy.Expr:
    """(W B)_ij for d = i - j >= 2: (d + 1) - 2 d + (d - 1)."""
    d = sympy.Symbol("d", integer=True)
    return (d + 1) - 2 * d + (d - 1)


def lemma1_gap(sizes: Iterable[int]) -> sympy.Matrix:
    """W B - I for every n in `sizes`, block-diagonal."""
    return sympy.diag(*[ramp_matrix_symbolic(n) * second_difference_symbolic(n) - sympy.eye(n)
                        for n in sizes])


def lemma2_gap(sizes: tuple[int, ...], horizon: int) -> sympy.Matrix:
    """Closed form minus recursion for symbolic eta lambda, every n in `sizes`, t = 1..horizon."""
    step = sympy.Symbol("eta_lambda", positive=True)
    return sympy.diag(*[
        lemma2_closed_form(ones_lower(n) ** 2, step, t) - lemma2_recursion(ones_lower(n) ** 2, step, t)
        for n in sizes for t in range(1, horizon + 1)])


def breakpoint_covariance_gap(sizes: tuple[int, ...]) -> sympy.Matrix:
    """E[a^2] - 1/3, then E[p p^T] by enumeration minus k/(3n) I for every n in `sizes`."""
    a = sympy.Symbol("a", real=True)
    moment_a = sympy.integrate(a**2 / 2, (a, -1, 1)) - sympy.Rational(1, 3)
    covariance_gap = sympy.diag(*[
        sympy.Matrix(breakpoint_covariance_enumerated(n)) - breakpoint_variance(n) * sympy.eye(n)
        for n in sizes])
    return sympy.diag(moment_a, covariance_gap)


def conv_moment_gap(moment: sympy.Matrix, sizes: Iterable[int]) -> sympy.Matrix:
    """The closed form C(n) minus its exact enumeration for every n in `sizes`."""
    return sympy.diag(*[moment.subs(n_symbol, n) - sympy.Matrix(conv_second_moment_enumerated(n))
                        for n in sizes])


@dataclass(frozen=True)
class ConvConditionLimit:
    """limit: the sympy limit of tr(C) e_2(C) / (det(C) n^3); determinant: det(C), factored."""

    limit: sympy.Expr
    determinant: sympy.Expr

    @property
    def finite_positive(self) -> bool:
        return bool(self.limit.is_finite and self.limit.is_positive)


def conv_condition_limit(moment: sympy.Matrix, power: sympy.Expr = 3) -> ConvConditionLimit:
    """The limit of tr(C) e_2(C) / (det(C) n^power): finite and positive exactly when
    cond(C) = Theta(n^power)."""
    coefficients = moment.charpoly().all_coeffs()
    trace, pair_sum, determinant = -coefficients[1], coefficients[2], -coefficients[3]
    limit = sympy.limit(trace * pair_sum / (determinant * n_symbol**power), n_symbol, sympy.oo)
    return ConvConditionLimit(limit, sympy.factor(determinant))


WRONG_CONSTANT = sympy.Rational(1, 100)
"""The negative control of an exact identity: the same identity with its right-hand side off by
1/100 in every entry (a wrong constant), which sympy must not reduce to zero."""


def wrong_constant(expression: sympy.Basic) -> sympy.Basic:
    """`expression` (lhs - rhs, a scalar or a matrix) for the right-hand side off by 1/100."""
    if isinstance(expression, sympy.MatrixBase):
        return expression + WRONG_CONSTANT * sympy.ones(*expression.shape)
    return expression + WRONG_CONSTANT


def _zero(s: Session, name: str, statement: str, expression: sympy.Basic) -> None:
    s.zero(name, statement, expression,
           controls={"the identity with a wrong constant (rhs off by 1/100)":
                     wrong_constant(expression)})


def verify(s: Session) -> None:
    config = s.preset(quick=SymbolicConfig.quick(), full=SymbolicConfig.full())
    family = f"{config.family.start}..{config.family.stop - 1}"
    _zero(s, "ramp-is-square-of-ones-symbolic",
           "(T^2)_ij = sum_{m=j..i} 1 = i - j + 1 for symbolic i >= j (T = lower-triangular ones)",
           square_entry_gap())
    _zero(s, "ramp-is-square-of-ones", f"W = T^2 with W_ij = [i - j + 1]_+ for every n in {family}",
           ramp_square_gap(s.progress(config.family, "W = T^2")))
    _zero(s, "lemma1-interior-identity",
           "Lemma 1, interior entries: (W B)_ij = W_ij - 2 W_i,j+1 + W_i,j+2 = (d+1) - 2d + (d-1) = 0 "
           "for d = i - j >= 2", lemma1_interior_gap())
    _zero(s, "lemma1-inverse-is-second-difference",
           f"Lemma 1: W B = I, B = banded (1, -2, 1), for every n in {family}",
           lemma1_gap(s.progress(config.family, "Lemma 1")))
    _zero(s, "lemma2-closed-form",
           "Lemma 2: eta lambda W^T sum_{i<t} (I - eta lambda W W^T)^i equals the expected SGD "
           f"recursion from U_0 = 0, symbolic eta lambda, n in {config.lemma2_sizes}, "
           f"t = 1..{config.lemma2_horizon}",
           lemma2_gap(config.lemma2_sizes, config.lemma2_horizon))
    _record_moments(s, config.enumerated_sizes)
    _zero(s, "cantilever-characteristic-equation",
           "sigma_max(W)/n^2 -> 1/beta^2, beta the first root of the clamped-free beam problem: its "
           "boundary determinant equals 2 beta^5 (1 + cos(beta) cosh(beta))", cantilever_gap())
    moment = conv_second_moment_symbolic()
    s.table("conv-second-moment",
            "C(n) = (1/n) sum_t E[w_t w_t^T] under the paper's distribution (k = 3), exact",
            ("entry", "closed form"),
            ((f"C[{r},{c}]", sympy.sstr(moment[r, c])) for r in range(3) for c in range(r, 3)))


def _record_moments(s: Session, sizes: tuple[int, ...]) -> None:
    """E[p p^T] = lambda I, C in closed form, and cond(C) = Theta(n^3)."""
    _zero(s, "breakpoint-covariance",
           "E[p p^T] = k/(3n) I under the paper's distribution (k = 3, theta without replacement, "
           f"a ~ U[-1, 1]; E[a^2] = 1/3), exact enumeration for n in {sizes}",
           breakpoint_covariance_gap(sizes))
    moment = conv_second_moment_symbolic()
    _zero(s, "conv-second-moment-closed-form",
           "C = (1/n) sum_t E[w_t w_t^T] (w_t = (f_{t-2}, f_{t-1}, f_t)) equals the sympy closed form "
           f"in n, against exact enumeration of breakpoints for n in {sizes}",
           conv_moment_gap(moment, s.progress(sizes, "C by enumeration")))
    condition = conv_condition_limit(moment)

    def judge(power) -> Judgement:
        condition = conv_condition_limit(moment, power)
        verdict = Verdict.CONSISTENT if condition.finite_positive else Verdict.VIOLATED
        return Judgement(verdict, f"n^{power}: sympy limit L = {condition.limit}; "
                         f"det(C) = {condition.determinant}",
                         {f"limit_tr_e2_over_det_n{power}": str(condition.limit)})

    s.decide("conv-condition-theta-n3",
             "cond(C) = Theta(n^3): tr(C) e_2(C) / (det(C) n^3) has a finite positive limit L, "
             "and tr e_2/(9 det) <= cond(C) <= tr e_2/det, so cond(C)/n^3 -> [L/9, L] "
             "(symbolic in n, k = 3)", judge, 3,
             controls={"cond(C) = Theta(n^2.5)": sympy.Rational(5, 2),
                       "cond(C) = Theta(n^3.5)": sympy.Rational(7, 2)},
             values={"det_C": str(condition.determinant)})
