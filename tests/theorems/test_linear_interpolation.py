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
from optverify.numerics.precision import BELOW_PRECISION
from optverify.theorems.linear_interpolation import experiment, numeric, statement
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
    example = statement.find_counter_example()
    loss, bump = example.loss, example.bump.height
    alphas = torch.linspace(0, 1, 1201, dtype=torch.float64)
    starts = [torch.tensor([[[float(v)]]], dtype=torch.float64) for v in example.start]
    ends = [torch.tensor([[[1.0]]], dtype=torch.float64) for _ in example.start]
    losses = deep_linear_path_loss(starts, ends, torch.ones(1, 1, dtype=torch.float64), alphas)
    exact = sympy.lambdify(statement.ALPHA, loss)(alphas.numpy())
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
    with pytest.raises(ValueError, match="depth >= 2"):
        deep_linear_path_loss([start], [start], start[0], ALPHAS)


def test_family_summary_counts_rising_paths_and_resolves_bumps():
    rising = torch.tensor([[1.0, 0.5, 0.75, 0.25]], dtype=torch.float64)
    falling = torch.tensor([[1.0, 0.5, 0.25, 0.125]], dtype=torch.float64)
    summary = experiment.summarize(
        experiment.FamilyPaths("toy", "toy", torch.cat([rising, falling, falling])), "float64")
    assert (summary.paths, summary.monotone) == (3, 2)
    assert summary.largest_relative_bump == "0.25"
    flat = experiment.summarize(experiment.FamilyPaths("flat", "flat", falling), "float64")
    assert flat.largest_relative_bump == BELOW_PRECISION


def test_clopper_pearson_interval_decides_usually():
    interval = experiment.clopper_pearson(12, 20)
    assert interval.low < 0.5 < interval.high
    assert experiment.clopper_pearson(20, 20).low == pytest.approx(0.025 ** (1 / 20))


# --- negative controls (optverify issue 9) --------------------------------------------------


def test_threshold_is_the_claimed_bound_and_fixed():
    assert statement.MAIN_BOUND.rhs == statement.MONOTONE_THRESHOLD == sympy.Rational(9, 10)
    assert experiment.THRESHOLD == 0.9


def test_main_check_rejects_the_alternative_fractions_at_the_quick_sweeps_size():
    """The quick sweep has 8 families x 24 seeds = 192 paths: a true fraction 0.55 or 0.8 is
    violated there, while all-monotone and a fraction just under the threshold are not."""
    paths = 8 * experiment.InterpolationConfig.quick().seeds
    controls = experiment.fraction_controls(paths)
    assert controls == {"a true fraction 0.55": (106, 192), "a true fraction 0.8": (154, 192)}
    for observed in controls.values():
        assert experiment.judge_fraction(observed).verdict is Verdict.VIOLATED
    assert experiment.judge_fraction((192, 192)).verdict is Verdict.CONSISTENT
    assert experiment.judge_fraction((168, 192)).verdict is Verdict.CONSISTENT  # 0.875
    assert experiment.judge_fraction((12, 20)).verdict is Verdict.VIOLATED


def test_counter_example_check_can_fail():
    """The counter-example's judge says violated when no candidate is non-monotone and for the
    monotone control path (it no longer raises instead)."""
    assert statement.search_counter_example((sympy.Rational(1, 2),)) is None
    assert statement.judge_counter_example(None).verdict is Verdict.VIOLATED
    monotone_path = statement.scalar_path(statement.MONOTONE_START)
    assert monotone_path.bump.height == 0
    assert statement.judge_counter_example(monotone_path).verdict is Verdict.VIOLATED
    example = statement.search_counter_example()
    assert statement.judge_counter_example(example).verdict is Verdict.CONSISTENT
    assert statement.search_counter_example(()) is None


def test_symbolic_controls_are_false_identities():
    assert statement.at_witness(statement.quadratic_path(value_power=1).value) != 0
    assert statement.at_witness(statement.quadratic_path(slope_power=2).slope) != 0
    general = statement.general_scalar_path()
    assert sympy.expand(statement.quartic_residual(general)) == sympy.zeros(2, 1)
    assert statement.at_witness(statement.quartic_residual(general, half=1)) != sympy.zeros(2, 1)


def test_numeric_controls_through_the_same_computations():
    with mp.workdps(40):
        floor = mp.mpf(10) ** -30
        control = numeric.scalar_path_statistics(statement.MONOTONE_START, 101)
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
    from optverify.kit import Layer, RunConfig, run_layer

    for verify, layer, config in ((statement.verify, Layer.SYMBOLIC, RunConfig(quick=True)),
                                  (numeric.verify, Layer.NUMERIC,
                                   RunConfig(quick=True, precision=30))):
        result = run_layer(verify, layer, config)
        for check in result.checks:
            if check.decisive:
                assert check.controls, check.name
                assert all(c.verdict is Verdict.VIOLATED for c in check.controls), check.name
                assert check.verdict is Verdict.CONSISTENT, check.name
