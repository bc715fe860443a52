"""end-to-end-preconditioner: Theorem 1 of arXiv:1802.06509 across sympy, mpmath and torch twins.

Tolerances, defined once:
- MP_FLOOR: 10^-(digits - 10) at MP_DIGITS, the numeric layer's precision floor;
- FLOAT_TOL: float64 formulas through an SVD of matrices up to 6 x 6 with singular values spread
  over a few decades: 1e4 eps relative (each fractional power loses at most log10(cond) ~ 3 digits).
"""

from dataclasses import replace

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from mpmath import mp

from optverify.kit import Session, Verdict
from optverify.numerics.deep_linear import (
    balanced_factors,
    balanced_factors_mp,
    end_to_end,
    end_to_end_mp,
    layer_gradients,
    layer_gradients_mp,
)
from optverify.numerics.mp_linalg import frobenius_norm, max_abs, to_mp, to_numpy
from optverify.testing import Layer, RunConfig, record_layer
from optverify.theorems.end_to_end_preconditioner import (
    CLAIM,
    circulation,
    config,
    numeric,
    one_step,
    sampling,
    single_output_symbolic,
    symbolic,
    theorem1_symbolic,
    width_independence,
)
from optverify.theorems.end_to_end_preconditioner.preconditioner import (
    end_to_end_step,
    end_to_end_velocity,
    end_to_end_velocity_mp,
    full_spectrum,
    gram_powers,
    layerwise_velocity,
    layerwise_velocity_mp,
    preconditioner_eigenvalues,
    preconditioner_matrix,
    single_output_direction,
    single_output_direction_mp,
    vec,
)
from optverify.verdict import symbolic_zero_check
from optverify.verify.runner import run_claim
from tests.strategies import balanced_deep_linear_nets
from optverify.testing import assert_every_decisive_check_can_say_no

MP_DIGITS = 50
MP_FLOOR = 10.0 ** (-(MP_DIGITS - 10))
FLOAT_TOL = 1e4 * np.finfo(np.float64).eps


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / max(1.0, float(b.abs().max())))


def _loss_gradient(target: np.ndarray) -> np.ndarray:
    """G = W_e - Phi for a fixed Phi built from the target's shape."""
    phi = np.random.default_rng(target.size).standard_normal(target.shape)
    return target - phi


# ---------------------------------------------------------------- property: Theorem 1 (twins)


@given(balanced_deep_linear_nets(), st.sampled_from([0.0, 0.3]))
def test_torch_layerwise_velocity_equals_theorem1(net, weight_decay):
    target, hidden = net
    factors = balanced_factors(torch.from_numpy(target), hidden)
    w_e = end_to_end(factors)
    grad = torch.from_numpy(_loss_gradient(target))
    layerwise = layerwise_velocity(factors, layer_gradients(factors, grad), weight_decay)
    formula = end_to_end_velocity(w_e, grad, len(hidden) + 1, weight_decay)
    assert _relative(layerwise, formula) <= FLOAT_TOL


@settings(max_examples=10)
@given(balanced_deep_linear_nets(max_depth=4, max_width=4))
def test_mpmath_layerwise_velocity_equals_theorem1_at_the_precision_floor(net):
    target, hidden = net
    with mp.workdps(MP_DIGITS):
        factors = balanced_factors_mp(to_mp(target), hidden)
        w_e = end_to_end_mp(factors)
        grad = to_mp(_loss_gradient(target))
        layerwise = layerwise_velocity_mp(factors, layer_gradients_mp(factors, grad), 0.2)
        formula = end_to_end_velocity_mp(w_e, grad, len(hidden) + 1, 0.2)
        residual = max_abs(layerwise - formula) / max(frobenius_norm(formula), mp.one)
    assert residual <= MP_FLOOR


@settings(max_examples=10)
@given(balanced_deep_linear_nets(max_depth=4, max_width=4))
def test_torch_formula_matches_its_mpmath_twin(net):
    target, hidden = net
    depth = len(hidden) + 1
    w_e = torch.from_numpy(target)
    grad = torch.from_numpy(_loss_gradient(target))
    with mp.workdps(MP_DIGITS):
        twin = to_numpy(end_to_end_velocity_mp(to_mp(target), to_mp(grad.numpy()), depth))
    assert _relative(end_to_end_velocity(w_e, grad, depth), torch.from_numpy(twin)) <= FLOAT_TOL


