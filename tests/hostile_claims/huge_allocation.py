"""A layer that asks for 2^50 bytes (a pebibyte) at once."""

from dataclasses import replace

from tests.toy_claims import toy_claim


def _allocate(s):
    return bytearray(1 << 50)


CLAIM = replace(toy_claim("hostile-huge-allocation"), experiment=_allocate)
