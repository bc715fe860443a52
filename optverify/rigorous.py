"""`verify --rigorous`: a numeric-layer inequality certified at its instance by ball arithmetic.

A numeric layer records "lhs <= rhs holds with margin rhs - lhs" from an mpmath computation at 50
digits: strong evidence, not a proof. An inequality that also carries its margin written once
(optverify.numerics.ball) and the exact instance it is about (`s.inequality(..., exact=(margin,
instance))`) is, under `--rigorous`, re-evaluated exactly (rational arithmetic) or in ball
arithmetic (python-flint's arb): an enclosure that excludes a violation (above -tolerance, or
exactly zero) makes the check "certified at this instance"; one strictly below -tolerance proves
the inequality false there and the check violated; otherwise the mpmath figure stands.

The certificate is about the one instance the margin describes (usually the worst of the layer's
instances), not about the other instances nor the claim in general. The enclosure must agree with
the mpmath margin (the independent twin), else the exact margin describes something else: a
programming error, raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from fractions import Fraction

from optverify.numerics.ball import Enclosure, Exact, Margin, certify
from optverify.results import Check, Verdict
from optverify.search_check import describe_instance

TWIN_RELATIVE_TOLERANCE = 1e-6
"""The enclosure and the mpmath margin describe the same number: they agree to 1e-6 relative (plus
the check's tolerance), far looser than either's precision, far tighter than a different
quantity would."""


def _agrees(enclosure: Enclosure, recorded: float, tolerance: float) -> bool:
    if not enclosure.decided and enclosure.low == -float("inf"):
        return True  # undecided arithmetic: nothing to compare
    slack = tolerance + TWIN_RELATIVE_TOLERANCE * max(1.0, abs(recorded))
    return enclosure.low - slack <= recorded <= enclosure.high + slack


def rigorous_inequality(check: Check, margin: Margin, instance: Mapping[str, Exact],
                        recorded: float, tolerance: float) -> Check:
    """The check with its certificate: values, wording, and the verdict the enclosure decides."""
    enclosure = certify(lambda x, m: margin(x, m) + m.number(_exact(tolerance)), instance)
    where = describe_instance(instance)
    shifted = f"margin + tolerance in {enclosure.text}" if tolerance else (
        f"margin in {enclosure.text}")
    arithmetic = ("exact rational arithmetic" if enclosure.bits == 0 else
                  f"ball arithmetic, {enclosure.bits} bits")
    if not _agrees(enclosure, float(recorded) + tolerance, 0.0):
        raise ValueError(f"check {check.name!r}: the exact margin at {where} ({enclosure.text}, "
                         f"plus tolerance) disagrees with the recorded margin {recorded!r}")
    values = {**dict(check.values), "rigorous_instance": where,
              "rigorous_enclosure": enclosure.text, "rigorous_bits": enclosure.bits}
    if enclosure.not_negative:
        return replace(check, verdict=Verdict.CONSISTENT,
                       detail=f"{check.detail}; certified at this instance ({where}): {shifted} "
                              f">= 0 ({arithmetic})",
                       values={**values, "certified_at_instance": "yes"})
    if enclosure.below_zero:
        return replace(check, verdict=Verdict.VIOLATED,
                       detail=f"{check.detail}; certified violated at {where}: {shifted} < 0 "
                              f"({arithmetic})",
                       values={**values, "certified_at_instance": "violated"})
    return replace(check, detail=f"{check.detail}; not certified at {where}: {shifted} contains "
                                 f"zero ({arithmetic}), the mpmath figure stands",
                   values={**values, "certified_at_instance": "no"})


def _exact(value: float) -> str:
    """A tolerance as the exact value of its float (the check compares against that float)."""
    return str(Fraction(float(value)))
