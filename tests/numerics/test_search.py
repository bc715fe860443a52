"""The counter-example search (optverify.numerics.search): it finds, shrinks and certifies false
inequalities, never certifies a true one, is deterministic for a seed, and refuses bad input."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optverify.numerics.search import (
    IntegerRange,
    MatrixRange,
    RealRange,
    SearchBudget,
    search,
    simplest_between,
)
from tests.strategies import true_inequalities

SMALL = SearchBudget(starts=32, steps=30)


def square_above_identity(x, m):
    """x^2 >= x: false on (0, 1), simplest counter-example 1/2."""
    return x["x"] ** 2 - x["x"]


def test_a_false_inequality_is_certified_at_its_simplest_counter_example():
    result = search(square_above_identity, {"x": RealRange(-2, 2)}, seed=0, budget=SMALL)
    assert result.certified
    assert result.counter_example == {"x": Fraction(1, 2)}
    assert result.enclosure.below_zero and result.enclosure.text == "-1/4"


def test_integers_shrink_to_the_smallest_violating_size():
    def grows_slower_than_cube(x, m):  # 2^n <= n^3 + 100: true up to n = 10 (1024 <= 1100)
        return x["n"] ** 3 + 100 - 2 ** x["n"]

    result = search(grows_slower_than_cube, {"n": IntegerRange(0, 40)}, seed=3, budget=SMALL)
    assert result.counter_example == {"n": 11}
    assert result.enclosure.text == str(11 ** 3 + 100 - 2 ** 11)


def test_an_irrational_counter_example_is_certified_in_balls():
    def root_below_half_sum(x, m):  # sqrt(a) >= (a + 1) / 2 holds only at a = 1
        return m.sqrt(x["a"]) - (x["a"] + 1) / 2

    result = search(root_below_half_sum, {"a": RealRange(0, 4)}, seed=1, budget=SMALL)
    assert result.certified and result.enclosure.bits > 0 and result.enclosure.high < 0


def test_the_search_is_deterministic_for_a_seed():
    domain = {"x": RealRange(-3, 3), "y": RealRange(-3, 3)}

    def saddle(x, m):
        return x["x"] * x["y"] + m.number("1/10")

    assert search(saddle, domain, 5, SMALL) == search(saddle, domain, 5, SMALL)


def test_a_true_inequality_reports_its_smallest_margin_without_a_certificate():
    result = search(lambda x, m: x["x"] ** 2 + 1, {"x": RealRange(-5, 5)}, 0, SMALL)
    assert not result.certified and result.enclosure is None
    assert result.best_margin == pytest.approx(1, abs=1e-9)
    assert result.evaluations > SMALL.starts


@settings(max_examples=25)
@given(true_inequalities(), st.integers(0, 2**16))
def test_a_true_inequality_is_never_certified_violated(inequality, seed):
    margin, domain = inequality
    result = search(margin, domain, seed, SearchBudget(starts=16, steps=20))
    assert not result.certified
    assert result.enclosure is None or not result.enclosure.below_zero


def test_a_margin_that_raises_everywhere_is_unevaluable_not_violated():
    result = search(lambda x, m: m.log(-1 - x["x"] ** 2), {"x": RealRange(0, 1)}, 0, SMALL)
    assert result.unevaluable == SMALL.starts and not result.certified


@given(st.fractions(-20, 20, max_denominator=50), st.fractions(0, 5, max_denominator=50))
def test_simplest_between_lies_inside_and_no_smaller_denominator_does(low, width):
    high = low + width
    simplest = simplest_between(low, high)
    assert low <= simplest <= high
    for denominator in range(1, simplest.denominator):
        numerators = range(-int(20 * denominator) - 200, int(25 * denominator) + 200)
        assert not any(low <= Fraction(p, denominator) <= high for p in numerators)


@pytest.mark.parametrize("make, message", [
    (lambda: RealRange(2, 1), "low <= high"),
    (lambda: RealRange(0, 1, log=True), "positive ends"),
    (lambda: IntegerRange(0.5, 3), "integer ends"),
    (lambda: IntegerRange(3, 1), "low <= high"),
    (lambda: SearchBudget(starts=0), "starts >= 1"),
    (lambda: search(square_above_identity, {}, 0), "non-empty mapping"),
    (lambda: search(square_above_identity, {"x": (0, 1)}, 0), "expected a RealRange"),
    (lambda: MatrixRange(2, 3, -1, 1, symmetric=True), "must be square"),
    (lambda: MatrixRange(0, 3, -1, 1), "positive integer sizes"),
    (lambda: search(0.5, {"x": RealRange(0, 1)}, 0), "a function margin"),
])
def test_bad_input_is_one_clear_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def smallest_eigenvalue_above_smallest_diagonal(x, m):
    """lambda_min(A) >= min_i A_ii for symmetric A: false (A = [[0, 1], [1, 0]] has -1)."""
    matrix = m.matrix(x["A"])
    return m.symmetric_eigenvalues(matrix)[0] - m.min(*[m.entry(matrix, i, i) for i in range(2)])


def largest_eigenvalue_above_diagonal(x, m):
    """lambda_max(A) >= A_00 for symmetric A (the Rayleigh quotient at e_0): true."""
    matrix = m.matrix(x["A"])
    return m.symmetric_eigenvalues(matrix)[-1] - m.entry(matrix, 0, 0)


def test_a_false_matrix_inequality_is_certified_at_a_simple_symmetric_matrix():
    domain = {"A": MatrixRange(2, 2, -2, 2, symmetric=True)}
    result = search(smallest_eigenvalue_above_smallest_diagonal, domain, 0, SMALL)
    assert result.certified and result.enclosure.below_zero
    entries = result.counter_example
    assert set(entries) == {"A[0,0]", "A[0,1]", "A[1,1]"}  # the free entries of a symmetric 2 x 2
    assert all(value.denominator == 1 for value in entries.values())  # shrunk to integers
    assert entries["A[0,1]"] != 0  # a diagonal matrix satisfies it


def test_a_true_matrix_inequality_is_not_certified_violated():
    domain = {"A": MatrixRange(3, 3, -2, 2, symmetric=True)}
    result = search(largest_eigenvalue_above_diagonal, domain, 0, SMALL)
    assert not result.certified
    assert result.enclosure is None or not result.enclosure.below_zero
