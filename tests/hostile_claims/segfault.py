"""A layer that crashes the interpreter: it reads address 0 through ctypes (SIGSEGV)."""

import ctypes
from dataclasses import replace

from tests.toy_claims import toy_claim


def _crash(s):
    ctypes.string_at(0)


CLAIM = replace(toy_claim("hostile-segfault"), experiment=_crash)
