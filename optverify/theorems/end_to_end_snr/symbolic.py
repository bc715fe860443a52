"""Symbolic layer of `end-to-end-snr`: sympy derives Setting II's per-example gradients, proves the
two estimators unbiased for the same expected gradient, and the variances in closed form.

Source: Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 3 (end-to-end vs
decomposition, the "stocks" toy Setting II, and the tuple label of Setting I). For symbolic logits
u_1..u_k (k = 2, 3, 4) and p = softmax(u): grad_u(-z^T p) = -J z with J = diag(p) - p p^T; the
exact mean over all 2^(k-1) sign patterns of z equals -J e_y; the extra variance is
sum_{i != y} ||J e_i||^2 with ||J e_i||^2 = p_i^2 [(1 - p_i)^2 + ||p||^2 - p_i^2]. At p = 1/k with
symbolic k, d: Var_e2e / Var_dec = 1 + d(k-1)/(d-1) (so Theta(k), exponent 1), SNR_dec = 1/(d-1),
SNR_e2e = 1/(dk - 1). The tuple signal: E[prod_{i=2}^k r_i] = a^(k-1) for iid r_i = +-1 of mean a.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy

from optverify.kit import Session
from optverify.theorems.end_to_end_snr.setting_two_model import uniform_moments

K = sympy.Symbol("k", positive=True, integer=True)
D = sympy.Symbol("d", positive=True, integer=True)
BIAS = sympy.Symbol("a", positive=True)
SIZES = (2, 3, 4)
"""Output counts for the exact symbolic enumeration over all 2^(k-1) label-sign patterns."""


def softmax(logits: sympy.Matrix) -> sympy.Matrix:
    exponentials = logits.applyfunc(sympy.exp)
    return exponentials / sum(exponentials)


def jacobian(probabilities: sympy.Matrix) -> sympy.Matrix:
    """J = diag(p) - p p^T, the softmax Jacobian dp/du."""
    return sympy.diag(*probabilities) - probabilities * probabilities.T


def sign_patterns(k: int, label: int):
    """All z with z_label = 1 and the other k - 1 coordinates in {-1, +1}."""
    for signs in itertools.product((-1, 1), repeat=k - 1):
        values = list(signs)
        values.insert(label, 1)
        yield sympy.Matrix(values)


def all_sign_patterns(k: int):
    """All z in {-1, +1}^k: labels whose true coordinate is random too (a false label model, the
    negative control of unbiasedness: its mean gradient is 0, not the decomposition's)."""
    for signs in itertools.product((-1, 1), repeat=k):
        yield sympy.Matrix(signs)


def diagonal_jacobian(probabilities: sympy.Matrix) -> sympy.Matrix:
    """diag(p): the softmax Jacobian without its off-diagonal part -p p^T (a false Jacobian, the
    negative control of the gradient and variance identities)."""
    return sympy.diag(*probabilities)


def gradient_difference(k: int, jacobian_of=jacobian) -> sympy.Matrix:
    """grad_u(-z^T softmax(u)) by sympy differentiation minus -J z (z symbolic), J given by
    `jacobian_of` (the true softmax Jacobian by default)."""
    logits = sympy.Matrix(sympy.symbols(f"u_1:{k + 1}"))
    z = sympy.Matrix(sympy.symbols(f"z_1:{k + 1}"))
    objective = -(z.T * softmax(logits))[0]
    derivative = sympy.Matrix([sympy.diff(objective, u) for u in logits])
    return derivative + jacobian_of(softmax(logits)) * z


@dataclass(frozen=True)
class SignPatternResiduals:
    """bias: the mean end-to-end gradient minus the decomposition gradient; extra_variance: the
    extra variance minus its closed form (both zero when the closed forms hold). The negative
    controls, by the same computation: bias_if_label_random, the bias when z_y is random too;
    extra_variance_if_diagonal, the extra variance minus the closed form of the Jacobian without
    its off-diagonal part, sum_(i != y) p_i^2 (1 - p_i)^2 (both must not vanish)."""

    bias: sympy.Matrix
    extra_variance: sympy.Expr
    bias_if_label_random: sympy.Matrix
    extra_variance_if_diagonal: sympy.Expr


def moments(k: int, label: int = 0) -> SignPatternResiduals:
    """The residuals of unbiasedness and of the extra variance over the exact uniform
    distribution of the sign patterns, with symbolic probabilities p_1..p_k."""
    p = sympy.Matrix(sympy.symbols(f"p_1:{k + 1}", positive=True))
    j = jacobian(p)
    decomposition = -j[:, label]
    patterns = list(sign_patterns(k, label))
    gradients = [-j * z for z in patterns]
    mean = sum(gradients, sympy.zeros(k, 1)) / len(patterns)
    variance_e2e = sum(((g - decomposition).T * (g - decomposition))[0] for g in gradients)
    variance_extra = variance_e2e / len(patterns)
    norm_sq = sum(pi**2 for pi in p)
    closed = sum(p[i] ** 2 * ((1 - p[i]) ** 2 + norm_sq - p[i] ** 2)
                 for i in range(k) if i != label)
    diagonal = sum(p[i] ** 2 * (1 - p[i]) ** 2 for i in range(k) if i != label)
    random_patterns = list(all_sign_patterns(k))
    random_mean = sum((-j * z for z in random_patterns), sympy.zeros(k, 1)) / len(random_patterns)
    return SignPatternResiduals(mean - decomposition, variance_extra - closed,
                                random_mean - decomposition, variance_extra - diagonal)


def uniform_column_norm(claimed: sympy.Expr = (K - 1) / K**3) -> sympy.Expr:
    """||J e_i||^2 at p = 1/k (symbolic k) minus `claimed` ((k-1)/k^3)."""
    p = 1 / K
    return p**2 * ((1 - p) ** 2 + K * p**2 - p**2) - claimed


def uniform_ratio_difference(claimed: sympy.Expr = 1 + D * (K - 1) / (D - 1)) -> sympy.Expr:
    """Var_e2e / Var_dec at W = 0 minus `claimed` (1 + d(k-1)/(d-1))."""
    return uniform_moments(K, D).variance_ratio - claimed


def uniform_snr_differences(claimed_e2e: sympy.Expr = 1 / (D * K - 1)) -> sympy.Matrix:
    """(SNR_dec - 1/(d - 1), SNR_e2e - `claimed_e2e`) at W = 0 (claimed SNR_e2e 1/(dk - 1))."""
    closed = uniform_moments(K, D)
    return sympy.Matrix([closed.snr_dec - 1 / (D - 1), closed.snr_e2e - claimed_e2e])


def ratio_exponent(ratio: sympy.Expr = 1 + D * (K - 1) / (D - 1)) -> sympy.Expr:
    """lim_{k -> oo} d log(ratio) / d log k: for Var_e2e / Var_dec at p = 1/k by default."""
    return sympy.limit(K * sympy.diff(ratio, K) / ratio, K, sympy.oo)


def tuple_signal_difference(factors: int, power: int | None = None) -> sympy.Expr:
    """E[prod of `factors` iid +-1 with P(+1) = (1 + a)/2] by enumeration minus a^power
    (power = factors by default: the claimed a^(k-1))."""
    q = (1 + BIAS) / 2
    total = sympy.Integer(0)
    for signs in itertools.product((-1, 1), repeat=factors):
        probability = sympy.Mul(*[q if s > 0 else 1 - q for s in signs])
        total += probability * sympy.Mul(*signs)
    return total - BIAS ** (factors if power is None else power)


WITHOUT_OFF_DIAGONAL = "the Jacobian without its off-diagonal part (J = diag(p))"


def _softmax_gradients(s: Session) -> None:
    for k in s.progress(SIZES, "softmax gradients"):
        s.zero(f"softmax-gradient-k{k}",
               f"per-example gradient of the end-to-end objective, k = {k} (sympy "
               "differentiation with symbolic logits u and labels z): d(-z^T softmax(u))/du = "
               "-(diag(p) - p p^T) z", gradient_difference(k),
               controls={WITHOUT_OFF_DIAGONAL: gradient_difference(k, diagonal_jacobian)})
        residuals = moments(k)
        s.zero(f"unbiased-k{k}",
               f"unbiasedness, k = {k}: the mean of -J z over all 2^{k - 1} sign patterns (z_y = 1) "
               "equals the decomposition gradient -J e_y, for symbolic p", residuals.bias,
               controls={"labels whose true coordinate is random too (z_y = +-1: mean 0)":
                         residuals.bias_if_label_random})
        s.zero(f"extra-variance-k{k}",
               f"extra variance, k = {k}: E_z||J z - J e_y||^2 = sum_(i != y) p_i^2 [(1 - p_i)^2 + "
               "||p||^2 - p_i^2], for symbolic p", residuals.extra_variance,
               controls={"the closed form of " + WITHOUT_OFF_DIAGONAL + ", sum_(i != y) p_i^2 "
                         "(1 - p_i)^2": residuals.extra_variance_if_diagonal})


def _closed_forms_table(s: Session) -> None:
    closed = uniform_moments(K, D)
    s.table("closed-forms", "Setting II at W = 0 (p = 1/k), symbolic k and d",
            ("quantity", "closed form"),
            (("||E g||^2", sympy.sstr(sympy.factor(closed.signal))),
             ("Var_dec", sympy.sstr(sympy.factor(closed.variance_dec))),
             ("Var_e2e", sympy.sstr(sympy.factor(closed.variance_e2e))),
             ("Var_e2e - Var_dec",
              sympy.sstr(sympy.factor(closed.variance_e2e - closed.variance_dec))),
             ("SNR_e2e", "1/(d k - 1)"), ("SNR_dec", "1/(d - 1)"),
             ("tuple signal", "a^(k-1)")))


def verify(s: Session) -> None:
    _softmax_gradients(s)
    s.zero("uniform-column-norm", "at p = 1/k: ||J e_i||^2 = (k - 1)/k^3 (symbolic k)",
           uniform_column_norm(),
           controls={"(k - 1)/k^2 (one power of k off)": uniform_column_norm((K - 1) / K**2)})
    s.zero("variance-ratio",
           "at W = 0: Var_e2e / Var_dec = 1 + d(k - 1)/(d - 1) (symbolic k, d; from the W = 0 "
           "moments Var_dec = (k-1)(d-1)/(d k^3), Var_e2e - Var_dec = (k-1)^2/k^3 of "
           "setting_two_model.uniform_moments, whose general-p ingredients are proved above for "
           "k = 2, 3, 4 and against exact enumeration in the numeric layer)",
           uniform_ratio_difference(),
           controls={"a ratio of exactly k (the paper's 'about k times larger' read as "
                     "equality)": uniform_ratio_difference(K)})
    s.zero("snr-closed-forms",
           "at W = 0: SNR_dec = 1/(d - 1) (flat in k) and SNR_e2e = 1/(dk - 1) (symbolic k, d)",
           uniform_snr_differences(),
           controls={"SNR_e2e = SNR_dec / k = 1/(k(d - 1))":
                     uniform_snr_differences(1 / (K * (D - 1)))})
    s.zero("variance-ratio-exponent",
           "Main bound: d log(Var_e2e / Var_dec) / d log k -> 1 as k -> oo (Theta(k), exponent 1; "
           "symbolic d, the W = 0 closed form)",
           ratio_exponent() - 1, main=True,
           controls={"exponent 1/2 (a ratio growing like sqrt(k))":
                     ratio_exponent() - sympy.Rational(1, 2),
                     "a flat ratio (the extra variance of one column, not k - 1: "
                     "1 + d/(d - 1))": ratio_exponent(1 + D / (D - 1)) - 1})
    s.zero("tuple-signal", "Setting I tuple signal: E[prod_(i=2)^k y_i t_i] = a^(k-1) for per-image "
           "accuracy (1 + a)/2, exact enumeration for k - 1 = 1..5",
           sympy.Matrix([tuple_signal_difference(m) for m in range(1, 6)]),
           controls={"a^k (one factor too many)": sympy.Matrix(
               [tuple_signal_difference(m, m + 1) for m in range(1, 6)])})
    _closed_forms_table(s)
