"""The check a counter-example search records (`Session.search`): its verdict, wording and numbers.

Violated only with a certificate: the exact instance and a ball-arithmetic enclosure of the margin
strictly below zero (optverify.numerics.ball). A float violation that the balls cannot decide is
inconclusive; one whose enclosure lies above zero was rounding, and with nothing else found the
search is a reported check (not decisive: a search that finds nothing is not a proof) stating its
budget and the smallest margin it met.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING

from optverify.numerics.ball import Exact, Margin
from optverify.numerics.search import Domain, SearchBudget, SearchResult, search
from optverify.results import Check, Value, Verdict

if TYPE_CHECKING:
    from optverify.session import Session


def describe_instance(instance: Mapping[str, Exact | float]) -> str:
    """`c = 3/2, n = 2`: exact values as fractions (a long binary fraction that is a float64 as
    that float, `2.1 (float64)`), floats with 6 significant digits."""
    return ", ".join(f"{name} = {_describe_value(value)}" for name, value in instance.items())


def _describe_value(value: Exact | float) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Fraction) and len(str(value)) > 24 and Fraction(float(value)) == value:
        return f"{float(value)!r} (float64)"
    return str(value)


def search_judgement(result: SearchResult, budget: SearchBudget) -> tuple[Verdict, str, bool]:
    """(verdict, detail, whether the outcome can be decisive) of a finished search."""
    spent = (f"{result.evaluations} float evaluations ({budget.starts} starts, up to "
             f"{budget.steps} compass steps for the lowest)")
    best = f"smallest float margin {result.best_margin:.6g} at {describe_instance(result.best_point)}"
    enclosure = result.enclosure
    if result.certified and enclosure is not None:
        return (Verdict.VIOLATED,
                f"certified counter-example {describe_instance(result.counter_example)}: margin "
                f"{_enclosed(enclosure)} < 0; {best}; "
                f"{spent}", True)
    if enclosure is not None and not enclosure.not_negative:
        return (Verdict.INCONCLUSIVE,
                f"{best} but not certified: the enclosure {enclosure.text} at "
                f"{describe_instance(result.candidate)} does not exclude zero; {spent}", True)
    rounding = ("" if enclosure is None else
                f" (float rounding: the margin at {describe_instance(result.candidate)} is "
                f"{enclosure.text}, {'exactly zero' if enclosure.exact_zero else 'above zero'})")
    return (Verdict.CONSISTENT,
            f"no counter-example found (a search, not a proof): {best}{rounding}; {spent}", False)


def _enclosed(enclosure) -> str:
    if enclosure.bits == 0:
        return f"= {enclosure.text} (exact rational arithmetic)"
    return f"in {enclosure.text} (ball arithmetic, {enclosure.bits} bits)"


def search_values(result: SearchResult, budget: SearchBudget, domain: Domain
                  ) -> dict[str, Value]:
    """The check's numbers; no wall time (a duration among a check's values would make `verify
    rerun` skip its verdict; the layer's wall time holds it)."""
    values: dict[str, Value] = {
        "domain": "; ".join(f"{n} in {v.describe()}" for n, v in domain.items()),
        "budget_starts": budget.starts,
        "budget_steps": budget.steps,
        "evaluations": result.evaluations,
        "unevaluable": result.unevaluable,
        "best_margin": result.best_margin,
        "best_instance": describe_instance(result.best_point),
    }
    if result.enclosure is not None:
        values["candidate"] = describe_instance(result.candidate)
        values["enclosure"] = result.enclosure.text
        values["enclosure_bits"] = result.enclosure.bits
    if result.counter_example is not None:
        values["counter_example"] = describe_instance(result.counter_example)
    return values


def record_search(s: Session, name: str, statement: str, margin: Margin, domain: Domain,
                  budget: SearchBudget, decisive: bool, values: Mapping[str, Value] | None
                  ) -> Check:
    """Run the search with the session's seed for `name` and its mapper; record the check."""
    result = search(margin, domain, s.config.seed_for(f"search-{name}"), budget,
                    mapper=lambda function, items: s.map(function, items, f"search {name}"))
    verdict, detail, can_decide = search_judgement(result, budget)
    return s.check(name, statement, verdict, detail, decisive=decisive and can_decide,
                   rules_out="the statement as written: margin >= 0 at every instance of "
                             "the domain",
                   values={**search_values(result, budget, domain), **dict(values or {})})
