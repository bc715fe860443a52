"""Tests of the `flat-activations` claim: the expected forward-only update in closed form against
mpmath quadrature and Monte Carlo (twins), the zero autograd gradient of the staircase loss, the
forward-only method reducing the error, and bad input."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from mpmath import mp

from optverify.theorems.flat_activations import numeric
from optverify.theorems.flat_activations.model import (
    Staircase,
    expected_update,
    monte_carlo_update,
)

STAIR = Staircase(55, 2.0)


def _tensor(*values):
    return torch.tensor(values, dtype=torch.float64)


def test_closed_form_matches_monte_carlo_in_several_dimensions():
    w, b = _tensor(0.3, -0.5, 0.8), _tensor(0.1)[0]
    v, c = _tensor(1.0, 0.2, -0.1), _tensor(-0.2)[0]
    exact = expected_update(w, b, v, c, STAIR)
    sampled = monte_carlo_update(w, b, v, c, STAIR, 200_000, torch.Generator().manual_seed(0))
    deviation = torch.cat([(exact.weights - sampled.weights).abs(),
                           (exact.bias - sampled.bias).abs().reshape(1)]) / sampled.stderr
    assert float(deviation.max()) <= 4.0


def test_torch_closed_form_matches_mpmath_quadrature_in_one_dimension():
    w, b, v, c = 0.4, -0.3, 1.3, 0.2
    update = expected_update(_tensor(w), _tensor(b)[0], _tensor(v), _tensor(c)[0], STAIR)
    with mp.workdps(30):
        quad = numeric.quadrature_update(mp.mpf(w), mp.mpf(b), mp.mpf(v), mp.mpf(c), STAIR)
        closed = numeric.closed_form_update(mp.mpf(w), mp.mpf(b), mp.mpf(v), mp.mpf(c), STAIR)
        assert max(abs(quad.along - closed.along), abs(quad.level - closed.level)) <= (
            mp.mpf(10) ** -20)
    assert abs(float(update.weights[0]) - float(quad.along)) <= 1e-13
    assert abs(float(update.bias) - float(quad.level)) <= 1e-13


def test_wrong_closed_form_is_detected_by_quadrature():
    with mp.workdps(30):
        args = (mp.mpf(0.4), mp.mpf(-0.3), mp.mpf(1.3), mp.mpf(0.2))
        quad = numeric.quadrature_update(*args, STAIR)
        wrong = numeric.closed_form_update(*args, Staircase(54, 2.0))
        assert abs(quad.along - wrong.along) > mp.mpf(10) ** -6


def test_in_place_residual_equals_the_staircase_minus_the_targets():
    generator = torch.Generator().manual_seed(3)
    z = 3 * torch.randn(4, 1000, generator=generator, dtype=torch.float64)
    y = STAIR(torch.randn(4, 1000, generator=generator, dtype=torch.float64))
    expected = STAIR(z) - y
    assert torch.allclose(STAIR.residual_(z.clone(), y), expected, rtol=0, atol=1e-12)
    levels = STAIR(torch.tensor([-5.0, 5.0], dtype=torch.float64))
    assert levels.tolist() == [-2.0, 2.0]
    assert STAIR.residual_(torch.tensor([-5.0, 5.0], dtype=torch.float64),
                           torch.zeros(2, dtype=torch.float64)).tolist() == [-2.0, 2.0]


def test_autograd_gradient_of_staircase_loss_is_zero():
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(512, 5, generator=generator, dtype=torch.float64)
    w = torch.randn(5, generator=generator, dtype=torch.float64, requires_grad=True)
    y = STAIR(x @ torch.ones(5, dtype=torch.float64) / math.sqrt(5))
    loss = ((STAIR(x @ w) - y) ** 2).mean()
    assert float(loss.detach()) > 0
    (gradient,) = torch.autograd.grad(loss, w)
    assert torch.equal(gradient, torch.zeros_like(gradient))


def test_forward_only_decreases_the_error():
    generator = torch.Generator().manual_seed(2)
    v = torch.randn(4, generator=generator, dtype=torch.float64)
    v, c = v / v.norm(), torch.tensor(0.1, dtype=torch.float64)
    x = torch.randn(20_000, 4, generator=generator, dtype=torch.float64)
    y = STAIR(x @ v + c)
    w, b = torch.zeros(4, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64)
    errors = []
    for _ in range(5):
        errors.append(float(((STAIR(x @ w + b) - y) ** 2).mean()))
        update = expected_update(w, b, v, c, STAIR)
        w, b = w - update.weights, b - update.bias
    assert all(later < earlier for earlier, later in itertools.pairwise(errors))


def test_population_loss_is_smooth_but_per_example_gradient_vanishes():
    with mp.workdps(30):
        w, b, v, c = mp.mpf(0.4), mp.mpf(-0.3), mp.mpf(1.3), mp.mpf(0.2)
        assert numeric.per_example_loss_derivative(w, b, mp.mpf(0.77), v, c, STAIR) == 0
        assert abs(mp.diff(lambda s: numeric.population_loss(s, b, v, c, STAIR), w)) > 0.1


@pytest.mark.parametrize("steps", [1, 0, 2.5])
def test_too_few_steps_raise(steps):
    with pytest.raises(ValueError):
        Staircase(steps, 2.0)


@pytest.mark.parametrize("width", [0.0, -1.0, math.inf, math.nan])
def test_bad_width_raises(width):
    with pytest.raises(ValueError):
        Staircase(10, width)


@pytest.mark.parametrize("d", [0, -3, 1.5])
def test_bad_dimension_raises(d):
    from optverify.theorems.flat_activations.experiment import ExperimentConfig

    with pytest.raises(ValueError, match="dimension must be"):
        ExperimentConfig(dimension=d, seeds=1, iterations=1, test_samples=1)


def test_non_finite_weights_raise():
    with pytest.raises(ValueError):
        expected_update(_tensor(math.nan), _tensor(0.0)[0], _tensor(1.0), _tensor(0.0)[0], STAIR)


def test_experiment_config_rejects_bad_dimension():
    from optverify.theorems.flat_activations.experiment import ExperimentConfig

    with pytest.raises(ValueError):
        ExperimentConfig(dimension=0, seeds=1, iterations=1, test_samples=1)


# -- negative controls (issue 9) ------------------------------------------------------------------

import numpy as np
import sympy

from optverify.kit import Session, Verdict
from optverify.testing import Layer, RunConfig
from optverify.theorems.flat_activations import (
    CLAIM,
    approaches,
    experiment,
    sampled_rate,
    symbolic,
)


def _experiment_session() -> Session:
    return Session(RunConfig(quick=True, seed=0), Layer.EXPERIMENT, CLAIM.bound)


def test_sampled_glmtron_error_falls_and_has_one_row_per_seed():
    settings = sampled_rate.SampledConfig(3, 4, (10, 100, 1000), test_samples=4096)
    errors = sampled_rate.sampled_glmtron(settings, _experiment_session()).numpy()
    assert errors.shape == (4, 3)
    assert np.all(errors.mean(0)[1:] < errors.mean(0)[:-1])


def test_main_check_rejects_a_slower_rate_fed_through_its_judge():
    """A world whose error falls like T^-1/4 (the declared alternative) is violated by the main
    check's own judging path; a world at T^-0.8 with the same scatter is consistent."""
    horizons = np.geomspace(10, 3000, 8)
    scatter = np.exp(0.02 * np.sin(np.arange(8)))
    for exponent, expected in ((-0.25, Verdict.VIOLATED), (0.0, Verdict.VIOLATED),
                               (-0.8, Verdict.CONSISTENT)):
        s = _experiment_session()
        check = s.rate("glmtron-sampled-rate", "", horizons, horizons**exponent * scatter,
                       sampled_rate.RATE_BOUND, rules_out=(-0.25,))
        assert check.verdict is expected, (exponent, check.detail)


