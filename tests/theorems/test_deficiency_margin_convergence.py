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
from hypothesis import strategies as st
from mpmath import mp
from scipy import stats

from optverify.kit import Session, Verdict, fit_for_bound
from optverify.numerics.deep_linear import end_to_end
from optverify.numerics.mp_linalg import to_mp
from optverify.testing import Layer, RunConfig, record_layer
from optverify.verdict import symbolic_zero_check
from optverify.theorems.deficiency_margin_convergence import (
    CLAIM,
    appendix_c,
    claim4,
    claim5,
    conditions,
    config,
    experiment,
    global_experiment,
    global_runs,
    gradient_descent,
    instances,
    long_experiment,
    long_runs,
    mp_alternatives,
    numeric,
    scalar_theorem,
    symbolic,
    theorem2_probability,
)
from tests.strategies import deficiency_margin_problems

QUICK = RunConfig(quick=True)
FLOAT64_TOLERANCE = 64 * np.finfo(np.float64).eps  # relative rounding of a few float64 products


# --- conditions: the hypotheses' formulas against the sympy statement -------------------------

@pytest.mark.parametrize("depth", [2, 3, 5])
def test_bounds_match_the_sympy_statement(depth):
    values = {symbolic.margin: 0.4, symbolic.phi_norm: 2.3, symbolic.depth: depth}
    assert conditions.step_size_bound(0.4, 2.3, depth) == pytest.approx(
        float(symbolic.STEP_SIZE_BOUND.subs(values)), rel=1e-14)
    assert conditions.balance_bound(0.4, 2.3, depth) == pytest.approx(
        float(symbolic.BALANCE_BOUND.subs(values)), rel=1e-14)


def test_iterations_match_the_sympy_statement():
    values = {symbolic.initial_loss: 0.7, symbolic.epsilon: 1e-6, symbolic.eta: 1e-3,
              symbolic.margin: 0.3, symbolic.depth: 3}
    assert conditions.iterations_to_reach(1e-6, 0.7, 1e-3, 0.3, 3) == pytest.approx(
        float(symbolic.ITERATIONS.subs(values)), rel=1e-14)


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
    lambda: gradient_descent.run_gradient_descent([torch.eye(2)], torch.eye(2), torch.tensor(0.1), 1),
])
def test_depth_below_two_is_rejected(call):
    with pytest.raises(ValueError, match="depth N must be at least 2"):
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
        gradient_descent.run_gradient_descent(factors, torch.eye(2), torch.tensor(-0.1), 1)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_target_is_rejected(bad):
    target = torch.eye(2, dtype=torch.float64)
    target[0, 1] = bad
    with pytest.raises(ValueError, match="finite"):
        conditions.deficiency_margin(torch.eye(2, dtype=torch.float64), target)
    with pytest.raises(ValueError, match="finite"):
        instances.initial_end_to_end(target, 0.5, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="finite"):
        gradient_descent.run_gradient_descent([torch.eye(2, dtype=torch.float64)] * 2, target,
                                        torch.tensor(0.1), 1)


def test_margin_must_be_positive_and_below_sigma_min():
    with pytest.raises(ValueError, match="margin"):
        conditions.step_size_bound(0.0, 1.0, 2)
    with pytest.raises(ValueError, match="cannot exceed"):
        instances.initial_end_to_end(torch.eye(2, dtype=torch.float64), 1.5,
                                     torch.Generator().manual_seed(0))


# --- symbolic layer ---------------------------------------------------------------------------

def test_symbolic_identities_vanish():
    assert sympy.simplify(symbolic.gradient_norm_identity()) == 0
    assert sympy.simplify(symbolic.contraction_from_decrease()) == 0
    assert sympy.simplify(symbolic.iteration_count_residual()) == 0
    assert sympy.simplify(symbolic.scalar_first_order_decrease(3)) == 0


