"""Claim files that exit, crash, hang, allocate without bound or print without end run beside two
good claims in one `verify run --json`: the good ones report normally, each hostile one is its
claim's `error` with the reason, the run exits 3 and its JSON parses. Killing `verify` outright
leaves no process of it behind."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from optverify.verify.isolation import LOG_LIMIT_BYTES

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "tests" / "hostile_claims"
TIMEOUT_S = 10
"""The run's --timeout: far above a toy layer's time (well under a second), so only the endless
layer reaches it."""


def _line_of(path: Path, marker: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1)
                if marker in line)


EXPECTED = {
    "hostile-exit-zero": ["called sys.exit(0)", "exit_zero.py:10"],
    "hostile-exit-one": ["called sys.exit(1)", "exit_one.py:10"],
    "hostile-exit-message": ["sys.exit('giving up on this claim')", "exit_message.py:10"],
    "hostile-os-exit": ["the claim's process exited with status 0"],
    "hostile-segfault": ["killed by signal SIGSEGV (a segmentation fault)", "segfault.py:10"],
    "hostile-killed": ["killed by signal SIGKILL"],
    "hostile-huge-allocation": ["MemoryError", "huge_allocation.py:9"],
    "hostile-bad-data": ["fit needs finite x and y values",
                         f"bad_data.py:{_line_of(HOSTILE / 'bad_data.py', 'BAD-DATA-LINE')};"
                         " raised in "],
    "hostile-endless": [f"did not finish in {TIMEOUT_S} s"],
}
"""Each hostile claim's experiment error: its reason, and the claim's own line where it has
one."""

ORDER = ["good_one", "exit_zero", "exit_one", "exit_message", "os_exit", "segfault", "killed",
         "huge_allocation", "bad_data", "prints_a_lot", "endless", "good_two"]


def _environment(**extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile")
    completed = subprocess.run(
        [sys.executable, "-m", "optverify", "run", *(str(HOSTILE / f"{name}.py") for name in ORDER),
         "--timeout", str(TIMEOUT_S), "--json", "--device", "cpu", "--out", str(out)],
        cwd=ROOT, env=_environment(), capture_output=True, text=True, timeout=600)
    return completed, out


def _report(out: Path, claim: str) -> dict:
    return json.loads((out / claim / "report.json").read_text())


def test_the_run_exits_three_and_its_json_parses(hostile_run):
    completed, _ = hostile_run
    assert completed.returncode == 3, completed.stderr[-2000:]
    summary = json.loads(completed.stdout)
    assert summary["exit_code"] == 3
    assert [claim["claim"] for claim in summary["claims"]] == [
        ("" if name.startswith("good") else "hostile-") + name.replace("_", "-") for name in ORDER]
    assert "Traceback" not in completed.stderr


def test_every_claim_reports_with_its_verdict(hostile_run):
    completed, out = hostile_run
    summary = json.loads(completed.stdout)
    verdicts = {claim["claim"]: claim["verdict"] for claim in summary["claims"]}
    assert verdicts == {"good-one": "consistent", "good-two": "consistent",
                        "hostile-prints-a-lot": "consistent",
                        **{claim: "error" for claim in EXPECTED}}
    for claim in verdicts:
        assert (out / claim / "report.json").is_file()


@pytest.mark.parametrize("claim", sorted(EXPECTED))
def test_a_hostile_layer_is_an_error_with_its_reason_and_the_others_run(hostile_run, claim):
    _, out = hostile_run
    report = _report(out, claim)
    layers = {layer["layer"]: layer for layer in report["layers"]}
    assert layers["symbolic"]["error"] is None and layers["numeric"]["error"] is None
    failed = next(check for check in report["checks"] if check["name"] == "experiment-layer")
    assert failed["verdict"] == "error"
    for part in EXPECTED[claim]:
        assert part in failed["detail"], failed["detail"]
    assert all(check["verdict"] == "consistent" for check in report["checks"]
               if check["layer"] in ("symbolic", "numeric") and check["decisive"])


def test_the_good_claims_report_as_they_do_alone(hostile_run):
    _, out = hostile_run
    for claim in ("good-one", "good-two"):
        report = _report(out, claim)
        assert report["verdict"] == "consistent"
        assert all(layer["error"] is None for layer in report["layers"])
        assert not (out / claim / "log.txt").exists()  # they print nothing


def test_what_a_claim_prints_goes_to_its_log_cut_to_the_limit(hostile_run):
    completed, out = hostile_run
    assert "printed by the claim" not in completed.stdout + completed.stderr
    log = (out / "hostile-prints-a-lot" / "log.txt").read_text()
    assert log.startswith("== experiment layer ==\n{not json] printed by the claim")
    assert "bytes of output left out" in log
    assert log.rstrip().endswith("written to file descriptor 1 directly")
    assert len(log.encode()) < LOG_LIMIT_BYTES + 1000


def test_the_crash_traceback_is_in_the_claims_log(hostile_run):
    _, out = hostile_run
    log = (out / "hostile-segfault" / "log.txt").read_text()
    assert "Segmentation fault" in log and "segfault.py" in log


# -- clean ends ------------------------------------------------------------------------------------

WAITING = """import os, time
from dataclasses import replace
from pathlib import Path
from tests.toy_claims import toy_claim


