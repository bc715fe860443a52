"""Tests of the `end-to-end-snr` claim: the closed form against Monte Carlo and exact enumeration
(twins), unbiasedness, 'below precision' in float32 at large k, bad input, and the negative controls
of every decisive check (issue 9): each false alternative through the check's own judging path."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy
import torch
from mpmath import mp

from optverify.kit import BELOW_PRECISION, Session, Verdict
from optverify.testing import Layer, RunConfig, record_layer
from optverify.theorems.end_to_end_snr import CLAIM, numeric, setting_two, symbolic
from optverify.theorems.end_to_end_snr.setting_two_model import (
    diagonal_column_sq_norms,
    exact_moments,
    jacobian_column_sq_norms,
    monte_carlo_moments,
    uniform_moments,
    validate_sizes,
)
from optverify.theorems.end_to_end_snr.tuple_signal import (
    record_tuple_signal,
    tuple_signal,
    tuple_signal_by_recurrence,
)
from optverify.verdict import judge_residual, symbolic_zero_check


def _instance(k, d, scale, seed):
    generator = torch.Generator().manual_seed(seed)
    weights = scale * torch.randn(k, d, generator=generator, dtype=torch.float64)
    return weights, torch.randint(0, k, (d,), generator=generator)


@pytest.mark.parametrize("k, d, scale", [(5, 7, 0.8), (20, 30, 1.5)])
def test_closed_form_matches_monte_carlo(k, d, scale):
    weights, labels = _instance(k, d, scale, 1)
    exact = exact_moments(weights, labels)
    sampled = monte_carlo_moments(weights, labels, 200_000, torch.Generator().manual_seed(2),
                                  torch.float64)
    assert abs(sampled.signal - exact.signal) <= 1e-14
    assert abs(sampled.variance_dec - exact.variance_dec) <= 4 * sampled.stderr_dec
    assert abs(sampled.variance_e2e - exact.variance_e2e) <= 4 * sampled.stderr_e2e


def test_closed_form_matches_exact_enumeration_in_mpmath():
    with mp.workdps(40):
        weights = [[mp.mpf(v) for v in row] for row in ([0.3, -1.0, 0.2], [1.1, 0.0, -0.4],
                                                        [-0.5, 0.7, 0.9], [0.1, 0.2, 0.3])]
        labels = [0, 3, 1]
        enumerated = numeric.enumerated_moments(weights, labels)
        closed = numeric.closed_moments(weights, labels)
        for field in ("signal", "variance_dec", "variance_e2e"):
            a, b = getattr(enumerated, field), getattr(closed, field)
            assert abs(a - b) <= mp.mpf(10) ** -30 * abs(b)
        torch_moments = exact_moments(torch.tensor([[float(v) for v in row] for row in weights],
                                                   dtype=torch.float64), torch.tensor(labels))
        assert abs(torch_moments.variance_e2e - float(closed.variance_e2e)) <= 1e-14


def test_a_wrong_extra_variance_is_rejected():
    weights, labels = _instance(6, 8, 1.0, 3)
    exact = exact_moments(weights, labels)
    sampled = monte_carlo_moments(weights, labels, 100_000, torch.Generator().manual_seed(4),
                                  torch.float64)
    wrong = exact.variance_dec + 1.1 * (exact.variance_e2e - exact.variance_dec)
    assert abs(sampled.variance_e2e - wrong) > 4 * sampled.stderr_e2e


def test_uniform_closed_form_at_zero_weights():
    k, d = 12, 9
    exact = exact_moments(torch.zeros(k, d, dtype=torch.float64), torch.arange(d) % k)
    signal = uniform_moments(Fraction(k), Fraction(d)).signal
    assert exact.signal == pytest.approx(float(signal), rel=1e-13)
    assert exact.variance_ratio == pytest.approx(1 + d * (k - 1) / (d - 1), rel=1e-13)
    assert exact.snr_e2e == pytest.approx(1 / (d * k - 1), rel=1e-13)
    assert exact.snr_dec == pytest.approx(1 / (d - 1), rel=1e-13)


def test_symbolic_unbiasedness_and_variance():
    residuals = symbolic.moments(3, label=1)
    assert all(entry.simplify() == 0 for entry in residuals.bias)
    assert residuals.extra_variance.simplify() == 0
    assert symbolic.tuple_signal_difference(3).simplify() == 0


def test_float32_reports_below_precision_at_large_k():
    session = Session(RunConfig(), Layer.EXPERIMENT)
    config = setting_two.SweepConfig.quick()
    record_tuple_signal(session, config.tuple_max_k, config.accuracy)
    checks = {check.name: check for check in session.checks}
    values = checks["tuple-signal-rate-float64"].values
    assert values["signal_float32_k25"] == BELOW_PRECISION
    assert isinstance(values["signal_float32_k25"], str)
    assert isinstance(values["signal_float64_k5"], str) and values["signal_float64_k5"] != \
        BELOW_PRECISION
    assert float(values["signal_float64_k5"]) == pytest.approx(0.2**4, rel=1e-3)
    float32 = tuple_signal_by_recurrence(8, 0.6, torch.float32)
    assert float(float32[-1]) == pytest.approx(tuple_signal(8, 0.6), rel=1e-2)


def test_numeric_layer_reports_numbers_where_floats_cannot():
    result = record_layer(numeric.verify, Layer.NUMERIC, RunConfig(quick=True),
                          claim_bound=CLAIM.bound)
    tuple_check = next(c for c in result.checks if c.name == "tuple-signal-resolved")
    assert tuple_check.values["tuple_signal_float64_k1000000"] == BELOW_PRECISION
    assert "e-698970" in tuple_check.values["tuple_signal_k1000000"]
    assert all(c.verdict is Verdict.CONSISTENT for c in result.checks)
    # issue 9: the closed form's own exponent is a sanity check now, so it cannot be the main one;
    # the main bound is decided symbolically and by the Monte Carlo of the experiment layer
    assert not [c.name for c in result.checks if c.main]
    ratio = next(c for c in result.checks if c.name == "variance-ratio-rate")
    assert ratio.sanity and not ratio.decisive


@pytest.mark.parametrize("k, d", [(1, 5), (5, 1), (2.5, 4), (0, 0)])
def test_bad_sizes_raise(k, d):
    with pytest.raises(ValueError):
        validate_sizes(k, d)


def test_bad_weights_and_accuracy_raise():
    weights, labels = _instance(4, 5, 1.0, 0)
    weights[0, 0] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        exact_moments(weights, labels)
    with pytest.raises(ValueError):
        exact_moments(torch.zeros(1, 5, dtype=torch.float64), torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError):
        tuple_signal_by_recurrence(10, float("inf"), torch.float64)
    with pytest.raises(ValueError):
        tuple_signal_by_recurrence(10, 0.5, torch.float64)
    with pytest.raises(ValueError):
        setting_two.SweepConfig((1, 4), inputs=10, samples=100)


# --- negative controls (issue 9): each decisive check's alternative through its own judge ---------


def _not_consistent(expression) -> bool:
    return symbolic_zero_check("control", "control", expression).verdict is not Verdict.CONSISTENT


def test_symbolic_controls_are_rejected():
    k, d = symbolic.K, symbolic.D
    assert _not_consistent(symbolic.gradient_difference(3, symbolic.diagonal_jacobian))
    residuals = symbolic.moments(3)
    assert _not_consistent(residuals.bias_if_label_random)
    assert _not_consistent(residuals.extra_variance_if_diagonal)
    assert _not_consistent(symbolic.uniform_column_norm((k - 1) / k**2))
    assert _not_consistent(symbolic.uniform_ratio_difference(k))
    assert _not_consistent(symbolic.uniform_snr_differences(1 / (k * (d - 1))))
    assert _not_consistent(symbolic.tuple_signal_difference(3, 4))
    half = symbolic_zero_check("c", "c", symbolic.ratio_exponent() - sympy.Rational(1, 2))
    flat = symbolic_zero_check("c", "c", symbolic.ratio_exponent(1 + d / (d - 1)) - 1)
    assert half.verdict is Verdict.VIOLATED and flat.verdict is Verdict.VIOLATED


def test_label_random_patterns_have_zero_mean():
    """The unbiasedness control's false world: with z_y random too the mean gradient is 0."""
    residuals = symbolic.moments(2)
    p = sympy.symbols("p_1:3", positive=True)
    j = symbolic.jacobian(sympy.Matrix(p))
    assert all(sympy.simplify(a - b) == 0
               for a, b in zip(residuals.bias_if_label_random, j[:, 0]))