@given(balanced_deep_linear_nets())
def test_autograd_velocity_matches_the_layerwise_velocity(net):
    target, hidden = net
    factors = balanced_factors(torch.from_numpy(target), hidden)
    phi = torch.from_numpy(target - _loss_gradient(target))

    def loss(*layers):
        return 0.5 * ((end_to_end(list(layers)) - phi) ** 2).sum()

    grads = torch.func.grad(loss, argnums=tuple(range(len(factors))))(*factors)
    _, velocity = torch.func.jvp(lambda *layers: end_to_end(list(layers)), tuple(factors),
                                 tuple(-g for g in grads))
    formula = end_to_end_velocity(end_to_end(factors), end_to_end(factors) - phi, len(hidden) + 1)
    assert _relative(velocity, formula) <= FLOAT_TOL


def test_unbalanced_factors_break_the_identity():
    generator = torch.Generator().manual_seed(0)
    target = torch.randn(3, 3, dtype=torch.float64, generator=generator)
    factors = balanced_factors(target, [3])
    factors = [2.0 * factors[0], 0.5 * factors[1]]
    grad = torch.randn(3, 3, dtype=torch.float64, generator=generator)
    layerwise = layerwise_velocity(factors, layer_gradients(factors, grad))
    assert _relative(layerwise, end_to_end_velocity(end_to_end(factors), grad, 2)) > 0.1


# ---------------------------------------------------------------- P, Eq. 12, fractional powers


@given(balanced_deep_linear_nets(max_depth=6, max_width=4))
def test_preconditioner_matrix_acts_as_the_formula_and_has_the_closed_form_spectrum(net):
    target, hidden = net
    depth = len(hidden) + 1
    w_e = torch.from_numpy(target)
    grad = torch.from_numpy(_loss_gradient(target))
    matrix = preconditioner_matrix(w_e, depth)
    applied = (matrix @ vec(grad).unsqueeze(-1)).squeeze(-1)
    assert _relative(applied, -vec(end_to_end_velocity(w_e, grad, depth))) <= FLOAT_TOL
    spectrum = full_spectrum(w_e)
    left = spectrum.left
    closed = preconditioner_eigenvalues(left, spectrum.right, depth).flatten().sort().values
    assert _relative(torch.linalg.eigvalsh(matrix), closed) <= FLOAT_TOL
    sigma_min = left[min(target.shape) - 1]
    assert closed[0] >= sigma_min ** (2 * (depth - 1) / depth) * (1 - FLOAT_TOL)


