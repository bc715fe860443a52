"""A layer that prints 8 MiB on stdout and stderr, including text that would break JSON, and then
measures normally."""

import os
import sys
from dataclasses import replace

from tests.toy_claims import _measured_square, toy_claim

LINE = "{not json] printed by the claim " + "x" * 990 + "\n"


def _loud(s):
    for _ in range(4096):
        sys.stdout.write(LINE)
        sys.stderr.write(LINE)
    os.write(1, b"written to file descriptor 1 directly\n")
    _measured_square(s, 2.0)


CLAIM = replace(toy_claim("hostile-prints-a-lot"), experiment=_loud)
