"""Run every layer in a child process, so that nothing a claim does can end or hang the run.

`verify` runs claim files it did not write. A layer that calls `os._exit`, crashes the
interpreter (a segfault in C code), is killed by the out-of-memory killer or never returns would,
in this process, end or hang the whole run with no report. Here each layer runs in a worker
process: the worker's death or a layer past its time limit becomes that layer's `error` check
with the reason in words ("killed by signal SIGSEGV (a segmentation fault)", "did not finish in
1800 s"), and the next layer runs on a fresh worker. (`sys.exit` is caught in the layer itself,
see `runner.run_layer`, and costs no worker.)

One worker runs the layers one after the other, as the in-process run does, so the numbers are
the same: the same `runner.run_layer` under the same thread policy. `verify` spawns it before it
resolves the claims (`prestart`: it imports torch and the kit meanwhile); it is replaced
at once when it dies (from then on a spare is kept starting, so that a second death costs no
wait), and stays parked for the next run of this process (the tests, a notebook).
A worker dies with its parent (`lifeline.die_with_parent`).

What a layer prints on stdout and stderr (its file descriptors, so C code's output too, and a
crash's Python traceback from `faulthandler`) goes to a log file this process reads back into
`LayerResult.log`; it never reaches this process's stdout, so `verify --json` stays parseable.
A layer's inner progress (`s.progress`) is forwarded as events (`RemoteProgress`).
"""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import multiprocessing
import os
import pickle
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Protocol

import cloudpickle

from optverify.claim import Claim
from optverify.config import RunConfig
from optverify.results import Layer, LayerResult
from optverify.verify import lifeline
from optverify.verify.references import ClaimReference, reference
from optverify.verify.runner import failed_layer, is_claim_code, run_layer

LAYER_TIMEOUT_S = 1800.0
"""The default time limit of one layer. The longest layer of a built-in claim in a full run takes
about 90 s on a 2-core machine (benchmarks/README.md), so 1800 s stops only a layer that hangs,
also on a machine several times slower."""

LOG_LIMIT_BYTES = 1 << 20
"""The most of one layer's output kept in its log: the first and the last half MiB, with the
number of bytes left out between them (a claim that prints without end fills no disk of reports)."""

STOP_GRACE_S = 0.5
"""How long a worker asked to end may take before it is killed (it may still be importing)."""

PROGRESS_INTERVAL_S = 0.1
"""The worker sends a layer's inner-loop progress at most this often (steps are added up)."""


def default_timeout(config: RunConfig) -> float | None:
    """The per-layer time limit when none is given: LAYER_TIMEOUT_S, none at the paper's scale
    (runs that may take hours by design)."""
    return None if getattr(config, "scale", None) == "paper" else LAYER_TIMEOUT_S


class RemoteProgress(Protocol):
    """Shows a worker's inner loops: `begin` a loop, `advance` it by some steps, `end` the
    innermost open loop."""

    def begin(self, description: str, total: int | None) -> None: ...

    def advance(self, steps: int) -> None: ...

    def end(self) -> None: ...


# -- the worker process ----------------------------------------------------------------------------