def test_lemma_factor_is_not_the_exact_first_order_factor():
    """The check can fail: the lemma's decrease sigma^p l is 1/(2N) of the exact first order."""
    w, phi = sympy.symbols("w phi", positive=True)
    loose = symbolic.scalar_first_order_decrease(2) - 3 * w ** 2 * (w**2 - phi) ** 2 / 2
    check = Session(QUICK, Layer.SYMBOLIC).zero("negative-twin", "", loose)
    assert check.verdict is not Verdict.CONSISTENT


def test_weyl_spot_check_holds_and_is_attained():
    spot = symbolic.weyl_spot_check(Session(QUICK, Layer.SYMBOLIC).rng("weyl"), 500)
    assert spot.worst_margin >= 0
    assert spot.attained_gap < 1e-12


# --- numeric layer ----------------------------------------------------------------------------

def test_mpmath_trajectory_matches_torch():
    rng = np.random.default_rng(5)
    target = torch.tensor(instances.target_with_spectrum((1.2, 0.8), 2, 3, rng))
    factors = instances.theorem_instance(target, 0.4, (2, 3), torch.Generator().manual_seed(2))
    eta = 1e-2
    torch_losses, _ = gradient_descent.run_gradient_descent(factors, target, torch.tensor(eta, dtype=torch.float64), 20)
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
        exact = float(theorem2_probability.margin_probability_mp(inputs, scale, margin))
    twin = stats.ncx2.cdf((1 - margin) ** 2 / scale**2, inputs, 1 / scale**2)
    assert exact == pytest.approx(twin, abs=1e-6)


def test_scalar_theorem_run_reaches_epsilon():
    result = scalar_theorem.scalar_theorem_run(0.9, 0.005, 30)
    assert result.l_T <= result.epsilon
    assert result.smallest_decrease_ratio >= 1


# --- experiment layer -------------------------------------------------------------------------

def test_fitted_rate_recovers_a_geometric_decay():
    losses = 0.3 * 0.97 ** np.arange(50)
    assert gradient_descent.fitted_rate(losses, 49, 1e-30) == pytest.approx(-math.log(0.97), rel=1e-10)


def test_square_loss_gradient_matches_autograd():
    end = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    target = torch.randn(2, 3, dtype=torch.float64)
    conditions.half_squared_distance(end, target).backward()
    torch.testing.assert_close(end.grad, conditions.square_loss_gradient(target)(end.detach()))


def test_claim4_factors_have_the_margin_and_product():
    factors = claim4.claim4_factors(4, 100.0, 0.5, torch.float64, "cpu")
    assert float(end_to_end(factors)) == pytest.approx(0.5, rel=1e-14)
    assert float(conditions.deficiency_margin(end_to_end(factors), torch.ones(1, 1,
                                                                             dtype=torch.float64))) \
        == pytest.approx(0.5, rel=1e-14)