def test_enumeration_rejects_the_diagonal_closed_form():
    with mp.workdps(40):
        weights = [[mp.mpf(v) for v in row] for row in ([0.3, -1.0, 0.2], [1.1, 0.0, -0.4],
                                                        [-0.5, 0.7, 0.9], [0.1, 0.2, 0.3])]
        labels = [0, 3, 1]
        enumerated = numeric.enumerated_moments(weights, labels)
        wrong = numeric.closed_moments(weights, labels, diagonal_only=True)
        residual = numeric.relative_residual(enumerated, wrong)
        assert judge_residual(residual, mp.mpf(10) ** -30) is Verdict.VIOLATED
        assert wrong.variance_e2e < numeric.closed_moments(weights, labels).variance_e2e


def test_diagonal_column_norms_drop_the_off_diagonal_term():
    probabilities = torch.softmax(torch.randn(5, 7, generator=torch.Generator().manual_seed(0),
                                              dtype=torch.float64), dim=0).T
    true, diagonal = jacobian_column_sq_norms(probabilities), diagonal_column_sq_norms(
        probabilities)
    total = (probabilities**2).sum(-1, keepdim=True)
    torch.testing.assert_close(true - diagonal, probabilities**2 * (total - probabilities**2))
    assert (diagonal < true).all()
    weights, labels = _instance(5, 7, 1.0, 0)
    assert exact_moments(weights, labels, diagonal_column_sq_norms).variance_e2e < \
        exact_moments(weights, labels).variance_e2e


