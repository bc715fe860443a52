"""A log factor the claim does not state: y = log(T) / T claimed O(1/T) over T = 10..1e4.
`verify run` must not call it consistent (log(T)/T is not O(1/T))."""

import numpy as np

from optverify.kit import Bound, Claim, Session, Source

BOUND = Bound.upper("T", -1)


def experiment(s: Session) -> None:
    t = np.geomspace(10, 1e4, 10)
    s.rate("error-vs-T", "error = O(1/T)", t, np.log(t) / t, main=True)


CLAIM = Claim(id="unstated-log", title="log(T)/T called O(1/T)",
              source=Source("optverify tests", "issue 18, done-when 1", ""), bound=BOUND,
              experiment=experiment)
