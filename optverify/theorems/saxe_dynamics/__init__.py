"""`saxe-dynamics`: exact sigmoidal learning curves of deep linear nets; learning time ~ 1/s.

Source: Saxe, McClelland, Ganguli (2014), arXiv:1312.6120, Section 2 (Eqs. (6)-(9)): a mode of
input-output strength s learned by a two-layer net obeys tau du/dt = 2u(s - u), solved by
u(t) = s e^{2st/tau} / (e^{2st/tau} - 1 + s/u_0), with time to learn
t = (tau/(2s)) ln[u_f (s - u_0) / (u_0 (s - u_f))] = O(tau/s) ln(s/eps); Section 3: with N_l layers,
tau du/dt = (N_l - 1) u^{2 - 2/(N_l - 1)} (s - u). Main bound: the learning time is Theta(s^-1)
(TIGHT), exactly at a start proportional to s, up to the ln(s/u_0) factor at a common start.
"""

from optverify.kit import Bound, Claim, Source
from optverify.theorems.saxe_dynamics import experiment, numeric, statement

CLAIM = Claim(
    id="saxe-dynamics",
    title="Exact sigmoidal learning curves of deep linear nets: each mode is learned in time ~ 1/s",
    source=Source(
        paper="Saxe, McClelland, Ganguli (2014)",
        theorem="Section 2, Eqs. (6)-(9), and Section 3 (deeper networks)",
        arxiv="1312.6120",
    ),
    bound=Bound.tight("s", -1),
    symbolic=statement.verify,
    numeric=numeric.verify,
    experiment=experiment.verify,
    assumptions=(
        "whitened inputs (Sigma_11 = I), square loss, input-output correlation Sigma_31 = U S V^T",
        "initialization along the modes and balanced (a = b for two layers), so modes decouple",
        "gradient flow with tau = 1 / learning rate; GD with a small learning rate tracks it",
        ("learning time from u_0 to u_f = s/2; exactly ~ 1/s for u_0 proportional to s (two "
         "layers), up to ln(s/u_0) for a common u_0; deeper nets ~ 1/s only from a common small "
         "u_0"),
    ),
)