SMALL = setting_two.SweepConfig((4, 10, 30, 100), inputs=40, samples=4096, seeds=6)


@pytest.fixture(scope="module")
def small_sweep():
    session = Session(RunConfig(quick=True, seed=3), Layer.EXPERIMENT, claim_bound=CLAIM.bound)
    return session, setting_two.snr_sweep(session, SMALL)


def test_monte_carlo_sweep_varies_at_random_weights(small_sweep):
    """At W = 0.5 N(0, 1) both sampled variances have a non-zero standard error (at W = 0 the
    decomposition's did not), and the instances of one k differ."""
    _, sweep = small_sweep
    assert len(sweep.points) == len(SMALL.sizes) * SMALL.seeds
    assert all(p.sampled["float64"].stderr_dec > 0 for p in sweep.points)
    ratios = [p.exact.variance_ratio for p in sweep.points if p.k == 30]
    assert np.std(ratios) > 0.01 * np.mean(ratios)


def test_monte_carlo_rejects_the_diagonal_closed_form(small_sweep):
    _, sweep = small_sweep
    assert sweep.worst_deviation() <= setting_two.STANDARD_ERRORS
    wrong = sweep.worst_deviation(lambda point: point.diagonal_only)
    assert judge_residual(wrong, setting_two.STANDARD_ERRORS) is Verdict.VIOLATED


def test_snr_rates_are_consistent_and_their_controls_rejected(small_sweep):
    session, sweep = small_sweep
    for spec in setting_two.RATES:
        setting_two._record_rate(session, SMALL, sweep, spec)
    checks = {c.name: c for c in session.checks}
    assert checks["variance-ratio-rate"].main
    for spec in setting_two.RATES:
        check = checks[spec.name]
        # the judges' 98% level and 0.05 equivalence margin (issue 18): this small sweep's interval
        # holds the claimed exponent but is too wide to confirm it within the margin
        assert check.verdict is not Verdict.VIOLATED, check.detail
        assert check.fit.ci.contains(float(spec.bound.exponent)), check.detail
        assert {c.alternative for c in check.controls} == {f"exponent {a:.4g}"
                                                             for a in spec.rules_out}
        assert all(c.verdict is Verdict.VIOLATED for c in check.controls), check.controls
        assert check.values[f"{spec.name}_k30_spread"] > 0


@pytest.mark.parametrize("measured, judged", [
    ("snr-dec-flat", "variance-ratio-rate"),   # a ratio that stays flat in k
    ("snr-dec-flat", "snr-e2e-rate"),          # an end-to-end SNR as flat as the decomposition's
    ("snr-e2e-rate", "snr-dec-flat"),          # a decomposition that loses signal like 1/k
])
def test_a_measured_false_world_series_is_violated(small_sweep, measured, judged):
    """A series measured by the same Monte Carlo but with the wrong law, fed through another
    check's judging path (Session.rate with that check's bound), is violated."""
    _, sweep = small_sweep
    specs = {spec.name: spec for spec in setting_two.RATES}
    x, y = sweep.series(specs[measured].quantity, "float64")
    session = Session(RunConfig(quick=True), Layer.EXPERIMENT)
    check = session.rate("false-world", "false world", x, y, specs[judged].bound, rules_out=())
    assert check.verdict is Verdict.VIOLATED


def test_sweep_config_needs_two_seeds():
    with pytest.raises(ValueError, match="seeds"):
        setting_two.SweepConfig((4, 10), inputs=10, samples=100, seeds=1)


def test_quick_claim_decisive_checks_all_carry_rejected_controls():
    from optverify.verify.runner import run_claim

    result = run_claim(CLAIM, RunConfig(quick=True))
    assert result.verdict is Verdict.CONSISTENT
    sanity = {c.name for c in result.checks if c.sanity}
    assert {"variance-ratio-rate", "tuple-signal-rate-float64",
            "tuple-signal-rate-float32"} <= sanity
    main = [c for c in result.checks if c.main]
    assert {(c.layer, c.name) for c in main} == {(Layer.SYMBOLIC, "variance-ratio-exponent"),
                                                 (Layer.EXPERIMENT, "variance-ratio-rate")}
    decisive = [c for c in result.checks if c.decisive]
    assert decisive and all(c.controls and all(k.rejected for k in c.controls) for c in decisive)