def test_claim5_identity_init_stays_above_the_floor():
    lam = 0.5
    phi = torch.diag(torch.tensor([1.0, -lam], dtype=torch.float64))
    losses, _ = gradient_descent.run_gradient_descent([torch.eye(2, dtype=torch.float64)] * 2, phi,
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
    losses, sigmas = gradient_descent.run_gradient_descent(factors, target, torch.tensor(eta, dtype=torch.float64), 5,
                                                     track_sigma=True)
    bound = conditions.guaranteed_contraction(eta, sigmas, depth) * losses[:-1]
    assert bool((losses[1:] <= bound + FLOAT64_TOLERANCE * losses[:-1]).all())
    assert bool((sigmas >= margin - FLOAT64_TOLERANCE).all())


# --- whole layers -----------------------------------------------------------------------------

@pytest.mark.parametrize("layer", ["symbolic", "numeric", "experiment"])
def test_layers_run_in_quick_mode(layer):
    result = record_layer(getattr(CLAIM, layer), Layer(layer), QUICK, claim_bound=CLAIM.bound)
    assert result.checks
    assert all(check.verdict is not Verdict.ERROR for check in result.checks)
    for figure in result.figures:
        assert figure.title and all(panel.xlabel and panel.ylabel for panel in figure.panels)


@pytest.mark.slow
@pytest.mark.parametrize("layer", ["symbolic", "numeric", "experiment"])
def test_layers_run_in_full_mode(layer):
    result = record_layer(getattr(CLAIM, layer), Layer(layer), RunConfig(), claim_bound=CLAIM.bound)
    assert all(check.verdict is not Verdict.ERROR for check in result.checks)


def test_a_decay_below_the_dtype_resolution_gives_no_rate():
    flat = np.full(50, 0.5) * (1 - 1e-9) ** np.arange(50)
    assert gradient_descent.fitted_rate(flat, 49, 1e-30, gradient_descent.rate_resolution("float32")) is None
    assert gradient_descent.fitted_rate(flat, 49, 1e-30, gradient_descent.rate_resolution("float64")) \
        == pytest.approx(-math.log(1 - 1e-9), rel=1e-4)


def test_float32_quick_run_reports_unresolved_rates_as_inconclusive_not_errors():
    result = record_layer(experiment.verify, Layer.EXPERIMENT,
                          RunConfig(quick=True, dtype="float32"), claim_bound=CLAIM.bound)
    assert all(check.verdict is not Verdict.ERROR for check in result.checks)
    unresolved = [c for c in result.checks if "below precision" in c.detail]
    assert unresolved and all(c.verdict is Verdict.INCONCLUSIVE for c in unresolved)


# --- negative controls: each decisive check's alternative through its own judge ---------------

QUICK_LONG = long_runs.LongRunConfig.quick()


def quick_long_run() -> long_runs.LongRun:
    """The quick mode's long run, with the session's seed (cached: shared with the layer runs)."""
    spec = QUICK_LONG.specs[0]
    return long_runs.long_run(spec, QUICK_LONG.instances, QUICK.seed_for(f"long-run-{spec.key}"),
                              QUICK_LONG.checkpoints)


def geometric_curve(x: float, steps: int, instances: int = 2) -> np.ndarray:
    return 0.3 * (1 - x) ** np.arange(steps + 1)[:, None] * np.ones(instances)


def test_lemma_margin_of_the_controls_is_minus_the_missing_decrease():
    eta, steps = 1e-3, 40
    sigmas = np.full((steps + 1, 2), 0.8)
    x = eta * 0.8 ** conditions.contraction_exponent(3)
    exact = geometric_curve(x, steps)
    assert long_runs.lemma_margin(exact, sigmas, eta, 3) == pytest.approx(0.0, abs=1e-15)
    stopped = long_runs.stopped_run(exact)
    assert long_runs.lemma_margin(stopped, sigmas, eta, 3) == pytest.approx(-x, rel=1e-12)
    slower = long_runs.slower_run(exact, sigmas, eta, 3)
    assert long_runs.lemma_margin(slower, sigmas, eta, 3) == pytest.approx(-x / 2, rel=1e-9)


def test_envelope_and_iteration_count_reject_slow_and_sublinear_runs():
    x, steps = 1e-3, 8000
    guaranteed = np.full(2, x)
    exact = geometric_curve(x, steps)
    assert long_runs.envelope_margin(exact, guaranteed) == pytest.approx(0.0, abs=1e-12)
    kappas = (1.0, 2.0, 4.0)
    assert long_runs.iteration_count_margin(exact, guaranteed, kappas) >= 0
    for alternative in (long_runs.stopped_run(exact),
                        long_runs.slower_envelope_run(exact, guaranteed),
                        long_runs.sublinear_run(exact, guaranteed)):
        assert long_runs.envelope_margin(alternative, guaranteed) < -0.1
        assert long_runs.iteration_count_margin(alternative, guaranteed, kappas) < -0.5
    assert math.isnan(long_runs.iteration_count_margin(exact, guaranteed, (10.0,)))


def test_power_law_through_the_ends():
    x = np.linspace(3.0, 6.0, 7)
    y = np.exp(-2 * x)
    line = long_runs.power_law_through_ends(x, y)
    assert line[0] == pytest.approx(y[0]) and line[-1] == pytest.approx(y[-1])
    slopes = np.diff(np.log(line)) / np.diff(np.log(x))
    np.testing.assert_allclose(slopes, slopes[0], rtol=1e-12)


def test_rounding_tolerance_follows_the_design():
    spec = long_runs.LongRunSpec(1, 3, (1.0,), (2,), 0.9, (1.0,))
    expected = 64 * np.finfo(np.float64).eps * 1.0 / (1e-3 * 0.1)
    assert long_runs.rounding_tolerance(spec) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("hidden", [(2,), (2, 2)])
def test_fast_gd_loop_matches_the_generic_step(hidden):
    spec = long_runs.LongRunSpec(1, 3, (1.0,), hidden, 0.9, (1.0,))
    _, target, factors = long_runs.spec_instances(spec, 2, seed=7)
    eta = 1e-2
    generic = [layer.clone() for layer in factors]
    losses, _ = gradient_descent.run_gradient_descent(generic, target, torch.tensor(eta,
                                                dtype=torch.float64), 25)
    fast = [layer.clone() for layer in factors]
    history = long_runs.gd_steps(fast, target, eta, 25)
    fast_losses = conditions.half_squared_distance(history, target)
    np.testing.assert_allclose(fast_losses.numpy(), losses[:-1].numpy(), rtol=1e-13)


def test_harder_perturbation_breaks_the_balancedness_hypothesis():
    spec = QUICK_LONG.specs[0]
    for scale, expected in ((1.0, True), (100.0, False)):
        _, target, factors = long_runs.spec_instances(spec, 3, seed=11, perturbation_scale=scale)
        margin = conditions.deficiency_margin(end_to_end(factors), target)
        eta = float(conditions.step_size_bound(margin, torch.linalg.matrix_norm(target),
                                               spec.depth).min())
        holds = conditions.hypotheses_hold(factors, target, eta)
        assert bool(holds.all()) is expected
    judged = conditions.hypotheses_judgement(np.array([True, False]))
    assert judged.verdict is Verdict.VIOLATED


def test_long_run_converges_and_its_controls_are_rejected():
    run = quick_long_run()
    spec, x, depth = run.spec, run.guaranteed, run.depth
    assert run.reached and float(run.final_ratio.max()) <= long_runs.REDUCTION
    assert run.steps >= long_runs.iteration_times(x, max(spec.kappas)).max()
    assert bool(run.hypotheses.all())
    assert not bool(long_runs.harder_perturbed_hypotheses(run).any())
    tolerance = long_runs.rounding_tolerance(spec)
    assert long_runs.lemma_margin(run.losses, run.sigmas, run.eta, depth) >= -tolerance
    stopped = long_runs.stopped_run(run.losses)
    slower = long_runs.slower_run(run.losses, run.sigmas, run.eta, depth)
    assert long_runs.lemma_margin(stopped, run.sigmas, run.eta, depth) < -tolerance
    assert long_runs.lemma_margin(slower, run.sigmas, run.eta, depth) < -tolerance
    assert long_runs.envelope_margin(run.losses, x) >= 0
    assert long_runs.envelope_margin(long_runs.sublinear_run(run.losses, x), x) < 0
    assert long_runs.iteration_count_margin(run.losses, x, spec.kappas) >= 0
    assert long_runs.iteration_count_margin(long_runs.slower_envelope_run(run.losses, x), x,
                                            spec.kappas) < 0


def test_linear_convergence_rejects_a_power_law_and_half_the_rate():
    run = quick_long_run()
    kx, ky = long_runs.convergence_points(run, long_experiment.LINEAR_CONVERGENCE_POINTS)
    session = Session(QUICK, Layer.EXPERIMENT)
    fit = fit_for_bound(kx, ky, long_experiment.LINEAR_CONVERGENCE)
    check = session.fitted_rate(
        "linear", "", fit, long_experiment.LINEAR_CONVERGENCE, rules_out=-0.5,
        controls={"power law": fit_for_bound(
            kx, long_runs.power_law_through_ends(kx, ky), long_experiment.LINEAR_CONVERGENCE)})
    assert check.verdict is Verdict.CONSISTENT
    assert all(control.verdict is Verdict.VIOLATED for control in check.controls)


def test_mpmath_checkpoint_steps_confirm_the_lemma_and_the_float64_run():
    run = quick_long_run()
    with mp.workdps(30):
        steps = numeric.checkpoint_steps(run)
    assert steps.points >= QUICK_LONG.checkpoints
    assert steps.smallest_ratio < 1e-5
    assert steps.lemma > 0 and steps.stopped < 0 and steps.slower < 0
    tolerance = long_runs.rounding_tolerance(run.spec)
    assert steps.twin <= tolerance < steps.off_by_one


def test_numeric_short_run_controls_through_the_mpmath_judges():
    losses = tuple(mp.mpf(1) * (1 - mp.mpf("0.001")) ** t for t in range(30))
    sigmas = tuple(mp.one for _ in range(29))
    eta = mp.mpf("0.001")
    assert abs(mp_alternatives.lemma_margin_mp(losses, sigmas, eta, 2)) < mp.mpf(10) ** -12
    assert mp_alternatives.lemma_margin_mp(mp_alternatives.stopped_losses(losses), sigmas, eta, 2) < 0
    assert mp_alternatives.lemma_margin_mp(mp_alternatives.slower_losses(losses, sigmas, eta, 2), sigmas, eta,
                                   2) < 0
    for alternative in (mp_alternatives.stopped_losses(losses),
                        mp_alternatives.geometric_losses(losses, eta, mp.one, 2),
                        mp_alternatives.sublinear_losses(losses, eta, mp.one, 2)):
        assert mp_alternatives.envelope_margin_of(alternative, eta, mp.one, 2) < 0


def test_scalar_theorem_run_controls_are_rejected():
    result = scalar_theorem.scalar_theorem_run(0.9, 0.05, 30)
    assert result.relative_margin >= 0
    assert result.stopped_margin < 0 and result.half_rate_margin < 0


def test_theorem2_judges_reject_the_wrong_event_and_a_low_probability():
    cell = theorem2_probability.ProbabilityCell(100, 0.1, 0.48, 0.44, 880, 2000, (0.418, 0.462), (0.404, 0.477))
    assert theorem2_probability.constant_judgement(cell).verdict is Verdict.CONSISTENT
    assert theorem2_probability.constant_judgement(theorem2_probability.cell_at_probability(cell, 0.2)).verdict \
        is Verdict.VIOLATED
    pairs = [("a", 0.44, (0.404, 0.477)), ("b", 0.23, (0.20, 0.27))]
    assert theorem2_probability.twin_judgement(pairs).verdict is Verdict.CONSISTENT
    wrong = [("a", 0.48, (0.404, 0.477)), ("b", 0.41, (0.20, 0.27))]
    assert theorem2_probability.twin_judgement(wrong).verdict is Verdict.VIOLATED


def test_symbolic_controls_are_not_proved():
    assert sympy.simplify(symbolic.gradient_norm_identity(factor=1)) != 0
    assert sympy.simplify(symbolic.contraction_from_decrease(step=1)) != 0
    assert sympy.simplify(symbolic.scalar_first_order_decrease(3, factor=1)) != 0
    assert sympy.simplify(symbolic.iteration_count_residual(sympy.Rational(1, 2))) != 0
    assert sympy.simplify(symbolic.step_size_contraction_residual(
        (6 * symbolic.depth - 2) / symbolic.depth)) != 0
    assert sympy.simplify(symbolic.spectral_below_frobenius(2)) != sympy.zeros(2, 1)
    assert symbolic.power_below_exponential().verdict is Verdict.CONSISTENT
    assert symbolic.power_below_exponential(2).verdict is Verdict.VIOLATED
    assert symbolic.factor_monotonicity().verdict is Verdict.CONSISTENT
    assert symbolic.factor_monotonicity(-symbolic.CONTRACTION_EXPONENT).verdict \
        is Verdict.VIOLATED


def test_margin_spot_check_fails_without_the_margin_hypothesis():
    rng = np.random.default_rng(9)
    assert symbolic.weyl_spot_check(rng, 200, slack=1.0).worst_margin < -1e-3


def test_appendix_c_controls_are_rejected():
    settings = config.ExperimentConfig.quick()
    mild = claim4.claim4_runs(settings, torch.float64, "cpu", mild=True)
    assert claim4.claim4_judgement(mild).verdict is Verdict.VIOLATED
    assert claim4.claim4_judgement(
        claim4.claim4_runs(settings, torch.float64, "cpu")).verdict is Verdict.CONSISTENT
    psd = appendix_c.claim5_target(settings, np.random.default_rng(0), torch.float64, "cpu",
                                   sign=1.0)
    run, = claim5.claim5_runs(2, (0.1,), psd, settings.claim5_steps, settings.negative_eigenvalue)
    assert run.lowest_balanced < -0.1 and run.keeps_invariant


def test_claim5_identity_init_keeps_the_mirror_invariant_to_rounding_at_first():
    phi = torch.diag(torch.tensor([1.0, -0.5], dtype=torch.float64))
    factors = [torch.eye(2, dtype=torch.float64).expand(3, 2, 2)] * 4
    assert torch.equal(claim5.mirror_imbalance(factors), torch.zeros(3, dtype=torch.float64))
    runs = claim5.claim5_runs(4, (1e-2, 1e-1, 0.3), phi, 200, 0.5)
    assert all(run.keeps_invariant and run.lowest_balanced >= -1e-12 for run in runs)
    with pytest.raises(ValueError, match="even depths"):
        claim5.claim5_runs(3, (0.1,), phi, 10, 0.5)


def test_claim5_gd_amplifies_a_rounding_sized_break_of_the_invariant():
    """The finding: from I + 1e-12 G, float64 GD at N = 2 lets the imbalance grow until W_e leaves
    the PSD cone and converges to Phi (l -> 0 < lambda^2/2); the steps before still obey the bound."""
    angle = 0.7
    rotation = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]],
                            dtype=torch.float64)
    phi = rotation @ torch.diag(torch.tensor([1.0, -0.5], dtype=torch.float64)) @ rotation.T
    run, = claim5.claim5_runs(2, (0.1,), phi, 3000, 0.5, claim5.PERTURBATION,
                              torch.Generator().manual_seed(0))
    assert not run.keeps_invariant and run.balanced_steps > 10
    assert run.lowest_balanced >= -1e-12
    assert run.lowest == pytest.approx(-0.125, abs=1e-9)  # l -> 0: W_e -> Phi, not PSD


