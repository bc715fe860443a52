"""A layer that ends its process with os._exit(0): no Python clean-up, no exception."""

import os
from dataclasses import replace

from tests.toy_claims import toy_claim


def _exit(s):
    os._exit(0)


CLAIM = replace(toy_claim("hostile-os-exit"), experiment=_exit)
