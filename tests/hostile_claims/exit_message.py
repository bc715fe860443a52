"""A layer that calls sys.exit with a message."""

import sys
from dataclasses import replace

from tests.toy_claims import toy_claim


def _exit(s):
    sys.exit("giving up on this claim")


CLAIM = replace(toy_claim("hostile-exit-message"), experiment=_exit)