def test_main_check_bears_out_the_tight_bound_at_the_tail():
    """The quick sweep (T = 10..30000) ends in the O(T^-1/2) regime: fitted over the flip regime,
    the tail slope lies within 0.03 of -1/2 (the bound is tight there; the mid-range slope near
    -0.9 is the linear regime before the staircase's flips dominate), and the check is consistent
    only with every control violated."""
    s = _experiment_session()
    sampled_rate.record_sampled_rate(s)
    (check,) = s.checks
    assert check.main and check.decisive and not check.sanity
    tail = check.fit.tail
    assert abs(tail.slope + 0.5) <= 0.03 and tail.ci.low <= -0.47 and tail.ci.high >= -0.53
    if check.verdict is Verdict.CONSISTENT:
        assert all(control.verdict is Verdict.VIOLATED for control in check.controls)


def test_flip_regime_is_the_errors_below_one_step_height_squared():
    stair = Staircase(55, 2.0)
    h2 = stair.height**2
    mask = sampled_rate.flip_regime(np.array([10 * h2, 1.01 * h2, 0.99 * h2, 0.1 * h2]), stair)
    assert mask.tolist() == [False, False, True, True]


def test_too_few_horizons_in_the_flip_regime_leave_the_main_check_inconclusive(monkeypatch):
    monkeypatch.setattr(sampled_rate.SampledConfig, "quick",
                        classmethod(lambda cls: cls(3, 4, (10, 20, 40), test_samples=1024)))
    s = _experiment_session()
    assert sampled_rate.record_sampled_rate(s) is None
    (check,) = s.checks
    assert check.main and check.verdict is Verdict.INCONCLUSIVE


