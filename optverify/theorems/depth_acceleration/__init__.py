"""`depth-acceleration`: overparameterization by depth accelerates GD on l_4 regression, not on l_2.

Arora, Cohen, Hazan (2018), "On the Optimization of Deep Networks: Implicit Acceleration by
Overparameterization", arXiv:1802.06509, Sections 3 and 7: for l_p regression with p > 2, replacing
w by w_1 * omega_2 (one extra scalar) or by a depth-N linear chain makes full-batch GD reach a
given training loss in fewer iterations than GD on w (and than AdaGrad and AdaDelta); for p = 2
there is no such speed-up. The end-to-end rule (Eq. 12, N = 2) and GD's O(eta^2) departure from it
are checked in sympy and mpmath; the speed-up is measured on generated sets of the Ethanol
problem's shape (`data`), with per-depth step-size grids, several seeds and the baselines.
"""

import sympy

from optverify.kit import Bound, Claim, Source
from optverify.theorems.depth_acceleration import experiment, numeric, symbolic
from optverify.theorems.depth_acceleration.speedup import MATERIAL_RATIO


def speedup_bound() -> sympy.Basic:
    """T_N / T_1 < 4/5 for the l_4 loss and >= 4/5 for the l_2 loss (every depth N >= 2)."""
    l4_ratio, l2_ratio = sympy.symbols("T_N^(l4)/T_1^(l4) T_N^(l2)/T_1^(l2)", positive=True)
    threshold = sympy.nsimplify(MATERIAL_RATIO)
    return sympy.And(sympy.Lt(l4_ratio, threshold), sympy.Ge(l2_ratio, threshold))


CLAIM = Claim(
    id="depth-acceleration",
    title="Depth accelerates gradient descent on l_4 regression, not on l_2",
    source=Source(
        paper="Arora, Cohen, Hazan (2018)",
        theorem="Sections 3 and 7 (Eq. 12 with N = 2, Figures 2-3)",
        arxiv="1802.06509",
    ),
    bound=Bound.inequality(speedup_bound(), variable="depth N"),
    symbolic=symbolic.verify,
    numeric=numeric.verify,
    experiment=experiment.verify,
    assumptions=(
        "bias-free single-output linear models: w (depth 1), w_1 * omega_2, depth-N chains",
        "balanced near-zero initialization, the same end-to-end w_e(0) for every model of a seed",
        ("full-batch GD, the step size chosen per seed (data set), depth and loss from a stated "
         "log-spaced grid"),
        ("generated data in place of UCI Ethanol (no download): 2565 x 128 correlated, badly "
         "conditioned features, and a second, differently generated set; at the full and paper "
         "scales the user's copy of Ethanol replaces the first (--data uci-ethanol=PATH, "
         "standardized; the report names the data used)"),
        ("T = iterations to L <= L* + 1e-3 (L(0) - L*) (paper scale: L <= L* + 1e-5, budget "
         "200,000, hidden width 32 in the width check); 'material' = T_N / T_1 < 0.8, fixed "
         "before measuring, judged by two one-sided t-tests on the per-seed log ratios (1% "
         "each)"),
    ),
)