@pytest.mark.parametrize("depth", [2, 4])
def test_claim5_mirror_invariant_is_kept_by_a_gd_step_only_for_a_symmetric_target(depth):
    assert symbolic_zero_check("k", "", symbolic.mirror_invariant_residual(depth)).verdict \
        is Verdict.CONSISTENT
    assert symbolic_zero_check("k", "", symbolic.mirror_invariant_residual(depth, False)).verdict \
        is Verdict.VIOLATED


def test_quick_claim_every_decisive_check_rejects_its_controls():
    from optverify.verify.runner import run_claim

    result = run_claim(CLAIM, QUICK)
    decisive = [c for c in result.checks if c.decisive]
    assert decisive and all(c.controls for c in decisive)
    assert all(control.verdict is not Verdict.CONSISTENT
               for c in decisive for control in c.controls)
    names = {c.name for c in result.checks}
    assert {"long-run-lemma-n2-phi1x3", "long-run-lemma-mpmath-n2-phi1x3"} <= {
        c.name for c in result.main_checks}
    sanity = {c.name for c in result.checks if c.sanity}
    assert {"weyl-chain", "margin-claim-attained", "rate-exponent-inside-n2",
            "rate-exponent-inside-n3"} <= sanity
    assert {"long-run-margin-kept-n2-phi1x3", "margin-kept"} <= names - {c.name for c in decisive}
    main = next(c for c in result.checks if c.name == "long-run-lemma-n2-phi1x3")
    assert all(control.verdict is Verdict.VIOLATED for control in main.controls)


