"""`jacobian-products`: gradients through T steps are products of T Jacobians. The main statement
is Pascanu, Mikolov, Bengio (2013), arXiv:1211.5063, Section 2.1: in an RNN x_t = W f(x_(t-1)) +
U u_t + b with |f'| <= gamma (tanh: 1, sigmoid: 1/4) and lambda_1 the largest singular value of
W, ||dx_T/dx_k||_2 <= (gamma lambda_1)^(T - k), so lambda_1 < 1/gamma suffices for the gradients
to vanish and lambda_1 > 1/gamma is necessary for them to explode (measured on tanh and sigmoid
RNNs with the same W at every step, over lambda_1 around 1/gamma: `rnn_bounds`); the first arXiv
version's "largest eigenvalue" wording is reported as written, with its non-normal
counter-example.

Further sources: Bengio, Simard, Frasconi (1994); Pascanu et al. Section 3.2 (gradient-norm
clipping); Newman (1986) for iid Gaussian Jacobians with N(0, sigma^2/n) entries: the top Lyapunov
exponent lambda_1 = log sigma + (1/2)(log(2/n) + digamma(n/2)) and the variance law
Var(log ||J_T ... J_1 v||) = T trigamma(n/2)/4 (decisive checks of their own: the exponent 1 and
the constant). The growth rates are judged per configuration as identities within a confidence
interval (against the annealed rate log sigma) and as exponential laws on independent blocks of
paths (against a power law); the singular-value bounds sigma_min^T <= ||prod v|| / ||v|| <=
sigma_max^T are proved symbolically and reported numerically as sanity checks (they hold by
construction), as are orthogonal products and clipping.
"""

import sympy

from optverify.kit import Bound, Claim, Source
from optverify.theorems.jacobian_products import experiment, numeric, symbolic

_GRADIENT_NORM, _GAMMA, _LARGEST_SINGULAR_VALUE, _LAG = sympy.symbols(
    "||dx_T/dx_k||_2 gamma lambda_1 (T-k)", positive=True)

CLAIM = Claim(
    id="jacobian-products",
    title="RNN gradients ||dx_T/dx_k|| <= (gamma lambda_1)^(T-k): they vanish for lambda_1 < "
    "1/gamma and can explode only for lambda_1 > 1/gamma; random Jacobian products grow at the "
    "Lyapunov rate with log-norm variance T trigamma(n/2)/4",
    source=Source(
        paper="Pascanu, Mikolov, Bengio (2013); Bengio, Simard, Frasconi (1994); Newman (1986)",
        theorem="Section 2.1 (eq. (11) and the vanishing/exploding conditions), Section 3.2 "
        "(clipping)",
        arxiv="1211.5063",
    ),
    bound=Bound.inequality(sympy.Le(_GRADIENT_NORM, (_GAMMA * _LARGEST_SINGULAR_VALUE) ** _LAG),
                           variable="T - k"),
    symbolic=symbolic.verify,
    numeric=numeric.verify,
    experiment=experiment.verify,
    assumptions=(
        "the gradient is back-propagated as a vector: dL/ds_0 = dL/ds_T J_T ... J_1",
        ("RNN x_t = W f(x_(t-1)) + U u_t + b with the same W at every step, f = tanh (gamma = 1) "
         "or the sigmoid (gamma = 1/4), x_0 = 0; W Gaussian (non-normal) or scaled orthogonal, "
         "inputs -W f(0) + s N(0, I)"),
        ("random Jacobians: iid n x n Gaussian with N(0, sigma^2/n) entries (Lyapunov exponent and "
         "variance law), Haar orthogonal (rate 0), U diag(s) V^T with s in a fixed range (bounds)"),
        ("log-norms are accumulated with renormalization at every step, so products below the "
         "float64 range keep exact log-norms"),
    ),
)
