"""Claimed bounds: a rate (Omega, O or Theta of a power or an exponential) or an identity or
inequality, with readable constructors for claim authors.

    Bound.lower("n", 3.5)         # Omega(n^(7/2))
    Bound.upper("|H|", -1)        # O(|H|^-1)
    Bound.tight("kappa", 1)       # Theta(kappa)
    Bound.tight("t", -1, exponential=True)  # Theta(exp(-t))
    Bound.identity(expr)          # expr = 0 (or a sympy Eq)
    Bound.inequality(expr)        # a sympy relation that holds

Exponents are sympy numbers; a plain float becomes the rational it spells (3.5 -> 7/2, 0.1 -> 1/10).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import sympy


class BoundKind(str, Enum):
    """Direction of a claimed bound.

    LOWER: the quantity grows at least like x^exponent (measured exponent >= claimed).
    UPPER: the quantity grows at most like x^exponent (measured exponent <= claimed).
    TIGHT: the quantity grows exactly like x^exponent (Theta).
    IDENTITY: an expression equals zero (checked as residual <= tolerance).
    INEQUALITY: an expression holds as an inequality (checked as a signed margin).
    """

    LOWER = "lower"
    UPPER = "upper"
    TIGHT = "tight"
    IDENTITY = "identity"
    INEQUALITY = "inequality"

    @property
    def is_rate(self) -> bool:
        return self in (BoundKind.LOWER, BoundKind.UPPER, BoundKind.TIGHT)


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
    """

    kind: BoundKind
    variable: str = ""
    exponent: sympy.Expr | None = None
    expression: sympy.Basic | None = None
    exponential: bool = False

    def __post_init__(self) -> None:
        if self.kind.is_rate and self.exponent is None:
            raise ValueError(f"a {self.kind.value} bound needs an exponent")
        if not self.kind.is_rate and self.expression is None:
            raise ValueError(f"an {self.kind.value} bound needs an expression")

    @classmethod
    def lower(cls, variable: str, exponent, *, exponential: bool = False) -> Bound:
        """Omega(variable^exponent): the measured exponent is at least the claimed one."""
        return cls(BoundKind.LOWER, variable, as_exponent(exponent), exponential=exponential)

    @classmethod
    def upper(cls, variable: str, exponent, *, exponential: bool = False) -> Bound:
        """O(variable^exponent): the measured exponent is at most the claimed one."""
        return cls(BoundKind.UPPER, variable, as_exponent(exponent), exponential=exponential)

    @classmethod
    def tight(cls, variable: str, exponent, *, exponential: bool = False) -> Bound:
        """Theta(variable^exponent): the measured exponent equals the claimed one."""
        return cls(BoundKind.TIGHT, variable, as_exponent(exponent), exponential=exponential)

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

    def describe(self) -> str:
        if self.exponent is None:
            return f"{self.kind.value}: {sympy.sstr(self.expression)}"
        symbol = {"lower": "Omega", "upper": "O", "tight": "Theta"}[self.kind.value]
        if self.exponential:
            return f"{symbol}(exp({sympy.sstr(self.exponent)} {self.variable}))"
        return f"{symbol}({self.variable}^{sympy.sstr(self.exponent)})"
