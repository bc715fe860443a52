"""The kit's Clopper-Pearson interval against its closed form, its coverage and its bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from optverify.numerics.proportions import binomial_proportion, clopper_pearson


def beta_quantile_interval(successes: int, trials: int, level: float) -> tuple[float, float]:
    """The independent twin: the interval's closed form through beta quantiles."""
    alpha = 1 - level
    low = 0.0 if successes == 0 else stats.beta.ppf(alpha / 2, successes, trials - successes + 1)
    high = (1.0 if successes == trials
            else stats.beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    return float(low), float(high)


@given(st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.sampled_from([0.9, 0.95, 0.999]))
def test_interval_matches_the_beta_quantile_closed_form(counts, level):
    successes, trials = counts
    interval = clopper_pearson(successes, trials, level)
    low, high = beta_quantile_interval(successes, trials, level)
    assert interval.low == pytest.approx(low, abs=1e-9)
    assert interval.high == pytest.approx(high, abs=1e-9)
    assert interval.level == level
    assert interval.low <= successes / trials <= interval.high


def test_all_successes_has_the_textbook_lower_end():
    assert clopper_pearson(20, 20, 0.95).low == pytest.approx(0.025 ** (1 / 20))
    assert clopper_pearson(20, 20).low == pytest.approx(0.01 ** (1 / 20))  # the 98% default
    assert clopper_pearson(0, 20).low == 0.0


def test_interval_covers_at_least_its_level():
    """Exact coverage at p = 0.3, n = 40: the sum of binomial probabilities of the counts whose
    interval holds p is at least 95% (Clopper-Pearson is conservative)."""
    p, n = 0.3, 40
    covered = [clopper_pearson(k, n).contains(p) for k in range(n + 1)]
    coverage = stats.binom.pmf(np.arange(n + 1), n, p)[covered].sum()
    assert coverage >= 0.95


def test_result_object_reads_like_scipy():
    proportion = binomial_proportion(3, 12)
    assert proportion.proportion == 0.25
    scipy_interval = stats.binomtest(3, 12).proportion_ci(0.9, method="exact")
    assert proportion.proportion_ci(0.9).low == scipy_interval.low


@pytest.mark.parametrize("successes, trials", [(-1, 10), (11, 10), (0, 0), (1.5, 10), (True, 3)])
def test_bad_counts_raise(successes, trials):
    with pytest.raises(ValueError):
        clopper_pearson(successes, trials)


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5])
def test_bad_level_raises(level):
    with pytest.raises(ValueError):
        clopper_pearson(3, 10, level)
