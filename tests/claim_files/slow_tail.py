"""A false claim whose sweep curves: y = T^-0.9 + 0.01 T^-0.2 claimed O(T^-1/2).

The local slopes climb from -0.86 to -0.32 over T = 10..1e4 and the true tail is T^-0.2, so the
bound is false; a judge that took the small-T slope for the asymptote called it consistent
(issue 18). `verify run` must not."""

import numpy as np

from optverify.kit import Bound, Claim, Session, Source

BOUND = Bound.upper("T", -0.5)


def experiment(s: Session) -> None:
    t = np.geomspace(10, 1e4, 10)
    s.rate("error-vs-T", "error = O(T^-1/2)", t, t**-0.9 + 0.01 * t**-0.2, main=True)


CLAIM = Claim(id="slow-tail", title="A slow tail called O(T^-1/2)",
              source=Source("optverify tests", "issue 18, done-when 1", ""), bound=BOUND,
              experiment=experiment)
