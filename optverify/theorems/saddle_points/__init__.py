"""`saddle-points`: Newton is attracted to saddles, gradient descent escapes them in time
~ log(1/eps) / (eta |lambda_-|), saddle-free Newton escapes at a rate independent of the curvature,
and on random landscapes the index of a critical point grows with its loss.

Source: Dauphin, Pascanu, Gulcehre, Cho, Ganguli, Bengio (2014), arXiv:1406.2572, Section 3
(random-field landscapes, after Bray and Dean 2007), Section 4 (Newton's and GD's behaviour along
negative-curvature directions) and Section 5, Eq. (11) (saddle-free Newton); Goodfellow (2015
tutorial). Main bound: the GD escape time from a strict saddle, started eps off its stable
manifold, is Theta((1/eps)^0 log(1/eps)^1) (TIGHT; exactly log(R/eps) / log(1 + eta b) on a
quadratic saddle, where the fit only restates the closed form). It is decided on a non-quadratic
saddle without a closed form (quartic, coupled, cubic in the stable directions) from random starts,
on the steps beyond those from the largest eps (the transit's own steps cancel), against
log(1/eps)^2, (1/eps)^(+-1/4) and eps^(-1/2). The landscape statistics
are finite-sample estimates over the critical points that Newton finds, reported with their
confidence intervals and their completeness against the Kac-Rice expected counts (reported, not
decisive: the search misses saddles); "minima become exponentially rare" is decided on the
Kac-Rice expected counts of the same field (d = 2..12 quick, 2..48 full) against a power law, and
its form C d^alpha exp(-theta d^a) (1 + o(1)), a = 1 with the power prefactor free, against
exp(-theta d^2) and stretched or compressed forms a = 0.75, 1.25 (`decay_form`); the index-energy
relation at d = 50 against the Kac-Rice mean index at each energy.
"""

from optverify.kit import Bound, Claim, Source
from optverify.theorems.saddle_points import experiment, numeric, symbolic

CLAIM = Claim(
    id="saddle-points",
    title="Newton is attracted to saddles, GD escapes in time ~ log(1/eps), saddle-free Newton "
    "escapes at a curvature-free rate",
    source=Source(
        paper="Dauphin, Pascanu, Gulcehre, Cho, Ganguli, Bengio (2014)",
        theorem="Sections 3-5, Eq. (11) (saddle-free Newton)",
        arxiv="1406.2572",
    ),
    bound=Bound.tight("1/eps", 0, log_power=1),
    symbolic=symbolic.verify,
    numeric=numeric.verify,
    experiment=experiment.verify,
    assumptions=(
        ("a strict saddle: a non-degenerate critical point with at least one negative Hessian "
        "eigenvalue lambda_- = -b < 0"),
        ("GD with a fixed step eta (eta |lambda| < 2 on the positive directions), started eps off "
        "the stable manifold (measured on f = b (x^4/4 - x^2/2 + x^2 |y|^2/2) + sum_j (a_j y_j^2/2 "
        "+ 0.3 y_j^3/3), whose stable manifold near 0 is x = 0)"),
        ("random landscapes: f = |x|^4/4 + sigma V(x) with V an isotropic Gaussian cubic field "
        "(sigma = 10); expected counts by the Kac-Rice formula (Monte Carlo over the GOE block, "
        "95% error bounds); found critical points from Newton (uniform starts, d <= 8) and "
        "trust-region Newton (d = 50)"),
    ),
)
