"""Small claims with known outcomes, to test the runner, reports and CLI apart from real theorems."""

from __future__ import annotations

import numpy as np
import sympy

from optverify.claim import Bound, BoundKind, Claim, Layer, Source
from optverify.figures import rate_panel
from optverify.numerics.fit import fit_power_law
from optverify.results import Figure, LayerResult, Table
from optverify.verdict import identity_check, rate_check, symbolic_zero_check

SQUARE = Bound(BoundKind.TIGHT, "x", sympy.Integer(2))


def _symbolic(config, progress):
    x = sympy.Symbol("x")
    check = symbolic_zero_check("square-expansion", "(x+1)^2 = x^2 + 2x + 1",
                                (x + 1) ** 2 - x**2 - 2 * x - 1)
    return LayerResult(Layer.SYMBOLIC, checks=(check,))


def _numeric(config, progress):
    residual = abs(np.sqrt(2.0) ** 2 - 2.0)
    check = identity_check(Layer.NUMERIC, "sqrt-two", "sqrt(2)^2 = 2", residual, 1e-12)
    table = Table("values", "A small table", ("x", "x^2"), ((1, 1.0), (2, 4.0)))
    return LayerResult(Layer.NUMERIC, checks=(check,), tables=(table,), notes=("a note",))


def _measured_square(config, progress, exponent: float):
    rng = config.numpy_rng("noise")
    x = np.geomspace(1, 100, 8)
    y = np.array([xi**exponent * np.exp(rng.normal(0, 0.01)) for xi in progress(x, "points")])
    fit = fit_power_law(x, y)
    check = rate_check(Layer.EXPERIMENT, "square-rate", "y = Theta(x^2)", fit, SQUARE)
    figure = Figure("square", "y against x", (rate_panel("rate", "x", "y", x, y, fit, SQUARE),))
    return LayerResult(Layer.EXPERIMENT, checks=(check,), figures=(figure,))


def _raise(config, progress):
    raise RuntimeError("the experiment broke")


SOURCE = Source("Nobody (2024)", "Toy theorem 1", "0000.00000")


def toy_claim(claim_id: str, measured_exponent: float = 2.0, raising: bool = False) -> Claim:
    def experiment(config, progress):
        return _measured_square(config, progress, measured_exponent)

    return Claim(
        id=claim_id,
        title=f"Toy claim {claim_id}",
        source=SOURCE,
        bound=SQUARE,
        symbolic=_symbolic,
        numeric=_numeric,
        experiment=_raise if raising else experiment,
        assumptions=("x > 0",),
    )


CONSISTENT = toy_claim("toy-consistent")
VIOLATED = toy_claim("toy-violated", measured_exponent=3.0)
RAISING = toy_claim("toy-raising", raising=True)
