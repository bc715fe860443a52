"""`jacobian-products`: gradients through T steps are products of T Jacobians, whose norm grows or
decays exponentially in T, with a log-norm variance linear in T.

Sources: Bengio, Simard, Frasconi (1994); Pascanu, Mikolov, Bengio (2013), arXiv:1211.5063,
Section 2.1 eq. (3)-(7) (dL/ds_0 = dL/ds_T prod_k ds_{k+1}/ds_k, the bound ||prod|| <= ||W||^T
for a tanh RNN with ||W||_2 < 1) and Section 3.2 (gradient-norm clipping); Newman (1986) for the
top Lyapunov exponent of iid Gaussian matrices with N(0, sigma^2/n) entries,
lambda_1 = log sigma + (1/2)(log(2/n) + digamma(n/2)). The main bound is the variance law
Var(log ||J_T ... J_1 v||) = Theta(T) (TIGHT, exponent 1; exactly T trigamma(n/2)/4 for Gaussian
Jacobians); the growth rates are judged per configuration as identities within a confidence
interval (against the annealed rate log sigma) and as exponential laws on independent blocks of
paths (against a power law); the singular-value bounds sigma_min^T <= ||prod v|| / ||v|| <=
sigma_max^T are proved symbolically and reported numerically as sanity checks (they hold by
construction), as are the tanh-RNN bounds, orthogonal products and clipping.
"""

from optverify.kit import Bound, Claim, Source
from optverify.theorems.jacobian_products import experiment, numeric, statement

CLAIM = Claim(
    id="jacobian-products",
    title="Products of T Jacobians vanish or explode exponentially in T; their log-norm variance "
    "grows linearly in T",
    source=Source(
        paper="Pascanu, Mikolov, Bengio (2013); Bengio, Simard, Frasconi (1994); Newman (1986)",
        theorem="Section 2.1, eq. (3)-(7), and Section 3.2 (clipping)",
        arxiv="1211.5063",
    ),
    bound=Bound.tight("T", 1),
    symbolic=statement.verify,
    numeric=numeric.verify,
    experiment=experiment.verify,
    assumptions=(
        "the gradient is back-propagated as a vector: dL/ds_0 = dL/ds_T J_T ... J_1",
        ("random Jacobians: iid n x n Gaussian with N(0, sigma^2/n) entries (Lyapunov exponent and "
        "variance law), Haar orthogonal (rate 0), U diag(s) V^T with s in a fixed range (bounds)"),
        "tanh RNN s_k = tanh(W s_{k-1} + x_k), bound ||prod|| <= ||W||_2^T for ||W||_2 < 1",
        ("log-norms are accumulated with renormalization at every step, so products below the "
        "float64 range keep exact log-norms"),
    ),
)
