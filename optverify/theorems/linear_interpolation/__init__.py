"""`linear-interpolation`: the loss along the straight line from the initial to the final
parameters of a trained net usually decreases monotonically.

Source: Goodfellow, Vinyals, Saxe (2015), "Qualitatively characterizing neural network
optimization problems", arXiv:1412.6544, Section 2 (the linear path experiment,
theta(alpha) = (1 - alpha) theta_0 + alpha theta_T). An empirical observation, not a theorem: it
is exact for convex quadratics (sympy), and sympy gives a scalar deep linear pair whose path rises
by 1825/4608 above l(0). Main bound (INEQUALITY): the fraction of monotone paths over MLP and CNN
classifiers trained by SGD on real images (scikit-learn's 8x8 digits) is >= 9/10 by its 98%
Clopper-Pearson interval, the abstract's "never encounter any significant obstacles" made precise
and fixed before measuring (symbolic.MAIN_BOUND). Lucas et al. (ICML 2021), "Analyzing Monotonic
Linear Interpolation in Neural Network Loss Landscapes": the settings where they report
non-monotone paths (Adam, batch normalization, a large distance travelled) are reported findings.
"""

from optverify.kit import Bound, Claim, Source
from optverify.theorems.linear_interpolation import experiment, numeric, symbolic

CLAIM = Claim(
    id="linear-interpolation",
    title="Loss along the straight path from init to solution is usually monotone",
    source=Source(
        paper="Goodfellow, Vinyals, Saxe (2015), Qualitatively characterizing neural network "
              "optimization problems",
        theorem="Section 2 (linear interpolation from theta_0 to theta_T, Figs. 1-3)",
        arxiv="1412.6544",
    ),
    bound=Bound.inequality(symbolic.MAIN_BOUND, variable="paths"),
    symbolic=symbolic.verify,
    numeric=numeric.verify,
    experiment=experiment.verify,
    assumptions=(
        "theta_0: the random initialization, theta_T: the parameters after training",
        ("the loss is the full training objective; a path is monotone when its largest rise "
         "above its running minimum is within the rounding floor 16 eps(dtype) max l"),
        ("main check: MLP (64-32-10) and CNN (one 3x3 convolution, 6 filters, 2x2 average "
         "pool) classifiers on sklearn's digits, cross-entropy, SGD with mini-batches of 32, one "
         "seed per net"),
        ("further checks: deep linear nets (depth 2-4, width 1 and 4, GD), one-hidden-layer ReLU "
         "MLPs on teacher data (regression with GD, classification with SGD), batched across "
         "seeds"),
    ),
)
