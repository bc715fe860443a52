"""Tests for the orthogonal-gradient-variance claim (Theorem 1 / Theorem 2 example of
Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950) and the Walsh-Hadamard transform."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given
from hypothesis import strategies as st
from mpmath import mp

from optverify.kit import Layer, RunConfig, Session, Verdict, machine_epsilon, run_layer
from optverify.numerics.threads import intra_op_threads
from optverify.theorems.orthogonal_gradient_variance import (
    CLAIM,
    experiment,
    numeric,
    statement,
)
from optverify.theorems.orthogonal_gradient_variance.landscape import (
    cosine_gradient,
    cosine_objective,
    cosine_objective_mp,
    monte_carlo_objective,
)
from optverify.theorems.orthogonal_gradient_variance.model import (
    gradient_variance,
    linear_model,
    loss_slope,
    per_target_gradients_naive,
    relu_network,
    split_weights,
    variance_of,
)
from optverify.theorems.orthogonal_gradient_variance.walsh_hadamard import (
    hypercube_points,
    naive_parity_correlations,
    parity_characters,
    parity_correlations,
    parity_correlations_mp,
    walsh_hadamard,
)
from tests.strategies import parity_problems

FLOAT64_ROUNDING = 64 * machine_epsilon("float64")
"""Relative tolerance of float64 sums of at most a few thousand terms of one sign pattern."""
MP_DIGITS = 40
MP_TOLERANCE = 10.0 ** -(MP_DIGITS - 10)


@pytest.fixture(autouse=True)
def single_thread():
    """Run these tests single-threaded, as the experiment layer does on a CPU (see
    `optverify.numerics.threads.intra_op_threads`: threaded kernels on a busy 2-core machine are many times
    slower)."""
    with intra_op_threads(1):
        yield


def build_model(d, width, scale, seed):
    generator = torch.Generator().manual_seed(seed)
    if width == 0:
        return linear_model(d, scale, generator)
    return relu_network(d, width, scale, generator)


# --- the Walsh-Hadamard transform -----------------------------------------------------------


@given(d=st.integers(1, 8), rows=st.integers(1, 5), seed=st.integers(0, 2**32 - 1),
       chunk=st.integers(1, 600))
def test_fast_transform_equals_naive_per_target_loop(d, rows, seed, chunk):
    values = torch.randn(rows, 2**d, generator=torch.Generator().manual_seed(seed),
                         dtype=torch.float64)
    fast = parity_correlations(values, chunk_elements=chunk)
    naive = naive_parity_correlations(values)
    scale = values.abs().max()
    assert torch.allclose(fast, naive, rtol=0, atol=float(FLOAT64_ROUNDING * d * scale))


def test_transform_is_the_sylvester_hadamard_matrix_and_involutive():
    values = torch.randn(3, 4, 2**5, dtype=torch.float64)
    expected = values @ parity_characters(5).T
    assert torch.allclose(walsh_hadamard(values), expected, atol=1e-12)
    assert torch.allclose(walsh_hadamard(walsh_hadamard(values)) / 2**5, values, atol=1e-12)


def test_characters_are_orthogonal_and_match_the_point_convention():
    d = 4
    characters = parity_characters(d)
    assert torch.equal(characters @ characters.T, 2**d * torch.eye(2**d, dtype=torch.float64))
    points = hypercube_points(d)
    assert torch.equal(points[0], torch.ones(d, dtype=torch.float64))
    for s in (1, 6, 15):
        members = [i for i in range(d) if s >> i & 1]
        assert torch.equal(characters[s], points[:, members].prod(dim=1))


def test_mp_butterfly_equals_torch_transform():
    values = torch.randn(2**6, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    with mp.workdps(MP_DIGITS):
        exact = parity_correlations_mp(values.tolist())
    fast = parity_correlations(values)
    assert max(abs(float(a) - float(b)) for a, b in zip(exact, fast)) < 1e-15


def test_transform_rejects_bad_input():
    with pytest.raises(ValueError, match="2\\^d"):
        walsh_hadamard(torch.ones(3, 6, dtype=torch.float64))
    with pytest.raises(ValueError, match="floating"):
        walsh_hadamard(torch.ones(4, dtype=torch.int64))
    with pytest.raises(ValueError, match="chunk_elements"):
        walsh_hadamard(torch.ones(4, dtype=torch.float64), chunk_elements=0)
    with pytest.raises(ValueError, match="at least 1"):
        hypercube_points(0)


# --- the model, its gradients and the variance ----------------------------------------------


@pytest.mark.parametrize("width", [0, 7])
def test_per_example_gradients_match_autograd(width):
    d = 4
    model = build_model(d, width, 1.0, 11)
    points = hypercube_points(d)
    rows = torch.cat(list(model.gradient_blocks(points, 5)))
    if width == 0:
        params = (model.weight, model.offset)

        def predict(weight, offset):
            return points @ weight + offset
    else:
        params = (model.hidden, model.bias, model.output, model.offset)

        def predict(hidden, bias, output, offset):
            return torch.relu(points @ hidden.T + bias) @ output + offset

    jacobian = torch.autograd.functional.jacobian(predict, params)
    per_neuron = [] if width == 0 else [
        torch.cat([jacobian[2][:, k:k + 1], jacobian[0][:, k, :], jacobian[1][:, k:k + 1]], dim=1)
        for k in range(width)]
    if width == 0:
        expected = torch.cat([jacobian[0], jacobian[1].reshape(-1, 1)], dim=1).T
    else:
        expected = torch.cat([*per_neuron, jacobian[3].reshape(-1, 1)], dim=1).T
    assert torch.allclose(rows, expected, atol=1e-14)


@pytest.mark.parametrize("loss", ["square", "hinge"])
def test_loss_split_matches_loss_slope_for_both_labels(loss):
    predictions = torch.linspace(-3, 3, 61, dtype=torch.float64)
    split = split_weights(loss, predictions)
    for label in (1.0, -1.0):
        labels = torch.full_like(predictions, label)
        assert torch.equal(split.common + label * split.target,
                           loss_slope(loss, predictions, labels))
    assert bool((split.target.abs() <= 1).all())


@given(parity_problems())
def test_variance_below_bound_and_transform_equals_per_target_loop(problem):
    """Theorem 1 as a property: Var <= G^2 / |H| over all 2^d parities (exact enumeration), and the
    fast transform's Var equals the per-target definition."""
    d, width, scale, seed, loss = problem
    model = build_model(d, width, scale, seed)
    fast = gradient_variance(model, loss, d, rows_per_block=5)
    naive = variance_of(per_target_gradients_naive(model, loss, d))
    tolerance = FLOAT64_ROUNDING * d * fast.bound
    assert abs(fast.variance - naive) <= tolerance
    assert fast.variance <= fast.bound + tolerance
    assert abs(fast.variance - fast.parseval_variance) <= tolerance


