"""Tests for pwl-conditioning (arXiv:1703.07950, Section 4) and its structured.py."""

import warnings

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given
from hypothesis import strategies as st
from mpmath import mp

from optverify.kit import Session
from optverify.testing import Layer, RunConfig, record_layer
from optverify.theorems.pwl_conditioning import (
    CLAIM,
    expected_iterations,
    experiment,
    numeric,
    preconditioned,
    sgd_twins,
    symbolic,
)
from optverify.theorems.pwl_conditioning.moments import (
    conv_second_moment_enumerated,
    conv_second_moment_symbolic,
    n_symbol,
)
from optverify.theorems.pwl_conditioning.sampling import (
    sample_breakpoints_torch,
    sample_curves_numpy,
)
from optverify.theorems.pwl_conditioning.structured import (
    ramp_matrix,
    ramp_matvec,
    ramp_rmatvec,
    ramp_spectrum,
    ramp_spectrum_dense,
    ramp_spectrum_dense_mp,
    ramp_spectrum_mp,
    second_difference_matrix,
)

EPS = np.finfo(float).eps


@given(st.integers(3, 200), st.integers(0, 2**32 - 1))
def test_curves_are_ramp_products_and_the_banded_inverse_recovers_p(n, seed):
    """f = W p exactly (integer slopes keep float64 exact) and W^{-1} f = B f recovers p."""
    rng = np.random.default_rng(seed)
    p = np.zeros(n)
    p[rng.choice(n, size=3, replace=False)] = rng.integers(-5, 6, size=3)
    f = ramp_matvec(p)
    assert np.array_equal(f, ramp_matrix(n) @ p)
    assert np.array_equal(second_difference_matrix(n) @ f, p)


@given(st.integers(3, 60), st.integers(0, 2**32 - 1))
def test_sampled_curves_satisfy_lemma1(n, seed):
    curves = sample_curves_numpy(n, 4, np.random.default_rng(seed))
    p, f = curves.p, curves.f
    assert np.all((p != 0).sum(axis=1) == 3)
    recovered = (second_difference_matrix(n) @ f.T).T
    assert np.max(np.abs(recovered - p)) <= 64 * n**2 * EPS  # f entries reach ~n, B sums 4 of them


@pytest.mark.parametrize("n", [2, 5, 17, 64])
def test_structured_products_match_dense(n):
    x = np.random.default_rng(n).standard_normal(n)
    w = ramp_matrix(n)
    scale = np.abs(w).sum() * np.abs(x).max()
    assert np.allclose(ramp_matvec(x), w @ x, rtol=0, atol=8 * n * EPS * scale)
    assert np.allclose(ramp_rmatvec(x), w.T @ x, rtol=0, atol=8 * n * EPS * scale)


@pytest.mark.parametrize("n", [4, 9, 33, 100, 257])
def test_structured_spectrum_matches_dense_svd(n):
    fast, dense = ramp_spectrum(n), ramp_spectrum_dense(n)
    assert fast.sigma_max == pytest.approx(dense.sigma_max, rel=64 * n * EPS)
    assert fast.sigma_min == pytest.approx(dense.sigma_min, rel=64 * n * EPS)


@pytest.mark.parametrize("n", [2, 3, 5, 9])
def test_mpmath_structured_spectrum_matches_dense_mpmath_svd(n):
    with mp.workdps(40):
        fast, dense = ramp_spectrum_mp(n), ramp_spectrum_dense_mp(n)
        assert abs(fast.sigma_max / dense.sigma_max - 1) < mp.mpf(10) ** -30
        assert abs(fast.sigma_min / dense.sigma_min - 1) < mp.mpf(10) ** -30


def test_limits_of_the_extreme_singular_values():
    spectrum = ramp_spectrum(4000)
    beta = 1.8751040687119611
    assert spectrum.sigma_min == pytest.approx(0.25, rel=1e-6)
    assert spectrum.sigma_max / 4000**2 == pytest.approx(1 / beta**2, rel=1e-3)


@pytest.mark.parametrize("n", [4, 5, 6])
def test_sympy_second_moment_matches_enumeration(n):
    closed = conv_second_moment_symbolic().subs(n_symbol, n)
    assert closed == sympy.Matrix(conv_second_moment_enumerated(n))


