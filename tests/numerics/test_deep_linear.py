"""Deep linear helpers: Procedure 1 balancedness, autograd twin of the layer gradients, mp twins."""

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given
from mpmath import mp

from optverify.numerics.deep_linear import (
    balanced_factors,
    balanced_factors_mp,
    balancedness_gaps,
    balancedness_gaps_mp,
    balancedness_gaps_symbolic,
    end_to_end,
    end_to_end_mp,
    end_to_end_symbolic,
    gradient_descent_step,
    layer_gradients,
    layer_gradients_mp,
    layer_gradients_symbolic,
)
from optverify.numerics.mp_linalg import max_abs, psd_power, to_mp, to_numpy
from tests.strategies import balanced_deep_linear_nets, spd_matrices


@given(balanced_deep_linear_nets())
def test_procedure_one_is_balanced_and_multiplies_to_the_target(net):
    target, hidden = net
    factors = balanced_factors(torch.from_numpy(target), hidden)
    scale = max(1.0, float(np.abs(target).max()))
    assert torch.allclose(end_to_end(factors), torch.from_numpy(target), atol=1e-12 * scale)
    for gap in balancedness_gaps(factors):
        assert gap.abs().max() <= 1e-12 * scale


def test_balanced_factors_share_the_singular_values_to_the_power_one_over_n():
    target = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    factors = balanced_factors(target, [5, 3])
    expected = torch.linalg.svdvals(target) ** (1 / 3)
    for layer in factors:
        assert torch.allclose(torch.linalg.svdvals(layer)[:3], expected)


