"""Runs a run's tasks on dask.distributed: a local cluster of worker processes, or an existing
cluster by its scheduler's address.

Every (claim, layer) is one task on a fresh session, as in the serial run; a layer's `s.map` becomes
tasks of its own, submitted from inside the layer's task through `distributed.worker_client`, which
secedes the layer's thread from the worker's pool while it waits (so a one-thread worker runs the
sub-tasks instead of deadlocking) and rejoins when they are done. Sub-tasks, rather than a layer
returning its pieces to the runner, keep a layer a plain function `layer(s) -> None`.

What makes the numbers the serial run's, bit for bit on the CPU: the same configuration, seeds
derived from purposes (never from worker order), the one torch thread policy of
`optverify.numerics.threads` set on each worker process at its start, and each layer run by the
same `runner.run_layer`. Claims travel as `references.ClaimReference`s: a built-in claim by id, a
claim file by path (the file must exist at that path on the worker), any other claim object by
cloudpickle. A layer that calls sys.exit gets its `error` check as in the serial run; one that
ends or crashes its worker process gets one saying the claim's process died (the local cluster
does not tell how: its worker's log has the exit status or signal).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dask
from distributed import Client, LocalCluster, WorkerPlugin, as_completed, worker_client
from distributed.scheduler import KilledWorker

from optverify.claim import Claim
from optverify.config import RunConfig
from optverify.numerics.threads import blas_threads, layer_threads
from optverify.results import Layer, LayerResult
from optverify.session import Progress, no_progress
from optverify.verify.references import ClaimReference, reference
from optverify.verify.runner import error_result, failed_layer, run_layer

CONNECT_TIMEOUT_S = 5
"""How long to wait for an existing scheduler before saying it cannot be reached."""

LOCAL_SCHEDULER = {
    "distributed.scheduler.allowed-failures": 0,
    "distributed.scheduler.worker-saturation": 1.0,
}
"""The local cluster's scheduler: a task that was on a worker when it died fails at once (no
retries: a claim that kills its worker would kill the next one too), and a worker holds only the
task it runs (the layer tasks form one task group, so the scheduler queues them), so that only the
task that killed it is blamed. A remote cluster's scheduler keeps its own settings (by default a
task is retried on 3 more workers, and a queued task can be blamed along with it)."""

DASK_TRIM_SETTING = "MALLOC_TRIM_THRESHOLD_"
"""Dask's nanny starts each worker with glibc's MALLOC_TRIM_THRESHOLD_ = 65536 (its
`distributed.nanny.pre-spawn-environ`, to hand memory back to the system). Setting it also turns
off glibc's adaptive mmap threshold, so every tensor over 128 KiB is mapped and unmapped afresh
and its pages faulted in again: `verify run depth-acceleration end-to-end-snr --quick --workers 2`
took 74 s (48 s of it in the kernel) with it and 34 s (4.6 s) without, on 2 idle cores (session
8). The local workers start without it; the other settings of that table are kept."""


def _worker_environment() -> dict:
    """The local workers' pre-spawn environment: Dask's, less DASK_TRIM_SETTING."""
    environment = dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}
    return {name: value for name, value in environment.items() if name != DASK_TRIM_SETTING}


TASK_GROUP = "optverify-layer"

SUBTASK_PRIORITY = 1
"""Dask priority of `s.map` items (layer tasks have 0; higher runs first)."""

# The local cluster's own log lines are silenced (logging.CRITICAL): what a user needs, a layer
# whose worker died, is in its report, and a Ctrl-C stops workers mid-task, which they log loudly.


class ClusterUnavailable(RuntimeError):
    """The cluster could not be started or reached; the message is one line for the user."""


def map_on_cluster(function: Callable[[Any], Any], items: Sequence[Any], description: str,
                   progress: Progress) -> list:
    """The mapper of a layer that runs on a worker: one task per item, results in item order.
    The items go ahead of the layer tasks still queued (a higher priority), so that a layer which
    fanned out finishes before new layers start, rather than waiting for them."""
    with worker_client() as client:
        return client.gather(client.map(function, items, pure=False, priority=SUBTASK_PRIORITY))


def run_shipped_layer(claim: ClaimReference, layer: Layer, config: RunConfig) -> LayerResult:
    """A (claim, layer) task, as a worker runs it."""
    loaded = claim.load()
    function = dict(loaded.layers())[layer]
    return run_layer(loaded, layer, function, config, no_progress, mapper=map_on_cluster)


class ThreadPolicy(WorkerPlugin):
    """A worker plugin: the run's torch and BLAS thread counts, set once on each worker process
    as it starts (and on the workers already there), so every layer and sub-task saves and
    restores the same counts whichever worker thread runs it."""

    name = "optverify-thread-policy"

    def __init__(self, device: str):
        self.device = device

    def setup(self, worker) -> None:
        import torch

        torch.set_num_threads(layer_threads(self.device))
        blas_threads()


class LeaveInterruptsToClient(WorkerPlugin):
    """A plugin for the local cluster's workers, which share the terminal's process group: Ctrl-C
    reaches them too, and they leave it to the client, which cancels the tasks and closes them."""

    name = "optverify-leave-interrupts-to-client"

    def setup(self, worker) -> None:
        with contextlib.suppress(ValueError):  # signals can be set on the main thread only
            signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass
class DaskExecutor:
    """Runs the tasks on a Dask cluster through `client`; see the module docstring."""

    client: Any

    def layers(self, claims: Sequence[Claim], config: RunConfig
               ) -> Iterator[tuple[int, Layer, LayerResult]]:
        self.client.register_plugin(ThreadPolicy(config.device), name=ThreadPolicy.name)
        run_id = uuid.uuid4().hex[:8]
        tasks = {}
        for index, claim in enumerate(claims):
            shipped = reference(claim)
            for layer, _ in claim.layers():
                key = f"{TASK_GROUP}-{run_id}-{claim.id}/{layer.value}"
                future = self.client.submit(run_shipped_layer, shipped, layer, config, key=key)
                tasks[future] = (index, layer)
        try:
            for future in as_completed(tasks):
                index, layer = tasks[future]
                yield index, layer, _outcome(future, claims[index], layer)
        finally:
            self.client.cancel(list(tasks))


def _outcome(future, claim: Claim, layer: Layer) -> LayerResult:
    """A finished task's result; a task the cluster could not finish becomes an `error` layer."""
    try:
        return future.result()
    except KilledWorker:
        return failed_layer(layer, f"the claim's process died while running {claim.id}/"
                                   f"{layer.value} (its Dask worker was lost: an exit, a crash or "
                                   "the out-of-memory killer)", 0.0)
    except Exception as error:  # e.g. the claim cannot be loaded on the worker
        return error_result(layer, error, 0.0)