# --- runs from far from Phi (global_runs): twins, chunking, controls, bad input ----------------

def test_theorem_iterations_match_the_conditions_formula():
    eta, margin = np.array([1e-2, 3e-3]), np.array([0.1, 0.4])
    expected = [math.ceil(conditions.iterations_to_reach(1e-6, 1.0, e, c, 3))
                for e, c in zip(eta, margin)]
    assert global_runs.theorem_iterations(eta, margin, 3).tolist() == pytest.approx(expected)


@given(st.floats(1e-4, 0.5))
def test_alternative_hitting_times_match_their_curves(x):
    half = int(global_runs.half_rate_hitting(np.array([x]))[0])
    assert (1 - x / 2) ** half <= global_runs.REDUCTION < (1 - x / 2) ** (half - 1) * (1 + 1e-12)
    slow = int(global_runs.sublinear_hitting(np.array([x]))[0])
    assert 1 / (1 + x * slow) <= global_runs.REDUCTION * (1 + 1e-12)
    assert 1 / (1 + x * (slow - 1)) > global_runs.REDUCTION * (1 - 1e-12)


def test_hitting_margin_decides_only_what_the_run_covers():
    bound = np.array([100.0, 200.0])
    assert global_runs.hitting_margin(np.array([50, 100]), bound, 120) == pytest.approx(0.5)
    assert global_runs.hitting_margin(np.array([50, -1]), bound, 250) < 0
    assert math.isnan(global_runs.hitting_margin(np.array([50, -1]), bound, 150))


