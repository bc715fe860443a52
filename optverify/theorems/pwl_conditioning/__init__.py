"""pwl-conditioning: learning piecewise-linear curves is ill-conditioned for fully connected and
convolutional learners, and preconditioning fixes it.

Section 4 of Shalev-Shwartz, Shamir, Shammah, "Failures of Gradient-Based Deep Learning" (2017),
arXiv:1703.07950: Lemma 1 (W^{-1} is the (1, -2, 1) band), Lemma 2 (expected SGD iterates),
Theorem 3 (cond(W^T W) = Omega(n^3.5) iterations, a LOWER bound; the tight exponent is 4),
cond(C) = Theta(n^3) for the 3-tap convolution, O(1) after C^{-1/2} preconditioning, and Fig. 6.
The main check is the numeric layer's `fully-connected-condition`: the exponent of cond(W^T W)
fitted over n at the run's mpmath precision, judged against Omega(n^3.5).
"""

from optverify.kit import Bound, Claim, Source
from optverify.theorems.pwl_conditioning import experiment, numeric, symbolic

CLAIM = Claim(
    id="pwl-conditioning",
    title="Piecewise-linear curves: cond Omega(n^3.5) fully connected, Theta(n^3) convolution, "
          "O(1) preconditioned",
    source=Source(paper="Shalev-Shwartz, Shamir, Shammah (2017)",
                  theorem="Lemmas 1-2, Theorem 3 and Section 4.1.3", arxiv="1703.07950"),
    bound=Bound.lower("n", 3.5),
    symbolic=symbolic.verify,
    numeric=numeric.verify,
    experiment=experiment.verify,
    assumptions=(
        "curves f(x) = sum_{r<=k} a_r [x - theta_r]_+ at x = 1..n, f = W p, W_ij = [i - j + 1]_+",
        "k = 3 breakpoints uniform without replacement from {0..n-1}, slopes a_r iid U[-1, 1]",
        ("square loss 1/2 ||U f - p||^2, U_0 = 0; Lemma 2 assumes E[p p^T] = lambda I "
         "(lambda = k/(3n) under this distribution)"),
        "convolution: 3 taps on the windows (f_{t-2}, f_{t-1}, f_t), zero-padded",
    ),
)
