"""The runner: layers timed, errors caught and reported, verdicts combined, exit codes."""

from optverify.config import RunConfig
from optverify.results import Verdict
from optverify.verify.runner import run, run_claim
from tests.toy_claims import CONSISTENT, RAISING, VIOLATED


def test_consistent_claim_runs_all_layers():
    result = run_claim(CONSISTENT, RunConfig(seed=3))
    assert result.verdict is Verdict.CONSISTENT
    assert [layer.layer.value for layer in result.layers] == ["symbolic", "numeric", "experiment"]
    assert all(layer.wall_s >= 0 for layer in result.layers)
    assert result.environment.seed == 3 and "torch" in result.environment.versions


def test_violated_claim_is_violated():
    assert run_claim(VIOLATED).verdict is Verdict.VIOLATED


def test_a_raising_layer_becomes_an_error_and_the_others_still_run():
    result = run_claim(RAISING)
    assert result.verdict is Verdict.ERROR
    experiment = result.layers[2]
    assert experiment.error == "RuntimeError: the experiment broke"
    assert result.layers[0].checks[0].verdict is Verdict.CONSISTENT


def test_exit_codes():
    assert run([CONSISTENT]).exit_code == 0
    assert run([CONSISTENT, RAISING]).exit_code == 3
    assert run([RAISING, VIOLATED]).exit_code == 1


def test_same_seed_same_result_different_seed_different_numbers():
    first = run_claim(CONSISTENT, RunConfig(seed=5)).layers[2].checks[0].fit
    again = run_claim(CONSISTENT, RunConfig(seed=5)).layers[2].checks[0].fit
    other = run_claim(CONSISTENT, RunConfig(seed=6)).layers[2].checks[0].fit
    assert first == again and first != other


def test_progress_wraps_inner_loops():
    seen = []

    def progress(items, description=""):
        seen.append(description)
        return items

    run_claim(CONSISTENT, progress=progress)
    assert seen == ["points"]