def _wait(s):
    Path(os.environ["OPTVERIFY_TEST_STARTED"]).write_text("started")
    time.sleep(300)


CLAIM = replace(toy_claim("toy-waiting-forever"), experiment=_wait)
"""


def _processes_with(marker: str) -> list[int]:
    """The processes whose environment holds `marker` (every process a run starts inherits it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours
            continue
        if marker.encode() in environment.split(b"\0"):
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_of_verify_leaves_no_process_behind(tmp_path):
    claim = tmp_path / "waiting.py"
    claim.write_text(WAITING)
    started = tmp_path / "started"
    marker = f"OPTVERIFY_TEST_MARKER={uuid.uuid4().hex}"
    name, value = marker.split("=")
    process = subprocess.Popen(
        [sys.executable, "-m", "optverify", "run", str(HOSTILE / "good_one.py"), str(claim),
         "--device", "cpu", "--progress", "off", "--out", str(tmp_path / "out")],
        cwd=ROOT, env=_environment(OPTVERIFY_TEST_STARTED=str(started), **{name: value}),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not started.exists():
            assert process.poll() is None, "the run ended before its waiting claim started"
            assert time.monotonic() < deadline, "the waiting claim never started"
            time.sleep(0.1)
        alive = _processes_with(marker)
        # verify, its layer worker, the resource tracker (and the drawing helper on 2+ cores)
        assert process.pid in alive and len(alive) >= 3, alive
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        deadline = time.monotonic() + 20
        while _processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _processes_with(marker) == []
    finally:
        for pid in _processes_with(marker):
            os.kill(pid, signal.SIGKILL)


# -- what is refused before anything is written ----------------------------------------------------


def _cli(capsys, *argv):
    from optverify.verify import cli

    code = cli.main([*argv, "--device", "cpu", "--progress", "off"])
    out, err = capsys.readouterr()
    return code, out, err


GOOD = str(HOSTILE / "good_one.py")


def test_a_dangling_symlink_out_is_named_as_such(capsys, tmp_path):
    link = tmp_path / "reports"
    link.symlink_to(tmp_path / "missing")
    for out in (link, link / "sub"):
        code, stdout, err = _cli(capsys, "run", GOOD, "--out", str(out))
        assert code == 2 and stdout == "" and err.count("\n") == 1
        assert f"{link} is a symbolic link to {tmp_path / 'missing'}, which does not exist" in err
    assert not (tmp_path / "missing").exists()


def test_an_unreachable_scheduler_leaves_no_folder_and_no_lock(capsys, tmp_path):
    out = tmp_path / "out"
    code, _, err = _cli(capsys, "run", GOOD, "--scheduler", "tcp://127.0.0.1:9", "--out", str(out))
    assert code == 2 and "cannot reach the Dask scheduler" in err and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize("value, message", [
    ("abc", "must be a number of seconds"), ("0", "positive"), ("-5", "positive"),
    ("inf", "positive"), ("nan", "positive"),
])
def test_a_bad_timeout_is_one_line_and_exit_two(capsys, tmp_path, value, message):
    code, _, err = _cli(capsys, "run", GOOD, "--timeout", value, "--out", str(tmp_path / "out"))
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_timeout_with_a_cluster_is_refused_before_anything_is_written(capsys, tmp_path):
    code, _, err = _cli(capsys, "run", GOOD, "--timeout", "5", "--workers", "1",
                        "--out", str(tmp_path / "out"))
    assert code == 2 and "--timeout applies to serial runs" in err
    assert not (tmp_path / "out").exists()


def test_workers_are_capped_at_the_usable_cores_with_a_warning(capsys, monkeypatch):
    from optverify.verify import cli, drawing

    monkeypatch.setattr(drawing, "usable_cores", lambda: 2)
    assert cli._capped_workers(None) is None and cli._capped_workers(2) == 2
    assert capsys.readouterr().err == ""
    assert cli._capped_workers(1000) == 2
    assert capsys.readouterr().err == (
        "verify: warning: --workers 1000 is more than the 2 cores this process may use; "
        "running 2 workers\n")


CHATTY = """print("{not json] printed while the claim file is imported")
from tests.toy_claims import toy_claim

CLAIM = toy_claim("toy-chatty")
"""


def test_json_stays_parseable_when_a_claim_file_prints_as_it_is_imported(capsys, tmp_path):
    claim = tmp_path / "chatty.py"
    claim.write_text(CHATTY)
    code, out, err = _cli(capsys, "run", str(claim), "--json", "--out", str(tmp_path / "out"))
    assert code == 0, err
    assert json.loads(out)["claims"][0]["verdict"] == "consistent"
    assert "printed while the claim file is imported" in err


def test_json_stays_parseable_when_a_claim_prints_on_a_dask_worker(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "optverify", "run", str(HOSTILE / "prints_a_lot.py"), GOOD,
         "--workers", "1", "--json", "--device", "cpu", "--out", str(tmp_path)],
        cwd=ROOT, env=_environment(), capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-2000:]
    summary = json.loads(completed.stdout)
    verdicts = {claim["claim"]: claim["verdict"] for claim in summary["claims"]}
    assert verdicts == {"hostile-prints-a-lot": "consistent", "good-one": "consistent"}
    assert "printed by the claim" in completed.stderr
