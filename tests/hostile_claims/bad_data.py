"""A layer that hands the kit a NaN: the error must name this file's line, not the kit's."""

from dataclasses import replace

import numpy as np

from tests.toy_claims import toy_claim


def _nan(s):
    x = np.geomspace(1, 100, 8)
    y = x**2
    y[3] = np.nan
    s.rate("nan-rate", "y = Theta(x^2)", x, y, main=True, rules_out=3.0)  # BAD-DATA-LINE


CLAIM = replace(toy_claim("hostile-bad-data"), experiment=_nan)
