"""The `verify` command: smoke runs, exit codes, and one-line errors on bad input."""

import json
import subprocess
import sys

import pytest

from optverify.verify import cli, report
from optverify.verify.runner import run_claim
from optverify.verify.serialize import claim_to_json
from tests.toy_claims import CONSISTENT, RAISING, VIOLATED, install_toy_registry


@pytest.fixture
def toy_registry(monkeypatch):
    return install_toy_registry(monkeypatch, (CONSISTENT, VIOLATED, RAISING))


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_names_every_claim(toy_registry, capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0 and "toy-consistent" in out and "Toy theorem 1" in out


def test_run_consistent_writes_reports_and_exits_zero(toy_registry, capsys, tmp_path):
    code, out, err = run_cli(capsys, "run", "toy-consistent", "--quick", "--out", str(tmp_path),
                             "--progress", "off", "--device", "cpu")
    assert code == 0, err
    assert "toy-consistent" in out and "consistent" in out
    assert (tmp_path / "toy-consistent" / "report.json").exists()
    assert (tmp_path / "summary.md").exists()


def test_all_with_a_violation_and_an_error_exits_one(toy_registry, capsys, tmp_path):
    code, out, _ = run_cli(capsys, "all", "--out", str(tmp_path), "--json")
    summary = json.loads(out)
    assert code == 1 and summary["exit_code"] == 1
    assert {c["claim"]: c["verdict"] for c in summary["claims"]} == {
        "toy-consistent": "consistent", "toy-violated": "violated", "toy-raising": "error"}
    assert (tmp_path / "toy-raising" / "report.json").exists()


def test_an_error_alone_exits_three(toy_registry, capsys, tmp_path):
    code, _, _ = run_cli(capsys, "run", "toy-raising", "toy-consistent", "--out", str(tmp_path))
    assert code == 3


def test_progress_bar_runs(toy_registry, capsys, tmp_path):
    code, _, err = run_cli(capsys, "run", "toy-consistent", "--out", str(tmp_path),
                           "--progress", "on")
    assert code == 0 and "done" in err and "3/3" in err


@pytest.fixture
def bad_files(tmp_path):
    """Files for the bad-input matrix: `{out}` a fresh folder, `{blocker}` a plain file, and
    report.json files that cannot be rerun."""
    record = claim_to_json(run_claim(CONSISTENT))
    files = {"out": tmp_path / "r", "blocker": tmp_path / "file", "tmp": tmp_path}
    files["blocker"].write_text("")
    (tmp_path / "empty").mkdir()
    (tmp_path / "truncated.json").write_text(json.dumps(record)[:200])
    (tmp_path / "other.json").write_text(json.dumps({"claim": "x", "checks": []}))
    for name, changes in {
        "unknown": {"claim": "toy-nonexistent", "origin": "built-in"},
        "gone": {"claim": "mine", "origin": f"file {tmp_path / 'gone.py'}"},
        "on-cuda": {"environment": {**record["environment"], "device": "cuda"}},
    }.items():
        (tmp_path / f"{name}.json").write_text(json.dumps({**record, **changes}))
    return files


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "toy-consistant", "--out", "{out}"], "did you mean toy-consistent"),
        (["all", "--precision", "5", "--out", "{out}"], "between 10 and 2000"),
        (["all", "--precision", "100000", "--out", "{out}"], "between 10 and 2000"),
        (["all", "--precision", "-3", "--out", "{out}"], "between 10 and 2000"),
        (["all", "--seed", "abc", "--out", "{out}"], "must be an integer seed"),
        (["all", "--seed", "-1", "--out", "{out}"], "non-negative"),
        (["all", "--device", "tpu", "--out", "{out}"], "invalid choice"),
        (["all", "--device", "cuda", "--out", "{out}"], "no CUDA GPU"),
        (["all", "--dtype", "float16", "--out", "{out}"], "invalid choice"),
        (["all", "--out", "{blocker}/sub"], "cannot write reports"),
        (["all", "--seeds", "0", "--out", "{out}"], "must be an integer >= 1, got 0"),
        (["run", "toy-consistent", "--seeds", "-2", "--out", "{out}"], ">= 1"),
        (["all", "--seeds", "1.5", "--out", "{out}"], "must be an integer number of seeds"),
        (["all", "--seeds", "--out", "{out}"], "expected one argument"),
        ([], "required"),
        (["rerun"], "required"),
        (["rerun", "{tmp}/missing.json"], "no report"),
        (["rerun", "{tmp}/empty"], "no report.json in"),
        (["rerun", "{tmp}/truncated.json"], "is not valid JSON"),
        (["rerun", "{tmp}/other.json"], "not an optverify claim report"),
        (["rerun", "{tmp}/unknown.json"], "unknown claim 'toy-nonexistent'"),
        (["rerun", "{tmp}/gone.json"], "the claim file of mine is gone"),
        (["rerun", "{tmp}/on-cuda.json"], "no CUDA GPU here"),
        (["rerun", "{tmp}/truncated.json", "--seeds", "2"], "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_line_and_exit_two(toy_registry, bad_files, capsys, monkeypatch, argv,
                                            message):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, out, err = run_cli(capsys, *(arg.format(**bad_files) for arg in argv))
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not bad_files["out"].exists() and out == ""


def test_seeds_replicate_each_claim_and_report_the_spread(toy_registry, capsys, tmp_path):
    code, out, err = run_cli(capsys, "run", "toy-consistent", "toy-violated", "--seeds", "3",
                             "--seed", "4", "--out", str(tmp_path), "--progress", "off")
    assert code == 1, err
    data = json.loads((tmp_path / "toy-consistent" / "report.json").read_text())
    replicates = data["replicates"]
    assert replicates["seeds"] == [4, 5, 6] and replicates["split"] == "consistent 3/3"
    spread = replicates["exponents"][0]
    assert spread["check"] == "square-rate" and len(spread["exponents"]) == 3
    assert spread["min"] <= spread["mean"] <= spread["max"]
    assert spread["pooled_low"] < spread["mean"] < spread["pooled_high"]
    assert data["environment"]["seed"] == 4 and data["verdict"] == "consistent"
    markdown = (tmp_path / "toy-violated" / "report.md").read_text()
    assert "## Seed replicates" in markdown and "violated 3/3" in markdown
    assert "| square-rate | 3 |" in markdown


def test_console_entry_point_and_module_run():
    for command in (["verify", "list"], [sys.executable, "-m", "optverify", "list"]):
        completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert completed.returncode == 0, completed.stderr
        assert "optverify claims" in completed.stdout


def test_an_internal_error_is_one_line_and_exit_three(toy_registry, capsys, tmp_path, monkeypatch):
    def broken(self, result):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(report.ClaimReports, "add", broken)
    code, _, err = run_cli(capsys, "run", "toy-consistent", "--out", str(tmp_path),
                           "--progress", "off")
    assert code == 3 and err.count("\n") == 1 and "disk on fire" in err
