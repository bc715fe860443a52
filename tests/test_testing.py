"""`optverify.testing`: the assertions fail exactly when the referee says no, and say why."""

import dataclasses

import numpy as np
import pytest

from optverify import testing
from optverify.kit import Bound, Claim, Session, Source
from optverify.results import Control, Verdict
from tests.toy_claims import CONSISTENT, RAISING, VIOLATED


def _square_cost(s: Session) -> None:
    n = np.geomspace(4, 4096, 10)
    s.rate("cost-vs-n", "the cost grows like n^2", n, 3.0 * n**2, main=True)


SQUARE_COST = Claim(id="square-cost", title="A cost that grows like n^2",
                    source=Source("Nobody (2026)", "Toy theorem 2"), bound=Bound.tight("n", 2),
                    experiment=_square_cost)


@pytest.fixture(scope="module")
def consistent_result():
    return testing.quick_run(SQUARE_COST, seed=3)


def test_assert_consistent_passes_a_consistent_claim_and_returns_its_result(consistent_result):
    assert testing.assert_consistent(consistent_result) is consistent_result
    assert testing.assert_consistent(CONSISTENT, seed=3).verdict is Verdict.CONSISTENT


def test_assert_consistent_fails_with_the_disagreeing_decisive_checks():
    with pytest.raises(AssertionError) as failure:
        testing.assert_consistent(VIOLATED)
    text = str(failure.value)
    assert text.startswith("claim 'toy-violated' is violated (seed 0, precision 50 digits, "
                           "device cpu, dtype float64, scale quick)")
    assert "[violated] experiment/square-rate (main statement)" in text
    assert "square-expansion" not in text  # consistent checks are not listed


def test_assert_consistent_names_a_layer_that_raised():
    with pytest.raises(AssertionError, match="experiment layer raised: .*the experiment broke"):
        testing.assert_consistent(RAISING)


def test_an_example_passes_from_its_path():
    assert testing.assert_consistent("examples/heavy_ball.py").claim == "heavy-ball"


def test_every_decisive_check_can_say_no_passes_a_controlled_rate(consistent_result):
    testing.assert_every_decisive_check_can_say_no(consistent_result)


def _with_controls(result, controls):
    layers = tuple(dataclasses.replace(layer, checks=tuple(
        dataclasses.replace(check, controls=controls) if check.decisive else check
        for check in layer.checks)) for layer in result.layers)
    return dataclasses.replace(result, layers=layers)


@pytest.mark.parametrize("verdict", [Verdict.CONSISTENT, Verdict.INCONCLUSIVE])
def test_a_control_that_is_not_violated_fails_the_assertion(consistent_result, verdict):
    result = _with_controls(consistent_result, (Control("exponent 3", verdict, "why"),))
    with pytest.raises(AssertionError, match=f"exponent 3 judged {verdict.value}"):
        testing.assert_every_decisive_check_can_say_no(result)


def test_a_decisive_check_without_a_control_fails_the_assertion(consistent_result):
    with pytest.raises(AssertionError, match="without a negative control"):
        testing.assert_every_decisive_check_can_say_no(_with_controls(consistent_result, ()))


def test_a_bad_claim_spec_is_a_discovery_error():
    from optverify.verify.discovery import DiscoveryError

    with pytest.raises(DiscoveryError, match="unknown claim"):
        testing.quick_run("no-such-claim")


def test_the_public_names_are_pinned():
    assert set(testing.__all__) == {
        "BoundKind", "Check", "ClaimResult", "Control", "ExponentJudgement", "Layer",
        "LayerResult", "RunConfig", "Verdict", "assert_consistent",
        "assert_every_decisive_check_can_say_no", "decisive_report", "fit_rate", "quick_run",
        "record_layer"}
    assert all(hasattr(testing, name) for name in testing.__all__)
