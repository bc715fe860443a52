"""Tests of the `jacobian-products` claim: closed forms against Monte Carlo and quadrature, the
renormalized log-norm against the direct one and autograd, properties over random orthogonal
matrices and scalings, bad input, and the negative controls of every decisive check (issue 9):
each false alternative through the check's own judging path."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given
from hypothesis import strategies as st
from mpmath import mp
from scipy import special

from optverify.kit import Bound, Session, Verdict, judge_exponent, machine_epsilon
from optverify.numerics.haar import haar_orthogonal
from optverify.testing import Layer, RunConfig
from optverify.theorems.jacobian_products import (
    CLAIM,
    config,
    gaussian_products,
    growth_rate,
    numeric,
    pascanu,
    products,
    rnn_bounds,
    rounding_twin,
    symbolic,
    variance_law,
)
from optverify.verdict import judge_residual, symbolic_zero_check
from optverify.verify.runner import run_claim

EPS = machine_epsilon("float64")
DIGITS = 50
MP_FLOOR = 10.0 ** -(DIGITS - 10)


# --- symbolic layer -----------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_scaled_orthogonal_product_gram_is_c_to_2t(depth):
    assert all(entry == 0 for entry in symbolic.scaled_orthogonal_residual(depth))


def test_wrong_power_of_c_is_not_an_identity():
    residual = symbolic.scaled_orthogonal_residual(2)
    wrong = residual + (symbolic.SCALE**4 - symbolic.SCALE**3) * sympy.eye(2)
    assert any(sympy.cancel(entry) != 0 for entry in wrong)


def test_singular_value_certificates_vanish_and_fail_with_swapped_coordinates():
    certificates = symbolic.singular_value_certificates()
    assert certificates.upper == 0 and certificates.lower == 0
    svd = symbolic.svd_matrix(1)
    matrix, right, large, small = svd.matrix, svd.right, svd.large, svd.small
    w = sympy.Matrix(sympy.symbols("w1 w2", real=True))
    image, coordinates = matrix * w, right.T * w
    swapped = (large**2 * (w.T * w)[0] - (image.T * image)[0]
               - (large**2 - small**2) * coordinates[0] ** 2)
    assert sympy.cancel(swapped) != 0


def test_sympy_lyapunov_closed_form_matches_mpmath_and_scipy():
    expression = symbolic.lyapunov_exponent(5).subs(symbolic.SIGMA, sympy.Rational(3, 2))
    assert float(expression) == pytest.approx(products.lyapunov_exponent(1.5, 5), abs=1e-14)
    assert sympy.simplify(symbolic.lyapunov_residual(3)) == 0


# --- numeric layer ------------------------------------------------------------------------------


@pytest.mark.parametrize("dimension", [2, 3, 7])
def test_chi_square_log_moments_match_closed_forms(dimension):
    with mp.workdps(DIGITS):
        moments = numeric.chi_square_log_moments(dimension)
        half = mp.mpf(dimension) / 2
        assert abs(moments.mean - (mp.log(2) + mp.digamma(half))) < MP_FLOOR
        assert abs(moments.variance - mp.psi(1, half)) < MP_FLOOR


@pytest.mark.parametrize("dimension", [2, 5])
def test_gaussian_step_moments_are_newmans_constants_in_the_experiments_normalization(dimension):
    with mp.workdps(30):
        moments = numeric.gaussian_step_log_moments(dimension, mp.mpf(3) / 4)
        assert float(moments.mean) == pytest.approx(
            products.lyapunov_exponent(0.75, dimension), abs=1e-14)
        assert float(moments.variance) == pytest.approx(
            products.log_norm_variance_per_step(dimension), abs=1e-14)
    steps = torch.linalg.vector_norm(products.gaussian_jacobians(
        torch.Generator().manual_seed(9), (200000,), dimension, 0.75, torch.float64, "cpu")[..., 0],
        dim=-1).log()
    assert float(steps.var()) == pytest.approx(float(moments.variance), rel=0.03)


def test_chi_square_log_mean_matches_monte_carlo():
    rng = np.random.default_rng(3)
    samples = np.log(rng.chisquare(6, 400_000))
    with mp.workdps(30):
        moments = numeric.chi_square_log_moments(6)
    error = samples.std() / math.sqrt(samples.size)
    assert abs(samples.mean() - float(moments.mean)) < 5 * error
    assert samples.var() == pytest.approx(float(moments.variance), rel=0.02)


def test_tanh_rnn_margins_are_positive_and_orthogonal_residual_at_floor():
    rng = np.random.default_rng(0)
    with mp.workdps(DIGITS):
        margins = numeric.tanh_rnn_margins(rng, 3, 12, 0.9, 1.0).margins
        product = numeric.scaled_orthogonal_residual(rng, 3, 10, 0.7)
        assert min(margins) > 0
        assert product.residual < MP_FLOOR
        assert abs(product.log_norms[-1] - 10 * mp.log(mp.mpf(0.7))) < MP_FLOOR


def test_tiny_product_underflows_directly_but_not_renormalized():
    with mp.workdps(DIGITS):
        tiny = numeric.tiny_product(np.random.default_rng(1), 3, 200, 0.01)
    assert tiny.direct_norm == 0.0
    assert tiny.renormalized_log_norm == pytest.approx(tiny.mp_log_norm, rel=200 * 16 * EPS)
    assert tiny.mp_log_norm == pytest.approx(200 * math.log(0.01), rel=1e-12)


# --- torch helpers and experiment ---------------------------------------------------------------


def _gaussian_batch(seed: int, depth: int, batch: int, dimension: int, sigma: float):
    generator = torch.Generator().manual_seed(seed)
    jacobians = products.gaussian_jacobians(generator, (depth, batch), dimension, sigma,
                                            torch.float64, "cpu")
    vector = torch.randn(batch, dimension, generator=generator, dtype=torch.float64)
    return jacobians, vector


def test_renormalized_log_norm_equals_direct_where_representable():
    jacobians, vector = _gaussian_batch(0, 12, 50, 5, 1.3)
    renormalized = products.renormalized_log_norms(vector, lambda t: jacobians[t - 1], 12)
    direct = products.direct_log_norms(vector, lambda t: jacobians[t - 1], len(jacobians))
    torch.testing.assert_close(renormalized, direct, rtol=0, atol=1e-12)


def test_renormalized_log_norm_survives_where_direct_underflows():
    jacobians, vector = _gaussian_batch(1, 400, 4, 3, 0.05)
    renormalized = products.renormalized_log_norms(vector, lambda t: jacobians[t - 1], 400)
    direct = products.direct_log_norms(vector, lambda t: jacobians[t - 1], len(jacobians))
    assert torch.isfinite(renormalized).all()
    assert (renormalized[-1] < math.log(np.finfo(np.float64).tiny)).all()
    assert torch.isneginf(direct[-1]).all()


def test_gaussian_growth_rate_matches_lyapunov_monte_carlo():
    jacobians, vector = _gaussian_batch(2, 40, 4000, 6, 0.8)
    logs = products.renormalized_log_norms(vector, lambda t: jacobians[t - 1], 40)
    logs = logs - torch.linalg.vector_norm(vector, dim=-1).log()
    rates = logs[-1] / 40
    error = float(rates.std()) / math.sqrt(rates.numel())
    assert abs(float(rates.mean()) - products.lyapunov_exponent(0.8, 6)) < 4 * error
    variance = float(logs[-1].var())
    assert variance == pytest.approx(40 * products.log_norm_variance_per_step(6), rel=0.1)


def test_tanh_rnn_backprop_matches_autograd():
    generator = torch.Generator().manual_seed(4)
    weight = 0.8 * torch.randn(4, 4, generator=generator, dtype=torch.float64)
    inputs = torch.randn(6, 4, generator=generator, dtype=torch.float64)
    final = torch.randn(4, generator=generator, dtype=torch.float64)
    states = products.tanh_rnn_states(weight, inputs)
    logs = products.tanh_rnn_gradient_log_norms(weight, states, final)
    for t in range(1, 7):
        start = states[6 - t].clone().requires_grad_(True)
        state = start
        for drive in inputs[6 - t:]:
            state = torch.tanh(weight @ state + drive)
        (gradient,) = torch.autograd.grad(state @ final, start)
        assert float(logs[t - 1]) == pytest.approx(float(gradient.norm().log()), abs=1e-12)


def test_clip_by_norm_matches_torch_clip_grad_norm():
    generator = torch.Generator().manual_seed(5)
    gradients = 10 * torch.randn(7, 3, generator=generator, dtype=torch.float64)
    clipped = products.clip_by_norm(gradients, 2.0)
    for row, expected in zip(gradients, clipped):
        parameter = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
        parameter.grad = row.clone()
        torch.nn.utils.clip_grad_norm_([parameter], 2.0)
        # torch scales by max_norm / (norm + 1e-6): a relative difference of 1e-6 / norm
        torch.testing.assert_close(parameter.grad, expected, rtol=1e-6, atol=0)


@given(dimension=st.integers(2, 6), depth=st.integers(1, 30), scale=st.floats(0.05, 3.0),
       seed=st.integers(0, 2**32 - 1))
def test_scaled_haar_products_have_log_norm_t_log_c(dimension, depth, scale, seed):
    generator = torch.Generator().manual_seed(seed)
    orthogonal = haar_orthogonal(dimension, generator, (depth,), torch.float64, "cpu")
    vector = torch.randn(dimension, generator=generator, dtype=torch.float64)
    logs = products.renormalized_log_norms(vector, lambda t: scale * orthogonal[t - 1], depth)
    expected = torch.arange(1, depth + 1, dtype=torch.float64) * math.log(scale)
    expected = expected + vector.norm().log()
    torch.testing.assert_close(logs, expected, rtol=0, atol=16 * EPS * depth * 4)


@given(dimension=st.integers(2, 5), depth=st.integers(1, 20), low=st.floats(0.2, 2.0),
       spread=st.floats(0.0, 1.0), seed=st.integers(0, 2**32 - 1))
def test_log_norm_between_sigma_min_and_sigma_max_sums(dimension, depth, low, spread, seed):
    high = low + spread
    generator = torch.Generator().manual_seed(seed)
    jacobians = products.prescribed_singular_values(generator, (depth,), dimension, low, high,
                                                    torch.float64, "cpu")
    vector = torch.randn(dimension, generator=generator, dtype=torch.float64)
    logs = products.renormalized_log_norms(vector, lambda t: jacobians[t - 1], depth)
    logs = logs - vector.norm().log()
    values = torch.linalg.svdvals(jacobians).log()
    slack = 64 * EPS * depth
    assert (logs <= values[:, 0].cumsum(0) + slack).all()
    assert (logs >= values[:, -1].cumsum(0) - slack).all()


# --- bad input ----------------------------------------------------------------------------------


def test_bad_input_raises_value_error():
    vector = torch.ones(3, dtype=torch.float64)
    eye = torch.eye(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="T must be"):
        products.renormalized_log_norms(vector, lambda t: eye, 0)
    with pytest.raises(ValueError, match="dimension n"):
        products.lyapunov_exponent(1.0, 1)
    with pytest.raises(ValueError, match="finite"):
        products.renormalized_log_norms(torch.tensor([1.0, math.nan]), lambda t: eye[:2, :2], 2)
    with pytest.raises(ValueError, match="sigma"):
        products.lyapunov_exponent(math.inf, 3)
    with pytest.raises(ValueError, match="threshold"):
        products.clip_by_norm(vector, -1.0)
    with pytest.raises(ValueError, match="finite"):
        products.tanh_rnn_states(eye * math.inf, torch.ones(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="T must be"):
        symbolic.scaled_orthogonal_residual(0)
    with pytest.raises(ValueError, match="dimension n"):
        symbolic.chi_square_log_moment(1)
    with pytest.raises(ValueError, match="dimension n"), mp.workdps(20):
        numeric.chi_square_log_moments(1)
    with pytest.raises(ValueError, match="resample"):
        config.ExperimentConfig(10, 16, (2,), (0.5,), 10, 2, (0.5, 0.9), (1.1, 2.0), 10, 2,
                                    (0.5,), 2.0, 4, 1.0)


# --- the claim ----------------------------------------------------------------------------------


def test_quick_claim_is_consistent_and_deterministic():
    first = run_claim(CLAIM, RunConfig(quick=True))
    second = run_claim(CLAIM, RunConfig(quick=True))
    assert first.verdict is Verdict.CONSISTENT
    assert [c.verdict for c in first.checks] == [c.verdict for c in second.checks]
    names = {c.name for c in first.checks}
    assert {"log-variance-law-n2", "log-variance-constant-n2", "orthogonal-rate-zero",
            "clipping-bounds-update", "pascanu-explosion-needs-lambda1-above-threshold-tanh",
            "pascanu-eigenvalue-wording-as-written-sigmoid"} <= names
    assert {c.name for c in first.checks if c.main} == {"pascanu-vanishing-bound-tanh",
                                                        "pascanu-vanishing-bound-sigmoid"}


# --- the twin: norms without underflowing squares, and the first-order rounding bound -----------


def test_scaled_log_norm_survives_where_the_squared_norm_underflows():
    vector = torch.tensor([3e-162, 4e-162], dtype=torch.float64)
    exact = math.log(5e-162)
    assert float(products.scaled_log_norm(vector)) == pytest.approx(exact, abs=1e-13)
    # the squares, 1e-323, are subnormal: the squared norm has kept about two digits
    assert abs(float(products.squared_log_norm(vector)) - exact) > 1e-3
    deeper = torch.tensor([3e-163, 4e-163], dtype=torch.float64)
    assert float(products.squared_log_norm(deeper)) == -math.inf
    assert float(products.scaled_log_norm(deeper)) == pytest.approx(math.log(5e-163), abs=1e-13)
    assert float(products.scaled_log_norm(torch.zeros(3, dtype=torch.float64))) == -math.inf
    normal = torch.tensor([[1.0, -2.0, 2.0]], dtype=torch.float32)
    torch.testing.assert_close(products.scaled_log_norm(normal), products.squared_log_norm(normal))


def test_direct_products_mark_where_the_product_leaves_the_normal_range():
    jacobians, vector = _gaussian_batch(6, 80, 3, 2, 2.0**-16)
    direct = products.direct_products(vector, lambda t: jacobians[t - 1], 80)
    renormalized = products.renormalized_log_norms(vector, lambda t: jacobians[t - 1], 80)
    smallest = math.log(np.finfo(np.float64).tiny)
    assert not direct.normal[-1].any() and direct.normal[0].all()
    kept = direct.normal
    # the mask is monotone in T, and the renormalized log-norm is above the normal range there
    assert (kept[1:] <= kept[:-1]).all()
    assert (renormalized[kept] > smallest - 5).all()
    # where kept, the direct log-norm (norm 1e-154 .. 1e-308 included) matches the renormalized
    assert (direct.log_norms[kept] - renormalized[kept]).abs().max() < 1e-10
    assert (renormalized[kept] < -400).any()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_first_order_bound_covers_the_rounding_of_each_computation(dtype):
    """The bound on |direct - renormalized| also covers each computation's own rounding: the same
    float32 (or float64) matrices, renormalized in the dtype against a float64 (or mpmath-free
    float64 of float32 inputs) reference."""
    generator = torch.Generator().manual_seed(7)
    depth, batch, dimension = 48, 64, 4
    jacobians = products.gaussian_jacobians(generator, (depth, batch), dimension, 0.7, dtype,
                                            "cpu")
    vector = torch.randn(batch, dimension, generator=generator, dtype=dtype)
    eps = machine_epsilon("float64" if dtype == torch.float64 else "float32")
    bound = products.first_order_rounding_bounds(vector, jacobians, eps)
    renormalized = products.renormalized_log_norms(vector, lambda t: jacobians[t - 1], depth)
    direct = products.direct_log_norms(vector, lambda t: jacobians[t - 1], depth)
    assert ((direct - renormalized).abs().double() <= bound).all()
    if dtype == torch.float32:
        wide = jacobians.double()
        reference = products.renormalized_log_norms(vector.double(), lambda t: wide[t - 1], depth)
        assert ((renormalized.double() - reference).abs() <= bound).all()
    # informative: linear-ish in T, far from the exponential growth of a worst-case direction
    # amplification (the old bound exceeded 1e-6 past T ~ 23 in float64)
    assert float(bound.max()) < 1e4 * depth * eps


def test_twin_keeps_every_normal_point_and_rejects_the_squared_norm():
    """Issue 9: the twin compares every T where the plain product is a normal float64, down past
    1e-154 where the squared norm underflows, and the squared-norm log-norm (the old defect) is
    rejected by the same comparison."""
    setup = config.ExperimentConfig(40, 64, (2,), (0.5,), 10, 2, (0.5, 0.9), (1.1, 2.0), 10,
                                        2, (0.5,), 2.0, 4, 1.0, twin_paths=20)
    session = Session(RunConfig(quick=True, seed=1), Layer.EXPERIMENT)
    batch = rounding_twin.twin_batch(session, setup, 2)
    twins = rounding_twin.compare_twins([batch])
    kept = batch.normal & (batch.bound < rounding_twin.FIRST_ORDER_LIMIT)
    assert kept.sum() == batch.normal.sum()
    assert twins.deepest[2] >= 60
    assert (batch.direct[kept] < math.log(1e-154)).any()
    assert twins.ratio <= 1.0
    assert judge_residual(twins.control_ratio, 1.0) is Verdict.VIOLATED


# --- negative controls (issue 9): each decisive check's alternative through its own judge ---------


def _zero_verdict(expression):
    return symbolic_zero_check("control", "control", expression).verdict


def test_symbolic_controls_are_rejected():
    assert _zero_verdict(symbolic.scaled_orthogonal_residual(2, skew=2)) is not Verdict.CONSISTENT
    swapped = symbolic.singular_value_certificates(swapped=True)
    assert _zero_verdict(swapped.upper) is not Verdict.CONSISTENT
    assert _zero_verdict(swapped.lower) is not Verdict.CONSISTENT
    assert _zero_verdict(symbolic.lyapunov_residuals(3).annealed) is Verdict.VIOLATED
    assert _zero_verdict(symbolic.log_variance_residuals(3).delta_method) is Verdict.VIOLATED
    assert _zero_verdict(symbolic.large_n_limit(sympy.log(2))) is Verdict.VIOLATED
    assert _zero_verdict(symbolic.large_n_limit()) is Verdict.CONSISTENT


@pytest.mark.parametrize("dimension", [2, 8])
def test_chi_square_controls_are_rejected(dimension):
    with mp.workdps(DIGITS):
        moments = numeric.chi_square_log_moments(dimension)
        assert judge_residual(abs(moments.mean - mp.log(dimension)), MP_FLOOR) is \
            Verdict.VIOLATED
        assert judge_residual(abs(moments.variance - mp.mpf(2) / dimension), MP_FLOOR) is \
            Verdict.VIOLATED


def test_tiny_product_rejects_float32_and_the_direct_product():
    with mp.workdps(DIGITS):
        tiny = numeric.tiny_product(np.random.default_rng(1), 3, 200, 0.01)
    tolerance = numeric.RENORMALIZATION_ULPS * EPS * 200
    relative = lambda value: abs(value - tiny.mp_log_norm) / abs(tiny.mp_log_norm)
    assert judge_residual(relative(tiny.renormalized_log_norm), tolerance) is Verdict.CONSISTENT
    assert judge_residual(relative(tiny.float32_log_norm), tolerance) is Verdict.VIOLATED
    assert tiny.direct_norm == 0 and math.isfinite(tiny.direct_residual)
    assert tiny.direct_residual == pytest.approx(
        (math.log(numeric.SMALLEST_SUBNORMAL) - tiny.mp_log_norm) / abs(tiny.mp_log_norm))
    assert judge_residual(tiny.direct_residual, tolerance) is Verdict.VIOLATED


def test_experiment_alternatives_are_rejected():
    """The annealed rate (per-path growth rate), the delta-method constant (variance constant),
    T^2 and T^(1/2) (variance law) through the checks' judges, on the quick run's Gaussian sweep
    for n = 2 (6000 products; at a few hundred the judge cannot exclude a vanishing correction,
    and the 1.25 control comes out inconclusive)."""
    quick = config.ExperimentConfig.quick()
    setup = config.ExperimentConfig(quick.paths, quick.depth, (2,), quick.sigmas, 10, 2,
                                        (0.5, 0.9), (1.1, 2.0), 10, 2, (0.5,), 2.0, 4, 1.0)
    session = Session(RunConfig(quick=True, seed=2), Layer.EXPERIMENT, claim_bound=CLAIM.bound)
    sweep = gaussian_products.gaussian_sweep(session, setup, 2)
    z = gaussian_products.bonferroni_z(2)
    rate = growth_rate.growth_rate(sweep, setup, 0)
    assert judge_residual(abs(rate.estimate - rate.exact), z * rate.error) is Verdict.CONSISTENT
    assert judge_residual(abs(rate.estimate - growth_rate.annealed_rate(0.5)),
                          z * rate.error) is Verdict.VIOLATED
    law = variance_law.variance_law(session, sweep, setup)
    assert judge_residual(abs(law.measured - law.per_step), z * law.error) is Verdict.CONSISTENT
    assert judge_residual(abs(law.measured - variance_law.delta_method_variance(2)),
                          z * law.error) is Verdict.VIOLATED
    variance_law.record_variance_law(session, sweep, setup, law, z)
    check = next(c for c in session.checks if c.name == "log-variance-law-n2")
    assert not check.main and check.decisive and check.verdict is Verdict.CONSISTENT
    assert {f"exponent {a:.4g}" for a in variance_law.VARIANCE_ALTERNATIVES} <= {
        c.alternative for c in check.controls}
    assert all(c.verdict is Verdict.VIOLATED for c in check.controls)


def test_depth_variances_come_from_independent_blocks_and_follow_newman():
    """Each depth's variance from its own products (a block per depth, not one pass read at
    every depth): another seed's draw differs; and the variances sit at T trigamma(n/2)/4 within
    4 of their standard errors (independent twin: scipy's polygamma)."""
    setup = config.ExperimentConfig(40, 16, (3,), (0.5, 2.0), 10, 2, (0.5, 0.9), (1.1, 2.0),
                                    10, 2, (0.5,), 2.0, 4, 1.0)
    session = Session(RunConfig(quick=True, seed=3), Layer.EXPERIMENT)
    variances, errors = variance_law.depth_variances(session, setup, 3)
    exact = setup.depth_grid * special.polygamma(1, 1.5) / 4
    assert variances.shape == errors.shape == setup.depth_grid.shape
    assert np.all(np.abs(variances - exact) < 4 * errors)
    again, _ = variance_law.depth_variances(Session(RunConfig(quick=True, seed=4),
                                                    Layer.EXPERIMENT), setup, 3)
    assert not np.allclose(again, variances)


def test_growth_fit_resamples_the_products_and_a_power_law_is_rejected():
    setup = config.ExperimentConfig(660, 64, (2,), (0.5,), 10, 2, (0.5, 0.9), (1.1, 2.0), 10,
                                        2, (0.5,), 2.0, 4, 1.0)
    session = Session(RunConfig(quick=True, seed=4), Layer.EXPERIMENT)
    sweep = gaussian_products.gaussian_sweep(session, setup, 2)
    rate = growth_rate.growth_rate(sweep, setup, 0)
    grid = setup.depth_grid
    assert rate.units.shape == (660, len(grid))
    assert rate.mean_log[3] == pytest.approx(sweep.log_norms[grid[3] - 1, 0].mean())
    growth_rate.record_growth_rate(session, sweep, setup, rate, gaussian_products.bonferroni_z(2))
    check = next(c for c in session.checks if c.name == "growth-fit-n2-sigma0.5")
    assert check.decisive and check.verdict is Verdict.CONSISTENT
    assert check.fit.interval == "bootstrap"
    assert check.fit.ci.low <= rate.exact <= check.fit.ci.high
    assert "a power law" in {c.alternative for c in check.controls}
    assert all(c.verdict is Verdict.VIOLATED for c in check.controls)
    # a power law reaching the same norm at T = 64 (T^-15), with the measured scatter about the
    # exponential law, is not consistent with the exponential claim
    power = grid.astype(float) ** -15.0 * np.exp(rate.mean_log - rate.exact * grid)
    judged = session.rate("power-law-world", "power-law world", grid, power,
                          Bound.tight("T", sympy.Float(rate.exact, 6), exponential=True))
    assert judged.verdict is not Verdict.CONSISTENT


def test_representable_uses_the_run_dtype():
    rate = growth_rate.GrowthRate(0.5, -1.0, -1.0, 0.01, np.array([[-1.0, -100.0]]))
    assert rate.representable("float64") and not rate.representable("float32")


def test_sanity_checks_are_labelled_and_not_decisive():
    result = run_claim(CLAIM, RunConfig(quick=True))
    sanity = {c.name for c in result.checks if c.sanity}
    assert {"singular-value-bounds-contracting", "singular-value-bounds-expanding",
            "contracting-exponential-rate", "expanding-exponential-rate", "orthogonal-rate-zero",
            "tanh-rnn-gradient-bound", "tanh-rnn-product-bound", "clipping-bounds-update",
            "scaled-orthogonal-c0.5"} <= sanity
    assert not any(c.decisive for c in result.checks if c.sanity)
    decisive = [c for c in result.checks if c.decisive]
    assert decisive and all(c.controls and all(k.rejected for k in c.controls) for c in decisive)


# --- the main check: Pascanu, Mikolov, Bengio (2013) on tanh and sigmoid RNNs -------------------


def _unrolled_final_state(weight, drives, activation, start_step):
    """x_T as a function of x_(start_step), by unrolling x_t = W f(x_(t-1)) + d_t."""
    def final(state):
        for drive in drives[start_step:]:
            state = weight @ activation.function(state) + drive
        return state
    return final


@pytest.mark.parametrize("activation", pascanu.ACTIVATIONS, ids=lambda a: a.name)
def test_rnn_jacobian_log_norms_match_autograd(activation):
    generator = torch.Generator().manual_seed(5)
    weight = torch.randn(4, 4, generator=generator, dtype=torch.float64)
    drives = torch.randn(6, 4, generator=generator, dtype=torch.float64)
    states = pascanu.rnn_states(weight, drives, activation)
    logs = pascanu.jacobian_log_norms(weight, states, activation)
    for lag in range(1, 7):
        start = 6 - lag
        jacobian = torch.autograd.functional.jacobian(
            _unrolled_final_state(weight, drives, activation, start), states[start])
        assert float(logs[lag - 1]) == pytest.approx(
            math.log(float(torch.linalg.matrix_norm(jacobian, ord=2))), abs=1e-12)


@pytest.mark.parametrize("activation", pascanu.ACTIVATIONS, ids=lambda a: a.name)
def test_pinned_orthogonal_path_attains_the_bound(activation):
    generator = torch.Generator().manual_seed(6)
    raw = haar_orthogonal(5, generator, (3,), torch.float64, "cpu")
    ratios = torch.tensor([0.5, 1.0, 1.05], dtype=torch.float64)
    weight = pascanu.scaled_weights(raw, ratios / activation.gamma)
    drives = pascanu.pinning_drive(weight, activation).expand(20, 3, 5)
    states = pascanu.rnn_states(weight, drives, activation)
    assert float(states.abs().max()) < 1e-15
    logs = pascanu.jacobian_log_norms(weight, states, activation)
    lags = torch.arange(1, 21, dtype=torch.float64)[:, None]
    assert torch.allclose(logs, lags * ratios.log(), atol=1e-13)


@given(seed=st.integers(0, 2**16), dimension=st.integers(2, 6),
       ratio=st.floats(0.2, 1.5), scale=st.floats(0.0, 3.0))
def test_rnn_gradients_obey_the_singular_value_bound(seed, dimension, ratio, scale):
    """||dx_T/dx_k|| <= (gamma lambda_1)^(T - k) for every W, input and lag (Pascanu et al.)."""
    generator = torch.Generator().manual_seed(seed)
    for activation in pascanu.ACTIVATIONS:
        raw = torch.randn(dimension, dimension, generator=generator, dtype=torch.float64)
        weight = pascanu.scaled_weights(raw, torch.tensor(ratio / activation.gamma,
                                                          dtype=torch.float64))
        drives = scale * torch.randn(12, dimension, generator=generator, dtype=torch.float64)
        logs = pascanu.jacobian_log_norms(weight, pascanu.rnn_states(weight, drives, activation),
                                          activation)
        lags = torch.arange(1, 13, dtype=torch.float64)
        margin = lags * math.log(ratio) - logs
        assert float(margin.min()) >= -rnn_bounds.ROUNDING_ULPS * dimension * EPS * 12


def test_non_normal_weight_breaks_the_eigenvalue_wording():
    """gamma rho(W) = 0.9 < 1 but one step pinned at x = 0 already grows by gamma lambda_1 > 1."""
    weight = torch.tensor([[0.9, 2.0], [0.0, 0.9]], dtype=torch.float64)
    assert float(pascanu.spectral_radius(weight)) == pytest.approx(0.9)
    drives = pascanu.pinning_drive(weight, pascanu.TANH).expand(10, 2)
    logs = pascanu.jacobian_log_norms(weight, pascanu.rnn_states(weight, drives, pascanu.TANH),
                                      pascanu.TANH)
    assert float(logs[0]) == pytest.approx(math.log(float(torch.linalg.matrix_norm(weight, 2))))
    assert float(logs.max()) > 0 > 10 * math.log(0.9) + 1
    assert float(logs[-1]) < float(logs.max())


def test_rnn_bound_checks_and_their_controls():
    config = rnn_bounds.RnnBoundConfig(4, 16, (0.5, 0.9, 1.0, 1.05), (0.0, 0.5), 2, 6)
    session = Session(RunConfig(quick=True, seed=7), Layer.EXPERIMENT, claim_bound=CLAIM.bound)
    for activation in pascanu.ACTIVATIONS:
        paths = rnn_bounds.rnn_paths(session, config, activation)
        rnn_bounds.record_vanishing_bound(session, config, paths)
        rnn_bounds.record_explosion_condition(session, config, paths)
        rnn_bounds.record_eigenvalue_wording(session, config, paths)
    checks = {c.name: c for c in session.checks}
    for name in ("tanh", "sigmoid"):
        main = checks[f"pascanu-vanishing-bound-{name}"]
        assert main.main and main.decisive and main.verdict is Verdict.CONSISTENT
        assert len(main.controls) == 2 and all(c.verdict is Verdict.VIOLATED
                                               for c in main.controls)
        explosion = checks[f"pascanu-explosion-needs-lambda1-above-threshold-{name}"]
        assert explosion.decisive and explosion.verdict is Verdict.CONSISTENT
        assert [c.verdict for c in explosion.controls] == [Verdict.VIOLATED]
        wording = checks[f"pascanu-eigenvalue-wording-as-written-{name}"]
        assert not wording.decisive and wording.verdict is Verdict.VIOLATED
        assert wording.values["witnesses_with_growth"] >= 1


def test_rnn_bound_config_rejects_bad_sweeps():
    with pytest.raises(ValueError, match="dimension"):
        rnn_bounds.RnnBoundConfig(1, 16, (0.5, 1.05), (0.0,), 2, 2)
    with pytest.raises(ValueError, match="sharper-threshold"):
        rnn_bounds.RnnBoundConfig(4, 16, (0.5, 1.5), (0.0,), 2, 2)
    with pytest.raises(ValueError, match="pinned"):
        rnn_bounds.RnnBoundConfig(4, 16, (0.5, 1.05), (0.1,), 2, 2)
    with pytest.raises(ValueError, match="finite"):
        pascanu.rnn_states(torch.eye(2), torch.full((3, 2), math.nan), pascanu.TANH)


# --- honest intervals: coverage on the exact law (issue 18 item 4) ------------------------------


def _exact_law_points(rng: np.random.Generator, dimension: int, setup
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Variance-law points drawn from the exact law, each depth its own products as in
    `depth_variances`: log ||J_t ... J_1 v|| is a sum of t iid steps (1/2) log(chi^2_n / n)."""
    points = [0.5 * np.log(rng.chisquare(dimension, size=(setup.variance_paths(dimension), depth))
                           / dimension).sum(axis=1) for depth in setup.depth_grid]
    return (np.array([p.var(ddof=1) for p in points]),
            np.array([variance_law.variance_standard_error(p) for p in points]))


COVERAGE_REPLICATES = 100
COVERAGE_FLOOR = 0.93
"""At a true 98% coverage, 100 replicates fall to 93 or fewer with probability 0.5%; the
regression interval that treated the shared-path points as independent covered 61% (n = 2), and
the bootstrap over shared paths covered but let the plausibility F-tests (which assume independent
points) pick spurious corrections: 8000 paths gave a true law violated at 1.196 [1.11, 1.28]."""


@pytest.mark.slow
@pytest.mark.parametrize("dimension", [2, 8])
def test_variance_law_interval_covers_the_exact_exponent(dimension):
    setup = config.ExperimentConfig.quick()
    rng = np.random.default_rng(2026)
    covered = consistent = 0
    for _ in range(COVERAGE_REPLICATES):
        variances, errors = _exact_law_points(rng, dimension, setup)
        judged = judge_exponent(setup.depth_grid, variances, variance_law.VARIANCE_LAW,
                                weights=(variances / errors) ** 2)
        assert judged.verdict is not Verdict.VIOLATED
        covered += judged.fit.ci.low <= 1.0 <= judged.fit.ci.high
        consistent += judged.verdict is Verdict.CONSISTENT
    assert covered >= COVERAGE_FLOOR * COVERAGE_REPLICATES
    assert consistent >= COVERAGE_FLOOR * COVERAGE_REPLICATES


def test_the_eigenvalue_wording_fails_for_a_nilpotent_weight_and_the_singular_value_bound_holds():
    """||W|| = 1 > rho(W) = 0 for W = [[0, 1], [0, 0]]: the bound with the spectral radius is
    certified violated; the singular-value bound ||W^T|| <= ||W||^T is checked (twin: numpy)
    on a non-normal W, its margin enclosed above zero."""
    from fractions import Fraction

    from optverify.numerics.ball import certify
    from optverify.theorems.jacobian_products.numeric import (
        eigenvalue_wording_margin,
        singular_value_margin,
    )

    nilpotent = {"a": Fraction(0), "b": Fraction(1), "d": Fraction(0), "T": 1}
    assert certify(eigenvalue_wording_margin, nilpotent).below_zero
    instance = {"a": Fraction(1, 2), "b": Fraction(3, 2), "d": Fraction(-1, 3), "T": 3}
    weight = np.array([[0.5, 1.5], [0, -1 / 3]])
    expected = (np.linalg.norm(weight, 2) ** 6
                - np.linalg.norm(np.linalg.matrix_power(weight, 3), 2) ** 2)
    enclosure = certify(singular_value_margin, instance)
    assert enclosure.above_zero and enclosure.low == pytest.approx(expected, rel=1e-9)