def _serve(connection: Connection) -> None:
    """A worker's life (after `lifeline.run_as_child`): run the tasks sent on `connection` until
    it closes or sends b""."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C reaches the group; the parent decides
    os.dup2(2, 1)  # output between layers (a claim's leftover thread) goes to stderr, never stdout
    faulthandler.enable(all_threads=False)  # a crash's traceback goes to fd 2, the layer's log
    loaded: dict[tuple[str, str, str], Claim] = {}
    while True:
        try:
            payload = connection.recv_bytes()
        except EOFError:
            return
        if not payload:
            return
        run_id, shipped, layer, config, log_path = cloudpickle.loads(payload)
        connection.send(("started",))
        with _output_to(log_path):
            result = _run_task(run_id, shipped, layer, config, loaded, connection)
        connection.send(("done", result))


def _run_task(run_id: str, shipped: ClaimReference, layer: Layer, config: RunConfig,
              loaded: dict[tuple[str, str, str], Claim], connection: Connection) -> LayerResult:
    """One layer in the worker; its claim is loaded once per run (a claim file is imported once)."""
    key = (run_id, shipped.kind, shipped.name)
    try:
        if key not in loaded:
            loaded.clear()
            loaded[key] = shipped.load()
        claim = loaded[key]
    except Exception as error:  # a claim file that no longer loads
        return failed_layer(layer, f"the claim could not be loaded again in its process: "
                                   f"{type(error).__name__}: {error}", 0.0)
    function = dict(claim.layers())[layer]
    return run_layer(claim, layer, function, config, _forwarding(connection))


@contextlib.contextmanager
def _output_to(log_path: str) -> Iterator[None]:
    """File descriptors 1 and 2 (print, C code, faulthandler) go to `log_path` for the block."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # a layer may have closed or replaced sys.stdout
            sys.stdout.flush()
            sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def _forwarding(connection: Connection) -> Callable[[Iterable, str], Iterable]:
    """The worker's `s.progress`: each loop's start, steps (at most every PROGRESS_INTERVAL_S)
    and end go to the parent."""

    def track(items: Iterable, description: str = "") -> Iterator:
        total = len(items) if hasattr(items, "__len__") else None
        connection.send(("begin", description, total))
        steps, sent = 0, time.monotonic()
        try:
            for item in items:
                yield item
                steps += 1
                if time.monotonic() - sent >= PROGRESS_INTERVAL_S:
                    connection.send(("advance", steps))
                    steps, sent = 0, time.monotonic()
        finally:
            if steps:
                connection.send(("advance", steps))
            connection.send(("end",))

    return track


# -- this process's side -------------------------------------------------------------------------


class _Worker:
    """A worker process and this end of its pipe."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child_end = context.Pipe(duplex=True)
        self.process = context.Process(target=lifeline.run_as_child,
                                       args=(os.getpid(), __name__, _serve.__name__, child_end),
                                       name="optverify-layer-worker", daemon=False)
        self.process.start()
        child_end.close()

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        """Ask the worker to end; kill it if it does not within a second."""
        with contextlib.suppress(OSError):
            self.connection.send_bytes(b"")
        self.process.join(STOP_GRACE_S)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.connection.close()


_parked: _Worker | None = None
"""A healthy worker left by the last run of this process, for the next one."""


def _take_worker() -> _Worker:
    global _parked
    worker, _parked = _parked, None
    if worker is not None and worker.alive():
        return worker
    if worker is not None:
        worker.kill()
    return _Worker()


def _park(worker: _Worker) -> None:
    global _parked
    if _parked is not None:
        _parked.stop()
    _parked = worker


def prestart() -> None:
    """Start a worker now and park it, so that it imports torch and the kit while this process
    resolves the claims (the next `Isolated` takes it)."""
    if _parked is None or not _parked.alive():
        _park(_Worker())


@atexit.register
def _stop_parked() -> None:
    global _parked
    if _parked is not None:
        _parked.stop()
        _parked = None


SIGNAL_REASONS = {
    "SIGSEGV": "a segmentation fault",
    "SIGBUS": "a bus error",
    "SIGFPE": "a floating-point exception in C code",
    "SIGILL": "an illegal instruction",
    "SIGABRT": "aborted, e.g. by a failed assertion in C code",
    "SIGKILL": "killed outright, e.g. by the out-of-memory killer",
    "SIGTERM": "terminated by another process",
}
"""Why a process gets a signal, in words, for the ones a claim's process is likely to die of."""


def death_message(exit_code: int | None) -> str:
    """How the claim's process ended, in words, from its exit code (negative: a signal)."""
    if exit_code is None:
        return "the claim's process stopped answering"
    if exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = f"signal {-exit_code}"
        reason = SIGNAL_REASONS.get(name)
        return f"the claim's process was killed by signal {name}" + (f" ({reason})" if reason
                                                                     else "")
    return (f"the claim's process exited with status {exit_code} before the layer returned "
            "(os._exit, or an exit from C code)")


_TRACEBACK_LINE = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)', re.MULTILINE)


def crash_location(log: str) -> str:
    """Where a crashed layer was in the claim's code: the first (most recent) frame of the claim's
    code in the last faulthandler traceback of its log, as " (at FILE:LINE)"; "" if none."""
    _, _, last = log.rpartition("Fatal Python error")
    for match in _TRACEBACK_LINE.finditer(last):
        if is_claim_code(match["file"]):
            return f" (at {match['file']}:{match['line']})"
    return ""


