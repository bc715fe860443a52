"""The runner: layers timed, errors caught and reported, verdicts combined, exit codes."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from optverify.config import RunConfig
from optverify.results import Verdict
from optverify.verify.runner import is_claim_code, run, run_claim
from tests.toy_claims import CONSISTENT, RAISING, VIOLATED, toy_claim


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


@pytest.mark.parametrize("exit_code", [0, 1])
def test_an_exit_in_process_is_an_error_not_the_end_of_the_run(exit_code):
    def _exit(s):
        raise SystemExit(exit_code)

    result = run([replace(toy_claim("toy-exit"), experiment=_exit), CONSISTENT])
    assert result.claims[0].layers[2].error == (
        f"the claim's code called sys.exit({exit_code}); a layer reports through its checks and "
        "must not exit")
    assert result.claims[1].verdict is Verdict.CONSISTENT and result.exit_code == 3


def _nan_data(s):
    x = np.geomspace(1, 100, 8)
    s.rate("nan-rate", "y = Theta(x^2)", x, x * np.nan, main=True, rules_out=3.0)  # THE-CALL


def test_a_kit_error_names_the_claims_line_and_where_the_kit_raised():
    result = run_claim(replace(toy_claim("toy-nan"), experiment=_nan_data))
    detail = result.layers[2].checks[0].detail
    line = next(number for number, text in enumerate(Path(__file__).read_text().splitlines(), 1)
                if "# THE-CALL" in text and "s.rate" in text)
    assert f"(at {__file__}:{line}; raised in " in detail
    assert "/optverify/" in detail.split("raised in ")[1]


def test_a_claims_own_error_is_located_once():
    detail = run_claim(RAISING).layers[2].checks[0].detail
    assert detail.endswith(")") and "; raised in" not in detail and "toy_claims.py:" in detail


def test_claim_code_is_neither_the_kit_nor_a_library():
    import numpy
    import optverify.numerics.fit as fit
    import optverify.theorems as theorems

    assert is_claim_code(__file__)
    assert is_claim_code(str(Path(theorems.__file__).parent / "balancedness" / "numeric.py"))
    assert not is_claim_code(fit.__file__)
    assert not is_claim_code(numpy.__file__)
    assert not is_claim_code("<string>")