@pytest.mark.parametrize("n", [5, 12, 40])
def test_second_moment_matches_monte_carlo(n):
    """The exact C against a sampled estimate (tolerance: 6 standard errors of the mean)."""
    f = sample_curves_numpy(n, 20000, np.random.default_rng(n)).f
    padded = np.concatenate([np.zeros((20000, 2)), f], axis=1)
    windows = np.stack([padded[:, :n], padded[:, 1:n + 1], padded[:, 2:]], axis=-1)
    per_curve = np.einsum("mta,mtb->mab", windows, windows) / n
    exact = np.array(conv_second_moment_symbolic().subs(n_symbol, n).evalf(), dtype=float)
    error = np.abs(per_curve.mean(0) - exact)
    assert np.all(error <= 6 * per_curve.std(0) / np.sqrt(20000))


def test_lemma2_closed_form_matches_recursion_symbolically():
    step = sympy.Symbol("s")
    w = symbolic.ones_lower(3) ** 2
    gap = symbolic.lemma2_closed_form(w, step, 3) - symbolic.lemma2_recursion(w, step, 3)
    assert sympy.expand(gap) == sympy.zeros(3, 3)


def test_extrapolation_recovers_a_polynomial_limit_exactly():
    sizes = (10, 20, 40, 80)
    with mp.workdps(30):
        values = [mp.mpf(2) + 3 / mp.mpf(n) - 5 / mp.mpf(n) ** 2 for n in sizes]
        extrapolation = numeric.extrapolate_to_infinity(sizes, values, 3)
        assert abs(extrapolation.limit - 2) < mp.mpf(10) ** -25


def test_theorem3_first_time_is_the_exact_recursion():
    """first_time_below against iterating E[U_t] with the matrices themselves."""
    n, factor = 5, 0.5
    w = ramp_matrix(n)
    singular_values = np.linalg.svd(w, compute_uv=False)
    step = factor / singular_values[0] ** 2
    predicted = numeric.first_time_below(singular_values, factor, 0.5)
    u, inverse = np.zeros((n, n)), np.linalg.inv(w)
    t = 0
    while np.linalg.norm(u - inverse, 2) >= 0.5:
        u = u - step * (u @ w - np.eye(n)) @ w.T
        t += 1
    assert t == predicted


@pytest.mark.parametrize("bad", [1, 0, -3, 2.5])
def test_bad_sizes_raise(bad):
    with pytest.raises(ValueError):
        ramp_spectrum(bad)
    with pytest.raises(ValueError):
        ramp_matrix(bad)


def test_bad_breakpoint_counts_raise():
    with pytest.raises(ValueError):
        sample_curves_numpy(2, 5, np.random.default_rng(0))
    with pytest.raises(ValueError):
        conv_second_moment_enumerated(4, k=5)


def test_symbolic_and_numeric_layers_quick():
    config = RunConfig(quick=True)
    for layer, tag in ((symbolic.verify, Layer.SYMBOLIC), (numeric.verify, Layer.NUMERIC)):
        result = record_layer(layer, tag, config, claim_bound=CLAIM.bound)
        decisive = [check for check in result.checks if check.decisive]
        assert all(check.verdict.value == "consistent" for check in decisive), [
            (check.name, check.detail) for check in decisive if check.verdict.value != "consistent"]


# -- negative controls (issue 9) ------------------------------------------------------------------

from optverify.kit import Verdict


def test_wrong_constant_is_not_reduced_to_zero():
    assert symbolic.wrong_constant(sympy.zeros(2, 2)) == sympy.ones(2, 2) / 100
    assert symbolic.wrong_constant(sympy.Integer(0)) == sympy.Rational(1, 100)


def test_conv_condition_limit_rejects_the_wrong_powers():
    moment = conv_second_moment_symbolic()
    assert symbolic.conv_condition_limit(moment, 3).finite_positive
    assert not symbolic.conv_condition_limit(moment, sympy.Rational(5, 2)).finite_positive
    assert not symbolic.conv_condition_limit(moment, sympy.Rational(7, 2)).finite_positive


