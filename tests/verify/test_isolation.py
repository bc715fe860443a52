"""The isolated serial run's parts: how a dead process is described, the log kept of a layer's
output, where a crash was in the claim's code, and the executor on toy claims (results equal to
the in-process run's, a time limit that stops a layer, progress forwarded from the child)."""

import ctypes
import signal
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from optverify.config import RunConfig
from optverify.results import Verdict
from optverify.verify import isolation
from optverify.verify.isolation import Isolated, crash_location, death_message, read_log
from optverify.verify.runner import run
from tests.toy_claims import CONSISTENT, RAISING, toy_claim


def test_death_messages_name_the_signal_or_the_exit_status():
    assert death_message(-signal.SIGSEGV) == (
        "the claim's process was killed by signal SIGSEGV (a segmentation fault)")
    assert "SIGKILL (killed outright, e.g. by the out-of-memory killer)" in death_message(-9)
    assert death_message(-signal.SIGUSR1) == "the claim's process was killed by signal SIGUSR1"
    assert death_message(0).startswith("the claim's process exited with status 0 ")
    assert "exited with status 7" in death_message(7)


@given(st.binary(max_size=400), st.integers(min_value=2, max_value=300))
def test_a_log_keeps_its_head_and_tail_within_the_limit(tmp_path_factory, data, limit):
    path = tmp_path_factory.mktemp("log") / "layer.log"
    path.write_bytes(data)
    text = read_log(path, limit)
    if len(data) <= limit:
        assert text == data.decode("utf-8", errors="replace")
        return
    half = limit // 2
    assert text.startswith(data[:half].decode("utf-8", errors="replace"))
    assert text.endswith(data[len(data) - half:].decode("utf-8", errors="replace"))
    assert f"[... {len(data) - 2 * half} bytes of output left out ...]" in text


def test_a_crash_is_located_at_the_claims_innermost_frame():
    log = ("earlier output\nFatal Python error: Segmentation fault\n\n"
           "Stack (most recent call first):\n"
           f'  File "{ctypes.__file__}", line 519 in string_at\n'
           '  File "/home/me/claims/mine.py", line 12 in _crash\n'
           f'  File "{isolation.__file__}", line 119 in _run_task\n')
    assert crash_location(log) == " (at /home/me/claims/mine.py:12)"
    assert crash_location("no traceback here") == ""


def test_the_default_time_limit_is_generous_and_none_at_the_papers_scale():
    config = RunConfig(quick=True)
    assert isolation.default_timeout(config) == isolation.LAYER_TIMEOUT_S >= 1800
    paper = type("PaperScale", (), {"scale": "paper"})()
    assert isolation.default_timeout(paper) is None


# -- the executor on toy claims (each test starts or reuses one worker process) -------------------


def _without_times(result):
    return [replace(layer, wall_s=0.0, log="") for claim in result.claims for layer in claim.layers]


def test_isolated_results_equal_the_in_process_ones():
    config = RunConfig(seed=2, quick=True)
    with Isolated(timeout=None) as executor:
        isolated = run([CONSISTENT, RAISING], config, executor=executor)
    here = run([CONSISTENT, RAISING], config)
    assert _without_times(isolated) == _without_times(here)
    assert [claim.verdict for claim in isolated.claims] == [Verdict.CONSISTENT, Verdict.ERROR]


def _sleeps(s):
    import time

    time.sleep(60)


def test_a_layer_past_its_time_limit_is_stopped_and_the_next_runs():
    sleeping = replace(toy_claim("toy-sleeping"), experiment=_sleeps)
    with Isolated(timeout=2.0) as executor:
        result = run([sleeping, CONSISTENT], RunConfig(quick=True), executor=executor)
    sleeping_result, consistent = result.claims
    assert sleeping_result.layers[2].error == "did not finish in 2 s; its process was stopped"
    assert sleeping_result.layers[0].error is None
    assert 2.0 <= sleeping_result.layers[2].wall_s < 30
    assert consistent.verdict is Verdict.CONSISTENT


class _Recorder:
    def __init__(self):
        self.events = []

    def begin(self, description, total):
        self.events.append(("begin", description, total))

    def advance(self, steps):
        self.events.append(("advance", steps))

    def end(self):
        self.events.append(("end",))


def test_inner_progress_is_forwarded_from_the_child():
    recorder = _Recorder()
    with Isolated(timeout=None, progress=recorder) as executor:
        run([CONSISTENT], RunConfig(quick=True), executor=executor)
    assert recorder.events[0] == ("begin", "points", 8)
    assert sum(event[1] for event in recorder.events if event[0] == "advance") == 8
    assert recorder.events[-1] == ("end",)


def test_a_claim_that_cannot_travel_to_its_process_is_an_error():
    import threading

    lock = threading.Lock()

    def _holds_a_lock(s):
        with lock:
            pass

    stuck = replace(toy_claim("toy-lock"), experiment=_holds_a_lock)
    with Isolated(timeout=None) as executor:
        result = run([stuck, CONSISTENT], RunConfig(quick=True), executor=executor)
    assert result.claims[0].layers[2].error.startswith(
        "the claim cannot be sent to its process: TypeError: cannot pickle")
    assert result.claims[1].verdict is Verdict.CONSISTENT
