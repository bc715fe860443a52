"""Tests for pwl-conditioning (arXiv:1703.07950, Section 4) and its structured.py."""

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given
from hypothesis import strategies as st
from mpmath import mp

from optverify.kit import Layer, RunConfig, Session, run_layer
from optverify.theorems.pwl_conditioning import CLAIM, experiment, numeric, statement
from optverify.theorems.pwl_conditioning.moments import (
    conv_second_moment_enumerated,
    conv_second_moment_symbolic,
    n_symbol,
)
from optverify.theorems.pwl_conditioning.sampling import sample_curves_numpy
from optverify.theorems.pwl_conditioning.structured import (
    ramp_matrix,
    ramp_matvec,
    ramp_rmatvec,
    ramp_spectrum,
    ramp_spectrum_dense,
    ramp_spectrum_dense_mp,
    ramp_spectrum_mp,
    second_difference_matrix,
)

EPS = np.finfo(float).eps


@given(st.integers(3, 200), st.integers(0, 2**32 - 1))
def test_curves_are_ramp_products_and_the_banded_inverse_recovers_p(n, seed):
    """f = W p exactly (integer slopes keep float64 exact) and W^{-1} f = B f recovers p."""
    rng = np.random.default_rng(seed)
    p = np.zeros(n)
    p[rng.choice(n, size=3, replace=False)] = rng.integers(-5, 6, size=3)
    f = ramp_matvec(p)
    assert np.array_equal(f, ramp_matrix(n) @ p)
    assert np.array_equal(second_difference_matrix(n) @ f, p)


@given(st.integers(3, 60), st.integers(0, 2**32 - 1))
def test_sampled_curves_satisfy_lemma1(n, seed):
    curves = sample_curves_numpy(n, 4, np.random.default_rng(seed))
    p, f = curves.p, curves.f
    assert np.all((p != 0).sum(axis=1) == 3)
    recovered = (second_difference_matrix(n) @ f.T).T
    assert np.max(np.abs(recovered - p)) <= 64 * n**2 * EPS  # f entries reach ~n, B sums 4 of them


@pytest.mark.parametrize("n", [2, 5, 17, 64])
def test_structured_products_match_dense(n):
    x = np.random.default_rng(n).standard_normal(n)
    w = ramp_matrix(n)
    scale = np.abs(w).sum() * np.abs(x).max()
    assert np.allclose(ramp_matvec(x), w @ x, rtol=0, atol=8 * n * EPS * scale)
    assert np.allclose(ramp_rmatvec(x), w.T @ x, rtol=0, atol=8 * n * EPS * scale)


@pytest.mark.parametrize("n", [4, 9, 33, 100, 257])
def test_structured_spectrum_matches_dense_svd(n):
    fast, dense = ramp_spectrum(n), ramp_spectrum_dense(n)
    assert fast.sigma_max == pytest.approx(dense.sigma_max, rel=64 * n * EPS)
    assert fast.sigma_min == pytest.approx(dense.sigma_min, rel=64 * n * EPS)


@pytest.mark.parametrize("n", [2, 3, 5, 9])
def test_mpmath_structured_spectrum_matches_dense_mpmath_svd(n):
    with mp.workdps(40):
        fast, dense = ramp_spectrum_mp(n), ramp_spectrum_dense_mp(n)
        assert abs(fast.sigma_max / dense.sigma_max - 1) < mp.mpf(10) ** -30
        assert abs(fast.sigma_min / dense.sigma_min - 1) < mp.mpf(10) ** -30


def test_limits_of_the_extreme_singular_values():
    spectrum = ramp_spectrum(4000)
    beta = 1.8751040687119611
    assert spectrum.sigma_min == pytest.approx(0.25, rel=1e-6)
    assert spectrum.sigma_max / 4000**2 == pytest.approx(1 / beta**2, rel=1e-3)


@pytest.mark.parametrize("n", [4, 5, 6])
def test_sympy_second_moment_matches_enumeration(n):
    closed = conv_second_moment_symbolic().subs(n_symbol, n)
    assert closed == sympy.Matrix(conv_second_moment_enumerated(n))


