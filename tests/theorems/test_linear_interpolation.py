"""Tests of the `linear-interpolation` claim: batched path losses against direct evaluation and
mpmath (twins), the symbolic counter-example in torch, monotone paths of convex quadratics
(property), and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from mpmath import mp

from optverify.kit import Verdict
from optverify.verdict import judge_proportion
from optverify.numerics.precision import BELOW_PRECISION
from optverify.theorems.linear_interpolation import (
    digits,
    digits_experiment,
    experiment,
    families,
    numeric,
    symbolic,
)
from optverify.theorems.linear_interpolation.paths import (
    MlpParameters,
    deep_linear_loss,
    deep_linear_path_loss,
    interpolate,
    largest_bumps,
    mlp_loss,
    mlp_path_loss,
    monotone,
)
from tests.strategies import spd_matrices

ALPHAS = torch.linspace(0, 1, 11, dtype=torch.float64)


def _layers(seeds, width, depth, generator):
    return [torch.randn(seeds, width, width, generator=generator, dtype=torch.float64)
            for _ in range(depth)]


def test_deep_linear_path_loss_matches_direct_evaluation():
    generator = torch.Generator().manual_seed(0)
    starts, ends = _layers(3, 3, 3, generator), _layers(3, 3, 3, generator)
    target = torch.randn(3, 3, 3, generator=generator, dtype=torch.float64)
    batched = deep_linear_path_loss(starts, ends, target, ALPHAS)
    for k, alpha in enumerate(ALPHAS):
        direct = deep_linear_loss([(1 - alpha) * s + alpha * e for s, e in zip(starts, ends)],
                                  target)
        torch.testing.assert_close(batched[:, k], direct, rtol=1e-13, atol=0)


def test_mlp_path_loss_matches_direct_evaluation():
    generator = torch.Generator().manual_seed(1)

    def draw():
        return MlpParameters(*(torch.randn(shape, generator=generator, dtype=torch.float64)
                               for shape in ((2, 5, 3), (2, 5), (2, 5), (2,))))

    start, end = draw(), draw()
    inputs = torch.randn(7, 3, generator=generator, dtype=torch.float64)
    targets = torch.sign(torch.randn(7, generator=generator, dtype=torch.float64))
    batched = mlp_path_loss(start, end, inputs, targets, True, ALPHAS)
    for k, alpha in enumerate(ALPHAS):
        point = MlpParameters(*((1 - alpha) * a + alpha * b
                                for a, b in zip(start.tensors(), end.tensors())))
        torch.testing.assert_close(batched[:, k], mlp_loss(point, inputs, targets, True),
                                   rtol=1e-13, atol=0)


def test_torch_path_loss_matches_mpmath():
    generator = torch.Generator().manual_seed(2)
    starts, ends = _layers(1, 2, 3, generator), _layers(1, 2, 3, generator)
    target = torch.randn(2, 2, generator=generator, dtype=torch.float64)
    batched = deep_linear_path_loss(starts, ends, target, ALPHAS)[0]
    with mp.workdps(40):
        def to_mp(tensor):
            return mp.matrix(tensor.tolist())

        for k, alpha in enumerate(ALPHAS.tolist()):
            exact = numeric.path_loss([to_mp(s[0]) for s in starts], [to_mp(e[0]) for e in ends],
                                      to_mp(target), mp.mpf(alpha))
            assert abs(float(exact) - float(batched[k])) <= 1e-12 * max(1.0, float(exact))


def test_symbolic_counter_example_is_not_monotone_in_torch():
    example = symbolic.find_counter_example()
    loss, bump = example.loss, example.bump.height
    alphas = torch.linspace(0, 1, 1201, dtype=torch.float64)
    starts = [torch.tensor([[[float(v)]]], dtype=torch.float64) for v in example.start]
    ends = [torch.tensor([[[1.0]]], dtype=torch.float64) for _ in example.start]
    losses = deep_linear_path_loss(starts, ends, torch.ones(1, 1, dtype=torch.float64), alphas)
    exact = sympy.lambdify(symbolic.ALPHA, loss)(alphas.numpy())
    np.testing.assert_allclose(losses[0].numpy(), exact, rtol=1e-13, atol=1e-15)
    assert not bool(monotone(losses, "float64")[0])
    measured = float(largest_bumps(losses)[0])
    assert measured > 0.3
    assert abs(float(bump) - measured) <= 1e-5


@settings(max_examples=30)
@given(spd_matrices(max_size=5), st.integers(0, 2**32 - 1))
def test_convex_quadratic_paths_are_monotone(hessian, seed):
    n = hessian.shape[0]
    rng = np.random.default_rng(seed)
    minimizer, start = rng.standard_normal(n), 3 * rng.standard_normal(n)
    alphas = np.linspace(0, 1, 201)
    path = start[None, :] + alphas[:, None] * (minimizer - start)[None, :]
    gap = path - minimizer
    losses = torch.tensor(0.5 * np.einsum("ai,ij,aj->a", gap, hessian, gap))[None, :]
    assert bool(monotone(losses, "float64")[0])


def test_a_rising_path_is_not_monotone():
    losses = torch.tensor([[1.0, 0.5, 0.6, 0.1]], dtype=torch.float64)
    assert not bool(monotone(losses, "float64")[0])
    assert float(largest_bumps(losses)[0]) == pytest.approx(0.1)


def test_bad_input_raises():
    start = torch.zeros(1, 2, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="at least 3 alphas"):
        interpolate(start, start, torch.tensor([0.0, 1.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="finite"):
        interpolate(start, torch.full_like(start, float("nan")), ALPHAS)
    with pytest.raises(ValueError, match="depth N must be at least 2"):
        deep_linear_path_loss([start], [start], start[0], ALPHAS)
    with pytest.raises(ValueError, match="as many final as initial layers"):
        deep_linear_path_loss([start, start], [start], start[0], ALPHAS)


def test_family_summary_counts_rising_paths_and_resolves_bumps():
    rising = torch.tensor([[1.0, 0.5, 0.75, 0.25]], dtype=torch.float64)
    falling = torch.tensor([[1.0, 0.5, 0.25, 0.125]], dtype=torch.float64)
    summary = families.summarize(
        families.FamilyPaths("toy", "toy", torch.cat([rising, falling, falling])), "float64")
    assert (summary.paths, summary.monotone) == (3, 2)
    assert summary.largest_relative_bump == "0.25"
    flat = families.summarize(families.FamilyPaths("flat", "flat", falling), "float64")
    assert flat.largest_relative_bump == BELOW_PRECISION


def test_clopper_pearson_interval_decides_usually():
    interval = experiment.clopper_pearson(12, 20)
    assert interval.low < 0.5 < interval.high
    assert experiment.clopper_pearson(20, 20).low == pytest.approx(0.01 ** (1 / 20))  # 98%


# --- negative controls (optverify issue 9) --------------------------------------------------


def test_threshold_is_the_claimed_bound_and_fixed():
    assert symbolic.MAIN_BOUND.rhs == symbolic.MONOTONE_THRESHOLD == sympy.Rational(9, 10)
    assert families.THRESHOLD == 0.9


@pytest.mark.parametrize("paths", [
    8 * experiment.InterpolationConfig.quick().seeds,
    2 * digits_experiment.DigitsConfig.quick().seeds,
    2 * digits_experiment.DigitsConfig.full().seeds,
])
def test_fraction_checks_reject_the_alternative_fractions_at_their_sizes(paths):
    """The synthetic sweep (8 families x 24 seeds) and the digits main check (MLP + CNN, 24 or 64
    seeds each): a true fraction 0.55 or 0.8, at its expected count, is violated there, while
    all-monotone is consistent."""
    for fraction in families.FRACTION_ALTERNATIVES:
        judged = judge_proportion(round(fraction * paths), paths, families.THRESHOLD)
        assert judged.verdict is Verdict.VIOLATED, fraction
    assert judge_proportion(paths, paths, families.THRESHOLD).verdict is Verdict.CONSISTENT
    assert judge_proportion(12, 20, families.THRESHOLD).verdict is Verdict.VIOLATED


def test_counter_example_check_can_fail():
    """The counter-example's judge says violated when no candidate is non-monotone and for the
    monotone control path (it no longer raises instead)."""
    assert symbolic.search_counter_example((sympy.Rational(1, 2),)) is None
    assert symbolic.judge_counter_example(None).verdict is Verdict.VIOLATED
    monotone_path = symbolic.scalar_path(symbolic.MONOTONE_START)
    assert monotone_path.bump.height == 0
    assert symbolic.judge_counter_example(monotone_path).verdict is Verdict.VIOLATED
    example = symbolic.search_counter_example()
    assert symbolic.judge_counter_example(example).verdict is Verdict.CONSISTENT
    assert symbolic.search_counter_example(()) is None


def test_symbolic_controls_are_false_identities():
    assert symbolic.at_witness(symbolic.quadratic_path(value_power=1).value) != 0
    assert symbolic.at_witness(symbolic.quadratic_path(slope_power=2).slope) != 0
    general = symbolic.general_scalar_path()
    assert sympy.expand(symbolic.quartic_residual(general)) == sympy.zeros(2, 1)
    assert symbolic.at_witness(symbolic.quartic_residual(general, half=1)) != sympy.zeros(2, 1)


def test_numeric_controls_through_the_same_computations():
    with mp.workdps(40):
        floor = mp.mpf(10) ** -30
        control = numeric.scalar_path_statistics(symbolic.MONOTONE_START, 101)
        assert control.margin >= 0 and control.bump == 0
        assert numeric.judge_not_monotone(control.margin, floor).verdict is Verdict.VIOLATED
        example = numeric.counter_example_path(101)
        assert numeric.judge_not_monotone(example.statistics.margin,
                                          floor).verdict is Verdict.CONSISTENT
        assert example.residual < floor < example.grid_residual
        rng = np.random.default_rng(0)
        instance = numeric.random_instance(rng, 2, 3, 0.5)
        ends = numeric.gradient_descent(instance.starts, instance.target, 20, mp.mpf("0.1"))
        third = mp.mpf(1) / 3
        assert numeric.slope_twin_residual(instance.starts, ends, instance.target, third) < 1e-20
        assert numeric.slope_twin_residual(instance.starts, ends, instance.target, third,
                                           terms=1) > 1e-6


def test_symbolic_and_numeric_layers_reject_every_control():
    from optverify.testing import Layer, RunConfig, record_layer

    for verify, layer, config in ((symbolic.verify, Layer.SYMBOLIC, RunConfig(quick=True)),
                                  (numeric.verify, Layer.NUMERIC,
                                   RunConfig(quick=True, precision=30))):
        result = record_layer(verify, layer, config)
        for check in result.checks:
            if check.decisive:
                assert check.controls, check.name
                assert all(c.verdict is Verdict.VIOLATED for c in check.controls), check.name
                assert check.verdict is Verdict.CONSISTENT, check.name


# --- real data: sklearn's digits ------------------------------------------------------------


@pytest.fixture(scope="module")
def digit_images():
    return digits.load_digits(40, "cpu", torch.float64)


def _perturbed(architecture, seeds, seed):
    generator = torch.Generator().manual_seed(seed)
    options = {"device": "cpu", "dtype": torch.float64}
    return tuple(t + 0.1 * torch.randn(t.shape, generator=generator, dtype=torch.float64)
                 for t in digits.init_parameters(architecture, seeds, generator, options))


def test_digits_are_the_sklearn_images_scaled_to_unit_interval():
    data = digits.load_digits(1797, "cpu", torch.float64)
    assert data.inputs.shape == (1797, 64) and data.patches.shape == (1797, 36, 10)
    assert bool((data.patches[..., -1] == 1).all())
    assert float(data.inputs.min()) == 0.0 and float(data.inputs.max()) == 1.0
    assert sorted(set(data.labels.tolist())) == list(range(10))


def test_cnn_logits_match_torch_conv2d(digit_images):
    """Twin: the patch-product convolution and pooling (shared and per-net patches) against
    conv2d and avg_pool2d."""
    architecture = digits.Architecture("cnn", 4)
    parameters = _perturbed(architecture, 3, 0)
    shared = digits.logits(architecture, parameters, digit_images.inputs, digit_images.patches)
    per_net = digits.logits(architecture, parameters, digit_images.inputs.expand(3, -1, -1),
                            digit_images.patches.expand(3, -1, -1, -1))
    torch.testing.assert_close(shared, per_net, rtol=1e-13, atol=1e-13)
    for seed in range(3):
        kernels, biases, output, output_bias = (t[seed] for t in parameters)
        maps = torch.nn.functional.conv2d(digit_images.inputs.reshape(-1, 1, 8, 8),
                                          kernels.reshape(4, 1, 3, 3), biases)
        pooled = torch.nn.functional.avg_pool2d(torch.relu(maps), 2)
        direct = pooled.permute(0, 2, 3, 1).flatten(1) @ output.T + output_bias
        torch.testing.assert_close(shared[seed], direct, rtol=1e-13, atol=1e-13)


def test_mlp_cross_entropy_matches_torch_modules(digit_images):
    """Twin: the stacked MLP (with and without batch norm) against nn.functional layers and
    cross_entropy, seed by seed."""
    for batch_norm in (False, True):
        architecture = digits.Architecture("mlp", 5, batch_norm=batch_norm)
        parameters = _perturbed(architecture, 2, 1)
        losses = digits.cross_entropy(architecture, parameters, digit_images.inputs,
                                      digit_images.patches, digit_images.labels)
        for seed in range(2):
            weight, bias, output, output_bias = (t[seed] for t in parameters[:4])
            pre = torch.nn.functional.linear(digit_images.inputs, weight,
                                             None if batch_norm else bias)
            if batch_norm:
                gamma, beta = (t[seed] for t in parameters[4:])
                pre = torch.nn.functional.batch_norm(pre, None, None, gamma, beta, training=True,
                                                     eps=digits.BATCH_NORM_EPSILON)
            direct = torch.nn.functional.cross_entropy(
                torch.nn.functional.linear(torch.relu(pre), output, output_bias),
                digit_images.labels)
            assert float(losses[seed]) == pytest.approx(float(direct), rel=1e-12)


def test_digits_path_loss_matches_pointwise_evaluation(digit_images):
    architecture = digits.Architecture("cnn", 3)
    nets = digits.TrainedNets(architecture, _perturbed(architecture, 2, 2),
                              _perturbed(architecture, 2, 3))
    losses = digits.path_loss(nets, digit_images, ALPHAS)
    for k, alpha in enumerate(ALPHAS):
        point = tuple((1 - alpha) * a + alpha * b for a, b in zip(nets.start, nets.end))
        direct = digits.cross_entropy(architecture, point, digit_images.inputs,
                                      digit_images.patches, digit_images.labels)
        torch.testing.assert_close(losses[:, k], direct, rtol=1e-12, atol=0)


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(["mlp", "cnn"]), st.integers(1, 4), st.integers(0, 2**16))
def test_summed_loss_gives_each_seed_its_own_gradient(kind, seeds, seed):
    """Property: batching seeds as stacked weights leaves them independent (a change to one
    seed's weights changes no other seed's gradient), which is what lets SGD and Adam train them
    together."""
    data = digits.load_digits(12, "cpu", torch.float64)
    architecture = digits.Architecture(kind, 3)
    base = _perturbed(architecture, seeds + 1, seed)

    def gradients(parameters):
        leaves = [t.clone().requires_grad_(True) for t in parameters]
        digits.cross_entropy(architecture, tuple(leaves), data.inputs, data.patches,
                             data.labels).sum().backward()
        return [leaf.grad[:seeds] for leaf in leaves]

    changed = tuple(torch.cat([t[:seeds], t[seeds:] + 1.0]) for t in base)
    for before, after in zip(gradients(base), gradients(changed)):
        torch.testing.assert_close(before, after, rtol=0, atol=0)


def test_sgd_training_lowers_the_digits_loss_and_travels(digit_images):
    architecture = digits.Architecture("mlp", 8)
    training = digits.Training("sgd", 0.2, 150, 8)
    nets = digits.train(architecture, training, digit_images, 3, torch.Generator().manual_seed(4))
    losses = digits.path_loss(nets, digit_images, ALPHAS)
    assert bool((losses[:, -1] < 0.5 * losses[:, 0]).all())
    assert bool((nets.distance_travelled() > 0).all())
    assert bool((digits.accuracy(nets, digit_images) > 0.8).all())
    again = digits.train(architecture, training, digit_images, 3, torch.Generator().manual_seed(4))
    for a, b in zip(nets.end, again.end):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_paths_between_two_solutions_pair_each_seed_with_the_next(digit_images):
    architecture = digits.Architecture("mlp", 4)
    nets = digits.TrainedNets(architecture, _perturbed(architecture, 3, 5),
                              _perturbed(architecture, 3, 6))
    pairs = digits.between_solutions(nets)
    for start, end, solution in zip(pairs.start, pairs.end, nets.end):
        torch.testing.assert_close(start, solution, rtol=0, atol=0)
        torch.testing.assert_close(end[1], solution[0], rtol=0, atol=0)
        torch.testing.assert_close(end[0], solution[2], rtol=0, atol=0)


def test_digits_bad_input_raises():
    with pytest.raises(ValueError, match="samples must be at least 1"):
        digits.load_digits(0, "cpu", torch.float64)
    with pytest.raises(ValueError, match="samples must be at most 1797"):
        digits.load_digits(1798, "cpu", torch.float64)
    with pytest.raises(ValueError, match="the architecture must be one of mlp, cnn"):
        digits.Architecture("rnn", 4)
    with pytest.raises(ValueError, match="MLP only"):
        digits.Architecture("cnn", 4, batch_norm=True)
    with pytest.raises(ValueError, match="width"):
        digits.Architecture("mlp", 0)
    with pytest.raises(ValueError, match="the optimizer must be one of sgd, adam"):
        digits.Training("rmsprop", 0.1, 10, 8)
    with pytest.raises(ValueError, match="positive"):
        digits.Training("sgd", 0.0, 10, 8)
