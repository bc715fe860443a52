"""Small claims with known outcomes, written on the kit, to test the runner, reports and CLI apart
from real theorems."""

from __future__ import annotations

import numpy as np
import sympy

from optverify.kit import Bound, Claim, Session, Source, rate_panel

SQUARE = Bound.tight("x", 2)


def _symbolic(s: Session) -> None:
    x = sympy.Symbol("x")
    s.zero("square-expansion", "(x+1)^2 = x^2 + 2x + 1", (x + 1) ** 2 - x**2 - 2 * x - 1)


def _numeric(s: Session) -> None:
    s.identity("sqrt-two", "sqrt(2)^2 = 2", abs(np.sqrt(2.0) ** 2 - 2.0), 1e-12)
    s.table("values", "A small table", ("x", "x^2"), ((1, 1.0), (2, 4.0)))
    s.note("a note")


def _measured_square(s: Session, exponent: float) -> None:
    rng = s.rng("noise")
    x = np.geomspace(1, 100, 8)
    y = np.array([xi**exponent * np.exp(rng.normal(0, 0.01)) for xi in s.progress(x, "points")])
    check = s.rate("square-rate", "y = Theta(x^2)", x, y, main=True, rules_out=3.0)
    s.figure("square", "y against x", [rate_panel("rate", "x", "y", x, y, check.fit, SQUARE)])


def _raise(s: Session) -> None:
    raise RuntimeError("the experiment broke")


SOURCE = Source("Nobody (2024)", "Toy theorem 1", "0000.00000")


def toy_claim(claim_id: str, measured_exponent: float = 2.0, raising: bool = False) -> Claim:
    def experiment(s: Session) -> None:
        _measured_square(s, measured_exponent)

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


def install_toy_registry(monkeypatch, claims: tuple[Claim, ...]) -> dict[str, Claim]:
    """Make `claims` the only known claims (no built-ins; they come as entry points, cards too)."""
    from optverify.verify import discovery, metadata, registry

    known = {claim.id: claim for claim in claims}
    monkeypatch.setattr(registry, "BUILTIN_IDS", ())
    monkeypatch.setattr(registry, "builtin_claims", dict)
    monkeypatch.setattr(discovery, "entry_point_claims", lambda: known)
    monkeypatch.setattr(metadata, "entry_point_cards",
                        lambda: [metadata.card_of_claim(claim) for claim in known.values()])
    return known
