"""A layer that calls sys.exit(0): it must not end the run as a silent success."""

import sys
from dataclasses import replace

from tests.toy_claims import toy_claim


def _exit(s):
    sys.exit(0)


CLAIM = replace(toy_claim("hostile-exit-zero"), experiment=_exit)