def _scalar_factors(margin: float):
    root = torch.full((1, 1, 1), math.sqrt(margin), dtype=torch.float64)
    return [root.clone(), root.clone()], torch.ones(1, 1, 1, dtype=torch.float64)


def test_scalar_recursion_matches_the_batched_numpy_run():
    margin, eta = 0.3, 0.02
    initial, hit, lemma, largest, smallest = global_runs._balanced_scalar_run(margin, eta)
    factors, target = _scalar_factors(margin)
    batched = global_runs.run_to_reduction(factors, target, np.array([eta]), np.array([1e9]), 2)
    assert batched.hit[0] == hit
    assert batched.initial_loss[0] == pytest.approx(initial, rel=1e-15)
    assert batched.lemma_margin[0] == pytest.approx(lemma, rel=1e-9)
    assert batched.largest_decrease[0] == pytest.approx(largest, rel=1e-12)
    assert batched.smallest_sigma[0] == pytest.approx(smallest, rel=1e-12)


def test_streamed_chunks_do_not_change_the_summary(monkeypatch):
    sweep = global_runs.margin_sweep(2, (0.25,), (0.1,), 2, 3)
    monkeypatch.setattr(global_runs, "CHUNK", 7)
    global_runs.margin_sweep.cache_clear()
    chunked = global_runs.margin_sweep(2, (0.25,), (0.1,), 2, 3)
    global_runs.margin_sweep.cache_clear()
    assert chunked.summary.hit.tolist() == sweep.summary.hit.tolist()
    np.testing.assert_allclose(chunked.summary.lemma_margin, sweep.summary.lemma_margin,
                               rtol=1e-12)


