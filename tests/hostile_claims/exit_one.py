"""A layer that calls sys.exit(1): it must not read as "a claim is violated"."""

import sys
from dataclasses import replace

from tests.toy_claims import toy_claim


def _exit(s):
    sys.exit(1)


CLAIM = replace(toy_claim("hostile-exit-one"), experiment=_exit)
