"""The `verify` command: smoke runs, exit codes, and one-line errors on bad input."""

import json
import subprocess
import sys

import pytest

from optverify.verify import cli, discovery, registry
from tests.toy_claims import CONSISTENT, RAISING, VIOLATED


@pytest.fixture
def toy_registry(monkeypatch):
    claims = {claim.id: claim for claim in (CONSISTENT, VIOLATED, RAISING)}
    monkeypatch.setattr(registry, "BUILTIN_IDS", ())
    monkeypatch.setattr(registry, "builtin_claims", dict)
    monkeypatch.setattr(discovery, "entry_point_claims", lambda: claims)
    return claims


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


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "toy-consistant"], "did you mean toy-consistent"),
        (["all", "--precision", "5"], "between 10 and 2000"),
        (["all", "--precision", "100000"], "between 10 and 2000"),
        (["all", "--precision", "-3"], "between 10 and 2000"),
        (["all", "--seed", "abc"], "must be an integer seed"),
        (["all", "--seed", "-1"], "non-negative"),
        (["all", "--device", "tpu"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_input_is_one_line_and_exit_two(toy_registry, capsys, tmp_path, argv, message):
    code, out, err = run_cli(capsys, *argv, *(["--out", str(tmp_path / "r")] if argv else []))
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_cuda_without_gpu_is_refused(toy_registry, capsys, tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = run_cli(capsys, "all", "--device", "cuda", "--out", str(tmp_path / "r"))
    assert code == 2 and "no CUDA GPU" in err and not (tmp_path / "r").exists()


def test_unwritable_out_is_refused(toy_registry, capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli(capsys, "all", "--out", str(blocker / "sub"))
    assert code == 2 and "cannot write reports" in err


def test_console_entry_point_and_module_run():
    for command in (["verify", "list"], [sys.executable, "-m", "optverify", "list"]):
        completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert completed.returncode == 0, completed.stderr
        assert "optverify claims" in completed.stdout


def test_an_internal_error_is_one_line_and_exit_three(toy_registry, capsys, tmp_path, monkeypatch):
    def broken(result, out):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cli, "write_claim_report", broken)
    code, _, err = run_cli(capsys, "run", "toy-consistent", "--out", str(tmp_path))
    assert code == 3 and err.count("\n") == 1 and "disk on fire" in err
