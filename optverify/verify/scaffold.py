"""`verify new NAME`: a commented one-file claim to start from.

The file is a complete claim that runs consistent as written (gradient descent on a quadratic
needs Theta(kappa) steps, Nesterov 2004, Theorem 2.1.15), with one decisive check per layer and a
named false alternative for each, so that `assert_every_decisive_check_can_say_no` holds; its
comments say what to replace and how to choose a sweep that reaches the asymptotic range. Its code
is examples/gd_quadratic.py's (tests/test_gd_quadratic_copies.py pins the two together).
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

_KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

CLAIM_TEMPLATE = Template('''\
"""$id: <what your claim states, in one line>.

Source: <authors (year), theorem number, arXiv id>. Written by `verify new $id` as a complete
example to replace part by part: it checks that gradient descent with step 1/L on a quadratic of
condition number kappa needs Theta(kappa log 1/eps) steps (Nesterov 2004, Theorem 2.1.15).

Run it:    verify run $file --quick        (then without --quick for the full sweep)
Test it:   from optverify.testing import assert_consistent; assert_consistent("$file")
"""

import mpmath
import sympy
import torch

from optverify.kit import Bound, Claim, Session, Source

EPS, DIM = 1e-6, 20  # relative error to reach; dimension (eigenvalues evenly spaced in [1, kappa])


def symbolic(s: Session) -> None:
    """Layer 1 (sympy): prove what can be proved exactly. Here: the steps to reach EPS,
    log(eps) / log(1 - 1/kappa), are kappa log(1/eps) to leading order as kappa grows.
    `controls` names the false alternative the check must reject: a rate twice as fast (the
    same ratio would be 2), which the same check must judge violated."""
    kappa, eps = sympy.symbols("kappa epsilon", positive=True)
    steps = sympy.log(eps) / sympy.log(1 - 1 / kappa)  # solves (1 - 1/kappa)^t = eps
    ratio = sympy.limit(steps / (kappa * sympy.log(1 / eps)), kappa, sympy.oo)
    s.zero("steps-asymptotics", "log(eps) / log(1 - 1/kappa) ~ kappa log(1/eps) as kappa -> oo",
           ratio - 1, controls={"steps ~ kappa log(1/eps) / 2 (a rate twice as fast)": ratio - 2})


def numeric(s: Session) -> None:
    """Layer 2 (mpmath at the run's precision, `--precision`): the inequality the rate rests on,
    ||x_{t+1}|| <= (1 - 1/kappa) ||x_t||, on a concrete instance, far below float64's rounding;
    its control, the faster contraction 1 - 2/kappa that GD does not achieve, must break."""
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
    """The measurement: steps of GD (step 1/L) on diag(linspace(1, kappa)) until
    ||x_t|| <= EPS ||x_0||, one row per kappa, batched in torch on `s.device` in `s.torch_dtype`.
    One random start (from `s.generator`, seeded by purpose from the master seed) shared by every
    kappa: a paired sweep, so the start's luck cancels in the slope instead of scattering the
    points."""
    k = torch.tensor(kappas, **(on := {"dtype": s.torch_dtype, "device": s.device}))[:, None]
    factors = (1 - torch.linspace(0, 1, DIM, **on)) * (1 - 1 / k)
    x = torch.randn(1, DIM, generator=s.generator("start"), **on).repeat(len(kappas), 1)
    goal, count = EPS * x.norm(dim=1), torch.zeros(len(kappas), **on)
    while bool((active := x.norm(dim=1) > goal).any()):
        x, count = torch.where(active[:, None], factors * x, x), count + active
    return count


def experiment(s: Session) -> None:
    """Layer 3: sweep, measure, fit the exponent with its 98% interval, judge it (consistent
    only when the interval lies within 0.05 of the claimed exponent).

    Choosing the sweep: the claim is about the limit kappa -> infinity, so the points must reach
    the range where the rate has settled. Space them geometrically over at least one or two
    decades, and read the report's local slopes (the default figure of every `s.rate`: the slope
    between consecutive points): they should settle on a value; if they still drift at the
    largest x, extend the sweep (the fit models a finite-size correction only where an F-test
    asks for one). The quick preset is for seconds-long runs; it should reach the same verdict."""
    kappas = s.preset(quick=[10, 30, 100, 300], full=[10, 30, 100, 300, 1000, 3000])
    # main=True: this check decides CLAIM.bound. rules_out=0.5 tilts the points to exponent 1/2
    # (the false alternative) and judges them the same way: they must come out violated.
    s.rate("iterations-vs-kappa", f"steps to relative error {EPS:g} grow like kappa", kappas,
           iterations(s, kappas).tolist(), main=True, rules_out=0.5)


CLAIM = Claim(
    id="$id",  # kebab-case: the report folder's name
    title="$title",
    source=Source("Nesterov (2004)", "Theorem 2.1.15"),  # paper, theorem, optional arXiv id
    bound=Bound.tight("kappa", 1),  # the main claimed bound: Theta(kappa^1)
    symbolic=symbolic,
    numeric=numeric,
    experiment=experiment,
    assumptions=("f quadratic with Hessian eigenvalues in [mu, L], kappa = L / mu",
                 "gradient descent with step 1/L"),
)
''')


class ScaffoldError(ValueError):
    """A name that is not a kebab-case id, or a file that already exists; one line."""


def claim_file_text(claim_id: str) -> str:
    """The commented claim file for `claim_id`."""
    return CLAIM_TEMPLATE.substitute(id=claim_id, file=file_name(claim_id),
                                     title="GD on a quadratic needs Theta(kappa log 1/eps) steps")


def file_name(claim_id: str) -> str:
    return claim_id.replace("-", "_") + ".py"


def write_claim_file(claim_id: str, folder: Path | str = ".") -> Path:
    """Write `<folder>/<claim_id in snake case>.py`; never overwrites a file."""
    if not _KEBAB.match(claim_id):
        raise ScaffoldError(f"a claim name is kebab-case (e.g. gd-quadratic), got {claim_id!r}")
    path = Path(folder) / file_name(claim_id)
    try:
        with path.open("x", encoding="utf-8") as written:
            written.write(claim_file_text(claim_id))
    except FileExistsError:
        raise ScaffoldError(f"{path} exists; choose another name or folder") from None
    except OSError as error:
        raise ScaffoldError(f"cannot write {path}: {error.strerror}") from None
    return path
