"""Tests of the `balancedness` claim: each layer against an independent twin, properties of
Procedure 1 and of the GD update, and bad input."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given
from hypothesis import strategies as st
from mpmath import mp
from scipy.integrate import solve_ivp

from optverify.kit import Session, Verdict, fit_exponential_rate
from optverify.numerics import flow
from optverify.numerics.deep_linear import (
    balanced_factors,
    balanced_factors_mp,
    balancedness_gaps,
    balancedness_gaps_symbolic,
    end_to_end,
    end_to_end_mp,
    layer_gradients,
    layer_gradients_mp,
    layer_gradients_symbolic,
)
from optverify.numerics.mp_linalg import frobenius_norm, to_mp
from optverify.numerics.precision import machine_epsilon
from optverify.testing import Layer, RunConfig, record_layer
from optverify.theorems.balancedness import (
    CLAIM,
    config,
    drift,
    experiment,
    gd_steps,
    numeric,
    procedure_one,
    symbolic,
    weight_decay,
)
from optverify.verdict import judge_rate, symbolic_zero_check
from optverify.verify.runner import run_claim
from tests.strategies import (
    balanced_deep_linear_nets,
    gaussian_deep_linear_nets,
    step_sizes,
)
from optverify.testing import assert_every_decisive_check_can_say_no

EPS = machine_epsilon("float64")
DIGITS = 50
MP_FLOOR = 10.0 ** -(DIGITS - 10)


# --- symbolic layer -----------------------------------------------------------------------------


@pytest.mark.parametrize("architecture", symbolic.ARCHITECTURES, ids=lambda a: a.label)
def test_flow_and_step_identities_expand_to_zero(architecture):
    flow, step = symbolic.gap_flow_residuals(architecture), symbolic.gd_step_residuals(architecture)
    residuals = (flow.plain, flow.with_decay, step.plain, step.with_decay)
    assert all(entry == 0 for residual in residuals for entry in residual)


def test_wrong_weight_decay_sign_is_not_an_identity():
    architecture = symbolic.Architecture((2, 2, 2))
    with_decay = symbolic.gap_flow_residuals(architecture).with_decay
    gaps = balancedness_gaps_symbolic(symbolic.factor_matrices(architecture))
    stacked = sympy.Matrix([entry for gap in gaps for entry in gap])
    wrong_sign = (with_decay - 4 * symbolic.STEP * symbolic.DECAY * stacked).expand()
    assert any(entry != 0 for entry in wrong_sign)


def test_gd_step_without_the_eta_squared_term_is_not_an_identity():
    architecture = symbolic.Architecture((2, 2, 2, 2))
    factors = symbolic.factor_matrices(architecture)
    grads = layer_gradients_symbolic(factors, symbolic.end_to_end_gradient(architecture))
    stepped = [w - symbolic.STEP * g for w, g in zip(factors, grads)]
    change = [(a - b).expand() for a, b in zip(balancedness_gaps_symbolic(stepped),
                                              balancedness_gaps_symbolic(factors))]
    assert any(entry != 0 for matrix in change for entry in matrix)


def test_sympy_layer_gradients_match_torch_at_a_random_point():
    architecture = symbolic.Architecture((2, 3, 2, 1))
    factors = symbolic.factor_matrices(architecture)
    gradient = symbolic.end_to_end_gradient(architecture)
    rng = np.random.default_rng(1)
    point = {symbol: float(rng.standard_normal())
             for matrix in (*factors, gradient) for symbol in matrix.free_symbols}
    sympy_grads = [np.array(g.subs(point), dtype=float)
                   for g in layer_gradients_symbolic(factors, gradient)]
    as_torch = [torch.tensor(np.array(w.subs(point), dtype=float)) for w in factors]
    numeric_grads = layer_gradients(as_torch, torch.tensor(np.array(gradient.subs(point),
                                                                    dtype=float)))
    for a, b in zip(sympy_grads, numeric_grads):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-12, atol=1e-12)


def test_symbolic_layer_proves_every_identity():
    result = record_layer(symbolic.verify, Layer.SYMBOLIC, RunConfig(quick=True),
                          claim_bound=CLAIM.bound)
    assert result.checks and all(c.verdict is Verdict.CONSISTENT for c in result.checks)


def test_architecture_rejects_depth_below_two():
    with pytest.raises(ValueError, match="depth"):
        symbolic.Architecture((2, 2))


# --- flow integrator (optverify.numerics.flow) --------------------------------------------------


def test_gbs_matches_matrix_exponential_within_its_error_estimate():
    with mp.workdps(DIGITS):
        generator = mp.matrix([[0, 1, 0], [-1, 0, mp.mpf(1) / 3], [0, -mp.mpf(1) / 2, -1]])
        y0 = flow.mp_vector([1, 0.5, -0.25])
        field = lambda t, y: np.array(list(generator * mp.matrix(list(y))), dtype=object)
        estimate = flow.integrate_with_error(field, y0, 2, 4, mp.mpf(10) ** -(DIGITS - 6))
        exact = mp.expm(generator * 2) * mp.matrix(list(y0))
        error = flow.max_norm(estimate.fine.final - np.array(list(exact), dtype=object))
        assert estimate.error < 10.0 ** -(DIGITS - 10)
        assert error <= 10 * estimate.error + 10.0 ** -(DIGITS - 5)


def test_gbs_error_estimate_tracks_a_loose_tolerance():
    with mp.workdps(30):
        field = lambda t, y: y
        estimate = flow.integrate_with_error(field, flow.mp_vector([1]), 1, 2, mp.mpf(10) ** -8)
        error = abs(estimate.coarse.final[0] - mp.e)
        assert 1e-16 < error < 1e-6
        assert error <= 10 * estimate.error


def test_gbs_error_estimate_never_reuses_a_split_coarse_grid():
    """A coarse macro step that must be halved leaves the coarse run on the halved grid; the fine
    run must still be finer (at 2 * steps it took the same sub-steps and reported an error of 0)."""
    with mp.workdps(40):
        field = lambda t, y: y
        estimate = flow.integrate_with_error(field, flow.mp_vector([1]), 2, 1, mp.mpf(10) ** -14,
                                             max_levels=4)
        assert estimate.coarse.splits >= 1
        finest = lambda solution: min(b - a for a, b in zip(solution.times, solution.times[1:]))
        assert finest(estimate.fine) <= finest(estimate.coarse) / 2
        error = abs(estimate.coarse.final[0] - mp.exp(2))
        assert estimate.error > 0
        assert error <= 10 * estimate.error


def test_deep_linear_flow_matches_mpmath_layer_gradients():
    with mp.workdps(DIGITS):
        rng = np.random.default_rng(2)
        shapes = [(3, 2), (2, 3), (2, 2)]
        factors = [to_mp(rng.standard_normal(shape)) for shape in shapes]
        target = to_mp(rng.standard_normal((2, 2)))
        field = flow.deep_linear_flow(shapes, numeric.square_loss_gradient(target), 0.5, 0.25)
        velocities = flow.unpack_factors(field(0, flow.pack_factors(factors)), shapes)
        gradients = layer_gradients_mp(factors, end_to_end_mp(factors) - target)
        for velocity, w, g in zip(velocities, factors, gradients):
            assert frobenius_norm(velocity + mp.mpf(0.5) * (mp.mpf(0.25) * w + g)) < 1e-45


def test_pack_unpack_round_trip():
    with mp.workdps(DIGITS):
        shapes = [(2, 3), (1, 2)]
        factors = [to_mp(np.arange(6.0).reshape(2, 3)), to_mp([[7.0, 8.0]])]
        back = flow.unpack_factors(flow.pack_factors(factors), shapes)
        assert all(frobenius_norm(a - b) == 0 for a, b in zip(factors, back))
        with pytest.raises(ValueError, match="does not fit"):
            flow.unpack_factors(flow.pack_factors(factors), [(2, 2)])


@pytest.mark.parametrize(
    ("steps", "t_final", "tolerance", "y0"),
    [(0, 1, 1e-10, [1]), (2, -1, 1e-10, [1]), (2, 1, 0, [1]), (2, 1, 1e-10, [math.nan]),
     (2, math.inf, 1e-10, [1])],
)
def test_integrate_rejects_bad_input(steps, t_final, tolerance, y0):
    with mp.workdps(20), pytest.raises(ValueError):
        flow.integrate(lambda t, y: y, flow.mp_vector(y0), t_final, steps, mp.mpf(tolerance))


@pytest.mark.parametrize(("eta", "decay"), [(-0.1, 0.0), (0.0, 0.0), (0.1, -1.0)])
def test_deep_linear_flow_rejects_bad_rates(eta, decay):
    with pytest.raises(ValueError):
        flow.deep_linear_flow([(1, 1), (1, 1)], lambda w: w, eta, decay)


# --- numeric layer ------------------------------------------------------------------------------


def _numeric_session() -> Session:
    return Session(RunConfig(quick=True, precision=DIGITS), Layer.NUMERIC)


def _quick_instance():
    setup = numeric.NumericConfig.quick()
    with mp.workdps(DIGITS):
        instance = numeric.random_instance(setup, _numeric_session().rng("numeric"))
    return setup, instance.target, instance.balanced, instance.unbalanced


def test_mpmath_drift_is_at_the_error_level_and_the_trajectory_matches_scipy():
    setup, target, _, unbalanced = _quick_instance()
    with mp.workdps(DIGITS):
        field = flow.deep_linear_flow(setup.shapes, numeric.square_loss_gradient(target),
                                      setup.eta)
        y0 = flow.pack_factors(unbalanced)
        estimate = flow.integrate_with_error(field, y0, setup.t_final, setup.macro_steps,
                                             mp.mpf(10) ** -(DIGITS - 6), flow.MAX_LEVELS)
        measured = numeric.measure(estimate, setup.shapes, lambda t, gap0: gap0,
                                   _numeric_session().floor())
        final = np.array([float(v) for v in estimate.fine.final])
    assert measured.drift <= measured.tolerance <= 2 * MP_FLOOR
    assert measured.displacement > 1e-2
    # independent twin: scipy's DOP853 in float64 on the same flow, written with numpy
    phi = np.array(target.tolist(), dtype=float)
    shapes = setup.shapes

    sizes = np.cumsum([rows * cols for rows, cols in shapes])[:-1]

    def float_field(t, y):
        factors = [torch.tensor(block.reshape(shape))
                   for block, shape in zip(np.split(y, sizes), shapes)]
        grads = layer_gradients(factors, end_to_end(factors) - torch.tensor(phi))
        return np.concatenate([-setup.eta * g.numpy().ravel() for g in grads])

    reference = solve_ivp(float_field, (0, setup.t_final), np.array([float(v) for v in y0]),
                          method="DOP853", rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(final, reference.y[:, -1], atol=1e-10)


def test_a_non_gradient_flow_breaks_the_invariant_far_above_the_tolerance():
    setup, target, _, unbalanced = _quick_instance()
    with mp.workdps(DIGITS):
        gradient_flow = flow.deep_linear_flow(setup.shapes, numeric.square_loss_gradient(target),
                                              setup.eta)
        size = setup.shapes[0][0] * setup.shapes[0][1]

        def skewed(t, y):  # the first layer moves twice as fast: not a gradient flow of L^N
            velocity = gradient_flow(t, y)
            velocity[:size] = 2 * velocity[:size]
            return velocity

        estimate = flow.integrate_with_error(skewed, flow.pack_factors(unbalanced),
                                             setup.t_final, setup.macro_steps,
                                             mp.mpf(10) ** -(DIGITS - 6), flow.MAX_LEVELS)
        measured = numeric.measure(estimate, setup.shapes, lambda t, gap0: gap0,
                                   _numeric_session().floor())
    assert measured.drift > 1e20 * measured.tolerance


def test_procedure_one_factors_at_high_precision():
    with mp.workdps(DIGITS):
        product = to_mp(np.random.default_rng(3).standard_normal((2, 3)))
        residuals = procedure_one.procedure_one_residual(product, balanced_factors_mp(product, [3, 4]))
    assert residuals.worst < MP_FLOOR


def test_numeric_config_rejects_bad_input():
    with pytest.raises(ValueError, match="depth"):
        numeric.NumericConfig((2, 2), 1.0, 1.0, 0.5, 0.0, 1.0, 2, ())
    with pytest.raises(ValueError, match="positive"):
        numeric.NumericConfig((2, 2, 2), 1.0, 1.0, -0.5, 0.0, 1.0, 2, ())
    with pytest.raises(ValueError, match="weight decay"):
        numeric.NumericConfig((2, 2, 2), 1.0, 1.0, 0.5, math.nan, 1.0, 2, ())


# --- experiment layer ---------------------------------------------------------------------------


def _torch_net(factors, target):
    return gd_steps.Instances([torch.tensor(w)[None] for w in factors],
                                torch.tensor(target)[None])


@given(gaussian_deep_linear_nets())
def test_layer_gradients_match_autograd(net):
    factors, target = net
    instances = _torch_net(factors, target)
    leaves = [w.clone().requires_grad_(True) for w in instances.factors]
    loss = 0.5 * ((end_to_end(leaves) - instances.target) ** 2).sum()
    autograd = torch.autograd.grad(loss, leaves)
    closed = layer_gradients(instances.factors,
                             instances.grad_loss(end_to_end(instances.factors)))
    for a, b in zip(autograd, closed):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@given(balanced_deep_linear_nets())
def test_procedure_one_factors_are_balanced_and_multiply_to_the_target(net):
    target, hidden = net
    factors = balanced_factors(torch.tensor(target), hidden)
    depth = len(factors)
    scale = max(1.0, float(np.linalg.norm(target, 2))) ** (2 / depth)
    width = max(target.shape + tuple(hidden))
    # each C_j entry sums `width` products of O(scale) terms, each product O(eps) off
    for gap in balancedness_gaps(factors):
        assert float(gap.abs().max()) <= 16 * width * EPS * scale
    product_tolerance = 16 * depth * width * EPS * max(1.0, float(np.linalg.norm(target, 2)))
    assert float((end_to_end(factors) - torch.tensor(target)).abs().max()) <= product_tolerance


@given(gaussian_deep_linear_nets(), step_sizes, st.floats(0.0, 1.0))
def test_one_gd_step_changes_the_gaps_by_the_exact_identity(net, eta, weight_decay):
    instances = _torch_net(*net)
    step = gd_steps.gd_step(instances.factors, instances, eta, weight_decay)
    residual = gd_steps.one_step_residual(instances.factors, step.factors, step.gradients, eta,
                                            weight_decay)
    assert float(residual) <= gd_steps.IDENTITY_ULPS * EPS


def test_fixed_steps_drift_scales_like_eta_squared():
    setup = config.ExperimentConfig.quick()
    instances = gd_steps.random_instances(setup, Session(RunConfig(quick=True),
                                                           Layer.EXPERIMENT))
    sweep = drift.fixed_steps_sweep(setup, instances, "float64")
    assert sweep.resolved.all()
    ratios = sweep.drift / sweep.etas**2
    assert ratios.max() / ratios.min() < 1.1


def test_unresolved_sweep_is_inconclusive_not_fitted():
    sweep = drift.DriftSweep(np.array([1e-3, 2e-3, 4e-3]), np.array([1e-9, 4e-9, 1.6e-8]),
                                  np.array([2.0]), np.array([False, False, True]),
                                  gd_steps.IdentityResiduals())
    session = Session(RunConfig(quick=True, dtype="float32"), Layer.EXPERIMENT)
    check = drift.record_drift(session, "drift", "words", sweep,
                                    drift.DRIFT_AT_FIXED_STEPS)
    assert check.verdict is Verdict.INCONCLUSIVE and check.fit is None


def test_experiment_config_and_instances_reject_bad_input():
    good = config.ExperimentConfig.quick()
    with pytest.raises(ValueError, match="depth"):
        replace(good, widths=(3, 2))
    with pytest.raises(ValueError, match="positive"):
        replace(good, fixed_step_etas=(-1e-3, 1e-3, 2e-3))
    with pytest.raises(ValueError, match="eta lambda"):
        replace(good, decay_horizon=80.0, decay_sample_every=(1, 4))
    with pytest.raises(ValueError, match="steps between decay samples"):
        replace(good, decay_sample_every=(2.5, 4))
    with pytest.raises(ValueError, match="finite"):
        gd_steps.Instances([torch.tensor([[math.nan]]), torch.ones(1, 1)], torch.ones(1, 1))
    with pytest.raises(ValueError, match="depth"):
        gd_steps.Instances([torch.ones(1, 1)], torch.ones(1, 1))


def test_balanced_factors_reject_depth_below_two():
    with pytest.raises(ValueError, match="depth"):
        balanced_factors(torch.ones(2, 2, dtype=torch.float64), [])


def test_claim_quick_run_verdict_as_measured():
    result = run_claim(CLAIM, RunConfig(quick=True))
    # Under the negative-control rules (issue 9) every decisive check holds and rejects its
    # controls. (Updated: the expected verdict was inconclusive while weight-decay-rate was fitted
    # without a comparison against a power law; it now goes through Session.rate on a horizon long
    # enough to reject the power-law control, and an extrapolated twin models the correction.)
    unsettled = {c.name for c in result.checks if c.decisive and c.verdict is not Verdict.CONSISTENT}
    assert result.verdict is Verdict.CONSISTENT and not unsettled, [
        (c.name, c.verdict, c.detail) for c in result.checks if c.verdict is not Verdict.CONSISTENT
    ]
    assert {layer.layer for layer in result.layers} == set(Layer)
    assert {check.name for check in result.main_checks} == {
        "flow-invariant-N2-2x2x2", "flow-invariant-N3-2x2x2x2", "flow-invariant-N3-1x2x3x2",
        "flow-drift-balanced", "flow-drift-unbalanced"}
    assert all(check.bound == CLAIM.bound for check in result.main_checks)
    assert_every_decisive_check_can_say_no(result)
    names = {check.name for check in result.checks if check.decisive}
    assert {"weight-decay-rate", "weight-decay-rate-extrapolated"} <= names


# --- negative controls --------------------------------------------------------------------------


@pytest.mark.parametrize("architecture", symbolic.ARCHITECTURES, ids=lambda a: a.label)
def test_symbolic_controls_are_exact_counterexamples(architecture):
    """Each false alternative, computed by the same residual function and evaluated at the
    rational witness point, is a non-zero number: the zero check says violated."""
    alternatives = [symbolic.gap_flow_residuals(architecture, velocity, expand=False).plain
                    for velocity in symbolic.wrong_velocities(architecture)]
    alternatives += [
        symbolic.gap_flow_residuals(architecture, decay_constant=1, expand=False).with_decay,
        symbolic.gd_step_residuals(architecture, step_power=0, expand=False).plain,
        symbolic.gd_step_residuals(architecture, step_power=1, expand=False).plain,
        symbolic.gd_step_residuals(architecture, decay_power=1, expand=False).with_decay,
    ]
    for alternative in alternatives:
        check = symbolic_zero_check("control", "control", symbolic.at_witness(alternative))
        assert check.verdict is Verdict.VIOLATED, check.detail


def test_the_claimed_identities_vanish_at_the_witness_point_too():
    architecture = symbolic.Architecture((2, 2, 2))
    flow = symbolic.gap_flow_residuals(architecture, expand=False)
    assert all(entry == 0 for entry in symbolic.at_witness(flow.with_decay))


def test_witness_point_is_positive_rational_and_deterministic():
    expression = sympy.Symbol("b") * sympy.Symbol("a") + symbolic.STEP
    point = symbolic.witness_point(expression)
    assert [point[sympy.Symbol("a")], point[sympy.Symbol("b")], point[symbolic.STEP]] == [
        sympy.Rational(2, 3), sympy.Rational(3, 4), sympy.Rational(4, 5)]


def test_missing_transpose_velocity_needs_equal_widths():
    architecture = symbolic.Architecture((1, 2, 3, 2))
    assert symbolic.wrong_velocities(architecture) == ("layer-wise-rates",)
    factors = symbolic.factor_matrices(architecture)
    with pytest.raises(ValueError, match="equal widths"):
        symbolic.velocity_gradients(factors, symbolic.end_to_end_gradient(architecture),
                                     "missing-transpose")
    with pytest.raises(ValueError, match="the velocity must be one of"):
        symbolic.velocity_gradients(factors, symbolic.end_to_end_gradient(architecture), "x")


def test_symbolic_layer_declares_a_rejected_control_on_every_check():
    result = record_layer(symbolic.verify, Layer.SYMBOLIC, RunConfig(quick=True),
                          claim_bound=CLAIM.bound)
    assert all(c.controls and all(k.verdict is Verdict.VIOLATED for k in c.controls)
               for c in result.checks)
    assert all("scope:" in c.statement for c in result.checks)


def test_naive_factorization_has_the_product_but_fails_procedure_one():
    with mp.workdps(DIGITS):
        product = to_mp(np.random.default_rng(4).standard_normal((2, 3)))
        naive = procedure_one.naive_factors(product, (3, 4, 4, 2))
        assert frobenius_norm(end_to_end_mp(naive) - product) < MP_FLOOR
        residual = procedure_one.procedure_one_residual(product, naive)
    assert residual.worst > 1e-3


def test_layer_wise_rates_scale_each_layer_by_its_index():
    shapes = [(2, 2), (3, 2)]
    with mp.workdps(DIGITS):
        wrong = numeric.layer_wise_rates(lambda t, y: np.ones(len(y), dtype=object), shapes)
        scaled = wrong(0, np.zeros(10, dtype=object))
    assert list(scaled) == [1] * 4 + [2] * 6


def test_numeric_layer_controls_are_violated():
    result = record_layer(numeric.verify, Layer.NUMERIC, RunConfig(quick=True, precision=DIGITS),
                          claim_bound=CLAIM.bound)
    for check in result.checks:
        assert check.verdict is Verdict.CONSISTENT, check.detail
        assert check.controls and all(k.verdict is Verdict.VIOLATED for k in check.controls), (
            check.name, check.controls)


def test_layer_wise_gd_moves_the_gaps_at_first_order():
    setup = config.ExperimentConfig.quick()
    instances = gd_steps.random_instances(setup, Session(RunConfig(quick=True),
                                                           Layer.EXPERIMENT))
    wrong = drift.fixed_steps_sweep(setup, instances, "float64", layer_wise=True)
    slope = np.polyfit(np.log(wrong.etas), np.log(wrong.drift), 1)[0]
    assert abs(slope - 1) < 0.05
    session = Session(RunConfig(quick=True), Layer.EXPERIMENT)
    right = drift.fixed_steps_sweep(setup, instances, "float64")
    check = drift.record_drift(session, "drift", "words", right,
                                    drift.DRIFT_AT_FIXED_STEPS, wrong, (1.75, 2.25))
    assert check.verdict is Verdict.CONSISTENT
    assert all(control.verdict is Verdict.VIOLATED for control in check.controls)


@given(gaussian_deep_linear_nets(), step_sizes, st.floats(0.05, 1.0))
def test_wrong_one_step_predictions_miss_the_exact_update(net, eta, weight_decay):
    instances = _torch_net(*net)
    step = gd_steps.gd_step(instances.factors, instances, eta, weight_decay)
    found = gd_steps.one_step_residuals(instances.factors, step.factors, step.gradients, eta,
                                          weight_decay, gd_steps.IDENTITY_VARIANTS)
    assert float(found["the claim"]) <= gd_steps.IDENTITY_ULPS * EPS
    assert float(found["the factor (1 - eta lambda) for its square"]) > 1e3 * (
        gd_steps.IDENTITY_ULPS * EPS)


def test_extrapolated_decay_rate_removes_a_linear_correction_and_rejects_a_power_law():
    eta_lambdas = np.array([0.005, 0.01, 0.02, 0.04])
    x = np.linspace(0.1, 4.0, 40)
    points = [(x, np.exp(-(2 + 1.5 * el) * x + 0.01 * np.sin(7 * x))) for el in eta_lambdas]
    fit = weight_decay.extrapolated_decay_rate(eta_lambdas, points)
    assert abs(fit.exponent + 2) < 1e-3 and fit.ci.contains(fit.exponent)
    assert judge_rate(fit, weight_decay.DECAY_RATE) is Verdict.CONSISTENT
    power_laws = [(x, weight_decay.as_power_law_points(x, y)) for x, y in points]
    alternative = weight_decay.extrapolated_decay_rate(eta_lambdas, power_laws)
    assert judge_rate(alternative, weight_decay.DECAY_RATE) is not Verdict.CONSISTENT
    with pytest.raises(ValueError, match="at least 3"):
        weight_decay.extrapolated_decay_rate(eta_lambdas[:2], points[:2])


def test_a_power_law_decay_is_not_accepted_as_exponential_by_the_rate_check():
    x = np.linspace(0.1, 4.0, 40)
    session = Session(RunConfig(quick=True), Layer.EXPERIMENT)
    check = session.rate("decay", "words", x, 3 * x**-2.0, weight_decay.DECAY_RATE)
    assert check.verdict is not Verdict.CONSISTENT


def test_float32_runs_use_the_resolvable_drift_designs():
    quick = config.ExperimentConfig.quick()
    assert quick.dtype_design("float64") is quick
    design = quick.dtype_design("float32")
    assert design.fixed_steps == quick.float32_fixed_steps
    assert design.fixed_step_etas == quick.float32_fixed_step_etas
    assert design.step_counts == quick.float32_step_counts
    assert max(design.fixed_step_etas) * design.fixed_steps <= 0.1 + 1e-12
    threshold = 4 * machine_epsilon("float32") ** 0.5
    assert min(design.fixed_step_etas) > threshold
    assert design.fixed_time / max(design.step_counts) > threshold
    full = config.ExperimentConfig.full()
    assert full.fixed_time / max(full.step_counts) < threshold
    assert full.fixed_time / max(full.dtype_design("float32").step_counts) > threshold


def test_every_point_of_the_float32_fixed_time_design_is_resolved():
    setup = config.ExperimentConfig.quick().dtype_design("float32")
    session = Session(RunConfig(quick=True, dtype="float32"), Layer.EXPERIMENT)
    instances = gd_steps.random_instances(setup, session)
    sweep = drift.fixed_time_sweep(setup, instances, "float32")
    assert sweep.resolved.all()


def test_a_fixed_time_point_carries_the_rounding_of_its_own_steps_only():
    drifts = torch.full((2, 3), 1e-4, dtype=torch.float64)
    factors = [torch.ones(3, 2, 2, dtype=torch.float64), torch.ones(3, 2, 2, dtype=torch.float64)]
    instances = gd_steps.Instances(factors, torch.ones(3, 2, 2, dtype=torch.float64))
    sweep = drift._sweep(np.array([0.1, 0.001]), drifts, instances, np.array([10, 1000]),
                         "float32", gd_steps.IdentityResiduals())
    assert sweep.resolved.tolist() == [True, False]


def test_decay_runs_sample_one_grid_in_eta_lambda_t():
    setup = replace(config.ExperimentConfig.quick(), instances=4, decay_sample_every=(12, 3, 2))
    instances = gd_steps.random_instances(setup, Session(RunConfig(quick=True),
                                                           Layer.EXPERIMENT))
    runs = weight_decay.decay_runs(setup, instances)
    grid = np.arange(setup.decay_samples + 1) * setup.decay_horizon / setup.decay_samples
    for run in runs:
        np.testing.assert_allclose(run.x, grid, rtol=0, atol=1e-12)


def test_discretization_window_fit_uses_only_the_early_samples():
    run = weight_decay.DecayRun(0.01, np.linspace(0, 4, 41), -2 * np.linspace(0, 4, 41),
                              fit_exponential_rate(np.linspace(0, 4, 41),
                                                   np.exp(-2 * np.linspace(0, 4, 41))),
                              gd_steps.IdentityResiduals())
    fit = weight_decay.window_fit(run)
    assert fit.x_max == pytest.approx(weight_decay.DISCRETIZATION_WINDOW)
    assert fit.exponent == pytest.approx(-2)


def test_batched_rows_follow_their_runs_alone():
    """`stepped_rows` runs each row as its own GD run: a row stepping T times equals T plain
    `gd_step` calls at its learning rate, whatever the other rows' counts."""
    import numpy as np
    import torch

    from optverify.kit import Session
    from optverify.testing import Layer, RunConfig
    from optverify.theorems.balancedness import CLAIM
    from dataclasses import replace

    from optverify.theorems.balancedness import gd_steps
    from optverify.theorems.balancedness.config import ExperimentConfig

    setup = ExperimentConfig.quick()
    session = Session(RunConfig(quick=True), Layer.EXPERIMENT, CLAIM.bound)
    instances = gd_steps.random_instances(replace(setup, instances=3), session)
    counts, etas = np.array([2, 5, 9]), np.array([0.05, 0.02, 0.01])
    rows = gd_steps.stepped_rows(instances, etas, counts, None, weight_decay=0.3)
    for row, (count, eta) in enumerate(zip(counts, etas)):
        factors = instances.factors
        for _ in range(count):
            factors = gd_steps.gd_step(factors, instances, eta, 0.3).factors
        for batched, alone in zip(rows, factors):
            assert torch.allclose(batched[row], alone, rtol=1e-13, atol=1e-15)
    with pytest.raises(ValueError):
        gd_steps.stepped_rows(instances, etas, counts[::-1], None)
