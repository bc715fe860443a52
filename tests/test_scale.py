"""The run's scale (quick, full, paper), the paper-scale plan, and the user's data sets (issue 20
item 2)."""

import hashlib
import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from optverify.bound import Bound
from optverify.claim import Claim
from optverify.config import SCALES, RunConfig
from optverify.datasets import STAND_IN, DataSet, DataSetError, checked_table, choose
from optverify.results import Layer
from optverify.session import Session
from optverify.source import Source
from optverify.verify import cli, plan
from optverify.verify.isolation import LAYER_TIMEOUT_S, default_timeout
from optverify.verify.rerun import recorded_config
from optverify.verify.runner import run_claim
from optverify.verify.serialize import claim_to_json

TINY = DataSet(name="tiny", description="a 3 x 2 table", rows=3, columns=2)


def tiny_file(tmp_path, rows=3, name="tiny.csv"):
    path = tmp_path / name
    np.savetxt(path, np.arange(2.0 * rows).reshape(rows, 2), delimiter=",")
    return path


# -- RunConfig ---------------------------------------------------------------------------------

@given(st.sampled_from(SCALES), st.integers(0, 2**40))
def test_scale_round_trips_through_replace_and_as_dict(scale, seed):
    config = RunConfig(scale=scale, seed=seed)
    assert config.quick == (scale == "quick")
    assert RunConfig(**config.as_dict()) == config
    assert replace(config, seed=seed + 1).scale == scale


def test_quick_is_a_shortcut_for_the_quick_scale():
    assert RunConfig(quick=True) == RunConfig(scale="quick")
    assert RunConfig(quick=False) == RunConfig() == RunConfig(scale="full")


@pytest.mark.parametrize("options, message", [
    ({"scale": "huge"}, "scale must be one of"),
    ({"scale": "paper", "quick": True}, "contradicts"),
    ({"scale": "quick", "quick": False}, "contradicts"),
    ({"data": (("a", "x"), ("a", "y"))}, "given twice"),
])
def test_bad_configurations_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        RunConfig(**options)


@pytest.mark.parametrize("scale, expected", [("quick", 1), ("full", 2), ("paper", 3)])
def test_preset_picks_the_value_of_the_scale(scale, expected):
    s = Session(RunConfig(scale=scale), Layer.EXPERIMENT)
    assert s.preset(quick=1, full=2, paper=3) == expected


@pytest.mark.parametrize("scale, expected", [("quick", 1), ("full", 2), ("paper", 2)])
def test_paper_defaults_to_the_full_value(scale, expected):
    assert Session(RunConfig(scale=scale), Layer.EXPERIMENT).preset(quick=1, full=2) == expected


def test_the_paper_scale_has_no_layer_timeout_unless_given():
    assert default_timeout(RunConfig(scale="paper")) is None
    assert default_timeout(RunConfig(scale="full")) == LAYER_TIMEOUT_S


# -- data sets ---------------------------------------------------------------------------------

def test_without_a_file_the_stand_in_is_used():
    choice = choose(TINY, None)
    assert choice.table is None and choice.described == f"data used (tiny): {STAND_IN}"


def test_the_users_file_is_read_and_its_hash_recorded(tmp_path):
    path = tiny_file(tmp_path)
    choice = choose(TINY, path)
    assert choice.table.shape == (3, 2) and choice.table[2, 1] == 5.0
    assert choice.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert choice.sha256 in choice.described and str(path) in choice.described


def test_whitespace_separated_tables_are_read(tmp_path):
    path = tmp_path / "tiny.txt"
    np.savetxt(path, np.ones((3, 2)))
    assert choose(TINY, path).table.shape == (3, 2)


def test_a_declared_hash_must_match(tmp_path):
    path = tiny_file(tmp_path)
    real = hashlib.sha256(path.read_bytes()).hexdigest()
    assert checked_table(replace(TINY, sha256=real), path)[1] == real
    with pytest.raises(DataSetError, match="expected " + "0" * 64):
        checked_table(replace(TINY, sha256="0" * 64), path)


@pytest.mark.parametrize("content, message", [
    ("1,2\n3,4\n", "is a 2 x 2 table, expected 3 x 2"),
    ("1,2\n3,x\n5,6\n", "not a numeric table"),
])
def test_a_file_of_another_shape_is_refused(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataSetError, match=message):
        checked_table(TINY, path)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(DataSetError, match="no file at"):
        checked_table(TINY, tmp_path / "absent.csv")


