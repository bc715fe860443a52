"""deficiency-margin-convergence: linear convergence of gradient descent on deep linear networks from
a deficiency margin and approximately balanced factors.

Theorem 1 (with its per-step lemma), Theorem 2 (d_N = 1) and Appendix C Claims 4 and 5 of Arora,
Cohen, Golowich, Hu, "A Convergence Analysis of Gradient Descent for Deep Linear Neural Networks"
(ICLR 2019), arXiv:1810.02281. The main bound is the lemma's contraction, an inequality:
l(t+1) <= (1 - eta sigma_min(W_e(t))^{2(N-1)/N}) l(t).
"""

from optverify.kit import Bound, Claim, Source
from optverify.theorems.deficiency_margin_convergence import experiment, numeric, symbolic

CLAIM = Claim(
    id="deficiency-margin-convergence",
    title="Linear convergence of GD on deep linear networks under a deficiency margin",
    source=Source(
        paper="Arora, Cohen, Golowich, Hu (2019)",
        theorem="Theorem 1 and its lemma, Theorem 2, Appendix C Claims 4-5",
        arxiv="1810.02281",
    ),
    bound=Bound.inequality(symbolic.LEMMA, variable="t"),
    symbolic=symbolic.verify,
    numeric=numeric.verify,
    experiment=experiment.verify,
    assumptions=(
        "whitened data: l = 1/2 ||W_N ... W_1 - Phi||_F^2, plain gradient descent",
        "hidden widths d_j >= min(d_0, d_N)",
        "deficiency margin c > 0: ||W_e(0) - Phi||_F <= sigma_min(Phi) - c",
        "delta-balanced factors with delta <= c^2 / (256 N^3 ||Phi||_F^{2(N-1)/N})",
        "step size eta <= c^{(4N-2)/N} / (6144 N^3 ||Phi||_F^{(6N-4)/N})",
    ),
)
