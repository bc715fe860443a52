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

import sympy

from optverify.claim import Layer, Progress, RunConfig
from optverify.results import Check, LayerResult, Table, Verdict
from optverify.theorems.pwl_conditioning.moments import (
    breakpoint_covariance_enumerated,
    breakpoint_variance,
    conv_second_moment_enumerated,
    conv_second_moment_symbolic,
    n_symbol,
)
from optverify.verdict import symbolic_zero_check


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


def cantilever_determinant() -> sympy.Expr:
    """det of the boundary conditions h''(1) = h'''(1) = 0 on the solutions
    h = A (cos bx - cosh bx) + C (sin bx - sinh bx) of h'''' = b^4 h with h(0) = h'(0) = 0."""
    beta, x = sympy.symbols("beta x", positive=True)
    basis = [sympy.cos(beta * x) - sympy.cosh(beta * x), sympy.sin(beta * x) - sympy.sinh(beta * x)]
    rows = [[sympy.diff(h, x, order).subs(x, 1) for h in basis] for order in (2, 3)]
    return sympy.Matrix(rows).det(), beta


def _family(config: RunConfig) -> range:
    return range(2, 9) if config.quick else range(2, 17)


def verify(config: RunConfig, progress: Progress) -> LayerResult:
    i, j, m = sympy.symbols("i j m", integer=True, positive=True)
    sizes = _family(config)
    checks: list[Check] = []

    square_entry = sympy.summation(1, (m, j, i)) - (i - j + 1)
    checks.append(symbolic_zero_check(
        "ramp-is-square-of-ones-symbolic",
        "(T^2)_ij = sum_{m=j..i} 1 = i - j + 1 for symbolic i >= j (T = lower-triangular ones)",
        square_entry))
    family_gap = sympy.diag(*[ramp_matrix_symbolic(n) - ones_lower(n) ** 2
                              for n in progress(sizes, "W = T^2")])
    checks.append(symbolic_zero_check(
        "ramp-is-square-of-ones",
        f"W = T^2 with W_ij = [i - j + 1]_+ for every n in {sizes.start}..{sizes.stop - 1}",
        family_gap))

    d = sympy.Symbol("d", integer=True)
    checks.append(symbolic_zero_check(
        "lemma1-interior-identity",
        "Lemma 1, interior entries: (W B)_ij = W_ij - 2 W_i,j+1 + W_i,j+2 = (d+1) - 2d + (d-1) = 0 "
        "for d = i - j >= 2",
        (d + 1) - 2 * d + (d - 1)))
    lemma1_gap = sympy.diag(*[
        ramp_matrix_symbolic(n) * second_difference_symbolic(n) - sympy.eye(n)
        for n in progress(sizes, "Lemma 1")])
    checks.append(symbolic_zero_check(
        "lemma1-inverse-is-second-difference",
        f"Lemma 1: W B = I, B = banded (1, -2, 1), for every n in {sizes.start}..{sizes.stop - 1}",
        lemma1_gap))

    step = sympy.Symbol("eta_lambda", positive=True)
    lemma2_sizes, horizon = ((2, 3), 3) if config.quick else ((2, 3, 4), 4)
    lemma2_gap = sympy.diag(*[
        lemma2_closed_form(ones_lower(n) ** 2, step, t) - lemma2_recursion(ones_lower(n) ** 2, step, t)
        for n in lemma2_sizes for t in range(1, horizon + 1)])
    checks.append(symbolic_zero_check(
        "lemma2-closed-form",
        "Lemma 2: eta lambda W^T sum_{i<t} (I - eta lambda W W^T)^i equals the expected SGD "
        f"recursion from U_0 = 0, symbolic eta lambda, n in {lemma2_sizes}, t = 1..{horizon}",
        lemma2_gap))

    a = sympy.Symbol("a", real=True)
    moment_a = sympy.integrate(a**2 / 2, (a, -1, 1)) - sympy.Rational(1, 3)
    enumerated_sizes = (3, 4, 5) if config.quick else (3, 4, 5, 6, 7)
    covariance_gap = sympy.diag(*[
        sympy.Matrix(breakpoint_covariance_enumerated(n)) - breakpoint_variance(n) * sympy.eye(n)
        for n in enumerated_sizes])
    checks.append(symbolic_zero_check(
        "breakpoint-covariance",
        "E[p p^T] = k/(3n) I under the paper's distribution (k = 3, theta without replacement, "
        f"a ~ U[-1, 1]; E[a^2] = 1/3), exact enumeration for n in {enumerated_sizes}",
        sympy.diag(moment_a, covariance_gap)))

    moment = conv_second_moment_symbolic()
    moment_gap = sympy.diag(*[
        moment.subs(n_symbol, n) - sympy.Matrix(conv_second_moment_enumerated(n))
        for n in progress(enumerated_sizes, "C by enumeration")])
    checks.append(symbolic_zero_check(
        "conv-second-moment-closed-form",
        "C = (1/n) sum_t E[w_t w_t^T] (w_t = (f_{t-2}, f_{t-1}, f_t)) equals the sympy closed form "
        f"in n, against exact enumeration of breakpoints for n in {enumerated_sizes}",
        moment_gap))

    coefficients = moment.charpoly().all_coeffs()
    trace, pair_sum, determinant = -coefficients[1], coefficients[2], -coefficients[3]
    upper_constant = sympy.limit(trace * pair_sum / (determinant * n_symbol**3), n_symbol, sympy.oo)
    finite_positive = bool(upper_constant.is_finite and upper_constant.is_positive)
    checks.append(Check(
        layer=Layer.SYMBOLIC,
        name="conv-condition-theta-n3",
        statement="cond(C) = Theta(n^3): tr(C) e_2(C) / (det(C) n^3) has a finite positive limit L, "
                  "and tr e_2/(9 det) <= cond(C) <= tr e_2/det, so cond(C)/n^3 -> [L/9, L]",
        verdict=Verdict.CONSISTENT if finite_positive else Verdict.VIOLATED,
        detail=f"sympy limit L = {upper_constant}; det(C) = {sympy.factor(determinant)}; "
               f"cond(C) = Theta(n^3) with cond(C)/n^3 in [{upper_constant / 9}, {upper_constant}] "
               "asymptotically (the numeric layer measures the constant itself)",
        values={"limit_tr_e2_over_det_n3": str(upper_constant),
                "det_C": str(sympy.factor(determinant))},
    ))

    determinant_beam, beta = cantilever_determinant()
    checks.append(symbolic_zero_check(
        "cantilever-characteristic-equation",
        "sigma_max(W)/n^2 -> 1/beta^2, beta the first root of the clamped-free beam problem: its "
        "boundary determinant equals 2 beta^5 (1 + cos(beta) cosh(beta))",
        determinant_beam - 2 * beta**5 * (1 + sympy.cos(beta) * sympy.cosh(beta))))

    table = Table(
        name="conv-second-moment",
        caption="C(n) = (1/n) sum_t E[w_t w_t^T] under the paper's distribution (k = 3), exact",
        columns=("entry", "closed form"),
        rows=tuple((f"C[{r},{c}]", sympy.sstr(moment[r, c]))
                   for r in range(3) for c in range(r, 3)),
    )
    return LayerResult(layer=Layer.SYMBOLIC, checks=tuple(checks), tables=(table,))