@contextlib.contextmanager
def cluster_executor(workers: int | None = None, scheduler: str | None = None
                     ) -> Iterator[DaskExecutor]:
    """A `DaskExecutor` on `workers` local worker processes (one thread each), or on the existing
    cluster at `scheduler`. The client, and the local cluster, close when the block ends, also on
    Ctrl-C (the run's tasks are cancelled first)."""
    with _client(workers, scheduler) as client:
        yield DaskExecutor(client)


@contextlib.contextmanager
def _client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as error:
            raise ClusterUnavailable(f"cannot reach the Dask scheduler at {scheduler} within "
                                     f"{CONNECT_TIMEOUT_S} s: {error}") from None
        with client:
            yield client
        return
    settings = {**LOCAL_SCHEDULER, "distributed.nanny.pre-spawn-environ": _worker_environment()}
    with dask.config.set(settings), _stdout_to_stderr():
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.CRITICAL)
    with cluster, Client(cluster) as client:
        client.register_plugin(LeaveInterruptsToClient(), name=LeaveInterruptsToClient.name)
        try:
            yield client
        except KeyboardInterrupt:
            _quiet_shutdown()
            raise


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """File descriptor 1 points at stderr for the block: the local workers started in it inherit
    that, so what a claim prints on a worker reaches stderr, never the summary (`--json`) on
    stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _quiet_shutdown() -> None:
    """On Ctrl-C the workers go down mid-task; the scheduler's complaints about it (lost
    connections, never-retrieved futures) are noise to a user who asked it to stop."""
    for name in ("distributed", "asyncio", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
