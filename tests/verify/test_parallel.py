"""Runs on dask.distributed: a real scheduler and worker on 127.0.0.1 (and `--workers 2`) give the
serial run's report.json, bit for bit except wall times; a worker that dies makes its claim `error`
and the other claims finish; `s.map` gives the in-process values on the cluster."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from optverify.config import RunConfig
from optverify.results import Layer
from optverify.session import Session
from optverify.verify import cli

pytest.importorskip("distributed")

from optverify.verify import parallel  # noqa: E402  (needs distributed)

ROOT = Path(__file__).resolve().parents[2]

TOY_FILE = """
from tests.toy_claims import toy_claim

CLAIM = toy_claim({claim_id!r}, measured_exponent={exponent})
"""

MAPPED_FILE = '''
import numpy as np

from optverify.kit import Bound, Claim, Session, Source


def experiment(s: Session) -> None:
    x = np.geomspace(1, 100, 6)

    def measured(xi):
        noise = s.rng(f"noise-{xi:.6g}").normal(0, 0.01)
        return float(xi**2 * np.exp(noise))

    y = s.map(measured, list(x), "points")
    s.rate("square-rate", "y = Theta(x^2)", x, y, main=True, rules_out=3.0)


CLAIM = Claim(id="toy-mapped", title="Toy s.map claim", source=Source("Nobody", "Toy 2"),
              bound=Bound.tight("x", 2), experiment=experiment)
'''

DYING_FILE = '''
import os

from optverify.kit import Bound, Claim, Session, Source


def experiment(s: Session) -> None:
    os._exit(1)  # only ever run on a Dask worker


def symbolic(s: Session) -> None:
    import sympy

    x = sympy.Symbol("x")
    s.zero("expansion", "(x+1)^2 = x^2 + 2x + 1", (x + 1) ** 2 - x**2 - 2 * x - 1)


CLAIM = Claim(id="toy-dying", title="Toy claim that kills its worker",
              source=Source("Nobody", "Toy 3"), bound=Bound.tight("x", 2),
              symbolic=symbolic, experiment=experiment)
'''


def without_durations(value):
    """A report with its wall times dropped: everything else must match bit for bit."""
    if isinstance(value, dict):
        return {key: without_durations(item) for key, item in value.items() if key != "wall_s"}
    if isinstance(value, list):
        return [without_durations(item) for item in value]
    return value


def reports(folder: Path) -> dict[str, dict]:
    return {path.parent.name: without_durations(json.loads(path.read_text()))
            for path in sorted(folder.glob("*/report.json"))}


def verify(*argv: str) -> int:
    return cli.main([*argv, "--quick", "--progress", "off", "--device", "cpu"])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"no scheduler on port {port} after {seconds} s")


@pytest.fixture(scope="module")
def scheduler():
    """`dask scheduler` and one one-thread `dask worker` (with its nanny, which restarts it when
    it dies) as subprocesses on 127.0.0.1; yields the scheduler's address once the worker is in."""
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
        "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0"}
    started = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                                 "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                cwd=ROOT, env=environment, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)]
    try:
        _wait_for_port(port, 60)
        started.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
             "--no-dashboard", "--host", "127.0.0.1"],
            cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with Client(address, timeout=30) as client:
            client.wait_for_workers(1, timeout=90)
        yield address
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def claim_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("claims")
    files = {"consistent": TOY_FILE.format(claim_id="toy-file-consistent", exponent=2.0),
             "violated": TOY_FILE.format(claim_id="toy-file-violated", exponent=3.0),
             "mapped": MAPPED_FILE, "dying": DYING_FILE}
    for name, text in files.items():
        (folder / f"{name}.py").write_text(text)
    return {name: folder / f"{name}.py" for name in files}