def test_theorem_step_run_meets_the_theorem_and_rejects_its_controls():
    run = global_runs.theorem_step_runs((0.5,))
    assert run.eta[0] == pytest.approx(0.5**3 / (6144 * 8), rel=1e-14)
    assert 0 < run.hit[0] <= run.bound[0]
    tolerance = global_experiment.LEMMA_TOLERANCE
    assert run.lemma_margin[0] >= -tolerance
    assert -run.largest_decrease[0] / 2 < -tolerance  # the half-rate lemma control
    x = run.guaranteed
    assert global_runs.hitting_margin(global_runs.half_rate_hitting(x), run.bound, 10**9) < 0
    assert run.smallest_sigma[0] >= 0.5  # the margin is kept


@pytest.mark.parametrize("margins", [(0.0,), (1.0,), (0.5, -0.1)])
def test_theorem_step_runs_reject_margins_outside_zero_one(margins):
    with pytest.raises(ValueError):
        global_runs.theorem_step_runs(margins)


def test_random_init_runs_only_the_draws_with_a_margin():
    draws = global_runs.random_init_runs(60, 20, 3, 5e-2, 11)
    generator = torch.Generator().manual_seed(11)
    a = (global_runs.DRAW_SCALE / 20) * torch.randn(60, 1, 20, generator=generator,
                                                    dtype=torch.float64)
    distance = torch.linalg.vector_norm(a[:, 0] - torch.eye(20, dtype=torch.float64)[0], dim=-1)
    np.testing.assert_allclose(draws.draw_margins, (1 - distance).numpy(), atol=1e-14)
    assert draws.summary.eta.size == draws.positive == int((distance < 1).sum())
    assert bool((draws.summary.hit > 0).all())
    assert bool((draws.summary.margins > 0).all())


