"""Tests of the deficiency-margin-convergence claim (Theorem 1, Theorem 2, Appendix C of
arXiv:1810.02281): formulas against their sympy twins, mpmath against torch, the Theorem 2 quadrature
against scipy's non-central chi-square, the lemma as a hypothesis property, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given
from mpmath import mp
from scipy import stats

from optverify.kit import Layer, RunConfig, Session, Verdict, run_layer
from optverify.numerics.deep_linear import end_to_end
from optverify.numerics.mp_linalg import to_mp
from optverify.theorems.deficiency_margin_convergence import (
    CLAIM,
    conditions,
    experiment,
    instances,
    numeric,
    statement,
)
from tests.strategies import deficiency_margin_problems

QUICK = RunConfig(quick=True)
FLOAT64_TOLERANCE = 64 * np.finfo(np.float64).eps  # relative rounding of a few float64 products


# --- conditions: the hypotheses' formulas against the sympy statement -------------------------

@pytest.mark.parametrize("depth", [2, 3, 5])
def test_bounds_match_the_sympy_statement(depth):
    values = {statement.margin: 0.4, statement.phi_norm: 2.3, statement.depth: depth}
    assert conditions.step_size_bound(0.4, 2.3, depth) == pytest.approx(
        float(statement.STEP_SIZE_BOUND.subs(values)), rel=1e-14)
    assert conditions.balance_bound(0.4, 2.3, depth) == pytest.approx(
        float(statement.BALANCE_BOUND.subs(values)), rel=1e-14)


def test_iterations_match_the_sympy_statement():
    values = {statement.initial_loss: 0.7, statement.epsilon: 1e-6, statement.eta: 1e-3,
              statement.margin: 0.3, statement.depth: 3}
    assert conditions.iterations_to_reach(1e-6, 0.7, 1e-3, 0.3, 3) == pytest.approx(
        float(statement.ITERATIONS.subs(values)), rel=1e-14)


def test_initial_end_to_end_has_the_designed_margin():
    rng = np.random.default_rng(3)
    target = torch.tensor(instances.target_with_spectrum((2.0, 1.0), 2, 3, rng))
    start = instances.initial_end_to_end(target, 0.4, torch.Generator().manual_seed(0))
    assert float(conditions.deficiency_margin(start, target)) == pytest.approx(0.4, abs=1e-14)


def test_theorem_instance_meets_the_hypotheses():
    rng = np.random.default_rng(4)
    target = torch.tensor(instances.target_with_spectrum((1.5, 1.0), 2, 2, rng))
    factors = instances.theorem_instance(target, 0.5, (3, 3), torch.Generator().manual_seed(1))
    margin = float(conditions.deficiency_margin(end_to_end(factors), target))
    eta = conditions.step_size_bound(margin, float(torch.linalg.matrix_norm(target)), 3)
    assert bool(conditions.hypotheses_hold(factors, target, eta))
    assert not bool(conditions.hypotheses_hold(factors, target, 2 * eta))
    assert float(conditions.balancedness(factors)) > 0  # delta-balanced, not exactly balanced


# --- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda: conditions.contraction_exponent(1),
    lambda: conditions.step_size_bound(0.5, 1.0, 1),
    lambda: conditions.balance_bound(0.5, 1.0, 0),
    lambda: experiment.run_gradient_descent([torch.eye(2)], torch.eye(2), torch.tensor(0.1), 1),
])
def test_depth_below_two_is_rejected(call):
    with pytest.raises(ValueError, match="depth N >= 2"):
        call()


@pytest.mark.parametrize("call", [
    lambda: conditions.guaranteed_contraction(-0.1, 1.0, 2),
    lambda: conditions.iterations_to_reach(0.1, 1.0, -1e-3, 0.5, 2),
    lambda: numeric.lemma_trajectory_mp([mp.matrix([[1]])] * 2, mp.matrix([[1]]), -0.1, 1),
])
def test_negative_step_size_is_rejected(call):
    with pytest.raises(ValueError, match="step size"):
        call()


def test_negative_step_size_is_rejected_by_the_torch_runner():
    factors = [torch.eye(2), torch.eye(2)]
    with pytest.raises(ValueError, match="non-negative"):
        experiment.run_gradient_descent(factors, torch.eye(2), torch.tensor(-0.1), 1)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_target_is_rejected(bad):
    target = torch.eye(2, dtype=torch.float64)
    target[0, 1] = bad
    with pytest.raises(ValueError, match="finite"):
        conditions.deficiency_margin(torch.eye(2, dtype=torch.float64), target)
    with pytest.raises(ValueError, match="finite"):
        instances.initial_end_to_end(target, 0.5, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="finite"):
        experiment.run_gradient_descent([torch.eye(2, dtype=torch.float64)] * 2, target,
                                        torch.tensor(0.1), 1)


def test_margin_must_be_positive_and_below_sigma_min():
    with pytest.raises(ValueError, match="margin"):
        conditions.step_size_bound(0.0, 1.0, 2)
    with pytest.raises(ValueError, match="cannot exceed"):
        instances.initial_end_to_end(torch.eye(2, dtype=torch.float64), 1.5,
                                     torch.Generator().manual_seed(0))


# --- symbolic layer ---------------------------------------------------------------------------

def test_symbolic_identities_vanish():
    assert sympy.simplify(statement.gradient_norm_identity()) == 0
    assert sympy.simplify(statement.contraction_from_decrease()) == 0
    assert sympy.simplify(statement.iteration_count_residual()) == 0
    assert sympy.simplify(statement.scalar_first_order_decrease(3)) == 0


def test_lemma_factor_is_not_the_exact_first_order_factor():
    """The check can fail: the lemma's decrease sigma^p l is 1/(2N) of the exact first order."""
    w, phi = sympy.symbols("w phi", positive=True)
    loose = statement.scalar_first_order_decrease(2) - 3 * w ** 2 * (w**2 - phi) ** 2 / 2
    check = Session(QUICK, Layer.SYMBOLIC).zero("negative-twin", "", loose)
    assert check.verdict is not Verdict.CONSISTENT