@given(parity_problems(max_d=3, max_width=4))
def test_variance_below_bound_exactly_in_mpmath(problem):
    d, width, scale, seed, loss = problem
    model = build_model(d, width, scale, seed)
    with mp.workdps(MP_DIGITS):
        exact = numeric.exact_variance(model, loss, d)
        definition = numeric.definition_variance(model, loss, d)
        assert exact.variance <= exact.bound
        assert abs(definition - exact.variance) <= MP_TOLERANCE * exact.bound
    torch_value = gradient_variance(model, loss, d).variance
    assert abs(float(exact.variance) - torch_value) <= FLOAT64_ROUNDING * d * float(exact.bound)


def test_linear_model_square_loss_variance_closed_form():
    """p = w.x + c, g = (x, 1): only the d + 1 parities of degree <= 1 correlate with g, so
    Var = (d + 1)/2^d - (d + 1)/4^d exactly (ratio 1 - 2^-d), independent of the weights."""
    for d in (2, 5, 9):
        result = gradient_variance(build_model(d, 0, 1.0, d), "square", d)
        expected = (d + 1) / 2**d - (d + 1) / 4**d
        assert result.variance == pytest.approx(expected, rel=FLOAT64_ROUNDING * d)
        assert result.ratio == pytest.approx(1 - 2.0**-d, rel=FLOAT64_ROUNDING * d)


def test_float32_centred_variance_tracks_float64():
    d = 10
    model = build_model(d, 6, 1.0, 5)
    double = gradient_variance(model, "square", d, dtype=torch.float64)
    single = gradient_variance(model, "square", d, dtype=torch.float32)
    floor = 16 * machine_epsilon("float32") * single.second_moment
    assert abs(single.one_pass_variance - double.variance) <= floor
    assert abs(single.variance - double.variance) <= floor


def test_model_constructors_reject_bad_parameters():
    generator = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="d >= 1"):
        relu_network(0, 3, 1.0, generator)
    with pytest.raises(ValueError, match="width >= 1"):
        relu_network(3, 0, 1.0, generator)
    for scale in (-1.0, 0.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="scale"):
            relu_network(3, 3, scale, generator)
        with pytest.raises(ValueError, match="scale"):
            linear_model(3, scale, generator)
    with pytest.raises(ValueError, match="loss"):
        gradient_variance(relu_network(3, 3, 1.0, generator), "logistic", 3)
    with pytest.raises(ValueError, match="dimension 3"):
        gradient_variance(relu_network(3, 3, 1.0, generator), "square", 4)
    with pytest.raises(ValueError, match="dimension 3"):
        per_target_gradients_naive(linear_model(3, 1.0, generator), "hinge", 2)


@pytest.mark.parametrize("options", [{"iterations": 0}, {"learning_rate": -0.01},
                                     {"learning_rate": math.nan}, {"batch_size": 0},
                                     {"dimensions": (0,)}])
def test_learning_config_rejects_bad_parameters(options):
    settings = {"dimensions": (3,), "iterations": 10, "evaluate_every": 5} | options
    with pytest.raises(ValueError):
        experiment.LearningConfig(**settings)


# --- sympy vs mpmath vs torch ----------------------------------------------------------------