def test_limit_check_uses_a_fixed_tolerance_and_rejects_a_wrong_constant():
    session = Session(RunConfig(quick=True), Layer.NUMERIC, CLAIM.bound)
    sizes = (64, 128, 256, 512)
    with mp.workdps(30):
        sequence = tuple(mp.mpf(1) / 4 + mp.mpf(1) / n for n in sizes)
        limit = numeric.Limit("toy-limit", "toy -> 1/4", sequence, mp.mpf(1) / 4)
        numeric._record_limit(session, limit, sizes, 3)
    (check,) = session.checks
    assert check.tolerance == numeric.LIMIT_TOLERANCE
    assert check.verdict is Verdict.CONSISTENT
    assert all(control.verdict is Verdict.VIOLATED for control in check.controls)




# -- exact expected SGD (Lemma 2), its stochastic twin, preconditioning, Fig. 6 --------------------

from optverify.theorems.pwl_conditioning import expected, figure6, linear_sgd  # noqa: E402


@given(st.integers(64, 160), st.sampled_from([2.0, 4.0, 40.0]))
def test_banded_spectrum_below_a_cut_matches_the_dense_svd(n, cut):
    fast = expected.ramp_singular_values_below(n, cut)
    dense = expected.ramp_singular_values_below_dense(n, cut)
    assert fast.below.shape == dense.below.shape
    assert np.max(np.abs(fast.below / dense.below - 1)) < 1e-10
    assert fast.sigma_max == pytest.approx(dense.sigma_max, rel=1e-12)


@pytest.mark.parametrize("n", [3, 4, 5])
def test_expected_error_and_hitting_time_match_the_matrix_recursion(n):
    """Lemma 2 in closed form (per singular value) against E[U_{t+1}] = E[U_t] - eta lambda
    (E[U_t] W - I) W^T iterated with the matrices themselves."""
    factor, w = 0.5, ramp_matrix(n)
    spectrum = expected.ramp_singular_values_below(n, 1e6)
    step = factor / spectrum.sigma_max**2
    u, inverse, errors = np.zeros((n, n)), np.linalg.inv(w), []
    while not errors or errors[-1] >= 0.2:
        errors.append(np.linalg.norm(u - inverse, 2))
        u = u - step * (u @ w - np.eye(n)) @ w.T
    errors = np.array(errors)
    closed = expected.expected_error(spectrum, factor, np.arange(errors.size))
    assert np.allclose(closed, errors, rtol=1e-9)
    for target in (0.5, 0.2):
        first = int(np.argmax(errors < target))
        assert expected.expected_hitting_time(spectrum, factor, target) == first


def test_expected_iterate_is_the_mean_of_simulated_sgd_runs():
    """E[U_t] of Lemma 2 against the average of 4000 independent plain SGD runs (explicit gradient
    steps on U, the paper's distribution), n = 4, t = 30: within 5 standard errors per entry."""
    n, t, runs, batch, factor = 4, 30, 4000, 2, 0.5
    w = torch.tensor(ramp_matrix(n))
    left, values, right = np.linalg.svd(ramp_matrix(n))
    step = factor * n / values[0] ** 2                    # eta = c / (lambda S_11^2), lambda = 1/n
    generator = torch.Generator().manual_seed(7)
    u = torch.zeros(runs, n, n, dtype=torch.float64)
    for _ in range(t):
        p = experiment_sample(n, runs, batch, generator)
        f = p @ w.T
        u = u - step * torch.einsum("rbi,rbj->rij", torch.einsum("rij,rbj->rbi", u, f) - p,
                                    f) / batch
    contraction = 1 - factor * values**2 / values[0] ** 2
    closed = right.T @ np.diag((1 - contraction**t) / values) @ left.T
    mean, error = u.mean(0).numpy(), u.std(0).numpy() / np.sqrt(runs)
    assert np.all(np.abs(mean - closed) <= 5 * error + 1e-12)
    assert np.abs(mean - closed).max() > 0  # a simulation, not the closed form


def experiment_sample(n, runs, batch, generator):
    sizes = torch.tensor([n] * runs)
    return sample_breakpoints_torch(sizes, (batch,), n, generator, torch.float64)


