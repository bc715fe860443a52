"""`flat-activations`: forward-only (GLMtron) updates learn x -> u(v*^T x + b*) for a staircase u
whose gradient is zero almost everywhere.

Source: Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 5 and Appendix A.7;
Kalai & Sastry (2009, Isotron); Kakade, Kalai, Kanade, Shamir (2011, GLMtron). Main bound: the
excess error of the forward-only method after T iterations is O(T^(-1/2)) (UPPER, exponent -1/2,
as T -> infinity), decided by the experiment's `glmtron-sampled-rate` check (the sampled update's
averaged iterate, eta ~ T^(-1/2)); the paper's comparison of the four approaches is reported at
equal iterations and samples with counted multiply-adds (`forward-only-best`).
"""

from optverify.kit import Bound, Claim, Source
from optverify.theorems.flat_activations import experiment, numeric, symbolic

CLAIM = Claim(
    id="flat-activations",
    title="Forward-only updates learn a flat (staircase) activation where the gradient is zero",
    source=Source(
        paper="Shalev-Shwartz, Shamir, Shammah (2017), Failures of gradient-based deep learning",
        theorem="Section 5 (flat activations, Fig. 6) and Appendix A.7 (GLMtron constants)",
        arxiv="1703.07950",
    ),
    bound=Bound.upper("T", -0.5),
    symbolic=symbolic.verify,
    numeric=numeric.verify,
    experiment=experiment.verify,
    assumptions=(
        "u a non-decreasing staircase (55 levels on [-2, 2]), y = u(v*^T x + b*), x ~ N(0, I_d)",
        ("forward-only step w <- w - eta (1/m) sum (u(w^T x + b) - y) x on mini-batches (the "
         "main check and the comparison); the exact expectation as a noise-free reference"),
        "test error: squared loss on a fresh Gaussian test set (realizable, so excess = error)",
    ),
)