def read_log(path: Path, limit: int = LOG_LIMIT_BYTES) -> str:
    """The text of a layer's log file, at most `limit` bytes of it: its head and its tail."""
    size = path.stat().st_size
    with path.open("rb") as log:
        if size <= limit:
            data = log.read()
        else:
            head = log.read(limit // 2)
            log.seek(size - limit // 2)
            left_out = f"\n[... {size - 2 * (limit // 2)} bytes of output left out ...]\n"
            data = head + left_out.encode() + log.read()
    return data.decode("utf-8", errors="replace")


class Isolated:
    """The executor of `verify`'s serial run: each (claim, layer) in the worker process, one
    after the other, with `timeout` seconds each (None: no limit; see the module docstring).
    A context manager: the worker is started on entry and parked (or killed) on exit."""

    def __init__(self, timeout: float | None, progress: RemoteProgress | None = None,
                 on_layer: Callable[[Claim, Layer], None] | None = None) -> None:
        self.timeout = timeout
        self.progress = progress
        self.on_layer = on_layer
        self._worker: _Worker | None = None
        self._spare: _Worker | None = None

    def __enter__(self) -> Isolated:
        self._worker = _take_worker()
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if self._spare is not None:
            self._spare.kill()
            self._spare = None
        worker, self._worker = self._worker, None
        if worker is not None and kind is None and worker.alive():
            _park(worker)
        elif worker is not None:
            worker.kill()

    def layers(self, claims: Sequence[Claim], config: RunConfig
               ) -> Iterator[tuple[int, Layer, LayerResult]]:
        run_id = os.urandom(8).hex()
        for index, claim in enumerate(claims):
            shipped = reference(claim)
            for layer, _ in claim.layers():
                if self.on_layer is not None:
                    self.on_layer(claim, layer)
                yield index, layer, self._run(run_id, shipped, layer, config)

    def _run(self, run_id: str, shipped: ClaimReference, layer: Layer,
             config: RunConfig) -> LayerResult:
        if self._worker is None or not self._worker.alive():
            if self._worker is not None:
                self._worker.kill()
            self._worker = _Worker()
        start = time.perf_counter()
        handle, log_name = tempfile.mkstemp(prefix="optverify-layer-", suffix=".log")
        os.close(handle)
        log_path = Path(log_name)
        try:
            payload = cloudpickle.dumps((run_id, shipped, layer, config, log_name))
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            log_path.unlink()  # a claim object that cannot travel
            return failed_layer(layer, f"the claim cannot be sent to its process: "
                                       f"{type(error).__name__}: {error}", 0.0)
        try:
            outcome = self._send_and_wait(payload)
            log = read_log(log_path)
        finally:
            log_path.unlink()
        if isinstance(outcome, LayerResult):
            return replace(outcome, log=log)
        self._worker.kill()  # dead, stuck or out of step: the next layer gets a fresh one
        self._worker = self._spare if self._spare is not None and self._spare.alive() \
            else _Worker()
        self._spare = _Worker()  # a run that lost a worker may lose more: the next one is ready
        return replace(failed_layer(layer, outcome + crash_location(log),
                                    time.perf_counter() - start), log=log)

    def _send_and_wait(self, payload: bytes) -> LayerResult | str:
        """The layer's result, or why there is none."""
        worker = self._worker
        assert worker is not None
        try:
            worker.connection.send_bytes(payload)
        except OSError:
            worker.process.join(1.0)
            return death_message(worker.process.exitcode)
        deadline = None  # the time limit counts from the layer's start, not the worker's
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = wait([worker.connection, worker.process.sentinel], remaining)
            if not ready:
                return f"did not finish in {self.timeout:g} s; its process was stopped"
            if worker.connection not in ready:
                worker.process.join()
                return death_message(worker.process.exitcode)
            try:
                message = worker.connection.recv()
            except (EOFError, OSError):
                worker.process.join(1.0)
                return death_message(worker.process.exitcode)
            except Exception as error:  # a result that cannot be unpickled here
                return f"the layer's result could not be received: {type(error).__name__}: {error}"
            if message[0] == "done":
                return message[1]
            if message[0] == "started" and self.timeout is not None:
                deadline = time.monotonic() + self.timeout
            self._show(message)

    def _show(self, message: tuple[Any, ...]) -> None:
        if self.progress is None:
            return
        if message[0] == "begin":
            self.progress.begin(message[1], message[2])
        elif message[0] == "advance":
            self.progress.advance(message[1])
        elif message[0] == "end":
            self.progress.end()
