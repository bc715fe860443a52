"""Draw a run's figures in one helper process while the next claim runs.

A figure takes 0.3-1 s of matplotlib (text layout of the tick labels, mostly), about a quarter of
a quick run. In a serial run every layer keeps to one thread (`optverify.numerics.threads`), so
on a machine with a second core the figures are drawn there: `submit` hands a `Figure` to a
spawned helper process and returns a future of its PNG bytes. Only drawing happens there; the
report folder is written and swapped in by this process (`optverify.verify.report`), so the
atomic writes, the folder lock and the signal handling stay in one place. The helper ignores
SIGINT and SIGTERM (a Ctrl-C reaches the whole process group; this process decides) and dies
with this process (`lifeline.die_with_parent`; the resource tracker then exits too). If the
helper dies, the figure is drawn here instead: the PNG is the same either way (same matplotlib,
same code, no state).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from optverify.results import Figure
from optverify.verify import lifeline
from optverify.verify.plots import figure_png

_helper: ProcessPoolExecutor | None = None


def usable_cores() -> int:
    """How many cores this process may use (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no sched_getaffinity (macOS)
        return os.cpu_count() or 1


def spare_core() -> bool:
    """Whether this process may use more than one core."""
    return usable_cores() > 1


def _pool() -> ProcessPoolExecutor:
    global _helper
    if _helper is None:
        _helper = ProcessPoolExecutor(max_workers=1, initializer=lifeline.start_helper,
                                      initargs=(os.getpid(),),
                                      mp_context=multiprocessing.get_context("spawn"))
    return _helper


def submit(figure: Figure) -> Future:
    """A future of `figure` drawn to PNG bytes in the helper process (started on first use)."""
    global _helper
    try:
        return _pool().submit(figure_png, figure)
    except (BrokenProcessPool, RuntimeError):  # a helper that died (or was shut down): a new one
        _helper = None
        return _pool().submit(figure_png, figure)


def png_of(figure: Figure, drawing: Future) -> bytes:
    """The PNG bytes `drawing` promised for `figure`; drawn here if the helper died meanwhile."""
    try:
        return drawing.result()
    except BrokenProcessPool:
        return figure_png(figure)


def stop() -> None:
    """Cancel the drawings not yet started and let the helper go (an interrupted run): the helper
    finishes the figure it is drawing and exits; the next `submit` starts a new one."""
    global _helper
    if _helper is not None:
        _helper.shutdown(wait=False, cancel_futures=True)
        _helper = None