def test_gram_powers_are_psd_roots_and_zero_power_is_the_identity():
    w = torch.randn(2, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    roots = gram_powers(w, 1 / 3)
    assert _relative(torch.linalg.matrix_power(roots.left, 3), w @ w.T) <= FLOAT_TOL
    assert _relative(torch.linalg.matrix_power(roots.right, 3), w.T @ w) <= FLOAT_TOL
    identities = gram_powers(w, 0.0)
    assert torch.equal(identities.right.round(decimals=12), torch.eye(4, dtype=torch.float64))
    assert torch.equal(identities.left.round(decimals=12), torch.eye(2, dtype=torch.float64))


@pytest.mark.parametrize("depth", [2, 3, 4, 6])
def test_single_output_rule_equals_the_general_formula_in_torch_and_mpmath(depth):
    generator = torch.Generator().manual_seed(depth)
    w = torch.randn(5, 1, 4, dtype=torch.float64, generator=generator)
    g = torch.randn(5, 1, 4, dtype=torch.float64, generator=generator)
    rule = single_output_direction(w[:, 0], g[:, 0], depth)
    assert _relative(rule, -end_to_end_velocity(w, g, depth)[:, 0]) <= FLOAT_TOL
    with mp.workdps(30):
        twin = single_output_direction_mp(list(w[0, 0].tolist()), list(g[0, 0].tolist()), depth)
    assert _relative(rule[0], torch.tensor([float(x) for x in twin], dtype=torch.float64)) <= 1e-14


# ---------------------------------------------------------------- symbolic layer


def test_symbolic_identity_and_eigen_equation_vanish_for_n2():
    assert set(theorem1_symbolic.velocity_difference(2, 2, 2)) == {0}
    assert set(theorem1_symbolic.eigen_equation_difference(2, 2, 2)) == {0}


def test_symbolic_identity_fails_with_a_wrong_exponent():
    net = theorem1_symbolic.balanced_factors_symbolic(2, 2, 2, hidden_rotations=False)
    wrong = theorem1_symbolic.gram_power_symbolic(net.u, net.t, 2, 2)  # [W W^T]^{2/2} in place of ^{1/2}
    right = theorem1_symbolic.gram_power_symbolic(net.u, net.t, 2, 1)
    assert any(entry != 0 for entry in (wrong - right).applyfunc(sympy.cancel))


def test_eigenvalue_margin_coefficients_are_non_negative():
    for depth in (2, 3, 7):
        assert all(c >= 0 for c in theorem1_symbolic.eigenvalue_margin_coefficients(depth))


def test_curl_closed_form_matches_sympy_for_n3():
    planar = single_output_symbolic.linear_loss_curl(3)
    x, y = planar.x, planar.y
    expected = sympy.Rational(2, 3) * y * (x**2 + y**2) ** sympy.Rational(-1, 3)
    assert sympy.simplify(planar.curl - expected) == 0


# ---------------------------------------------------------------- numeric layer


def test_rank_deficient_instances_have_exact_zero_singular_values_and_satisfy_theorem1():
    shape = numeric.InstanceShape(3, 3, (2, 2, 3), 2)
    with mp.workdps(MP_DIGITS):
        rng = np.random.default_rng(0)
        measured = numeric.velocity_residual(shape, rng)
        w_e = end_to_end_mp(numeric.balanced_instance_mp(shape, rng))
        singular = mp.svd_r(w_e, compute_uv=False)
    assert measured.residual <= MP_FLOOR
    assert measured.sigma_min == 0.0
    assert float(min(singular)) <= 1e-45


def test_circulation_matches_greens_theorem_and_vanishes_for_n2():
    with mp.workdps(15):
        line = circulation.circulation(3, circulation.linear_gradient).value
        area = circulation.green_circulation(3)
        zero = circulation.circulation(2, circulation.linear_gradient).value
        assert abs(line - area) <= 1e-10 * abs(area)
        assert abs(zero) <= 1e-12
        assert abs(line) > 1.0


# ---------------------------------------------------------------- experiment layer


def _experiment_session() -> Session:
    return Session(RunConfig(quick=True), Layer.EXPERIMENT)


def test_one_step_error_scales_like_eta_squared():
    settings_ = config.ExperimentConfig.quick()
    sampler = sampling.Sampler.of(_experiment_session(), "test")
    errors = one_step.one_step_errors(sampler, (3, 2, 3), settings_).errors
    slope = np.polyfit(np.log(settings_.etas), np.log(errors.mean(axis=1)), 1)[0]
    assert abs(slope - 2) < 0.05
    assert errors.shape == (len(settings_.etas), settings_.instances)


def test_balanced_trajectories_agree_across_widths_and_unbalanced_ones_do_not():
    session = _experiment_session()
    settings_ = config.ExperimentConfig.quick()
    balanced = width_independence.width_trajectories(sampling.Sampler.of(session, "a"), settings_,
                                             balanced=True)
    unbalanced = width_independence.width_trajectories(sampling.Sampler.of(session, "b"), settings_,
                                               balanced=False)
    tolerance = width_independence.width_tolerance(session.dtype, settings_, balanced.scale)
    assert balanced.spread.max() <= tolerance < unbalanced.spread.max()


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("depth", [1, 0, -3])
def test_depth_below_two_is_rejected(depth):
    w = torch.ones(2, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="depth"):
        end_to_end_velocity(w, w, depth)
    with pytest.raises(ValueError, match="depth"):
        preconditioner_matrix(w, depth)
    with pytest.raises(ValueError, match="depth"):
        single_output_direction(w[0], w[0], depth)


def test_negative_step_size_is_rejected():
    w = torch.ones(2, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="eta"):
        end_to_end_step(w, w, 2, -0.1)


def test_non_finite_matrices_are_rejected():
    w = torch.tensor([[1.0, float("nan")], [0.0, 1.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match="finite"):
        end_to_end_velocity(w, torch.ones(2, 2, dtype=torch.float64), 3)
    with pytest.raises(ValueError, match="finite"):
        end_to_end_velocity(torch.ones(2, 2, dtype=torch.float64), w, 3)
    with mp.workdps(20), pytest.raises(ValueError, match="finite"):
        end_to_end_velocity_mp(mp.matrix([[1, mp.inf]]), mp.matrix([[1, 1]]), 3)


def test_zero_single_output_weights_are_rejected():
    with pytest.raises(ValueError, match="w != 0"):
        single_output_direction(torch.zeros(3, dtype=torch.float64),
                                torch.ones(3, dtype=torch.float64), 3)


# ---------------------------------------------------------------- the claim


def test_quick_run_is_consistent_on_every_decisive_check():
    result = run_claim(CLAIM, RunConfig(quick=True))
    failing = [(c.name, c.detail) for c in result.checks
               if c.decisive and c.verdict is not Verdict.CONSISTENT]
    assert not failing, failing
    main = {check.name for check in result.main_checks}
    assert main == {"theorem1-identity-n2-2x2", "theorem1-identity-n3-2x2",
                    "theorem1-velocity-residual"}
    assert all(check.bound == CLAIM.bound for check in result.main_checks)
    assert_every_decisive_check_can_say_no(result)
    labelled = {c.name: (c.decisive, c.sanity) for c in result.checks}
    assert labelled["single-output-n2-quadratic-curl"] == (False, False)
    assert labelled["circulation-n2-quadratic-loss"] == (False, False)
    assert labelled["preconditioner-psd-rank-deficient"] == (False, True)
    assert "width-control-unbalanced" not in labelled  # now the width check's negative control


@pytest.mark.slow
def test_full_run_is_consistent_on_every_decisive_check():
    result = run_claim(CLAIM, RunConfig(quick=False))
    failing = [(c.name, c.detail) for c in result.checks
               if c.decisive and c.verdict is not Verdict.CONSISTENT]
    assert not failing, failing


@pytest.mark.parametrize("change", [
    {"etas": (1e-3, -1e-3, 1e-2)},
    {"trajectory_eta": float("nan")},
    {"width_depth": 1},
    {"step_shapes": ((2, 2, 1),)},
    {"weight_decay": -0.1},
])
def test_experiment_config_rejects_bad_parameters(change):
    with pytest.raises(ValueError):
        replace(config.ExperimentConfig.quick(), **change)


# ---------------------------------------------------------------- negative controls


def _violated(expression) -> bool:
    return symbolic_zero_check("control", "control", expression).verdict is Verdict.VIOLATED


@pytest.mark.parametrize(("depth", "rotations"), [(2, True), (3, False)])
def test_theorem1_controls_are_exact_counterexamples(depth, rotations):
    controls = symbolic._theorem1_controls(depth, 2, 2, rotations)
    assert len(controls) == 2 and all(_violated(value) for value in controls.values())


def test_the_claimed_identity_vanishes_at_the_witness_point():
    raw = theorem1_symbolic.velocity_difference(2, 2, 2, cancel=False)
    assert all(sympy.simplify(entry) == 0 for entry in theorem1_symbolic.at_witness(raw))


def test_wrong_root_power_and_wrong_eigenvalues_are_exact_counterexamples():
    assert _violated(theorem1_symbolic.at_witness(theorem1_symbolic.root_difference(3, 2, 2, 2, cancel=False)))
    wrong = theorem1_symbolic.eigen_equation_difference(2, 2, 2, left_shift=1, cancel=False)
    assert _violated(theorem1_symbolic.at_witness(wrong))


def test_lower_bound_judge_proves_the_claim_and_finds_counterexamples():
    claim = {depth: theorem1_symbolic.eigenvalue_margins(depth) for depth in (2, 3, 4)}
    assert theorem1_symbolic.judge_margins(claim).verdict is Verdict.CONSISTENT
    doubled = {depth: theorem1_symbolic.eigenvalue_margins(depth, floor_factor=2) for depth in (2, 3)}
    assert theorem1_symbolic.judge_margins(doubled).verdict is Verdict.VIOLATED
    squared = {3: theorem1_symbolic.eigenvalue_margins(3, floor_exponent=6)}
    assert theorem1_symbolic.judge_margins(squared).verdict is Verdict.VIOLATED


def test_lower_bound_judge_is_inconclusive_on_a_non_negative_polynomial_with_a_negative_coefficient():
    m, a, b = theorem1_symbolic.MARGIN_VARIABLES
    judgement = theorem1_symbolic.judge_margins({2: [sympy.expand((a - b) ** 2 + m)]})
    assert judgement.verdict is Verdict.INCONCLUSIVE


def test_curl_roots_judge_rejects_rules_curl_free_at_no_depth():
    assert single_output_symbolic.judge_curl_roots(single_output_symbolic.curl_coefficient()).verdict is Verdict.CONSISTENT
    weight_n = single_output_symbolic.curl_coefficient(lambda depth: depth)
    assert single_output_symbolic.judge_curl_roots(weight_n).verdict is Verdict.VIOLATED
    # roots (3 +- sqrt 5)/2: 2.618 is no depth (int() of it would have been taken for N = 2)
    exponent = single_output_symbolic.curl_coefficient(norm_exponent=lambda depth: 2 - 1 / depth)
    assert single_output_symbolic.curl_coefficient_roots(exponent).gradient_depths == ()
    assert single_output_symbolic.judge_curl_roots(exponent).verdict is Verdict.VIOLATED


def test_single_output_curl_and_potential_controls_are_exact_counterexamples():
    assert _violated(theorem1_symbolic.at_witness(
        single_output_symbolic.single_output_difference(3, projection_weight=3, cancel=False)))
    assert _violated(single_output_symbolic.at_curl_witness(
        single_output_symbolic.curl_closed_form_difference(1, simplify=False)))
    potential = single_output_symbolic.linear_n2_potential_difference(3, simplify=False)
    assert _violated(potential.applyfunc(single_output_symbolic.at_curl_witness))
    assert set(single_output_symbolic.linear_n2_potential_difference()) == {0}


def test_quadratic_curl_check_can_fail():
    quadratic = single_output_symbolic.anisotropic_n2_curl()
    assert quadratic.difference == 0
    x, y = sympy.symbols("x y", real=True)
    wrong = quadratic.curl - (1 + sympy.Symbol("kappa", positive=True)) * x * y
    assert symbolic_zero_check("c", "c", wrong).verdict is not Verdict.CONSISTENT


def test_velocity_residual_controls_are_far_above_the_floor():
    with mp.workdps(MP_DIGITS):
        rng = np.random.default_rng(0)
        measured = numeric.velocity_residual(numeric.InstanceShape(2, 2, (2,), 2, 0.1), rng)
    assert measured.residual <= MP_FLOOR
    assert set(measured.controls) == set(numeric.THEOREM1_CONTROLS)
    assert min(measured.controls.values()) > 1e-3


def test_spectrum_controls_and_relative_lower_bound_margins():
    with mp.workdps(MP_DIGITS):
        rng = np.random.default_rng(1)
        square = numeric.spectrum_result(numeric.InstanceShape(2, 2, (2,), 2), rng)
        wide = numeric.spectrum_result(numeric.InstanceShape(2, 4, (3, 3, 2), 2), rng)
        deficient = numeric.spectrum_result(numeric.InstanceShape(3, 3, (2, 2, 2, 3), 2), rng)
    assert square.wrong_eigenvalue_residual > 1e-3 and square.wrong_eigenvector_residual > 1e-3
    assert square.full_rank and wide.full_rank and not deficient.full_rank
    found = numeric.NumericMeasurements((), (square, wide, deficient), (), {}, {}, None)
    with mp.workdps(MP_DIGITS):  # the margins are mpmath numbers, computed at the layer's digits
        assert abs(found.lower_bound_margin()) <= MP_FLOOR  # attained by the non-square instance
        assert found.lower_bound_margin(2.0) == pytest.approx(-1.0, abs=1e-12)
        assert abs(found.rank_deficient_margin) <= MP_FLOOR


def test_single_output_control_and_circulation_judge():
    with mp.workdps(MP_DIGITS):
        residual, control = numeric.single_output_residual(3, 2, np.random.default_rng(2),
                                                           control=True)
        judge = circulation.circulation_judge(MP_FLOOR)
        n2 = circulation.circulation(2, circulation.linear_gradient)
        n3 = circulation.circulation(3, circulation.linear_gradient)
    assert residual <= MP_FLOOR < control
    assert judge(n3).verdict is Verdict.CONSISTENT
    assert judge(n2).verdict is Verdict.VIOLATED


def test_green_twin_control_uses_the_wrong_coefficient():
    with mp.workdps(20):
        twin = circulation.green_twin(3)
    assert twin.residual <= 1e-10 < twin.wrong_residual


def test_unbalanced_inits_make_the_one_step_error_first_order():
    settings_ = config.ExperimentConfig.quick()
    sampler = sampling.Sampler.of(_experiment_session(), "test")
    errors = one_step.one_step_errors(sampler, (3, 2, 3), settings_,
                                        one_step.UNBALANCED_DELTA).errors
    slope = np.polyfit(np.log(settings_.etas), np.log(errors.mean(axis=1)), 1)[0]
    assert abs(slope - 1) < 0.1


def test_float32_runs_sweep_resolvable_step_sizes():
    quick = config.ExperimentConfig.quick()
    assert quick.for_dtype("float64") is quick
    assert quick.for_dtype("float32").etas == quick.float32_etas
    assert min(quick.float32_etas) > 0.5 * 4 * np.finfo(np.float32).eps ** 0.5


def test_numeric_layer_controls_are_all_violated():
    result = record_layer(numeric.verify, Layer.NUMERIC, RunConfig(quick=True, precision=MP_DIGITS),
                          claim_bound=CLAIM.bound)
    for check in result.checks:
        if check.decisive:
            assert check.controls and all(k.verdict is Verdict.VIOLATED for k in check.controls), (
                check.name, check.controls)
