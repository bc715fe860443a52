"""Child processes that end with their parent: a helper or worker process asks Linux to kill it
(SIGKILL) when the process that started it dies, so that a `verify` killed outright (SIGKILL, the
OOM killer) leaves nothing behind; the multiprocessing resource tracker then sees its last pipe
close and exits too.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal this process gets when its parent (the thread that forked it) ends."""


def die_with_parent(parent_pid: int) -> None:
    """Be killed when `parent_pid` ends (Linux: PR_SET_PDEATHSIG); elsewhere nothing is set. If
    the parent is already gone (it died before this call), exit at once."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)
