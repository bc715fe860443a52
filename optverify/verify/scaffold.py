"""`verify new NAME`: a commented one-file claim to start from.

The file is a complete claim that runs consistent as written (gradient descent on a quadratic
needs Theta(kappa) steps, Nesterov 2004, Theorem 2.1.15), with one decisive check per layer and a
named false alternative for each, so that `assert_every_decisive_check_can_say_no` holds; its
comments say what to replace and how to choose a sweep that reaches the asymptotic range.
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
import numpy as np
import sympy

from optverify.kit import Bound, Claim, Session, Source

EPS = 1e-6  # the relative error the experiment runs to
DIM = 20    # the quadratic's dimension: eigenvalues evenly spaced in [1, kappa]


def symbolic(s: Session) -> None:
    """Layer 1 (sympy): prove what can be proved exactly. Here: the steps to reach EPS,
    log(eps) / log(1 - 1/kappa), are kappa log(1/eps) to leading order as kappa grows."""
    kappa, eps = sympy.symbols("kappa epsilon", positive=True)
    steps = sympy.log(eps) / sympy.log(1 - 1 / kappa)
    ratio = sympy.limit(steps / (kappa * sympy.log(1 / eps)), kappa, sympy.oo)
    # `controls` names the false alternative the check must reject: against
    # sqrt(kappa) log(1/eps) the same ratio diverges, and the same check must say violated.
    wrong = sympy.limit(steps / (sympy.sqrt(kappa) * sympy.log(1 / eps)), kappa, sympy.oo)
    s.zero("steps-asymptotics", "log(eps) / log(1 - 1/kappa) ~ kappa log(1/eps)", ratio - 1,
           controls={"steps ~ sqrt(kappa) log(1/eps)": wrong - 1})


def numeric(s: Session) -> None:
    """Layer 2 (mpmath at the run's precision, `--precision`): the inequality the rate rests on,
    ||x_{t+1}|| <= (1 - 1/kappa) ||x_t||, on a concrete instance, far below float64's rounding."""
    kappa = mpmath.mpf(50)
    factors = [1 - (1 + (kappa - 1) * i / (DIM - 1)) / kappa for i in range(DIM)]  # 1 - lambda/L
    x, margin = [mpmath.mpf(v) for v in s.rng("start").standard_normal(DIM)], mpmath.inf
    for _ in range(200):
        new = [f * v for f, v in zip(factors, x)]
        margin = min(margin, (1 - 1 / kappa) * mpmath.norm(x) - mpmath.norm(new))
        x = new
    # The false alternative: a contraction by 1 - 2/kappa per step, which GD does not achieve.
    too_fast = (1 - 2 / kappa) * mpmath.norm(x) - mpmath.norm([f * v for f, v in zip(factors, x)])
    s.inequality("contraction", "||x_{t+1}|| <= (1 - 1/kappa) ||x_t|| at kappa = 50, 200 steps",
                 margin, s.floor(), controls={"contraction 1 - 2/kappa": too_fast})


def steps_to_eps(s: Session, kappas: list[float]) -> list[float]:
    """The measurement: steps of GD (step 1/L) on diag(linspace(1, kappa)) until
    ||x_t|| <= EPS ||x_0||, one row per kappa, batched in numpy (use torch on `s.device` with
    `s.generator(...)` for larger sweeps). One random start shared by every kappa: a paired
    sweep, so the start's luck cancels in the slope instead of scattering the points."""
    k = np.asarray(kappas, dtype=float)[:, None]
    factors = (1 - np.linspace(0, 1, DIM)) * (1 - 1 / k)
    x = np.repeat(s.rng("start").standard_normal((1, DIM)), len(kappas), axis=0)
    goal, count = EPS * np.linalg.norm(x, axis=1), np.zeros(len(kappas))
    while (active := np.linalg.norm(x, axis=1) > goal).any():
        x, count = np.where(active[:, None], factors * x, x), count + active
    return count.tolist()


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
    s.rate("steps-vs-kappa", f"steps to relative error {EPS:g} grow like kappa", kappas,
           steps_to_eps(s, kappas), main=True, rules_out=0.5)


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
