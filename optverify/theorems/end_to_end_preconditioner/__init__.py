"""`end-to-end-preconditioner`: depth acts as a preconditioner on the end-to-end matrix.

Theorem 1 of Arora, Cohen, Hazan (2018), "On the Optimization of Deep Networks: Implicit
Acceleration by Overparameterization", arXiv:1802.06509: if W_1..W_N are balanced at t_0, gradient
flow moves W_e = W_N ... W_1 by dW_e/dt = -eta lambda N W_e - eta sum_j [W_e W_e^T]^{(j-1)/N}
grad L^1(W_e) [W_e^T W_e]^{(N-j)/N} (an identity, the main bound), i.e. vec(dW_e/dt) =
-eta lambda N vec(W_e) - eta P_{W_e} vec(grad), P_{W_e} PSD with eigenvalues >=
sigma_min^{2(N-1)/N}; for a single output the rule is ||w||^{2-2/N} (g + (N-1) Pr_w(g))
(Eq. 12), which for N > 2 is not a gradient field (Theorem 2). Discrete GD follows the rule up
to O(eta^2) per step.
"""

import sympy

from optverify.kit import Bound, Claim, Source
from optverify.theorems.end_to_end_preconditioner import experiment, numeric, symbolic


def theorem1_expression() -> sympy.Eq:
    """dW_e/dt = -eta lambda N W_e - eta sum_j (W_e W_e^T)^{(j-1)/N} G (W_e^T W_e)^{(N-j)/N}, with
    the matrices as non-commuting symbols (sympy has no sum over matrix expressions)."""
    depth = sympy.Symbol("N", positive=True, integer=True)
    j = sympy.Symbol("j", positive=True, integer=True)
    eta, decay = sympy.symbols("eta lambda", nonnegative=True)
    w_e, grad, velocity, left_gram, right_gram = sympy.symbols(
        "W_e G dW_e/dt (W_e*W_e^T) (W_e^T*W_e)", commutative=False
    )
    term = left_gram ** ((j - 1) / depth) * grad * right_gram ** ((depth - j) / depth)
    return sympy.Eq(velocity, -eta * decay * depth * w_e - eta * sympy.Sum(term, (j, 1, depth)))


CLAIM = Claim(
    id="end-to-end-preconditioner",
    title="Depth acts as a preconditioner on the end-to-end matrix of a deep linear network",
    source=Source(
        paper="Arora, Cohen, Hazan (2018)",
        theorem="Theorem 1 (with Eq. 12 and Theorem 2)",
        arxiv="1802.06509",
    ),
    bound=Bound.identity(theorem1_expression()),
    symbolic=symbolic.verify,
    numeric=numeric.verify,
    experiment=experiment.verify,
    assumptions=(
        ("linear factors W_j of widths d_j >= min(d_0, d_N), loss L^N = L^1(W_N ... W_1) with "
         "L^1 differentiable"),
        ("the factors are balanced at t_0: W_{j+1}^T W_{j+1} = W_j W_j^T (Procedure 1 of "
         "arXiv:1810.02281)"),
        ("gradient flow with learning rate eta and weight decay lambda; discrete GD follows up "
         "to O(eta^2) per step"),
        "fractional powers of PSD matrices with 0^0 = 1",
    ),
)
