"""Heavy-ball momentum with Polyak's tuned step and momentum converges on a quadratic of condition
number kappa at the linear rate 1 - Theta(1/sqrt(kappa)): the steps per decade of error grow like
sqrt(kappa) (Polyak 1964, Section 3). Steps are counted from error 1e-3 to 1e-9: the double root
of the tuned iteration adds a factor t to the error, a log(kappa) in the steps to reach 1e-9 from
the start, which the difference cancels. `verify run examples/heavy_ball.py`"""

import sympy
import torch

from optverify.kit import Bound, Claim, Session, Source

EARLY, LATE, DIM, STARTS = 1e-3, 1e-9, 20, 16


def symbolic(s: Session) -> None:
    kappa, lam, z = sympy.symbols("kappa lambda z", positive=True)
    alpha = 4 / (sympy.sqrt(kappa) + 1) ** 2  # mu = 1, L = kappa
    ratio = (sympy.sqrt(kappa) - 1) / (sympy.sqrt(kappa) + 1)

    def discriminants(beta):  # of the characteristic polynomial at lambda = mu and lambda = L
        poly = sympy.Poly(z**2 - (1 + beta - alpha * lam) * z + beta, z)
        return sympy.Matrix([poly.discriminant().subs(lam, 1), poly.discriminant().subs(lam, kappa)])

    s.zero("double-roots-at-the-extremes", "the iteration's characteristic polynomial has a "
           "double root (modulus sqrt(beta)) at lambda = mu and at lambda = L, beta = ratio^2",
           discriminants(ratio**2),
           controls={"momentum beta = (sqrt(kappa) - 1) / (sqrt(kappa) + 1), not squared":
                     discriminants(ratio)})


def iterations(s: Session, kappas: list[float]) -> torch.Tensor:
    """Heavy-ball steps on diag(linspace(1, kappa)) from ||x_t|| <= EARLY ||x_0|| to LATE ||x_0||,
    averaged over STARTS random starts (the norm oscillates), batched."""
    on = {"dtype": s.torch_dtype, "device": s.device}
    k = torch.tensor(kappas, **on)[:, None, None]
    lam = 1 + (k - 1) * torch.linspace(0, 1, DIM, **on)
    alpha, beta = 4 / (k.sqrt() + 1) ** 2, ((k.sqrt() - 1) / (k.sqrt() + 1)) ** 2
    x = torch.randn(len(kappas), STARTS, DIM, generator=s.generator("start"), **on)
    previous, start, count = x, x.norm(dim=2), torch.zeros(2, *x.shape[:2], **on)
    while bool((active := x.norm(dim=2) > LATE * start).any()):
        new, keep = x - alpha * lam * x + beta * (x - previous), active[..., None]
        x, previous = torch.where(keep, new, x), torch.where(keep, x, previous)
        count = count + torch.stack([x.norm(dim=2) > EARLY * start, active])
    return (count[1] - count[0]).mean(dim=1)


def experiment(s: Session) -> None:
    kappas = s.preset(quick=[100, 300, 1000, 3000], full=[100, 300, 1000, 3000, 10**4, 3 * 10**4])
    s.rate("iterations-vs-kappa", f"steps from error {EARLY:g} to {LATE:g} grow like sqrt(kappa)",
           kappas, iterations(s, kappas).tolist(), main=True, rules_out=1)


CLAIM = Claim(id="heavy-ball", title="Tuned heavy-ball momentum converges at rate 1 - "
              "Theta(1/sqrt(kappa))", source=Source("Polyak (1964)", "Section 3, Theorem 9"),
              bound=Bound.tight("kappa", 0.5), symbolic=symbolic, experiment=experiment)