@given(st.integers(1, 9), st.integers(0, 2**16))
def test_chain_product_is_the_ordered_product(count, seed):
    matrices = torch.randn(count, 2, 3, 3, generator=torch.Generator().manual_seed(seed),
                           dtype=torch.float64)
    sequential = matrices[0]
    for matrix in matrices[1:]:
        sequential = sequential @ matrix
    assert torch.allclose(linear_sgd.chain_product(matrices), sequential, atol=1e-10)


def test_filter_hitting_times_bisection_matches_the_recursion():
    sizes = (4, 5, 7)
    moments = [np.array(conv_second_moment_symbolic().subs(n_symbol, n).evalf(), dtype=float)
               for n in sizes]
    problem = expected.filter_problem(expected_moments(sizes))
    times = expected.filter_hitting_times(problem, 0.5, 0.05)
    for n, moment, found in zip(sizes, moments, times):
        step = 0.5 / np.linalg.eigvalsh(moment)[-1]
        v, target, t = np.zeros(3), expected.SECOND_DIFFERENCE, 0
        while np.linalg.norm(v - target) >= 0.05 * np.linalg.norm(target):
            v = v - step * moment @ (v - target)
            t += 1
        assert found == t


def expected_moments(sizes):
    return expected_iterations.exact_moments(sizes)


def test_preconditioned_filter_errors_match_the_whitened_recursion():
    rng = np.random.default_rng(3)
    n = 12
    exact = np.array(conv_second_moment_symbolic().subs(n_symbol, n).evalf(), dtype=float)
    values, vectors = np.linalg.eigh(preconditioned.sampled_moment(n, 500, rng))
    root = vectors @ np.diag(values**-0.5) @ vectors.T
    problem = expected.filter_problem(expected_moments((n,)), root[None])
    errors = expected.filter_errors(problem, 0.5, np.arange(30))[0]
    whitened = root @ exact @ root
    step = 0.5 / np.linalg.eigvalsh(whitened)[-1]
    e = -np.linalg.solve(root, expected.SECOND_DIFFERENCE)
    for t in range(30):
        assert errors[t] == pytest.approx(np.linalg.norm(root @ e) / np.sqrt(6), rel=1e-6)
        e = e - step * whitened @ e


def test_window_moments_match_a_direct_sum():
    generator = torch.Generator().manual_seed(0)
    p = sample_breakpoints_torch(torch.tensor([5, 7]), (2, 3), 7, generator,
                                            torch.float64).transpose(0, 1)   # (steps, runs, batch, n)
    inside = (torch.arange(7) < torch.tensor([5, 7])[:, None]).double()
    moments = linear_sgd.window_moments(p, inside)
    for step in range(2):
        for run, n in enumerate((5, 7)):
            total = np.zeros((3, 3))
            for curve in p[step, run].numpy():
                f = np.concatenate([[0, 0], ramp_matvec(curve[:n])])
                for t in range(n):
                    w = f[t:t + 3]
                    total += np.outer(w, w)
            assert np.allclose(moments[step, run].numpy(), total / 3)


def test_stochastic_fully_connected_times_follow_the_exact_expectation():
    n, seeds = 4, 6
    step = 0.5 * n / ramp_spectrum_dense(n).sigma_max ** 2
    times = linear_sgd.fully_connected_times([n] * seeds, [step] * seeds, 0.5, 6000, 1.01, 16,
                                             torch.Generator().manual_seed(1), "cpu",
                                             torch.float64)
    exact = expected.ramp_hitting_time(n, 0.5, 0.5)
    assert times.reached.all()
    assert np.all(times.previous < times.hit)
    assert np.all((times.previous <= times.crossing) & (times.crossing <= times.hit))
    assert abs(times.hit.mean() / exact - 1) < 0.05
    assert abs(times.crossing.mean() / expected.ramp_crossing_time(n, 0.5, 0.5) - 1) < 0.05


@given(st.floats(0.5, 5.0), st.floats(0.05, 0.95), st.integers(1, 40), st.integers(1, 30))
def test_crossing_time_is_exact_for_an_exponential_decay(start, contraction, before, width):
    """Between two checkpoints of e(t) = start * contraction^t the log-linear crossing is the
    exact time log(start/target) / log(1/contraction)."""
    truth = before + 0.37 * width
    target = start * contraction ** truth
    found = expected.crossing_time(before, before + width, start * contraction ** before,
                                   start * contraction ** (before + width), target)
    assert found == pytest.approx(truth, rel=1e-9)


