"""Gradients carry O(1/|H|) information about the target: Theorem 1 (and Theorem 2's example) of
Shalev-Shwartz, Shamir, Shammah (2017), "Failures of gradient-based deep learning",
arXiv:1703.07950, Section 2.

For an orthonormal class H (E h^2 <= 1, E h h' = 0) and a model with E_x||dp_w(x)/dw||^2 <= G(w)^2,
under the square loss or r(y^ y) with r 1-Lipschitz and h in {+-1}:
Var(H, F, w) = E_h||grad F_h(w) - E_h' grad F_h'(w)||^2 <= G(w)^2 / |H| (UPPER bound, exponent -1
in |H|); for parities on {-1,+1}^d, |H| = 2^d.
"""

from optverify.kit import Bound, Claim, Source
from optverify.theorems.orthogonal_gradient_variance import experiment, numeric, symbolic

CLAIM = Claim(
    id="orthogonal-gradient-variance",
    title="Gradients carry O(1/|H|) information about the target (parities, linear-periodic)",
    source=Source(
        paper="Shalev-Shwartz, Shamir, Shammah (2017), Failures of gradient-based deep learning",
        theorem="Theorem 1 and its parity corollary (Section 2); Theorem 2's cosine example",
        arxiv="1703.07950",
    ),
    bound=Bound.upper("|H|", -1),
    symbolic=symbolic.verify,
    numeric=numeric.verify,
    experiment=experiment.verify,
    assumptions=(
        "H orthonormal under the input distribution: E_x h^2 <= 1, E_x h h' = 0 for h != h'",
        "p_w differentiable with E_x ||d p_w(x) / dw||^2 <= G(w)^2",
        "square loss 1/2 (y^ - y)^2, or r(y^ y) with r 1-Lipschitz and h in {-1, +1} (hinge)",
        "parities: x uniform on {-1,+1}^d, H = all 2^d parities, |H| = 2^d",
    ),
)