@pytest.mark.parametrize("hidden", [[1], [2, 3], [4, 4, 4]])
def test_row_targets_closed_form_svd_matches_lapack(hidden):
    """d_N = 1 takes the closed-form SVD u = 1, s = ||a||, v = a/||a||: the factors are LAPACK's
    up to the sign of the singular vectors and rounding, balanced, with product a."""
    rows = torch.randn(6, 1, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    factors = balanced_factors(rows, hidden)
    assert torch.allclose(end_to_end(factors), rows, atol=1e-14)
    for gap in balancedness_gaps(factors):
        assert gap.abs().max() <= 1e-14
    u, s, vh = torch.linalg.svd(rows, full_matrices=False)
    depth = len(hidden) + 1
    first = torch.diag_embed(s ** (1 / depth)) @ vh
    assert torch.allclose(factors[0][..., :1, :].abs(), first.abs(), atol=1e-14)
    zero = balanced_factors(torch.zeros(1, 3, dtype=torch.float64), hidden)
    assert all(bool(torch.isfinite(layer).all()) for layer in zero)
    assert torch.equal(end_to_end(zero), torch.zeros(1, 3, dtype=torch.float64))


def test_batched_factors_match_one_by_one():
    targets = torch.randn(4, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    batched = balanced_factors(targets, [3, 4])
    for i in range(4):
        single = balanced_factors(targets[i], [3, 4])
        assert all(torch.allclose(b[i], s) for b, s in zip(batched, single))


def test_layer_gradients_match_autograd():
    generator = torch.Generator().manual_seed(2)
    factors = [torch.randn(shape, dtype=torch.float64, generator=generator, requires_grad=True)
               for shape in [(4, 3), (5, 4), (2, 5)]]
    target = torch.randn(2, 3, dtype=torch.float64, generator=generator)
    loss = 0.5 * ((end_to_end(factors) - target) ** 2).sum()
    loss.backward()
    with torch.no_grad():
        ours = layer_gradients([f.detach() for f in factors], end_to_end(factors) - target)
    for factor, gradient in zip(factors, ours):
        assert torch.allclose(factor.grad, gradient, atol=1e-12)


def test_gradient_descent_step_with_weight_decay():
    generator = torch.Generator().manual_seed(3)
    factors = [torch.randn(2, 2, dtype=torch.float64, generator=generator) for _ in range(3)]
    step = gradient_descent_step(factors, lambda w: torch.zeros_like(w), eta=0.1, weight_decay=0.5)
    assert all(torch.allclose(new, 0.95 * old) for new, old in zip(step, factors))


def test_mp_twins_agree_with_torch():
    rng = np.random.default_rng(4)
    target, grad = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    factors = balanced_factors(torch.from_numpy(target), [3, 2])
    with mp.workdps(40):
        mp_factors = balanced_factors_mp(to_mp(target), [3, 2])
        assert max_abs(end_to_end_mp(mp_factors) - to_mp(target)) < mp.mpf(10) ** -35
        assert max(max_abs(g) for g in balancedness_gaps_mp(mp_factors)) < mp.mpf(10) ** -35
        mp_gradients = layer_gradients_mp(mp_factors, to_mp(grad))
    # singular vectors are unique only up to sign: compare sign-invariant quantities
    torch_gradients = layer_gradients(factors, torch.from_numpy(grad))
    for ours, theirs in zip(torch_gradients, mp_gradients):
        assert np.allclose(np.linalg.svd(ours.numpy(), compute_uv=False),
                           np.linalg.svd(to_numpy(theirs), compute_uv=False))


def test_narrow_hidden_layer_is_refused():
    with pytest.raises(ValueError, match="at least min"):
        balanced_factors(torch.zeros(3, 3, dtype=torch.float64), [2])
    with pytest.raises(ValueError, match="depth N >= 2"):
        balanced_factors(torch.zeros(3, 3, dtype=torch.float64), [])


@given(spd_matrices())
def test_psd_power_matches_scipy(matrix):
    from scipy.linalg import fractional_matrix_power

    with mp.workdps(30):
        ours = to_numpy(psd_power(to_mp(matrix), mp.mpf(1) / 3))
    assert np.allclose(ours, np.real(fractional_matrix_power(matrix, 1 / 3)), atol=1e-9)


def test_psd_power_of_a_singular_matrix_uses_zero_to_the_zero_is_one():
    with mp.workdps(30):
        projector = to_mp([[1, 0], [0, 0]])
        assert max_abs(psd_power(projector, 0) - mp.eye(2)) == 0
        assert max_abs(psd_power(projector, mp.mpf("0.5")) - projector) < mp.mpf(10) ** -25


def test_negative_step_or_decay_is_refused():
    factors = [torch.eye(2, dtype=torch.float64)] * 2
    with pytest.raises(ValueError, match="must be non-negative"):
        gradient_descent_step(factors, torch.zeros_like, eta=-0.1)
    with pytest.raises(ValueError, match="must be non-negative"):
        gradient_descent_step(factors, torch.zeros_like, eta=0.1, weight_decay=float("nan"))


def test_batched_step_sizes_are_accepted_and_checked():
    factors = [torch.ones(3, 2, 2, dtype=torch.float64)] * 2
    etas = torch.tensor([0.0, 0.1, 0.2], dtype=torch.float64).view(3, 1, 1)
    step = gradient_descent_step(factors, torch.zeros_like, eta=etas, weight_decay=1.0)
    assert torch.allclose(step[0][:, 0, 0], 1 - etas.view(3))
    with pytest.raises(ValueError, match="eta must be non-negative"):
        gradient_descent_step(factors, torch.zeros_like, eta=-etas)


def test_symbolic_twins_agree_with_mpmath_at_rational_factors():
    rng = np.random.default_rng(3)
    shapes = [(3, 2), (4, 3), (2, 4)]
    entries = [rng.integers(-5, 6, shape) for shape in shapes]
    factors = [sympy.Matrix(values.tolist()) / 3 for values in entries]
    gradient = sympy.Matrix(rng.integers(-5, 6, (2, 2)).tolist()) / 7
    factors_mp = [to_mp(values / 3) for values in entries]
    gradient_mp = to_mp(np.array(gradient.tolist(), dtype=float))
    with mp.workdps(40):
        assert max_abs(to_mp(np.array(end_to_end_symbolic(factors).tolist(), dtype=float))
                       - end_to_end_mp(factors_mp)) < 1e-14
        pairs = [*zip(layer_gradients_symbolic(factors, gradient),
                      layer_gradients_mp(factors_mp, gradient_mp)),
                 *zip(balancedness_gaps_symbolic(factors), balancedness_gaps_mp(factors_mp))]
        for exact, twin in pairs:
            assert max_abs(to_mp(np.array(exact.tolist(), dtype=float)) - twin) < 1e-14
    assert end_to_end_symbolic([], 3) == sympy.eye(3)
    with pytest.raises(ValueError, match="needs a size"):
        end_to_end_symbolic([])
