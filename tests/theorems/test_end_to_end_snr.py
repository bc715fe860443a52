"""Tests of the `end-to-end-snr` claim: the closed form against Monte Carlo and exact enumeration
(twins), unbiasedness, 'below precision' in float32 at large k, and bad input."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from mpmath import mp

from optverify.kit import BELOW_PRECISION, Layer, RunConfig, Session, Verdict, run_layer
from optverify.theorems.end_to_end_snr import CLAIM, experiment, numeric, statement
from optverify.theorems.end_to_end_snr.model import (
    exact_moments,
    monte_carlo_moments,
    tuple_signal,
    tuple_signal_by_recurrence,
    uniform_moments,
    validate_sizes,
)


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
    residuals = statement.moments(3, label=1)
    assert all(entry.simplify() == 0 for entry in residuals.bias)
    assert residuals.extra_variance.simplify() == 0
    assert statement.tuple_signal_difference(3).simplify() == 0


def test_float32_reports_below_precision_at_large_k():
    session = Session(RunConfig(), Layer.EXPERIMENT)
    experiment.tuple_signal_results(session, experiment.SweepConfig.quick())
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
    result = run_layer(numeric.verify, Layer.NUMERIC, RunConfig(quick=True),
                       claim_bound=CLAIM.bound)
    tuple_check = next(c for c in result.checks if c.name == "tuple-signal-resolved")
    assert tuple_check.values["tuple_signal_float64_k1000000"] == BELOW_PRECISION
    assert "e-698970" in tuple_check.values["tuple_signal_k1000000"]
    assert all(c.verdict is Verdict.CONSISTENT for c in result.checks)
    assert [c.name for c in result.checks if c.main] == ["variance-ratio-rate"]


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
        experiment.SweepConfig((1, 4), inputs=10, samples=100)
