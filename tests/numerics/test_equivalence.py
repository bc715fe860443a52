"""numerics/equivalence: the ratio-against-a-margin judge (two one-sided t-tests on the logs)
against scipy's t-test, its TOST properties, its error rate at the margin, and bad input."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from optverify.numerics.equivalence import (
    MARGIN_LEVEL,
    compare_ratio_to_margin,
    estimate_ratio,
    units_to_separate,
)

positive_ratios = st.lists(st.floats(0.05, 20.0), min_size=2, max_size=30)


def test_bounds_are_scipys_one_sided_t_bounds_of_the_logs():
    ratios = np.array([0.9, 1.3, 0.7, 1.1, 1.05])
    estimate = estimate_ratio(ratios)
    logs = np.log(ratios)
    lower = stats.ttest_1samp(logs, 0.0, alternative="greater").confidence_interval(MARGIN_LEVEL).low
    upper = stats.ttest_1samp(logs, 0.0, alternative="less").confidence_interval(MARGIN_LEVEL).high
    assert math.isclose(estimate.lower, math.exp(lower), rel_tol=1e-12)
    assert math.isclose(estimate.upper, math.exp(upper), rel_tol=1e-12)
    assert math.isclose(estimate.geometric_mean, math.exp(logs.mean()), rel_tol=1e-12)
    assert estimate.interval.level == pytest.approx(2 * MARGIN_LEVEL - 1)


@given(positive_ratios, st.floats(0.1, 10.0), st.booleans())
def test_at_most_one_side_is_shown_and_each_side_matches_its_p_value(ratios, margin, at_least):
    test = compare_ratio_to_margin(ratios, margin, at_least)
    assert not (test.claim_shown and test.opposite_shown)
    estimate = test.estimate
    assert estimate.lower <= estimate.geometric_mean <= estimate.upper
    if estimate.log_stderr > 0 and abs(math.log(estimate.lower / margin)) > 1e-9 \
            and abs(math.log(estimate.upper / margin)) > 1e-9:
        assert test.claim_shown == (test.p_claim < 1 - MARGIN_LEVEL)
        assert test.opposite_shown == (test.p_opposite < 1 - MARGIN_LEVEL)


@given(positive_ratios, st.floats(0.1, 10.0))
def test_the_two_claims_are_mirror_images(ratios, margin):
    at_least = compare_ratio_to_margin(ratios, margin, True)
    below = compare_ratio_to_margin(ratios, margin, False)
    assert at_least.claim_shown == below.opposite_shown
    assert at_least.opposite_shown == below.claim_shown


def test_identical_ratios_give_a_point_and_a_decision():
    test = compare_ratio_to_margin(np.ones(6), 0.8, True)
    assert test.claim_shown and test.estimate.lower == test.estimate.upper == 1.0
    assert compare_ratio_to_margin(np.ones(6), 0.8, False).opposite_shown


@pytest.mark.parametrize("units", [4, 12])
def test_a_true_ratio_at_the_margin_is_called_the_opposite_at_most_alpha(units):
    """2000 replicates of lognormal ratios (log scatter 0.3) whose true geometric mean is the
    margin: the claim "r >= margin" is refuted in about alpha = 1 - MARGIN_LEVEL = 1% of them
    (binomial slack: the central 99.9% range of Binomial(2000, alpha))."""
    rng = np.random.default_rng(18)
    draws = 0.8 * np.exp(0.3 * rng.standard_normal((2000, units)))
    refuted = sum(compare_ratio_to_margin(row, 0.8, True).opposite_shown for row in draws)
    low, high = stats.binom.ppf([0.0005, 0.9995], 2000, 1 - MARGIN_LEVEL)
    assert low <= refuted <= high  # exact t: the rate is alpha, neither above nor far below


def test_units_to_separate_is_the_smallest_count_that_clears_the_distance():
    scatter, distance = 0.42, math.log(0.8 / 0.7)
    units = units_to_separate(scatter, distance)
    half = lambda n: stats.t.ppf(MARGIN_LEVEL, n - 1) * scatter / math.sqrt(n)  # noqa: E731
    assert half(units) < distance <= half(units - 1)
    assert units_to_separate(0.0, distance) == 2


def test_enough_units_separate_the_alternative_and_one_fewer_does_not():
    """Ratios at geometric mean 0.7 with log scatter exactly 0.3: units_to_separate of them put
    the upper bound below the margin 0.8, one unit fewer does not."""
    units = units_to_separate(0.3, math.log(0.8 / 0.7))

    def at_scatter(count):
        logs = np.random.default_rng(count).standard_normal(count)
        return 0.7 * np.exp(0.3 * (logs - logs.mean()) / logs.std(ddof=1))

    assert compare_ratio_to_margin(at_scatter(units), 0.8, True).opposite_shown
    assert not compare_ratio_to_margin(at_scatter(units - 1), 0.8, True).opposite_shown


@pytest.mark.parametrize("ratios", [[1.0], [1.0, -1.0], [1.0, np.inf], [[1.0, 2.0]], [0.0, 1.0]])
def test_bad_ratios_are_rejected(ratios):
    with pytest.raises(ValueError):
        estimate_ratio(ratios)


@pytest.mark.parametrize("margin", [0.0, -1.0, np.inf, np.nan])
def test_bad_margins_are_rejected(margin):
    with pytest.raises(ValueError):
        compare_ratio_to_margin([1.0, 2.0], margin, True)


@pytest.mark.parametrize("level", [0.5, 1.0, 0.2])
def test_bad_levels_are_rejected(level):
    with pytest.raises(ValueError):
        estimate_ratio([1.0, 2.0], level)
    with pytest.raises(ValueError):
        units_to_separate(0.3, 0.1, level)