def test_weyl_spot_check_holds_and_is_attained():
    spot = statement.weyl_spot_check(Session(QUICK, Layer.SYMBOLIC).rng("weyl"), 500)
    assert spot.worst_margin >= 0
    assert spot.attained_gap < 1e-12


# --- numeric layer ----------------------------------------------------------------------------

def test_mpmath_trajectory_matches_torch():
    rng = np.random.default_rng(5)
    target = torch.tensor(instances.target_with_spectrum((1.2, 0.8), 2, 3, rng))
    factors = instances.theorem_instance(target, 0.4, (2, 3), torch.Generator().manual_seed(2))
    eta = 1e-2
    torch_losses, _ = experiment.run_gradient_descent(factors, target, torch.tensor(eta, dtype=torch.float64), 20)
    with mp.workdps(40):
        trajectory = numeric.lemma_trajectory_mp(
            [to_mp(layer.numpy()) for layer in factors], to_mp(target.numpy()), eta, 20)
        mp_losses = np.array([float(v) for v in trajectory.losses])
    np.testing.assert_allclose(torch_losses.numpy(), mp_losses, rtol=1e-12)


def test_gram_sigma_min_matches_svd():
    rng = np.random.default_rng(6)
    matrix = rng.standard_normal((3, 2))
    with mp.workdps(30):
        value = float(numeric.gram_sigma_min_mp(to_mp(matrix)))
    assert value == pytest.approx(np.linalg.svd(matrix, compute_uv=False)[-1], rel=1e-12)


@pytest.mark.parametrize("inputs,scale,margin", [(20, 0.01, 0.0), (100, 0.002, 0.001), (50, 0.05, 0.1)])
def test_margin_probability_matches_scipy_noncentral_chi_square(inputs, scale, margin):
    """||A - Phi||^2 / s^2 ~ noncentral chi^2(d_0, ||Phi||^2 / s^2): an independent twin."""
    with mp.workdps(30):
        exact = float(numeric.margin_probability_mp(inputs, scale, margin))
    twin = stats.ncx2.cdf((1 - margin) ** 2 / scale**2, inputs, 1 / scale**2)
    assert exact == pytest.approx(twin, abs=1e-6)


def test_scalar_theorem_run_reaches_epsilon():
    result = numeric.scalar_theorem_run(0.9, 0.005, 30)
    assert result.l_T <= result.epsilon
    assert result.smallest_decrease_ratio >= 1


# --- experiment layer -------------------------------------------------------------------------

def test_fitted_rate_recovers_a_geometric_decay():
    losses = 0.3 * 0.97 ** np.arange(50)
    assert experiment.fitted_rate(losses, 49, 1e-30) == pytest.approx(-math.log(0.97), rel=1e-10)