def _reads_tiny(s):
    choice = s.data(TINY)
    s.note(f"rows {0 if choice.table is None else choice.table.shape[0]}")


def data_claim():
    return Claim(id="reads-tiny", title="reads a data set", source=Source("test", "none"),
                 bound=Bound.tight("x", 1), experiment=_reads_tiny)


def test_the_report_records_the_data_used(tmp_path):
    path = tiny_file(tmp_path)
    stand_in = claim_to_json(run_claim(data_claim(), RunConfig(scale="paper")))
    given_file = claim_to_json(run_claim(data_claim(), RunConfig(data=(("tiny", str(path)),))))
    assert f"data used (tiny): {STAND_IN}" in json.dumps(stand_in["layers"])
    assert stand_in["environment"]["scale"] == "paper" and stand_in["environment"]["data"] == []
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert given_file["environment"]["data"] == [{"name": "tiny", "path": str(path),
                                                  "sha256": digest}]
    assert digest in json.dumps(given_file["layers"]) and "rows 3" in json.dumps(given_file)


# -- reports -----------------------------------------------------------------------------------

@pytest.mark.parametrize("quick, scale", [(True, "quick"), (False, "full")])
def test_an_old_report_without_a_scale_reruns_at_its_mode(quick, scale):
    environment = {"seed": 1, "precision_digits": 30, "device": "cpu", "dtype": "float64",
                   "quick": quick}
    assert recorded_config({"claim": "c", "environment": environment}).scale == scale


def test_a_paper_report_reruns_at_the_paper_scale_with_its_data(tmp_path):
    environment = {"seed": 1, "precision_digits": 30, "device": "cpu", "dtype": "float64",
                   "quick": False, "scale": "paper",
                   "data": [{"name": "tiny", "path": "/x.csv", "sha256": "ab"}]}
    config = recorded_config({"claim": "c", "environment": environment})
    assert config.scale == "paper" and config.data == (("tiny", "/x.csv"),)


# -- the plan ----------------------------------------------------------------------------------

def test_the_plan_names_every_claim_and_sums_the_estimates():
    ids = ["pwl-conditioning", "saddle-points", "my-own-claim"]
    lines = plan.plan_lines(ids)
    assert all(any(claim_id in line for line in lines) for claim_id in ids)
    expected = plan.FULL_RUN_SECONDS["pwl-conditioning"] * 5 + plan.FULL_RUN_SECONDS[
        "saddle-points"]
    assert f"total: ~{expected:,.0f} s serial; 1 claim(s)" in lines[-1]
    assert plan.claim_plan("my-own-claim").expected_s is None


def test_every_paper_size_names_a_measured_claim():
    assert set(plan.PAPER_SIZES) <= set(plan.FULL_RUN_SECONDS)
    assert all(sizes.growth >= 1 for sizes in plan.PAPER_SIZES.values())


# -- the command line --------------------------------------------------------------------------

@pytest.mark.parametrize("argv, scale", [([], None), (["--quick"], "quick"),
                                         (["--scale", "paper"], "paper")])
def test_scale_flags(argv, scale):
    assert cli.build_parser().parse_args(["all", *argv]).scale == scale


@pytest.mark.parametrize("argv, message", [
    (["--quick", "--scale", "full"], "not allowed with argument"),
    (["--scale", "huge"], "invalid choice"),
    (["--data", "uci-ethanol"], "must be NAME=PATH"),
    (["--data", "nonsense=/x.csv"], "no claim reads a data set of that name"),
    (["--data", "uci-ethanol={tmp}/absent.csv"], "no file at"),
    (["--data", "uci-ethanol={tmp}/tiny.csv"], "expected 2565 x 129"),
    (["--data", "uci-ethanol={tmp}/tiny.csv", "--data", "uci-ethanol={tmp}/tiny.csv"],
     "given twice"),
])
def test_bad_scale_or_data_is_one_line_and_exit_two(tmp_path, capsys, argv, message):
    tiny_file(tmp_path)
    out = tmp_path / "out"
    code = cli.main(["run", "saddle-points", "--out", str(out),
                     *(arg.format(tmp=tmp_path) for arg in argv)])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert not out.exists()
