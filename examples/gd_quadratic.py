"""GD with step 1/L on a quadratic of condition number kappa reaches relative error eps in
Theta(kappa log 1/eps) steps (Nesterov 2004, Thm 2.1.15). `verify run examples/gd_quadratic.py`
One source: docs/your-own-claim.md includes it; tests/test_gd_quadratic_copies.py pins copies."""

import mpmath
import sympy
import torch

from optverify.kit import Bound, Claim, Session, Source

EPS, DIM = 1e-6, 20  # relative error to reach; dimension (eigenvalues evenly spaced in [1, kappa])


def symbolic(s: Session) -> None:
    kappa, eps = sympy.symbols("kappa epsilon", positive=True)
    steps = sympy.log(eps) / sympy.log(1 - 1 / kappa)  # solves (1 - 1/kappa)^t = eps
    ratio = sympy.limit(steps / (kappa * sympy.log(1 / eps)), kappa, sympy.oo)
    s.zero("steps-asymptotics", "log(eps) / log(1 - 1/kappa) ~ kappa log(1/eps) as kappa -> oo",
           ratio - 1, controls={"steps ~ kappa log(1/eps) / 2 (a rate twice as fast)": ratio - 2})


def numeric(s: Session) -> None:
    kappa, x = mpmath.mpf(50), mpmath.matrix(s.rng("x0").standard_normal(DIM))
    factors = [1 - (1 + (kappa - 1) * i / (DIM - 1)) / kappa for i in range(DIM)]  # 1 - lambda/L
    margins = {1: mpmath.inf, 2: mpmath.inf}  # the claimed rate 1 - 1/kappa, and 1 - 2/kappa
    for _ in range(200):
        new = mpmath.matrix([f * v for f, v in zip(factors, x)])
        for c in margins:
            margins[c] = min(margins[c], (1 - c / kappa) * mpmath.norm(x) - mpmath.norm(new))
        x = new
    s.inequality("contraction", "||x_{t+1}|| <= (1 - 1/kappa) ||x_t|| at kappa = 50, 200 steps",
                 margins[1], s.floor(), controls={"the faster rate 1 - 2/kappa": margins[2]})


def iterations(s: Session, kappas: list[float]) -> torch.Tensor:
    """Steps of GD (step 1/L) on diag(linspace(1, kappa)) until ||x_t|| <= EPS ||x_0||, batched;
    one random start shared by every kappa (a paired sweep: the start's luck cancels in the slope)."""
    k = torch.tensor(kappas, **(on := {"dtype": s.torch_dtype, "device": s.device}))[:, None]
    factors = (1 - torch.linspace(0, 1, DIM, **on)) * (1 - 1 / k)
    x = torch.randn(1, DIM, generator=s.generator("start"), **on).repeat(len(kappas), 1)
    goal, count = EPS * x.norm(dim=1), torch.zeros(len(kappas), **on)
    while bool((active := x.norm(dim=1) > goal).any()):
        x, count = torch.where(active[:, None], factors * x, x), count + active
    return count


def experiment(s: Session) -> None:
    kappas = s.preset(quick=[10, 30, 100, 300], full=[10, 30, 100, 300, 1000, 3000])
    s.rate("iterations-vs-kappa", f"steps to relative error {EPS:g} grow like kappa", kappas,
           iterations(s, kappas).tolist(), main=True, rules_out=0.5)


CLAIM = Claim(
    id="gd-quadratic",                                 # kebab-case; the report folder's name
    title="GD on a quadratic needs Theta(kappa log 1/eps) steps",
    source=Source("Nesterov (2004)", "Theorem 2.1.15"),  # paper, theorem, optional arXiv id
    bound=Bound.tight("kappa", 1),                     # the main claimed bound
    symbolic=symbolic, numeric=numeric, experiment=experiment,   # each optional
)