@pytest.mark.parametrize("n", [5, 12, 40])
def test_second_moment_matches_monte_carlo(n):
    """The exact C against a sampled estimate (tolerance: 6 standard errors of the mean)."""
    f = sample_curves_numpy(n, 20000, np.random.default_rng(n)).f
    padded = np.concatenate([np.zeros((20000, 2)), f], axis=1)
    windows = np.stack([padded[:, :n], padded[:, 1:n + 1], padded[:, 2:]], axis=-1)
    per_curve = np.einsum("mta,mtb->mab", windows, windows) / n
    exact = np.array(conv_second_moment_symbolic().subs(n_symbol, n).evalf(), dtype=float)
    error = np.abs(per_curve.mean(0) - exact)
    assert np.all(error <= 6 * per_curve.std(0) / np.sqrt(20000))


def test_lemma2_closed_form_matches_recursion_symbolically():
    step = sympy.Symbol("s")
    w = statement.ones_lower(3) ** 2
    gap = statement.lemma2_closed_form(w, step, 3) - statement.lemma2_recursion(w, step, 3)
    assert sympy.expand(gap) == sympy.zeros(3, 3)


def test_extrapolation_recovers_a_polynomial_limit_exactly():
    sizes = (10, 20, 40, 80)
    with mp.workdps(30):
        values = [mp.mpf(2) + 3 / mp.mpf(n) - 5 / mp.mpf(n) ** 2 for n in sizes]
        extrapolation = numeric.extrapolate_to_infinity(sizes, values, 3)
        assert abs(extrapolation.limit - 2) < mp.mpf(10) ** -25


def test_theorem3_first_time_is_the_exact_recursion():
    """first_time_below against iterating E[U_t] with the matrices themselves."""
    n, factor = 5, 0.5
    w = ramp_matrix(n)
    singular_values = np.linalg.svd(w, compute_uv=False)
    step = factor / singular_values[0] ** 2
    predicted = numeric.first_time_below(singular_values, factor, 0.5)
    u, inverse = np.zeros((n, n)), np.linalg.inv(w)
    t = 0
    while np.linalg.norm(u - inverse, 2) >= 0.5:
        u = u - step * (u @ w - np.eye(n)) @ w.T
        t += 1
    assert t == predicted


def test_batched_learner_gradients_match_autograd():
    session = Session(RunConfig(quick=True), Layer.EXPERIMENT)
    runs = [("fully-connected", 4), ("convolution", 5), ("preconditioned", 6)]
    whiten = experiment._whitening((6,), 500, session)
    learners = experiment.BatchedLearners(runs, whiten, session)
    generator = session.generator("test")
    learners.dense = torch.randn(learners.dense.shape, generator=generator, dtype=torch.float64)
    learners.taps = torch.randn(learners.taps.shape, generator=generator, dtype=torch.float64)
    p = experiment.sample_breakpoints_torch(learners.sizes, (3,), learners.n_max, generator,
                                            torch.float64)
    gradients = learners.gradients(p)
    dense = learners.dense.clone().requires_grad_()
    taps = learners.taps.clone().requires_grad_()
    learners.dense, learners.taps = dense, taps
    f = experiment.curves_from_breakpoints_torch(p) * learners.mask[:, None]
    loss = 0.5 * ((learners.predictions(f) - p) ** 2).sum() / p.shape[1]
    loss.backward()
    assert torch.allclose(dense.grad, gradients.dense, atol=1e-9)
    assert torch.allclose(taps.grad, gradients.taps, atol=1e-9)


def test_converged_filters_have_zero_error():
    session = Session(RunConfig(quick=True), Layer.EXPERIMENT)
    learners = experiment.BatchedLearners([("fully-connected", 5), ("convolution", 5)], {}, session)
    learners.dense = torch.linalg.inv(torch.tensor(ramp_matrix(5)))[None]
    learners.taps = torch.tensor([[1.0, -2.0, 1.0]], dtype=torch.float64)
    assert torch.all(learners.errors() < 1e-12)


