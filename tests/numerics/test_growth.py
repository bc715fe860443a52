"""Exponential against power-law growth: each model is recognised on its own data."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from optverify.numerics.growth import compare_growth

R = np.linspace(1, 12, 12)


@given(rate=st.floats(0.2, 2.0), seed=st.integers(0, 10**6))
def test_exponential_data_reject_the_power_law(rate, seed):
    noise = np.random.default_rng(seed).normal(0, 0.01, R.size)
    comparison = compare_growth(R, np.exp(-rate * R + noise))
    assert comparison.power_law_rejected and not comparison.power_law_exponent > 0


@given(exponent=st.floats(0.1, 3.0), seed=st.integers(0, 10**6))
def test_power_law_data_reject_the_exponential(exponent, seed):
    noise = np.random.default_rng(seed).normal(0, 0.01, R.size)
    comparison = compare_growth(R, R**-exponent * np.exp(noise))
    assert comparison.exponential_rejected


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="at least 4 points"):
        compare_growth([1, 2, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="positive"):
        compare_growth([0, 1, 2, 3], [1, 2, 3, 4])
