"""`balancedness`: gradient flow on a deep linear net conserves C_j = W_{j+1}^T W_{j+1} - W_j W_j^T.

Source: the balancedness argument in the proof of Theorem 1 of Arora, Cohen, Hazan (2018),
arXiv:1802.06509 (dC_j/dt = -2 eta lambda C_j under dW_j/dt = -eta lambda W_j - eta dL^N/dW_j,
so C_j is constant without weight decay, for every differentiable L^1), with delta-balancedness
(Definition 1) and Procedure 1 of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281. The main
bound is the identity dC_j/dt = 0; the layers also check the weight-decay form, the exact one-step
change eta^2 (G_{j+1}^T G_{j+1} - G_j G_j^T) under gradient descent, and the drift rates it implies
(Theta(eta^2) at a fixed number of steps, Theta(eta) at a fixed time).
"""

import sympy

from optverify.kit import Bound, Claim, Source
from optverify.theorems.balancedness import experiment, numeric, symbolic

_t = sympy.Symbol("t", real=True)
_gap = sympy.Function("C_j")(_t)

CLAIM = Claim(
    id="balancedness",
    title="Gradient flow preserves the balancedness W_{j+1}^T W_{j+1} - W_j W_j^T of a deep "
    "linear net",
    source=Source(
        paper="Arora, Cohen, Hazan (2018); Arora, Cohen, Golowich, Hu (2019)",
        theorem="balancedness in the proof of Theorem 1 (and Definition 1, Procedure 1 of the 2019 "
        "paper, arXiv:1810.02281)",
        arxiv="1802.06509",
    ),
    bound=Bound.identity(sympy.Eq(sympy.Derivative(_gap, _t), 0), variable="t"),
    symbolic=symbolic.verify,
    numeric=numeric.verify,
    experiment=experiment.verify,
    assumptions=(
        "deep linear net W_e = W_N ... W_1, depth N >= 2, any layer widths",
        "L^N(W_1..W_N) = L^1(W_e) for a differentiable L^1",
        ("gradient flow dW_j/dt = -eta lambda W_j - eta dL^N/dW_j with lambda = 0 (with weight "
         "decay lambda > 0, dC_j/dt = -2 eta lambda C_j instead)"),
        "gradient descent (experiment layer) departs from the flow by eta^2 per step",
    ),
)
