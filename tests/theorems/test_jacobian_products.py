"""Tests of the `jacobian-products` claim: closed forms against Monte Carlo and quadrature, the
renormalized log-norm against the direct one and autograd, properties over random orthogonal
matrices and scalings, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given
from hypothesis import strategies as st
from mpmath import mp

from optverify.kit import RunConfig, Verdict, machine_epsilon
from optverify.numerics.haar import haar_orthogonal
from optverify.theorems.jacobian_products import (
    CLAIM,
    numeric,
    products,
    statement,
)
from optverify.verify.runner import run_claim

EPS = machine_epsilon("float64")
DIGITS = 50
MP_FLOOR = 10.0 ** -(DIGITS - 10)


# --- symbolic layer -----------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_scaled_orthogonal_product_gram_is_c_to_2t(depth):
    assert all(entry == 0 for entry in statement.scaled_orthogonal_residual(depth))


def test_wrong_power_of_c_is_not_an_identity():
    residual = statement.scaled_orthogonal_residual(2)
    wrong = residual + (statement.SCALE**4 - statement.SCALE**3) * sympy.eye(2)
    assert any(sympy.cancel(entry) != 0 for entry in wrong)


def test_singular_value_certificates_vanish_and_fail_with_swapped_coordinates():
    certificates = statement.singular_value_certificates()
    assert certificates.upper == 0 and certificates.lower == 0
    svd = statement.svd_matrix(1)
    matrix, right, large, small = svd.matrix, svd.right, svd.large, svd.small
    w = sympy.Matrix(sympy.symbols("w1 w2", real=True))
    image, coordinates = matrix * w, right.T * w
    swapped = (large**2 * (w.T * w)[0] - (image.T * image)[0]
               - (large**2 - small**2) * coordinates[0] ** 2)
    assert sympy.cancel(swapped) != 0


def test_sympy_lyapunov_closed_form_matches_mpmath_and_scipy():
    expression = statement.lyapunov_exponent(5).subs(statement.SIGMA, sympy.Rational(3, 2))
    assert float(expression) == pytest.approx(products.lyapunov_exponent(1.5, 5), abs=1e-14)
    assert sympy.simplify(statement.lyapunov_residual(3)) == 0


# --- numeric layer ------------------------------------------------------------------------------


@pytest.mark.parametrize("dimension", [2, 3, 7])
def test_chi_square_log_moments_match_closed_forms(dimension):
    with mp.workdps(DIGITS):
        moments = numeric.chi_square_log_moments(dimension)
        half = mp.mpf(dimension) / 2
        assert abs(moments.mean - (mp.log(2) + mp.digamma(half))) < MP_FLOOR
        assert abs(moments.variance - mp.psi(1, half)) < MP_FLOOR


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
        statement.scaled_orthogonal_residual(0)
    with pytest.raises(ValueError, match="dimension n"):
        statement.chi_square_log_moment(1)
    with pytest.raises(ValueError, match="dimension n"), mp.workdps(20):
        numeric.chi_square_log_moments(1)


# --- the claim ----------------------------------------------------------------------------------


def test_quick_claim_is_consistent_and_deterministic():
    first = run_claim(CLAIM, RunConfig(quick=True))
    second = run_claim(CLAIM, RunConfig(quick=True))
    assert first.verdict is Verdict.CONSISTENT
    assert [c.verdict for c in first.checks] == [c.verdict for c in second.checks]
    names = {c.name for c in first.checks}
    assert {"log-variance-law-n2", "orthogonal-rate-zero", "clipping-bounds-update"} <= names
    assert {c.name for c in first.checks if c.main} == {"log-variance-law-n2", "log-variance-law-n8"}
