"""A layer that never returns."""

from dataclasses import replace

from tests.toy_claims import toy_claim


def _spin(s):
    while True:
        pass


CLAIM = replace(toy_claim("hostile-endless"), experiment=_spin)