@pytest.mark.parametrize("bad", [1, 0, -3, 2.5])
def test_bad_sizes_raise(bad):
    with pytest.raises(ValueError):
        ramp_spectrum(bad)
    with pytest.raises(ValueError):
        ramp_matrix(bad)


def test_bad_breakpoint_counts_raise():
    with pytest.raises(ValueError):
        sample_curves_numpy(2, 5, np.random.default_rng(0))
    with pytest.raises(ValueError):
        conv_second_moment_enumerated(4, k=5)


def test_symbolic_and_numeric_layers_quick():
    config = RunConfig(quick=True)
    for layer, tag in ((statement.verify, Layer.SYMBOLIC), (numeric.verify, Layer.NUMERIC)):
        result = run_layer(layer, tag, config, claim_bound=CLAIM.bound)
        decisive = [check for check in result.checks if check.decisive]
        assert all(check.verdict.value == "consistent" for check in decisive), [
            (check.name, check.detail) for check in decisive if check.verdict.value != "consistent"]


# -- negative controls (issue 9) ------------------------------------------------------------------

from optverify.kit import Verdict


def test_wrong_constant_is_not_reduced_to_zero():
    assert statement.wrong_constant(sympy.zeros(2, 2)) == sympy.ones(2, 2) / 100
    assert statement.wrong_constant(sympy.Integer(0)) == sympy.Rational(1, 100)


def test_conv_condition_limit_rejects_the_wrong_powers():
    moment = conv_second_moment_symbolic()
    assert statement.conv_condition_limit(moment, 3).finite_positive
    assert not statement.conv_condition_limit(moment, sympy.Rational(5, 2)).finite_positive
    assert not statement.conv_condition_limit(moment, sympy.Rational(7, 2)).finite_positive


def test_expected_hitting_time_matches_the_recursion_and_the_twin_judge():
    assert experiment.expected_hitting_time(4, 0.5, 0.5) == numeric.first_time_below(
        np.linalg.svd(ramp_matrix(4), compute_uv=False), 0.5, 0.5)
    assert experiment._ratio_judge([1.0, 1.1, 0.9]).verdict is Verdict.CONSISTENT
    wrong = [experiment.expected_hitting_time(n, 0.5, 0.5)
             / experiment.expected_hitting_time(n + 1, 0.5, 0.5) for n in (3, 4, 5)]
    assert experiment._ratio_judge(wrong).verdict is Verdict.VIOLATED


def test_expected_law_is_linear_in_the_condition_number_with_rejected_controls():
    session = Session(RunConfig(quick=True), Layer.EXPERIMENT, CLAIM.bound)
    experiment._record_expected_law(session, 0.5)
    assert len(session.checks) == 2
    for check in session.checks:
        assert check.decisive and check.verdict is Verdict.CONSISTENT
        assert check.controls and all(control.rejected for control in check.controls)


def test_limit_check_uses_a_fixed_tolerance_and_rejects_a_wrong_constant():
    session = Session(RunConfig(quick=True), Layer.NUMERIC, CLAIM.bound)
    sizes = (64, 128, 256, 512)
    with mp.workdps(30):
        sequence = tuple(mp.mpf(1) / 4 + mp.mpf(1) / n for n in sizes)
        limit = numeric.Limit("toy-limit", "toy -> 1/4", sequence, mp.mpf(1) / 4)
        numeric._record_limit(session, limit, sizes, 3)
    (check,) = session.checks
    assert check.tolerance == numeric.LIMIT_TOLERANCE
    assert check.verdict is Verdict.CONSISTENT
    assert all(control.verdict is Verdict.VIOLATED for control in check.controls)


def test_no_sgd_n_rate_is_gated_by_its_own_sweep():
    assert not hasattr(experiment, "_in_asymptotic_regime")
    assert experiment._undecidable("convolution", "relative-0.05")
    assert experiment._undecidable("preconditioned", "absolute-0.5")
    assert experiment._undecidable("fully-connected", "absolute-0.5")