def test_global_checks_in_quick_mode_pass_and_every_control_is_violated():
    result = record_layer(global_experiment.record, Layer.EXPERIMENT, QUICK)
    names = {check.name for check in result.checks}
    assert {"theorem-step-n2-c0.5-lemma", "theorem-step-n2-c0.5-iteration-count",
            "theorem2-random-init-margin", "small-margin-n2-c0.1-iteration-count"} <= names
    for check in result.checks:
        assert check.verdict is Verdict.CONSISTENT, check.name
        assert check.controls and all(control.verdict is Verdict.VIOLATED
                                      for control in check.controls), check.name
    decisive = {check.name for check in result.checks if check.decisive}
    assert decisive == {"theorem-step-n2-c0.5-lemma", "theorem-step-n2-c0.5-iteration-count",
                        "theorem2-random-init-margin"}


def test_scalar_search_margins_are_exact_and_match_float_gd():
    """The scalar margins of the searches: exact rational GD against float64 GD (twin); the
    step eta = 1 from w = 1, phi = 2 raises the loss from 1/2 to 2 in four steps."""
    from fractions import Fraction

    from optverify.numerics.ball import certify, evaluate_float
    from optverify.theorems.deficiency_margin_convergence.scalar_theorem import (
        lemma_step_margin,
        margin_alone_descent_margin,
    )

    diverging = {"w": Fraction(1), "phi": Fraction(2), "eta": Fraction(1)}
    assert certify(margin_alone_descent_margin, diverging).text == "-3/2"
    instance = {"w": Fraction(3, 4), "phi": Fraction(3, 2), "h": Fraction(1, 2)}
    enclosure = certify(lemma_step_margin, instance)
    assert enclosure.above_zero and enclosure.bits == 0
    assert evaluate_float(lemma_step_margin, instance) == pytest.approx(enclosure.low, rel=1e-6)


def test_theorem_iteration_margin_in_balls_matches_the_mpmath_run():
    """--rigorous: (eps - l(T)) / eps of the scalar Theorem 1 run, enclosed in ball arithmetic,
    against `scalar_theorem_run` at 50 digits (twin)."""
    from fractions import Fraction

    from optverify.numerics.ball import certify
    from optverify.theorems.deficiency_margin_convergence.scalar_theorem import (
        scalar_theorem_run,
        theorem_iteration_margin,
    )

    run = scalar_theorem_run(0.9, 1.0, 50)
    enclosure = certify(theorem_iteration_margin,
                        {"c": Fraction(0.9), "kappa": Fraction(1), "T": run.steps_T})
    assert enclosure.above_zero and enclosure.bits == 128
    assert enclosure.low == pytest.approx(run.relative_margin, rel=1e-12)