def test_sympy_gram_matrix_equals_torch_characters():
    d = 3
    gram = statement.parity_gram_matrix(d)
    characters = parity_characters(d)
    assert np.array_equal(np.array(gram.tolist(), dtype=float),
                          (characters @ characters.T / 2**d).numpy())


def test_sympy_variance_identity_evaluates_to_the_torch_value():
    """The sympy identity Var = G^2/2^d - ||g(1..1)||^2/4^d, evaluated at a network's g(x),
    equals the torch Var of the same network (square loss)."""
    d = 2
    model = build_model(d, 3, 1.0, 4)
    rows = torch.cat(list(model.gradient_blocks(hypercube_points(d), 10)))
    g_squared = float((rows**2).sum() / 2**d)
    corner = float((rows[:, 0] ** 2).sum())
    closed = sympy.Rational(1, 2**d) * sympy.Float(g_squared) - sympy.Float(corner) / 4**d
    assert float(closed) == pytest.approx(gradient_variance(model, "square", d).variance,
                                          rel=FLOAT64_ROUNDING)
    assert sympy.expand(statement.square_loss_variance_gap(d, 1)) == 0


def test_bessel_is_strict_for_a_partial_family_and_parseval_for_the_complete_one():
    """||g||^2 - sum_{h in H'} <h, g>^2 is a non-zero sum of squares for H' a proper subfamily
    and identically zero for all parities; the Bessel gap identity holds in both cases."""
    points = statement.hypercube(2)
    g = sympy.symbols("g0:4", real=True)

    def deficit(family):
        coefficients = [sum(statement.parity(s, x) * gb for x, gb in zip(points, g)) / 4
                        for s in family]
        return sympy.expand(sum(gb**2 for gb in g) / 4 - sum(c**2 for c in coefficients))

    assert deficit([0, 1, 2, 3]) == 0
    partial = deficit([0, 3])
    assert partial != 0
    assert partial.subs({g[0]: 1, g[1]: 2, g[2]: -1, g[3]: 0}) > 0
    assert sympy.expand(statement.bessel_gap(2, [0, 3])) == 0


def test_partial_family_proof_identity_needs_orthonormality():
    """The proof identity holds for distinct parities and fails for a repeated one (not an
    orthonormal family), so the symbolic check can fail."""
    assert sympy.expand(statement.partial_family_bound_gap(3, [0, 1, 6], 1)) == 0
    assert sympy.expand(statement.partial_family_bound_gap(2, [1, 1], 1)) != 0


def test_cosine_closed_form_twins():
    w = torch.tensor([[0.3, -1.2], [2.5, 1.0], [-1.0, 2.0]], dtype=torch.float64,
                     requires_grad=True)
    v = torch.tensor([2.0, 2.0], dtype=torch.float64)
    objective = cosine_objective(w, v)
    autograd = torch.autograd.grad(objective.sum(), w)[0]
    assert torch.allclose(autograd, cosine_gradient(w.detach(), v), atol=1e-15)
    with mp.workdps(MP_DIGITS):
        for row, value in zip(w.detach().tolist(), objective.tolist()):
            assert abs(float(cosine_objective_mp(row, v.tolist())) - value) < FLOAT64_ROUNDING
    samples = torch.randn(2**18, 2, generator=torch.Generator().manual_seed(1),
                          dtype=torch.float64)
    for row, value in zip(w.detach(), objective.detach()):
        estimate = monte_carlo_objective(row, v, samples)
        assert abs(float(estimate.mean - value)) <= 4 * float(estimate.standard_error)


# --- the layers ------------------------------------------------------------------------------


def test_symbolic_layer_quick_is_consistent():
    result = run_layer(statement.verify, Layer.SYMBOLIC, RunConfig(quick=True))
    assert all(check.verdict is Verdict.CONSISTENT for check in result.checks)


def test_numeric_layer_quick_is_consistent_and_tabulates_every_instance():
    result = run_layer(numeric.verify, Layer.NUMERIC, RunConfig(quick=True, precision=30))
    assert all(check.verdict is Verdict.CONSISTENT for check in result.checks)
    table = result.tables[0]
    assert len(table.rows) == 3 * 4 * 2  # d in 2..4, four networks, two losses
    assert all(float(row[5]) <= 1 for row in table.rows)


def test_learning_curve_is_reproducible_and_learns_a_small_parity():
    settings = experiment.LearningConfig((3,), iterations=400, evaluate_every=100, test_size=256)
    session = Session(RunConfig(seed=2), Layer.EXPERIMENT)
    first = experiment.learning_curve(3, settings, session)
    assert first == experiment.learning_curve(3, settings, session)
    assert first.iterations == [0, 100, 200, 300, 400]
    assert 1 <= first.subset_size <= 3
    assert all(0 <= a <= 1 for a in first.accuracies)


@pytest.mark.slow
def test_experiment_layer_full_sweep_runs():
    result = run_layer(experiment.verify, Layer.EXPERIMENT, RunConfig(quick=False),
                       claim_bound=CLAIM.bound)
    names = {check.name: check for check in result.checks}
    assert names["variance-below-bound"].verdict is Verdict.CONSISTENT
    assert names["transform-matches-parseval"].verdict is Verdict.CONSISTENT
