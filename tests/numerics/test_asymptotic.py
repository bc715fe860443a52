"""The asymptotic power-law fit: it models a finite-size correction when the data need one, keeps
the straight line when they do not, and its interval covers the true exponent."""

import numpy as np
import pytest
from scipy import stats

from optverify.numerics.asymptotic import CORRECTION_ALPHA, fit_asymptotic_power_law

X = np.geomspace(10, 1000, 9)


@pytest.mark.parametrize("power", [0.5, 1.0, 2.0])
def test_a_large_x_correction_is_modelled_and_the_exponent_recovered(power):
    y = 3.0 * X**3.5 * np.exp(4.0 * (X / 100) ** -power)
    fit = fit_asymptotic_power_law(X, y)
    assert fit.correction.applied and fit.correction.power == power
    assert fit.exponent == pytest.approx(3.5, abs=1e-8)
    assert abs(fit.correction.straight_exponent - 3.5) > 0.05  # the straight line is off


def test_a_small_x_correction_is_modelled_too():
    eta = np.geomspace(1e-4, 1e-1, 8)
    fit = fit_asymptotic_power_law(eta, eta**2 * (1 + 5 * eta))  # not exactly a single term
    assert fit.correction.applied and fit.correction.power < 0
    assert abs(fit.exponent - 2) < abs(fit.correction.straight_exponent - 2)


def test_without_a_correction_the_straight_line_is_kept_at_the_stated_rate():
    rng = np.random.default_rng(0)
    trials = 400
    applied = sum(fit_asymptotic_power_law(X, X**2 * np.exp(rng.normal(0, 0.05, X.size)))
                  .correction.applied for _ in range(trials))
    assert applied <= stats.binom.ppf(0.999, trials, 0.05)
    assert CORRECTION_ALPHA < 0.05


def test_the_interval_covers_the_true_exponent_with_a_correction_present():
    rng = np.random.default_rng(1)
    trials, covered = 400, 0
    for _ in range(trials):
        y = X**-1.0 * np.exp(2.0 / np.sqrt(X) + rng.normal(0, 0.01, X.size))
        covered += fit_asymptotic_power_law(X, y).ci.contains(-1.0)
    assert covered >= stats.binom.ppf(0.001, trials, 0.95)


def test_few_points_keep_the_straight_line():
    fit = fit_asymptotic_power_law([1, 2, 4, 8], [1, 4, 16, 64])
    assert fit.correction is None and fit.exponent == pytest.approx(2)