@pytest.fixture(scope="module")
def serial_reports(claim_files, tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("serial")
    code = verify("run", str(claim_files["consistent"]), str(claim_files["violated"]),
                  str(claim_files["mapped"]), "saddle-points", "--out", str(out))
    assert code == 1  # toy-file-violated
    return reports(out)


def test_a_scheduler_on_localhost_gives_the_serial_reports(scheduler, claim_files,
                                                            serial_reports, tmp_path):
    code = verify("run", str(claim_files["consistent"]), str(claim_files["violated"]),
                  str(claim_files["mapped"]), "saddle-points", "--scheduler", scheduler,
                  "--out", str(tmp_path))
    assert code == 1
    assert set(serial_reports) == {"toy-file-consistent", "toy-file-violated", "toy-mapped",
                                   "saddle-points"}
    assert reports(tmp_path) == serial_reports


def test_two_local_workers_give_the_serial_reports(claim_files, serial_reports, tmp_path):
    files = [str(claim_files[name]) for name in ("consistent", "violated", "mapped")]
    assert verify("run", *files, "--workers", "2", "--out", str(tmp_path), "--progress", "on") == 1
    parallel = reports(tmp_path)
    assert parallel == {name: serial_reports[name] for name in parallel} and len(parallel) == 3


def test_a_worker_that_dies_makes_its_claim_an_error_and_the_others_finish(
        scheduler, claim_files, tmp_path):
    code = verify("run", str(claim_files["dying"]), str(claim_files["consistent"]),
                  "--scheduler", scheduler, "--out", str(tmp_path))
    assert code == 3
    found = reports(tmp_path)
    assert found["toy-file-consistent"]["verdict"] == "consistent"
    dying = found["toy-dying"]
    assert dying["verdict"] == "error"
    experiment = next(layer for layer in dying["layers"] if layer["layer"] == "experiment")
    assert "the claim's process died while running toy-dying/experiment" in experiment["error"]
    symbolic = next(check for check in dying["checks"] if check["layer"] == "symbolic")
    symbolic_layer = next(layer for layer in dying["layers"] if layer["layer"] == "symbolic")
    if symbolic["verdict"] == "error":
        # A remote scheduler may hand the one worker the symbolic task behind the dying one (its
        # own queuing, parallel.LOCAL_SCHEDULER's docstring): then it is blamed with it, by name.
        assert "died" in symbolic_layer["error"]
    else:
        assert symbolic["verdict"] == "consistent"


def test_the_progress_bar_counts_finished_layers_in_any_order():
    from rich.console import Console
    from rich.progress import Progress

    from tests.toy_claims import CONSISTENT, VIOLATED

    bar = Progress(console=Console(quiet=True))
    display = cli._ProgressDisplay(bar, [CONSISTENT, VIOLATED])
    finished = [(VIOLATED, Layer.NUMERIC), (CONSISTENT, Layer.EXPERIMENT),
                (VIOLATED, Layer.SYMBOLIC)]
    for claim, layer in finished:
        display.on_layer_done(claim, layer)
    overall = bar.tasks[0]
    assert (overall.completed, overall.total) == (3, 6)
    assert overall.description == "toy-violated: symbolic done"


def test_session_map_in_process_keeps_item_order_and_shows_progress():
    seen = []

    def progress(items, description=""):
        seen.append((description, len(items)))
        return items

    session = Session(RunConfig(), Layer.EXPERIMENT, progress=progress)
    assert session.map(lambda n: n * n, range(5), "squares") == [0, 1, 4, 9, 16]
    assert seen == [("squares", 5)]


def test_session_map_on_the_cluster_equals_in_process(scheduler):
    from distributed import Client

    from optverify.verify.parallel import map_on_cluster

    def seeded(session: Session):
        return lambda n: float(session.rng(f"item-{n}").normal(size=n).sum())

    items = [3, 1, 4, 1, 5]
    here = Session(RunConfig(seed=7), Layer.EXPERIMENT)
    expected = here.map(seeded(here), items)

    def on_worker() -> list[float]:
        there = Session(RunConfig(seed=7), Layer.EXPERIMENT, mapper=map_on_cluster)
        return there.map(seeded(there), items)

    with Client(scheduler, timeout=30) as client:
        assert client.submit(on_worker, pure=False).result() == expected
    assert np.unique(expected).size == 4  # items 1 and 1 share a purpose, the others do not


def test_an_unreachable_scheduler_is_one_line_and_exit_two(capsys, tmp_path):
    code = verify("run", "saddle-points", "--scheduler", f"tcp://127.0.0.1:{_free_port()}",
                  "--out", str(tmp_path))
    err = capsys.readouterr().err.strip()
    assert code == 2 and "cannot reach the Dask scheduler" in err
    assert err.startswith("verify: error:") and "\n" not in err


@pytest.mark.parametrize("workers", ["0", "-1", "two", "1.5"])
def test_bad_worker_counts_are_refused(workers, capsys, tmp_path):
    code = verify("run", "saddle-points", "--workers", workers, "--out", str(tmp_path))
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--workers" in err and "\n" not in err


def test_workers_and_scheduler_exclude_each_other(capsys, tmp_path):
    code = verify("run", "saddle-points", "--workers", "2", "--scheduler", "tcp://x:1",
                  "--out", str(tmp_path))
    assert code == 2 and "not allowed with" in capsys.readouterr().err



def test_local_workers_start_without_dasks_malloc_trim_setting():
    """Dask's MALLOC_TRIM_THRESHOLD_ pins glibc's mmap threshold (tensors mapped afresh at every
    step: twice the wall time of a two-worker run); the local workers drop it, keep the rest."""
    with parallel.cluster_executor(workers=1) as executor:
        environment = executor.client.run(lambda: dict(os.environ))
    (worker_environment,) = environment.values()
    assert "MALLOC_TRIM_THRESHOLD_" not in worker_environment
    assert worker_environment.get("OMP_NUM_THREADS") == "1"
