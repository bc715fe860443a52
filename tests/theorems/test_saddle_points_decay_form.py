"""The decay form of the Kac-Rice minima fraction with a free power prefactor (issues 18/20):
the profile-likelihood power a of d in C d^alpha exp(-theta d^a) (1 + o(1))."""

from __future__ import annotations

import numpy as np
import pytest

from optverify.kit import Session, Verdict
from optverify.testing import Layer, RunConfig
from optverify.theorems.saddle_points import decay_form, kac_rice, landscape_numeric

DIMS = np.array([*range(2, 17), *range(20, 49, 4)], dtype=float)
"""The full run's dimensions."""


def model(dims: np.ndarray, power: float, alpha: float = 0.3, theta: float = 0.32,
          finite_size: float = 0.5) -> np.ndarray:
    """log f = 0.2 + alpha log d - theta d^power + b / d."""
    return 0.2 + alpha * np.log(dims) - theta * dims**power + finite_size / dims


@pytest.mark.parametrize("power", [0.75, 1.0, 2.0])
def test_profile_recovers_the_power_of_exact_data(power):
    sd = np.full(DIMS.size, 0.01)
    fit = decay_form.decay_form_fit(DIMS, model(DIMS, power, theta=0.32 / 48 ** (power - 1)), sd)
    assert fit.ci.low <= power <= fit.ci.high
    assert abs(fit.exponent - power) <= 0.01
    with_term = decay_form.profile_fit(DIMS, model(DIMS, power), sd, finite_size=True)
    assert with_term.chi_squared < 1e-12 and with_term.scatter == 1.0


def judged(log_fraction: np.ndarray, sd: np.ndarray) -> dict[str, Verdict]:
    """The check's verdict and its redrawn controls' verdicts, through Session.fitted_rate."""
    s = Session(RunConfig(quick=True), Layer.NUMERIC)
    controls = {f"a = {power}": decay_form.decay_form_fit(
        DIMS, decay_form.redrawn_form(DIMS, log_fraction, sd, power), sd)
        for power in landscape_numeric.DECAY_FORM_ALTERNATIVES}
    check = s.fitted_rate("decay-power", "decay power", decay_form.decay_form_fit(
        DIMS, log_fraction, sd), landscape_numeric.DECAY_FORM, controls=controls)
    return {"check": check.verdict, **{c.alternative: c.verdict for c in check.controls}}


def test_an_exponential_with_a_prefactor_is_consistent_and_every_control_violated():
    sd = 0.002 * np.sqrt(DIMS)
    noise = sd * np.random.default_rng(0).standard_normal(DIMS.size)
    verdicts = judged(model(DIMS, 1.0) + noise, sd)
    assert verdicts.pop("check") is Verdict.CONSISTENT
    assert set(verdicts.values()) == {Verdict.VIOLATED}, verdicts


def test_a_stretched_exponential_is_violated():
    sd = 0.002 * np.sqrt(DIMS)
    assert judged(model(DIMS, 0.75, theta=0.6), sd)["check"] is Verdict.VIOLATED


def test_imprecise_points_leave_the_power_undecided():
    """Error bars of the quick run's size cannot pin a to within the margin."""
    sd = 0.05 * np.sqrt(DIMS)
    assert judged(model(DIMS, 1.0), sd)["check"] is Verdict.INCONCLUSIVE


def test_a_needed_finite_size_term_drops_the_term_free_model():
    sd = np.full(DIMS.size, 0.01)
    fit = decay_form.decay_form_fit(DIMS, model(DIMS, 1.0, finite_size=3.0), sd)
    plausible = {m.name: m.plausible for m in fit.models}
    assert plausible == {decay_form.NO_FINITE_SIZE_TERM: False, decay_form.FINITE_SIZE_TERM: True}


def test_scatter_beyond_the_errors_widens_the_interval():
    sd = np.full(DIMS.size, 0.01)
    noise = np.random.default_rng(1).standard_normal(DIMS.size)
    quiet = decay_form.profile_fit(DIMS, model(DIMS, 1.0) + 0.01 * noise, sd, True)
    loud = decay_form.profile_fit(DIMS, model(DIMS, 1.0) + 0.05 * noise, sd, True)
    assert loud.scatter > 1 and loud.ci.width > quiet.ci.width


def test_redrawn_at_the_claimed_power_returns_the_points():
    log_fraction = model(DIMS, 1.0) + 0.01 * np.sin(DIMS)
    sd = np.full(DIMS.size, 0.01)
    assert np.allclose(decay_form.redrawn_form(DIMS, log_fraction, sd, 1.0), log_fraction)


def test_interval_stops_at_the_grid_ends():
    sd = np.full(DIMS.size, 10.0)
    fit = decay_form.profile_fit(DIMS, model(DIMS, 1.0), sd, True)
    assert fit.ci.low == decay_form.EXPONENT_GRID[0]
    assert fit.ci.high == decay_form.EXPONENT_GRID[-1]


@pytest.mark.parametrize("dims, log_fraction, sd", [
    ([2.0, 3, 4, 5], [0.0, -1, -2, -3], [0.1] * 4),
    (DIMS, model(DIMS, 1.0), np.zeros(DIMS.size)),
    (DIMS, np.full(DIMS.size, np.nan), np.ones(DIMS.size)),
])
def test_bad_input_is_one_clear_error(dims, log_fraction, sd):
    with pytest.raises(ValueError, match="decay-form fit"):
        decay_form.decay_form_fit(dims, log_fraction, sd)


@pytest.mark.slow
def test_profile_interval_covers_the_true_power():
    """Coverage of the 98% interval over 200 seeded replicates of noisy exponential data with the
    full run's error sizes: at least 95% (binomial slack below the nominal 98%)."""
    sd = 0.05 * np.sqrt(DIMS)
    rng = np.random.default_rng(7)
    covered = sum(decay_form.profile_fit(
        DIMS, model(DIMS, 1.0) + sd * rng.standard_normal(DIMS.size), sd, True).ci.contains(1.0)
        for _ in range(200))
    assert covered >= 190


def test_kac_rice_counts_stay_finite_beyond_float_range_of_the_determinant():
    """|det M| overflows float64 at d = 64 on the outer radii; the counts sum its logs."""
    counts = kac_rice.kac_rice_counts(64, 10.0, 64, 64, np.random.default_rng(0))
    assert np.all(np.isfinite(counts.counts)) and counts.minima > 0
