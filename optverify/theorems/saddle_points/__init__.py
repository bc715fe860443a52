"""`saddle-points`: Newton is attracted to saddles, gradient descent escapes them in time
~ log(1/eps) / (eta |lambda_-|), saddle-free Newton escapes at a rate independent of the curvature,
and on random landscapes the index of a critical point grows with its loss.

Source: Dauphin, Pascanu, Gulcehre, Cho, Ganguli, Bengio (2014), arXiv:1406.2572, Section 3
(random-field landscapes, after Bray and Dean 2007), Section 4 (Newton's and GD's behaviour along
negative-curvature directions) and Section 5, Eq. (11) (saddle-free Newton); Goodfellow (2015
tutorial). Main bound: the GD escape time from a strict saddle, started eps off its stable
manifold, is Theta(log(1/eps)^1) (TIGHT, exponent 1; exactly log(R/eps) / log(1 + eta b) on a
quadratic saddle). The landscape statistics are finite-sample estimates over the critical points
that Newton finds, reported with their confidence intervals.
"""

from optverify.kit import Bound, Claim, Source
from optverify.theorems.saddle_points import experiment, numeric, statement

CLAIM = Claim(
    id="saddle-points",
    title="Newton is attracted to saddles, GD escapes in time ~ log(1/eps), saddle-free Newton "
    "escapes at a curvature-free rate",
    source=Source(
        paper="Dauphin, Pascanu, Gulcehre, Cho, Ganguli, Bengio (2014)",
        theorem="Sections 3-5, Eq. (11) (saddle-free Newton)",
        arxiv="1406.2572",
    ),
    bound=Bound.tight("log(1/eps)", 1),
    symbolic=statement.verify,
    numeric=numeric.verify,
    experiment=experiment.verify,
    assumptions=(
        ("a strict saddle: a non-degenerate critical point with at least one negative Hessian "
        "eigenvalue lambda_- = -b < 0"),
        ("GD with a fixed step eta (eta |lambda| < 2 on the positive directions), started eps off "
        "the stable manifold"),
        ("random landscapes: f = |x|^4/4 + V(x) with V an isotropic Gaussian cubic field; the "
        "critical points are those pure Newton finds from uniform starts"),
    ),
)
