"""Verdict logic on every bound kind, and the combination of checks into a claim's verdict."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import sympy

from optverify.bound import Bound, BoundKind
from optverify.numerics.fit import ConfidenceInterval, FitScale, RateFit
from optverify.results import Check, Layer, Verdict
from optverify.verdict import (
    EXPONENT_TOLERANCE,
    combine,
    identity_check,
    inequality_check,
    judge_fitted_exponent,
    rate_check,
    symbolic_zero_check,
)


def fit_with_interval(low: float, high: float) -> RateFit:
    centre = (low + high) / 2
    return RateFit(centre, 0.0, (high - low) / 4, ConfidenceInterval(low, high), 5, 1.0, 100.0,
                   FitScale.LOG_LOG, (centre,) * 4, 0.99)


def bound(kind: BoundKind, exponent) -> Bound:
    return Bound(kind, "n", sympy.nsimplify(exponent))


TOL = EXPONENT_TOLERANCE


@pytest.mark.parametrize(
    "kind, claimed, low, high, expected",
    [
        (BoundKind.LOWER, 3.5, 3.95, 4.05, Verdict.CONSISTENT),  # loose lower bound holds
        (BoundKind.LOWER, 3.5, 3.0, 3.2, Verdict.VIOLATED),
        (BoundKind.LOWER, 3.5, 3.0, 3.6, Verdict.CONSISTENT),  # does not exclude 3.5: its control
        # (not this judge) decides whether the interval is narrow enough to matter
        (BoundKind.UPPER, -1.0, -1.3, -1.05, Verdict.CONSISTENT),
        (BoundKind.UPPER, -1.0, -0.8, -0.5, Verdict.VIOLATED),
        (BoundKind.UPPER, -1.0, -1.2, -0.8, Verdict.CONSISTENT),
        (BoundKind.TIGHT, 2.0, 1.98, 2.02, Verdict.CONSISTENT),
        (BoundKind.TIGHT, 3.0, 3.95, 4.05, Verdict.VIOLATED),
        (BoundKind.TIGHT, 2.0, 1.5, 2.5, Verdict.CONSISTENT),  # too wide: its controls decide
    ],
)
def test_rate_verdicts(kind, claimed, low, high, expected):
    assert judge_fitted_exponent(fit_with_interval(low, high), bound(kind, claimed)) is expected


def test_tolerance_edges_are_inclusive():
    lower = bound(BoundKind.LOWER, 2)
    assert judge_fitted_exponent(fit_with_interval(2 - TOL, 2.5), lower) is Verdict.CONSISTENT
    upper = bound(BoundKind.UPPER, 2)
    assert judge_fitted_exponent(fit_with_interval(1.5, 2 + TOL), upper) is Verdict.CONSISTENT


def test_non_finite_interval_is_inconclusive():
    fit = fit_with_interval(-np.inf, np.inf)
    assert judge_fitted_exponent(fit, bound(BoundKind.TIGHT, 1)) is Verdict.INCONCLUSIVE


def test_identity_bound_cannot_judge_a_fit():
    identity = Bound(BoundKind.IDENTITY, expression=sympy.Integer(0))
    with pytest.raises(ValueError):
        judge_fitted_exponent(fit_with_interval(1, 2), identity)


def test_bound_needs_its_exponent_or_expression():
    with pytest.raises(ValueError, match="needs an exponent"):
        Bound(BoundKind.LOWER, "n")
    with pytest.raises(ValueError, match="needs an expression"):
        Bound(BoundKind.IDENTITY)


def test_loose_bound_detail_names_the_tight_exponent():
    check = rate_check(Layer.NUMERIC, "cond", "cond(W^T W) = Omega(n^3.5)",
                       fit_with_interval(3.98, 4.02), bound(BoundKind.LOWER, 3.5))
    assert check.verdict is Verdict.CONSISTENT
    assert "not tight" in check.detail and "4" in check.detail
    assert "Omega(n^7/2)" in check.detail


@pytest.mark.parametrize(
    "residual, tolerance, expected",
    [(1e-45, 1e-40, Verdict.CONSISTENT), (1e-3, 1e-40, Verdict.VIOLATED),
     (float("nan"), 1.0, Verdict.INCONCLUSIVE)],
)
def test_identity_verdicts(residual, tolerance, expected):
    check = identity_check(Layer.NUMERIC, "id", "a = b", residual, tolerance, precision_digits=50)
    assert check.verdict is expected and check.precision_digits == 50


@pytest.mark.parametrize(
    "margin, expected",
    [(0.5, Verdict.CONSISTENT), (-1e-20, Verdict.CONSISTENT), (-0.1, Verdict.VIOLATED),
     (float("inf"), Verdict.INCONCLUSIVE)],
)
def test_inequality_verdicts(margin, expected):
    check = inequality_check(Layer.NUMERIC, "ineq", "a <= b", margin, tolerance=1e-15)
    assert check.verdict is expected


def test_symbolic_zero_check_proves_disproves_and_abstains():
    x, y = sympy.symbols("x y", real=True)
    assert symbolic_zero_check("p", "", (x + y) ** 2 - x**2 - 2 * x * y - y**2).verdict \
        is Verdict.CONSISTENT
    matrix = sympy.Matrix([[x - x, 1], [0, 0]])
    assert symbolic_zero_check("m", "", matrix).verdict is Verdict.VIOLATED
    f = sympy.Function("f")
    assert symbolic_zero_check("u", "", f(x) - f(y)).verdict is Verdict.INCONCLUSIVE


def check_with(verdict: Verdict, decisive: bool = True) -> Check:
    return Check(Layer.NUMERIC, "c", "s", verdict, decisive=decisive)


@pytest.mark.parametrize(
    "verdicts, expected",
    [
        ([Verdict.CONSISTENT, Verdict.CONSISTENT], Verdict.CONSISTENT),
        ([Verdict.CONSISTENT, Verdict.INCONCLUSIVE], Verdict.INCONCLUSIVE),
        ([Verdict.INCONCLUSIVE, Verdict.ERROR], Verdict.ERROR),
        ([Verdict.ERROR, Verdict.VIOLATED], Verdict.VIOLATED),
        ([], Verdict.INCONCLUSIVE),
    ],
)
def test_combine(verdicts, expected):
    assert combine(check_with(v) for v in verdicts) is expected


def test_non_decisive_checks_do_not_drive_the_verdict():
    checks = [check_with(Verdict.CONSISTENT), check_with(Verdict.VIOLATED, decisive=False)]
    assert combine(checks) is Verdict.CONSISTENT


def test_exponential_bound_is_described_as_an_exponential():
    decay = Bound(BoundKind.TIGHT, "t", sympy.Integer(-2), exponential=True)
    assert decay.describe() == "Theta(exp(-2 t))"
    assert bound(BoundKind.LOWER, 3.5).describe() == "Omega(n^7/2)"


def test_symbolic_zero_check_finds_a_counter_example_where_sympy_cannot_simplify():
    x = sympy.symbols("x", positive=True)
    n = sympy.symbols("n", integer=True, positive=True)
    # sympy leaves both unsimplified; they are not identities (the second is off by 1/n^2 terms)
    wrong = sympy.sin(x) ** 2 + sympy.cos(x) ** 2 - 1 + sympy.Rational(1, 10) * sympy.gamma(x) * x
    check = symbolic_zero_check("w", "", wrong)
    assert check.verdict is Verdict.VIOLATED and "not 0, at x = " in check.detail
    assert symbolic_zero_check("h", "", sympy.harmonic(n) - sympy.log(n)).verdict \
        is Verdict.VIOLATED


def test_symbolic_zero_check_stays_inconclusive_on_a_true_identity_it_cannot_prove():
    x = sympy.symbols("x", positive=True)
    true_but_hard = sympy.zeta(2) - sympy.pi**2 / 6 + x - x  # sympy proves this one
    assert symbolic_zero_check("z", "", true_but_hard).verdict is Verdict.CONSISTENT
    f = sympy.Function("f")
    assert symbolic_zero_check("u", "", f(x) - f(2 * x)).verdict is Verdict.INCONCLUSIVE


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=3),
       st.lists(st.integers(-3, 3), min_size=1, max_size=3), st.integers(-2, 2),
       st.sampled_from(["x", "sin"]))
def test_points_first_gives_the_verdict_of_simplifying_first(left, right, offset, kind):
    """The control path (`points_first`) against the main path on random identities and
    near-identities: p(x) q(y) - expand(p q) + offset [x -> sin(x)^2 + cos(x)^2 - 1 + x]."""
    x, y = sympy.symbols("x y", real=True)
    base = x if kind == "x" else sympy.sin(x) ** 2 + sympy.cos(x) ** 2 - 1 + x
    p = sum(c * base**i for i, c in enumerate(left))
    q = sum(c * y**j for j, c in enumerate(right))
    expression = p * q - sympy.expand((sum(c * x**i for i, c in enumerate(left))) * q) + offset
    plain = symbolic_zero_check("e", "", expression)
    quick = symbolic_zero_check("e", "", expression, points_first=True)
    assert quick.verdict is plain.verdict
    assert plain.verdict is (Verdict.CONSISTENT if offset == 0 else Verdict.VIOLATED)


def test_points_first_leaves_a_true_identity_to_the_simplifier():
    """sin^2 + cos^2 - 1 is 0 at every point up to evalf's rounding (below the 1e-40 floor): no
    counter-example, so the simplification decides (consistent)."""
    x = sympy.symbols("x", positive=True)
    matrix = sympy.Matrix([sympy.sin(x) ** 2 + sympy.cos(x) ** 2 - 1, x - x])
    check = symbolic_zero_check("t", "", matrix, points_first=True)
    assert check.verdict is Verdict.CONSISTENT
    wrong = symbolic_zero_check("w", "", matrix + sympy.Matrix([0, x]), points_first=True)
    assert wrong.verdict is Verdict.VIOLATED and "not 0, at x = " in wrong.detail