def test_crossing_time_of_errors_that_reach_zero_is_defined_and_silent():
    """float32 errors underflow to 0: an error that reaches 0 crosses at `previous`, two zero
    errors at `hit`, without numpy warnings reaching the run's stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = expected.crossing_time([10, 10], [20, 20], [1.0, 0.0], [0.0, 0.0], 0.7)
    np.testing.assert_array_equal(found, [10.0, 20.0])


@pytest.mark.parametrize("n", [3, 4, 5, 70])
def test_expected_crossing_time_lies_in_the_step_before_the_hitting_time(n):
    crossing = expected.ramp_crossing_time(n, 0.5, 0.5)
    assert expected.ramp_hitting_time(n, 0.5, 0.5) == int(np.floor(crossing)) + 1


def test_filter_crossing_times_lie_in_the_step_before_the_hitting_times():
    problem = expected.filter_problem(expected_iterations.exact_moments((4, 6, 8)))
    hits = expected.filter_hitting_times(problem, 0.5, 0.05)
    crossings = expected.filter_crossing_times(problem, 0.5, 0.05)
    assert np.all((hits - 1 <= crossings) & (crossings <= hits))
    errors = expected.filter_errors(problem, 0.5, crossings[:, None])[:, 0]
    assert errors == pytest.approx(0.05, rel=1e-3)


def _twin(crossings, exact):
    return sgd_twins.TwinData((3, 4), np.array(crossings, float), np.array(exact, float))


def test_twin_judge_decides_by_the_margin():
    rng = np.random.default_rng(3)
    exact = np.array([100.0, 200.0])
    close = exact[:, None] * np.exp(rng.normal(0, 0.01, (2, 8)))
    assert sgd_twins.twin_judge(_twin(close, exact)).verdict is Verdict.CONSISTENT
    assert sgd_twins.twin_judge(_twin(close, [100, 240])).verdict is Verdict.VIOLATED
    assert sgd_twins.twin_judge(_twin(close, [50, 200])).verdict is Verdict.VIOLATED
    scattered = exact[:, None] * np.exp(rng.normal(0, 0.2, (2, 8)))
    assert sgd_twins.twin_judge(_twin(scattered, exact)).verdict is Verdict.INCONCLUSIVE
    never = close.copy()
    never[0, 2] = np.inf
    assert sgd_twins.twin_judge(_twin(never, exact)).verdict is Verdict.VIOLATED


def _synthetic_twins(ratio: float, replicates: int = 400) -> list:
    """Twin verdicts of seeds scattered like the preconditioned twin's (log sd 0.052, 108 seeds,
    4 sizes) around a true crossing ratio `ratio`."""
    rng = np.random.default_rng(0)
    exact = np.array([20.0, 20.0, 21.0, 21.0])
    return [sgd_twins.twin_judge(sgd_twins.TwinData(
        (4, 16, 64, 256), ratio * exact[:, None] * np.exp(rng.normal(0, 0.052, (4, 108))),
        exact)).verdict for _ in range(replicates)]


def test_twin_judge_errs_at_most_at_the_kit_level():
    """A true twin (ratio 1, or the measured Lyapunov bias 0.981) is never violated and is
    consistent in >= 97% of replicates (the sizing's power, 99% per size); one false by more
    than the margin (ratio 1.06) is consistent in <= 1%, its 98% intervals being Bonferroni."""
    for ratio in (1.0, 0.981):
        verdicts = _synthetic_twins(ratio)
        assert Verdict.VIOLATED not in verdicts
        assert verdicts.count(Verdict.CONSISTENT) >= 388
    assert _synthetic_twins(1.06).count(Verdict.CONSISTENT) <= 4


def test_spread_judge_rejects_counts_that_grow_with_n():
    sizes = np.array([4, 16, 64, 256, 1024])
    flat = np.array([20, 21, 20, 22, 21])
    assert preconditioned.spread_judge(flat).verdict is Verdict.CONSISTENT
    for counts in preconditioned.growing_controls(sizes, flat).values():
        assert preconditioned.spread_judge(counts).verdict is Verdict.VIOLATED


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.5, 1.5])
def test_bad_step_factors_raise(bad):
    spectrum = expected.ramp_singular_values_below(5, 10.0)
    with pytest.raises(ValueError):
        expected.expected_hitting_time(spectrum, bad, 0.5)
    with pytest.raises(ValueError):
        expected.expected_error(spectrum, bad, [1, 2])


def test_bad_targets_and_cuts_raise():
    spectrum = expected.ramp_singular_values_below(5, 1.5)
    with pytest.raises(ValueError):
        expected.expected_hitting_time(spectrum, 0.5, 0.0)
    with pytest.raises(ValueError):
        expected.expected_hitting_time(spectrum, 0.5, 0.5)  # cut 1.5 < 1/0.5
    with pytest.raises(ValueError):
        expected.ramp_singular_values_below(70, -1.0)


def test_figure6_linear_gradients_match_autograd_and_the_deep_network_has_the_paper_widths():
    network = figure6.deep_network(10, 3, torch.Generator().manual_seed(0), torch.float64, "cpu")
    widths = [layer.out_features for layer in network if isinstance(layer, torch.nn.Linear)]
    assert widths == [500, 100, 6, 100, 100, 10]
    result = figure6.figure6(10, (3, 6), (2,), torch.eye(3, dtype=torch.float64), 4, 3,
                             torch.Generator().manual_seed(1), torch.float64, "cpu",
                             test_curves=8)
    assert set(result.recovered) == {(learner, stop) for learner in figure6.LINEAR_LEARNERS
                                     for stop in (3, 6)} | {(figure6.DEEP_LEARNER, 2)}
    assert all(np.isfinite(error) for error in result.errors.values())


def test_experiment_layer_quick_is_decisive_with_rejected_controls():
    result = record_layer(experiment.verify, Layer.EXPERIMENT, RunConfig(quick=True),
                          claim_bound=CLAIM.bound)
    decisive = [check for check in result.checks if check.decisive]
    assert len(decisive) >= 10
    for check in decisive:
        assert check.verdict is Verdict.CONSISTENT, (check.name, check.detail)
        assert check.controls and all(control.rejected for control in check.controls), check.name


def test_theorem3_margin_agrees_with_the_recursion_and_certifies_its_counter_example():
    """The written-once margin against the float recursion of Lemma 2 (independent twin): at
    c = 3/2 the contraction factor is below 1 (E[U_t] converges), at c = 5/2 above; the ball
    enclosure at c = 1, n = 2 is 12 sqrt(2) - 17 < 0 (eigenvalues of [[5, 2], [2, 1]])."""
    from fractions import Fraction

    from optverify.numerics.ball import certify, evaluate_float

    margin = numeric.theorem3_divergence_margin
    growth = numeric.divergence_growth(np.linalg.svd(ramp_matrix(6), compute_uv=False),
                                       (1.5, 2.5))
    assert (evaluate_float(margin, {"c": 1.5, "n": 6}) < 0) == (growth[1.5] < 0)
    assert (evaluate_float(margin, {"c": 2.5, "n": 6}) > 0) == (growth[2.5] > 0)
    enclosure = certify(margin, {"c": Fraction(1), "n": 2})
    assert enclosure.below_zero
    assert enclosure.low == pytest.approx(12 * 2 ** 0.5 - 17, rel=1e-12)


def test_preconditioned_sgd_runs_only_where_the_dtype_resolves_the_moments():
    """eps cond(C_n) <= 1 (preconditioned.ROUNDING_LIMIT): float64 keeps n = 4..1024, float32
    stops below 256, where the full float32 run's SGD stalled above its target."""
    found = preconditioned.preconditioning((4, 64, 128, 256, 1024), 200, 0.5, 1e-6, 400,
                                           np.random.default_rng(0))
    assert found.resolvable(torch.float64).sizes == (4, 64, 128, 256, 1024)
    kept = found.resolvable(torch.float32)
    assert kept.sizes == (4, 64, 128)
    np.testing.assert_array_equal(kept.times, found.times[:3])
    assert kept.whitening.shape == (3, 3, 3)
