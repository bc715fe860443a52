"""Child processes that end with their parent: a helper or worker process asks Linux to kill it
(SIGKILL) when the process that started it dies, so that a `verify` killed outright (SIGKILL, the
OOM killer) leaves nothing behind; the multiprocessing resource tracker then sees its last pipe
close and exits too.

This module imports nothing heavy: a spawned child sets its parent-death signal first, before it
imports torch or matplotlib (seconds on a busy machine, a window in which the parent may die).
"""

from __future__ import annotations

import ctypes
import importlib
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal this process gets when its parent (the thread that forked it)
ends."""


def die_with_parent(parent_pid: int) -> None:
    """Be killed when `parent_pid` ends (Linux: PR_SET_PDEATHSIG); elsewhere nothing is set. If
    the parent is already gone (it died before this call), exit at once."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)


def start_helper(parent_pid: int) -> None:
    """A pool helper's initializer: die with the parent, and leave SIGINT and SIGTERM to it (a
    Ctrl-C reaches the whole process group; the parent decides)."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def run_as_child(parent_pid: int, module: str, function: str, *args) -> None:
    """A spawned process's target: die with the parent, then import `module` and call its
    `function(*args)`."""
    die_with_parent(parent_pid)
    getattr(importlib.import_module(module), function)(*args)