def _config(**changes):
    base = dict(dimension=4, seeds=2, iterations=40, test_samples=2048, batch_size=32)
    return approaches.ExperimentConfig(**{**base, **changes})


def test_sampled_forward_only_lowers_the_error_on_the_shared_batches():
    settings = _config()
    s = _experiment_session()
    target = approaches.draw_target(settings, s)
    errors = approaches.forward_only_sampled(settings, target, s.generator("forward-only"))
    assert float(errors[settings.iterations].mean()) < 0.1 * float(errors[1].mean())


def test_multiply_adds_are_counted_from_the_shapes():
    settings = _config(dimension=10, batch_size=64, hidden=8)
    work = approaches.multiply_adds_per_iteration(settings)
    assert work == {"forward-only": 2 * 10 * 64, "smoothed GD": (20 + 2 * 54) * 64,
                    "ReLU MLP": 3 * (10 * 8 + 2 * 64 + 8) * 64, "bin classifier": 3 * 10 * 55 * 64}
    doubled = approaches.multiply_adds_per_iteration(_config(dimension=10, batch_size=128, hidden=8))
    assert all(doubled[name] == 2 * work[name] for name in work)


@pytest.mark.parametrize("errors, expected", [
    ({"forward-only": 0.1, "smoothed GD": 0.2, "ReLU MLP": 0.3, "bin classifier": 0.4},
     Verdict.CONSISTENT),
    ({"forward-only": 0.3, "smoothed GD": 0.2, "ReLU MLP": 0.3, "bin classifier": 0.4},
     Verdict.VIOLATED)])
def test_forward_only_best_compares_final_errors_at_equal_iterations(errors, expected):
    settings = _config()
    curves = {name: {settings.iterations: e} for name, e in errors.items()}
    curves[approaches.EXACT_FORWARD_ONLY] = {settings.iterations: 0.0}  # not a competitor
    compared = approaches.Approaches(curves, approaches.multiply_adds_per_iteration(settings))
    s = _experiment_session()
    experiment._record_best(s, compared, settings)
    (check,) = s.checks
    assert check.verdict is expected and not check.decisive
    assert "multiply_adds_per_iteration_forward-only" in check.values


def test_statement_controls_do_not_vanish():
    stair = Staircase(4, 2.0)
    control = symbolic.ramp_derivative_control(stair)
    assert all(sympy.simplify(entry) == 1 for entry in control)
    gap = sympy.Matrix([0, 0])
    assert symbolic.wrong_constant(gap) != sympy.zeros(2, 1)


def test_off_by_one_step_height_is_rejected_by_quadrature():
    stair = Staircase(7, 2.0)
    with mp.workdps(30):
        w, b, v, c = mp.mpf("0.4"), mp.mpf("-0.3"), mp.mpf("1.3"), mp.mpf("0.2")
        quadrature = numeric.quadrature_update(w, b, v, c, stair)
        right = numeric.closed_form_update(w, b, v, c, stair).distance(quadrature)
        wrong = numeric.closed_form_update(w, b, v, c, stair, 2 * mp.mpf(2) / 7
                                           ).distance(quadrature)
        assert right < mp.mpf(10) ** -20
        assert wrong > mp.mpf(10) ** -4


def test_surrogate_identities_vanish_and_their_controls_do_not():
    """The symbolic layer's integrals, done once: the forward-only direction is the surrogate's
    gradient and the Hessian has determinant 0; the off-by-one controls do not reduce to 0."""
    integrals = symbolic.surrogate_integrals()
    for gaps in (symbolic.surrogate_gradient_differences(integrals),
                 symbolic.surrogate_convexity_gaps(integrals)):
        assert all(sympy.simplify(entry) == 0 for entry in gaps)
        assert sympy.simplify(symbolic.wrong_constant(gaps)[0]) != 0


def test_descent_margin_written_once_matches_the_closed_form_and_is_enclosed():
    """--rigorous: the written-once descent margin in float64 and in balls against the mpmath
    closed form (twin) at the quick preset's first point."""
    from optverify.numerics.ball import certify, evaluate_float

    settings = numeric.NumericConfig.quick()
    instance = numeric.descent_instance(settings, settings.points[0])
    with mp.workdps(50):
        w, b = (mp.mpf(value) for value in settings.points[0])
        v, c = (mp.mpf(value) for value in settings.target)
        closed = numeric.closed_form_update(w, b, v, c, settings.stair)
        descent = float(-(closed.along * (v - w) + closed.level * (c - b)))
    enclosure = certify(numeric.descent_margin, instance)
    assert enclosure.above_zero and enclosure.low == pytest.approx(descent, rel=1e-12)
    assert evaluate_float(numeric.descent_margin, instance) == pytest.approx(descent, rel=1e-9)
