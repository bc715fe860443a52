"""A true, tight claim with a large vanishing correction: y = T^-1/2 (1 + 5 T^-1/2) claimed
O(T^-1/2) over T = 10..1e4. `verify run` must call it consistent, without a "not tight" note."""

import numpy as np

from optverify.kit import Bound, Claim, Session, Source

BOUND = Bound.upper("T", -0.5)


def experiment(s: Session) -> None:
    t = np.geomspace(10, 1e4, 10)
    s.rate("error-vs-T", "error = O(T^-1/2)", t, t**-0.5 * (1 + 5 * t**-0.5), main=True)


CLAIM = Claim(id="tight-half", title="T^-1/2 with a 1/sqrt(T) correction",
              source=Source("optverify tests", "issue 18, done-when 1", ""), bound=BOUND,
              experiment=experiment)
