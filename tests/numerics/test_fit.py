"""The rate fitter recovers known exponents and its interval covers the truth at the stated rate."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from optverify.numerics.fit import FitScale, fit_exponential_rate, fit_power_law, fit_rate


@given(exponent=st.floats(-4, 4), constant=st.floats(1e-3, 1e3))
def test_power_law_exact_data_recovers_exponent(exponent, constant):
    x = np.geomspace(1, 1e3, 9)
    fit = fit_power_law(x, constant * x**exponent)
    assert fit.exponent == pytest.approx(exponent, abs=1e-9)
    assert np.exp(fit.intercept) == pytest.approx(constant, rel=1e-9)
    assert fit.ci.width == pytest.approx(0, abs=1e-8)
    assert fit.n_points == 9 and fit.x_min == 1 and fit.x_max == pytest.approx(1e3)
    assert np.allclose(fit.local_slopes, exponent)


@given(rate=st.floats(-3, 3))
def test_exponential_rate_exact_data_recovers_rate(rate):
    t = np.linspace(0, 5, 11)
    fit = fit_exponential_rate(t, 2.0 * np.exp(rate * t))
    assert fit.scale is FitScale.LOG_LINEAR
    assert fit.exponent == pytest.approx(rate, abs=1e-9)
    assert fit.predict(np.array([1.0]))[0] == pytest.approx(2.0 * np.exp(rate))


def test_interval_covers_the_truth_at_the_stated_rate():
    rng = np.random.default_rng(0)
    x = np.geomspace(10, 1000, 8)
    trials, true_exponent = 2000, 3.5
    covered = 0
    for _ in range(trials):
        noise = rng.normal(0, 0.1, x.size)
        fit = fit_power_law(x, 1.3 * x**true_exponent * np.exp(noise))
        covered += fit.ci.contains(true_exponent)
    # nominal coverage (the judging level): the count lies inside the central 99.9% binomial range.
    low, high = stats.binom.ppf([0.0005, 0.9995], trials, fit.ci.level)
    assert low <= covered <= high


def test_ninety_percent_interval_is_narrower():
    rng = np.random.default_rng(1)
    x = np.geomspace(1, 100, 10)
    y = x**2 * np.exp(rng.normal(0, 0.2, x.size))
    assert fit_rate(x, y, level=0.90).ci.width < fit_rate(x, y, level=0.95).ci.width


@pytest.mark.parametrize(
    "x, y, message",
    [
        ([1, 2], [1, 4], "at least 3 points"),
        ([1, 2, 3], [1, 0, 9], "positive y"),
        ([1, 2, float("nan")], [1, 4, 9], "finite"),
        ([0, 1, 2], [1, 2, 3], "positive x"),
        ([2, 2, 2], [1, 2, 3], "distinct"),
        ([1, 2, 3], [1, 2], "one length"),
    ],
)
def test_bad_input_is_refused(x, y, message):
    with pytest.raises(ValueError, match=message):
        fit_power_law(x, y)
