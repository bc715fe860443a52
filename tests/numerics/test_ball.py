"""Enclosures of a margin written once (optverify.numerics.ball): they contain the exact value,
decide its sign only when they exclude zero, and refuse what they cannot decide."""

import math
from fractions import Fraction

import mpmath
import pytest

from optverify.numerics.ball import certify, enclose, evaluate_exact, evaluate_float


def sqrt_two_gap(x, m):
    return m.sqrt(x["a"]) - m.number("1414213562373095/1000000000000000")


def test_an_irrational_margin_is_enclosed_above_zero_where_float_sees_zero():
    assert evaluate_float(sqrt_two_gap, {"a": 2}) == pytest.approx(0, abs=1e-15)
    enclosure = certify(sqrt_two_gap, {"a": Fraction(2)})
    assert enclosure.above_zero and not enclosure.below_zero and enclosure.bits == 128
    with mpmath.workdps(50):  # the independent twin: mpmath at 50 digits
        gap = float(mpmath.sqrt(2) - mpmath.mpf("1.414213562373095"))
    assert enclosure.low == pytest.approx(gap, rel=1e-12) and enclosure.low > 0


def test_a_rational_margin_is_decided_exactly_even_at_an_equality():
    def square_gap(x, m):
        return (x["p"] - x["q"]) ** 2

    equality = certify(square_gap, {"p": Fraction(1, 3), "q": Fraction(1, 3)})
    assert equality.exact_zero and equality.not_negative and not equality.below_zero
    assert equality.bits == 0 and equality.text == "0"
    assert certify(square_gap, {"p": 1, "q": Fraction(1, 2)}).text == "1/4"


def test_a_ball_straddles_an_irrational_equality_and_stays_undecided():
    def root_equality(x, m):
        return m.sqrt(x["a"]) ** 2 - x["a"]

    enclosure = certify(root_equality, {"a": Fraction(3)}, bits=(64, 128))
    assert not enclosure.decided and enclosure.low <= 0 <= enclosure.high


def test_eigenvalue_enclosures_contain_the_exact_eigenvalues():
    def smallest_eigenvalue(x, m):
        return m.symmetric_eigenvalues(m.matrix([[2, x["b"]], [x["b"], 2]]))[0]

    enclosure = enclose(smallest_eigenvalue, {"b": Fraction(1)}, 128)
    assert enclosure.low <= 1 <= enclosure.high and enclosure.above_zero
    assert evaluate_exact(smallest_eigenvalue, {"b": Fraction(1)}) is None  # not rational


def test_an_inexact_integer_division_is_undecided_not_rounded():
    enclosure = certify(lambda x, m: x["n"] / 3 - 1, {"n": 4}, bits=(64,))
    assert not enclosure.decided
    assert certify(lambda x, m: m.number(x["n"]) / 3 - 1, {"n": 4}).above_zero


def test_a_float_constant_is_left_to_the_balls():
    assert evaluate_exact(lambda x, m: x["a"] - 0.1, {"a": Fraction(1, 10)}) is None


def test_float_evaluation_reports_nan_for_an_error_or_an_overflow():
    assert math.isnan(evaluate_float(lambda x, m: m.log(x["a"]), {"a": -1.0}))
    assert math.isnan(evaluate_float(lambda x, m: 1 / x["a"], {"a": 0.0}))
    assert math.isnan(evaluate_float(lambda x, m: m.exp(x["a"]), {"a": 1000.0}))


def test_a_repeated_eigenvalue_is_enclosed_too():
    def shifted_identity_eigenvalue(x, m):
        return m.symmetric_eigenvalues(m.matrix([[x["a"], 0], [0, x["a"]]]))[0] - x["a"] + 1

    enclosure = certify(shifted_identity_eigenvalue, {"a": Fraction(1, 3)})
    assert enclosure.above_zero and enclosure.low <= 1 <= enclosure.high


def test_the_step_is_decided_exactly_and_undecided_on_a_straddling_ball():
    def kink(x, m):
        return m.step(x["z"]) - m.number("1/2")

    assert certify(kink, {"z": Fraction(1, 3)}).text == "1/2"  # exact: rational margin
    assert certify(kink, {"z": Fraction(0)}).text == "-1/2"  # the kink itself: step(0) = 0
    assert evaluate_float(kink, {"z": 0.0}) == -0.5

    def root_kink(x, m):  # step(sqrt(2)^2 - 2): the ball straddles zero at every precision
        return m.step(m.sqrt(x["z"]) ** 2 - x["z"]) + 1

    assert not certify(root_kink, {"z": Fraction(2)}, bits=(64, 128)).decided
