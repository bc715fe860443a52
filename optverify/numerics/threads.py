"""The thread policy of a run: one torch intra-op thread per layer on the CPU, one BLAS thread
for numpy and scipy everywhere.

On a shared 2-core machine, torch's threaded kernels on tiny tensors wait on each other: the
experiments that run many small batched steps measured several times to 60x slower with the default
threads than with one. The thread count also decides how a large reduction is split, so it decides
the last bits of a sum (torch's reductions, OpenBLAS's products and LAPACK solves behind numpy):
a run is reproducible bit for bit only when every layer runs with the same counts wherever it runs,
whatever the machine's core count. The runner applies this policy to every layer, in this process and on every
Dask worker (`optverify.verify.parallel`); parallelism comes from tasks, not threads. Claims do not
set threads. The settings are global to the process, so they are scoped and restored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import scipy.linalg  # noqa: F401  (loads scipy's own OpenBLAS, so that the limits reach it too)
import torch
from threadpoolctl import threadpool_limits

CPU_THREADS = 1
"""Torch intra-op threads of a layer that runs on the CPU, and BLAS threads of every layer."""


def layer_threads(device: str) -> int:
    """The torch intra-op thread count for a layer on `device`: CPU_THREADS on the CPU, the
    process's current count elsewhere (a GPU layer's kernels do not run on these threads)."""
    return CPU_THREADS if device == "cpu" else torch.get_num_threads()


@contextmanager
def intra_op_threads(count: int) -> Iterator[None]:
    """Run a block with `count` torch intra-op threads; restore the previous setting after it."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def blas_threads() -> threadpool_limits:
    """CPU_THREADS threads for the BLAS libraries loaded (numpy's and scipy's OpenBLAS, two
    libraries: scipy's is loaded with this module); restores the previous counts when used as a
    context manager."""
    return threadpool_limits(limits=CPU_THREADS, user_api="blas")


@contextmanager
def single_threaded_on_cpu(device: str) -> Iterator[None]:
    """The run's thread policy for one layer: `layer_threads(device)` torch threads and
    CPU_THREADS BLAS threads for the block."""
    with intra_op_threads(layer_threads(device)), blas_threads():
        yield
