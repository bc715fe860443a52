"""A layer whose process gets SIGKILL, as from the out-of-memory killer."""

import os
import signal
from dataclasses import replace

from tests.toy_claims import toy_claim


def _killed(s):
    os.kill(os.getpid(), signal.SIGKILL)


CLAIM = replace(toy_claim("hostile-killed"), experiment=_killed)