def test_square_loss_gradient_matches_autograd():
    end = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    target = torch.randn(2, 3, dtype=torch.float64)
    conditions.half_squared_distance(end, target).backward()
    torch.testing.assert_close(end.grad, experiment.square_loss_gradient(target)(end.detach()))


def test_claim4_factors_have_the_margin_and_product():
    factors = experiment.claim4_factors(4, 100.0, 0.5, torch.float64, "cpu")
    assert float(end_to_end(factors)) == pytest.approx(0.5, rel=1e-14)
    assert float(conditions.deficiency_margin(end_to_end(factors), torch.ones(1, 1,
                                                                             dtype=torch.float64))) \
        == pytest.approx(0.5, rel=1e-14)


def test_claim5_identity_init_stays_above_the_floor():
    lam = 0.5
    phi = torch.diag(torch.tensor([1.0, -lam], dtype=torch.float64))
    losses, _ = experiment.run_gradient_descent([torch.eye(2, dtype=torch.float64)] * 2, phi,
                                                torch.tensor(0.1, dtype=torch.float64), 200)
    assert float(losses.min()) >= lam**2 / 2 - FLOAT64_TOLERANCE


# --- the lemma as a property ------------------------------------------------------------------

@given(deficiency_margin_problems())
def test_lemma_holds_on_instances_meeting_the_hypotheses(problem):
    target_np, hidden, fraction, seed = problem
    target = torch.tensor(target_np, dtype=torch.float64)
    depth = len(hidden) + 1
    design = fraction * float(conditions.sigma_min(target))
    factors = instances.theorem_instance(target, design, hidden,
                                         torch.Generator().manual_seed(seed % 2**63))
    margin = float(conditions.deficiency_margin(end_to_end(factors), target))
    eta = conditions.step_size_bound(margin, float(torch.linalg.matrix_norm(target)), depth)
    assert bool(conditions.hypotheses_hold(factors, target, eta))
    losses, sigmas = experiment.run_gradient_descent(factors, target, torch.tensor(eta, dtype=torch.float64), 5,
                                                     track_sigma=True)
    bound = conditions.guaranteed_contraction(eta, sigmas, depth) * losses[:-1]
    assert bool((losses[1:] <= bound + FLOAT64_TOLERANCE * losses[:-1]).all())
    assert bool((sigmas >= margin - FLOAT64_TOLERANCE).all())


# --- whole layers -----------------------------------------------------------------------------

@pytest.mark.parametrize("layer", ["symbolic", "numeric", "experiment"])
def test_layers_run_in_quick_mode(layer):
    result = run_layer(getattr(CLAIM, layer), Layer(layer), QUICK, claim_bound=CLAIM.bound)
    assert result.checks
    assert all(check.verdict is not Verdict.ERROR for check in result.checks)
    for figure in result.figures:
        assert figure.title and all(panel.xlabel and panel.ylabel for panel in figure.panels)


@pytest.mark.slow
@pytest.mark.parametrize("layer", ["symbolic", "numeric", "experiment"])
def test_layers_run_in_full_mode(layer):
    result = run_layer(getattr(CLAIM, layer), Layer(layer), RunConfig(), claim_bound=CLAIM.bound)
    assert all(check.verdict is not Verdict.ERROR for check in result.checks)


def test_a_decay_below_the_dtype_resolution_gives_no_rate():
    flat = np.full(50, 0.5) * (1 - 1e-9) ** np.arange(50)
    assert experiment.fitted_rate(flat, 49, 1e-30, experiment.rate_resolution("float32")) is None
    assert experiment.fitted_rate(flat, 49, 1e-30, experiment.rate_resolution("float64")) \
        == pytest.approx(-math.log(1 - 1e-9), rel=1e-4)


def test_float32_quick_run_reports_unresolved_rates_as_inconclusive_not_errors():
    result = run_layer(experiment.verify, Layer.EXPERIMENT, RunConfig(quick=True, dtype="float32"),
                       claim_bound=CLAIM.bound)
    assert all(check.verdict is not Verdict.ERROR for check in result.checks)
    unresolved = [c for c in result.checks if "below precision" in c.detail]
    assert unresolved and all(c.verdict is Verdict.INCONCLUSIVE for c in unresolved)
