"""Claimed bounds: a rate (Omega, O or Theta of a power or an exponential) or an identity or
inequality, with readable constructors for claim authors.

    Bound.lower("n", 3.5)         # Omega(n^(7/2))
    Bound.upper("|H|", -1)        # O(|H|^-1)
    Bound.tight("kappa", 1)       # Theta(kappa)
    Bound.tight("t", -1, exponential=True)  # Theta(exp(-t))
    Bound.upper("T", -1, log_power=1)   # O(T^-1 log T)
    Bound.tight("eta", 2, limit="zero") # Theta(eta^2) as eta -> 0
    Bound.upper("T", -1, offset=True)   # a + O(1/T), the limit a unknown (fitted)
    Bound.falls("T")                    # falls as T -> infinity, at a rate not stated
    Bound.grows("n")                    # grows with n, at a rate not stated
    Bound.identity(expr)          # expr = 0 (or a sympy Eq)
    Bound.inequality(expr)        # a sympy relation that holds

Exponents are sympy numbers; a plain float becomes the rational it spells (3.5 -> 7/2, 0.1 -> 1/10).
A rate bound states the limit it is about: x -> infinity (the default) or x -> 0 (step sizes,
precisions, radii). Toward 0 the order of sizes turns round: O(eta^2) as eta -> 0 asks for an
exponent of at least 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import sympy

from optverify.numerics.fit import (
    EXPONENT_MARGIN,
    EXPONENT_RESOLUTION,
    RELATIVE_RATE_MARGIN,
    RELATIVE_RATE_RESOLUTION,
)


class BoundKind(str, Enum):
    """Direction of a claimed bound.

    LOWER: the quantity grows at least like x^exponent (measured exponent >= claimed).
    UPPER: the quantity grows at most like x^exponent (measured exponent <= claimed).
    TIGHT: the quantity grows exactly like x^exponent (Theta).
    IDENTITY: an expression equals zero (checked as residual <= tolerance).
    INEQUALITY: an expression holds as an inequality (checked as a signed margin).
    FALLS: the quantity falls toward the limit at a rate not stated (its exponent is below 0 by
        more than the resolution; the claimed constant, exponent 0, is the alternative).
    GROWS: the quantity grows toward the limit at a rate not stated.
    """

    LOWER = "lower"
    UPPER = "upper"
    TIGHT = "tight"
    IDENTITY = "identity"
    INEQUALITY = "inequality"
    FALLS = "falls"
    GROWS = "grows"

    @property
    def is_rate(self) -> bool:
        return self in (BoundKind.LOWER, BoundKind.UPPER, BoundKind.TIGHT, BoundKind.FALLS,
                        BoundKind.GROWS)


LIMITS = ("infinity", "zero")
"""The limits of the swept variable a rate bound can be about."""


_STATED_RATES = (BoundKind.LOWER, BoundKind.UPPER, BoundKind.TIGHT)


def as_exponent(value) -> sympy.Expr:
    """A claimed exponent as an exact sympy number: 3.5 -> 7/2, 0.1 -> 1/10, 2 -> 2."""
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"an exponent is a number or a sympy expression, got {value!r}")
    if isinstance(value, int):
        return sympy.Integer(value)
    return sympy.nsimplify(value, rational=True)


@dataclass(frozen=True)
class Bound:
    """A claimed bound: its kind, and the exponent (rates) or expression (identities) in sympy.

    variable: the swept quantity the exponent refers to ('n', 'eta', '|H|', 't').
    exponent: the claimed exponent for LOWER / UPPER / TIGHT bounds, e.g. sympy.Rational(7, 2).
    expression: the claimed identity or inequality for IDENTITY / INEQUALITY bounds.
    exponential: the rate is the a in exp(a * variable) (a log-linear fit), not a power law.
    limit: "infinity" or "zero", the limit of the variable the rate is about.
    log_power: L in variable^exponent |log variable|^L, a log factor the claim states (0: none).
    offset: the quantity is a + C variable^exponent with an unknown limit a (a loss converging
        to an unknown L*): the rate is that of the quantity less its fitted limit.
    margin: how closely the claim states its exponent (a consistent verdict needs the interval
        within it; optverify.verdict); None: the kit's default (`judging_margin`). A claim that
        only tells rates far apart (exp(-c d) from exp(-c d^2)) may state a coarser one; the report
        prints it.
    """

    kind: BoundKind
    variable: str = ""
    exponent: sympy.Expr | None = None
    expression: sympy.Basic | None = None
    exponential: bool = False
    limit: str = "infinity"
    log_power: sympy.Expr = sympy.Integer(0)
    offset: bool = False
    margin: float | None = None

    def __post_init__(self) -> None:
        if self.kind.is_rate and self.exponent is None:
            raise ValueError(f"a {self.kind.value} bound needs an exponent")
        if not self.kind.is_rate and self.expression is None:
            raise ValueError(f"an {self.kind.value} bound needs an expression")
        if self.limit not in LIMITS:
            raise ValueError(f"a rate's limit is one of {LIMITS}, got {self.limit!r}")
        if (self.log_power != 0 or self.offset) and (self.exponential or not self.kind.is_rate):
            raise ValueError("a log factor or an offset belongs to a power-law rate bound")
        if self.margin is not None and not (self.kind in _STATED_RATES and math.isfinite(
                self.margin) and self.margin > 0):
            raise ValueError(f"a margin is a positive finite number on an O, Omega or Theta rate "
                             f"bound, got {self.margin!r}")

    @classmethod
    def lower(cls, variable: str, exponent, *, exponential: bool = False,
              limit: str = "infinity", log_power=0, offset: bool = False,
              margin: float | None = None) -> Bound:
        """Omega(variable^exponent |log variable|^log_power) as variable -> limit: the measured
        rate is at least the claimed one (toward infinity: exponent at least the claimed one)."""
        return cls(BoundKind.LOWER, variable, as_exponent(exponent), exponential=exponential,
                   limit=limit, log_power=as_exponent(log_power), offset=offset, margin=margin)

    @classmethod
    def upper(cls, variable: str, exponent, *, exponential: bool = False,
              limit: str = "infinity", log_power=0, offset: bool = False,
              margin: float | None = None) -> Bound:
        """O(variable^exponent |log variable|^log_power) as variable -> limit: the measured rate is
        at most the claimed one (toward infinity: exponent at most the claimed one)."""
        return cls(BoundKind.UPPER, variable, as_exponent(exponent), exponential=exponential,
                   limit=limit, log_power=as_exponent(log_power), offset=offset, margin=margin)

    @classmethod
    def tight(cls, variable: str, exponent, *, exponential: bool = False,
              limit: str = "infinity", log_power=0, offset: bool = False,
              margin: float | None = None) -> Bound:
        """Theta(variable^exponent |log variable|^log_power) as variable -> limit: the measured
        rate equals the claimed one."""
        return cls(BoundKind.TIGHT, variable, as_exponent(exponent), exponential=exponential,
                   limit=limit, log_power=as_exponent(log_power), offset=offset, margin=margin)

    @classmethod
    def falls(cls, variable: str, *, exponential: bool = False, limit: str = "infinity") -> Bound:
        """The quantity falls as variable -> limit, at a rate not stated: judged against a
        constant (exponent 0)."""
        return cls(BoundKind.FALLS, variable, sympy.Integer(0), exponential=exponential,
                   limit=limit)

    @classmethod
    def grows(cls, variable: str, *, exponential: bool = False, limit: str = "infinity") -> Bound:
        """The quantity grows as variable -> limit, at a rate not stated: judged against a
        constant (exponent 0)."""
        return cls(BoundKind.GROWS, variable, sympy.Integer(0), exponential=exponential,
                   limit=limit)

    @classmethod
    def identity(cls, expression, variable: str = "") -> Bound:
        """An identity: `expression` = 0, or a sympy Eq(lhs, rhs)."""
        return cls(BoundKind.IDENTITY, variable, expression=sympy.sympify(expression))

    @classmethod
    def inequality(cls, expression, variable: str = "") -> Bound:
        """An inequality: a sympy relation such as Le(lhs, rhs)."""
        return cls(BoundKind.INEQUALITY, variable, expression=sympy.sympify(expression))

    @property
    def exponent_value(self) -> float | None:
        return None if self.exponent is None else float(self.exponent)

    @property
    def judging_margin(self) -> float | None:
        """The margin a consistent verdict confirms the rate to (optverify.verdict): the stated
        one, else EXPONENT_MARGIN for a power law and RELATIVE_RATE_MARGIN of the claimed rate for
        an exponential one (`rate_scaled`); None without a stated rate."""
        if self.kind not in _STATED_RATES:
            return None
        if self.margin is not None:
            return self.margin
        return self.rate_scaled(EXPONENT_MARGIN, RELATIVE_RATE_MARGIN)

    @property
    def judging_resolution(self) -> float:
        """The exponent resolution the bound is judged at (optverify.verdict): EXPONENT_RESOLUTION
        for a power law, RELATIVE_RATE_RESOLUTION of the claimed rate for an exponential one
        (`rate_scaled`)."""
        return self.rate_scaled(EXPONENT_RESOLUTION, RELATIVE_RATE_RESOLUTION)

    def rate_scaled(self, absolute: float, relative: float) -> float:
        """A judging constant in the bound's own units: `relative` times the claimed rate |a| of
        an exponential bound exp(a x) (an absolute constant means nothing for a rate of 0.001),
        `absolute` for a power-law exponent, for an exponential bound that claims a rate of 0,
        and for a bound without an exponent."""
        claimed = self.exponent_value
        if self.exponential and claimed:
            return relative * abs(claimed)
        return absolute

    @property
    def log_power_value(self) -> float:
        return float(self.log_power)

    @property
    def diverges(self) -> bool:
        """Whether the claimed power grows without bound toward the limit (x^p with p > 0 as
        x -> infinity or p < 0 as x -> 0; a `grows` bound): an offset a in a + C x^p is then a
        constant left behind by the growth, not a limit the quantity approaches."""
        if self.kind is BoundKind.GROWS:
            return True
        if self.exponent is None or self.kind is BoundKind.FALLS:
            return False
        claimed = float(self.exponent)
        return claimed > 0 if self.limit == "infinity" else claimed < 0

    def describe(self) -> str:
        if self.exponent is None:
            return f"{self.kind.value}: {sympy.sstr(self.expression)}"
        toward = " as " + self.variable + " -> 0" if self.limit == "zero" else ""
        if self.kind in (BoundKind.FALLS, BoundKind.GROWS):
            how = "exponentially " if self.exponential else ""
            return (f"{self.kind.value} {how}in {self.variable}{toward} (rate not stated)")
        symbol = {"lower": "Omega", "upper": "O", "tight": "Theta"}[self.kind.value]
        if self.exponential:
            return (f"{symbol}(exp({sympy.sstr(self.exponent)} {self.variable})){toward}"
                    + self._stated_margin())
        log = ""
        if self.log_power != 0:
            power = "" if self.log_power == 1 else f"^{sympy.sstr(self.log_power)}"
            log = f" log({self.variable}){power}"
        shift = "a + " if self.offset else ""
        return (f"{shift}{symbol}({self.variable}^{sympy.sstr(self.exponent)}{log}){toward}"
                + self._stated_margin())

    def _stated_margin(self) -> str:
        return "" if self.margin is None else f" (exponent to within {self.margin:g})"
