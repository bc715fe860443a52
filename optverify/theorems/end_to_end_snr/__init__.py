"""`end-to-end-snr`: end-to-end gradients carry less signal than a decomposition's.

Source: Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 3. Setting II ("stocks"):
both stochastic gradients are unbiased for the same E g, and at initialization
Var_e2e / Var_dec = 1 + d(k-1)/(d-1). Main bound: this ratio is Theta(k) (TIGHT, exponent 1), the
central quantitative statement of Setting II ("about k times larger"), exact in closed form at
W = 0 (proved symbolically) and measured by Monte Carlo at a random W = 0.5 N(0, 1) over independent
instances per k (the decisive measurement: the exponent's interval carries the spread over
instances); hence SNR_e2e ~ k^-1 while SNR_dec is flat. Setting I's tuple signal a^(k-1)
(exponential in k) is proved by exact enumeration; its line-image CNN (Fig. 5) is run in
`setting_one`: the SNR of N1's last-layer gradient at initialization for k = 1..4 in float32 and
float64 (decisive in full mode: the end-to-end SNR collapses by more than 10^3 from k = 1 to 3,
faster than an exponential losing one decade per image, and falls below float32 resolution, the
decomposition's does not), and the race of both approaches to a target held-out accuracy (Fig. 4:
for k >= 3 end-to-end's time to target exceeds `factor` times the decomposition's, censored at
that budget, so "end-to-end is merely slower" is ruled out up to that factor). Setting II stays
the main statement: Setting I resolves its end-to-end SNR only at k = 1 (bounds beyond, from a
block U-statistic), so the form of its decay in k is reported below resolution with its bounds.
"""

from optverify.kit import Bound, Claim, Source
from optverify.theorems.end_to_end_snr import experiment, numeric, symbolic

CLAIM = Claim(
    id="end-to-end-snr",
    title="End-to-end gradients lose signal with k (Setting II: variance ratio Theta(k))",
    source=Source(
        paper="Shalev-Shwartz, Shamir, Shammah (2017), Failures of gradient-based deep learning",
        theorem="Section 3 (end-to-end vs decomposition, Settings I and II, Fig. 5)",
        arxiv="1703.07950",
    ),
    bound=Bound.tight("k", 1),
    symbolic=symbolic.verify,
    numeric=numeric.verify,
    experiment=experiment.verify,
    assumptions=(
        "Setting II: x one-hot in d coordinates (uniform), N_W(x) = softmax(W x) over k outputs",
        "end-to-end labels z_y = 1, the other k - 1 coordinates iid uniform +-1",
        ("SNR = ||E g||^2 / E||g - E g||^2 of the per-example gradient w.r.t. W, at W = 0 "
         "(closed forms) and at W = 0.5 N(0, 1) (Monte Carlo over independent W and labels)"),
        ("Setting I's tuple signal: per-image predictions in {-1, +1} of accuracy (1 + a)/2, "
         "independent across the k images"),
        ("Setting I: 28x28 binary line images (theta ~ U[0, pi], length ~ U[5, 23], centre ~ "
         "U[0, 27]^2), label sign(pi/2 - theta), tuple label the product; N1 a small CNN "
         "(conv 5x5/2 8ch, conv 3x3 16ch, pool, dense 32, score), N2 dense k-100-1 on the "
         "sigmoid scores, hinge losses; SNR of N1's last-layer weights at initialization"),
        ("Setting I training: float32 Adam (lr 1e-2, batch 16 tuples), time to 0.7 held-out "
         "tuple accuracy; 7 seeds (a sign test bounds the median at 1%), end-to-end censored at "
         "4 x the decomposition's slowest time (full) or 8 x within 2,500 (paper: 20,000)"),
    ),
)
