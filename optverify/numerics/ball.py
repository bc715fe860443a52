"""Rigorous enclosures of a margin written once: float64 for the search, balls or rationals to certify.

A margin is a plain function `margin(x, m)`: `x` maps each variable of the instance to a number,
`m` is a maths namespace (`m.sqrt`, `m.erf`, `m.abs`, `m.max`, `m.step`, `m.matrix`,
`m.symmetric_eigenvalues`, ...),
and the Python operators + - * / ** do the rest. The same function runs on two namespaces:

- `FLOAT`: numbers are float64 and matrices numpy arrays (fast, for the search);
- `BallMath(bits)`: numbers are python-flint `arb` balls at `bits` bits of working precision and
  matrices `arb_mat`; every operation returns a ball that contains the exact result, so the final
  ball encloses the exact margin of the exact (rational) instance;
- `ExactMath`: Fractions, for a margin that is rational in the instance (decides even an
  equality, where every ball straddles zero). Write constants as `m.number("1/10")`, not floats:
  a float constant is taken as its binary value, not the decimal one meant.

Integer variables arrive as Python ints (float namespace) or flint `fmpz` (ball namespace), so
`range(n)` works in both; `fmpz` refuses an inexact division, so divide an integer only after
`m.number(n)`. An enclosure strictly below zero proves the margin negative at that instance: a
certified counter-example to "margin >= 0". A margin written for balls must not branch on its values (an
`if` on a ball compares only its midpoint's certainty, `arb < arb` is False when the balls
overlap): use `m.max`, `m.min`, `m.abs` and `m.step` (the Heaviside step, undecided on a ball
that straddles zero) instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

Margin = Callable[[Mapping[str, Any], Any], Any]
"""`margin(x, m) -> number`: the inequality's slack at instance `x` in maths namespace `m`."""

Exact = int | Fraction
"""An instance's value, exactly: what the certificate is about."""

CERTIFICATION_BITS = (128, 256, 512, 1024)
"""Working precisions tried in turn until the enclosure excludes zero: 128 bits resolves every
margin farther than ~1e-30 from zero for the expressions of the claims; the doubling absorbs
ill-conditioned eigenvalue problems; beyond 1024 bits an enclosure that still contains zero is
reported as undecided (the exact margin may be zero)."""


class FloatMath:
    """The float64 namespace of a margin (numpy for matrices)."""

    pi = math.pi

    @staticmethod
    def number(value: Exact | float | str) -> float:
        """A constant, given exactly (an int, a Fraction, a string such as "1/10")."""
        return float(Fraction(value)) if isinstance(value, str) else float(value)

    @staticmethod
    def variable(value: Exact | float) -> int | float:
        """An instance's value in this namespace: an integer stays a Python int."""
        return value if isinstance(value, int) else float(value)

    sqrt = staticmethod(np.sqrt)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    tanh = staticmethod(np.tanh)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    erf = staticmethod(math.erf)
    abs = staticmethod(abs)

    @staticmethod
    def step(value: float) -> float:
        """The Heaviside step 1[z > 0] (0 at z = 0: the convention of torch's ReLU and hinge
        derivatives)."""
        return 1.0 if value > 0 else 0.0

    @staticmethod
    def max(*values: float) -> float:
        return max(values)

    @staticmethod
    def min(*values: float) -> float:
        return min(values)

    @staticmethod
    def matrix(rows: Sequence[Sequence[Any]]) -> np.ndarray:
        return np.array([[float(v) for v in row] for row in rows], dtype=np.float64)

    @staticmethod
    def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a @ b

    @staticmethod
    def transpose(a: np.ndarray) -> np.ndarray:
        return a.T

    @staticmethod
    def symmetric_eigenvalues(a: np.ndarray) -> tuple[float, ...]:
        """Eigenvalues of a symmetric matrix, ascending."""
        return tuple(np.linalg.eigvalsh(a))

    @staticmethod
    def eigenvalue_moduli(a: np.ndarray) -> tuple[float, ...]:
        """|lambda| of each eigenvalue of a square matrix (any, not only normal ones)."""
        return tuple(np.abs(np.linalg.eigvals(a)))

    @staticmethod
    def entry(a: np.ndarray, i: int, j: int) -> float:
        return float(a[i, j])


FLOAT = FloatMath()


class BallMath:
    """The ball-arithmetic namespace of a margin (python-flint's arb and arb_mat)."""

    def __init__(self, bits: int) -> None:
        import flint
        import flint.utils.flint_exceptions

        self.bits = bits
        self._flint = flint
        self.flint_error = flint.utils.flint_exceptions.FlintError

    @property
    def pi(self) -> Any:
        return self._flint.arb.pi()

    def number(self, value: Any) -> Any:
        if isinstance(value, self._flint.arb):
            return value
        exact = Fraction(int(value) if isinstance(value, self._flint.fmpz) else value)
        return self._flint.arb(self._flint.fmpq(exact.numerator, exact.denominator))

    def _ball(self, value: Any) -> Any:
        return self.number(value)

    def variable(self, value: Exact) -> Any:
        """An instance's value in this namespace: an integer as fmpz, a rational as a ball."""
        if isinstance(value, int):
            return self._flint.fmpz(value)
        return self.number(value)

    def sqrt(self, value: Any) -> Any:
        return self._ball(value).sqrt()

    def exp(self, value: Any) -> Any:
        return self._ball(value).exp()

    def log(self, value: Any) -> Any:
        return self._ball(value).log()

    def tanh(self, value: Any) -> Any:
        return self._ball(value).tanh()

    def sin(self, value: Any) -> Any:
        return self._ball(value).sin()

    def cos(self, value: Any) -> Any:
        return self._ball(value).cos()

    def erf(self, value: Any) -> Any:
        return self._ball(value).erf()

    def step(self, value: Any) -> Any:
        """1[z > 0], when the ball decides it (an exact zero gives 0); raises `Unresolved` for a
        ball that straddles zero."""
        ball = self._ball(value)
        if ball > 0:
            return self.number(1)
        if ball < 0 or ball.is_zero():
            return self.number(0)
        raise Unresolved(f"the sign of {ball} is not decided at {self.bits} bits")

    def abs(self, value: Any) -> Any:
        return abs(self._ball(value))

    def max(self, *values: Any) -> Any:
        balls = [self._ball(v) for v in values]
        result = balls[0]
        for ball in balls[1:]:
            result = result.max(ball)
        return result

    def min(self, *values: Any) -> Any:
        balls = [self._ball(v) for v in values]
        result = balls[0]
        for ball in balls[1:]:
            result = result.min(ball)
        return result

    def matrix(self, rows: Sequence[Sequence[Any]]) -> Any:
        return self._flint.arb_mat([[self._ball(v) for v in row] for row in rows])

    @staticmethod
    def matmul(a: Any, b: Any) -> Any:
        return a * b

    @staticmethod
    def transpose(a: Any) -> Any:
        return a.transpose()

    def symmetric_eigenvalues(self, a: Any) -> tuple[Any, ...]:
        """Enclosures of the eigenvalues of a symmetric matrix, ascending by midpoint (isolated
        ones in their exact order; overlapping balls of a cluster are interchangeable, so the
        i-th ball still contains the i-th eigenvalue); raises `Unresolved` when none can be
        computed at the working precision."""
        values = [z.real for z in self._eigenvalues(a)]
        return tuple(sorted(values, key=lambda ball: float(ball.mid())))

    def eigenvalue_moduli(self, a: Any) -> tuple[Any, ...]:
        return tuple(abs(z) for z in self._eigenvalues(a))

    def _eigenvalues(self, a: Any) -> list[Any]:
        """Isolated eigenvalues when the precision separates them; else enclosures that allow
        repeated ones (Arb's `multiple=True`: a cluster gets one ball per member, wider)."""
        matrix = self._flint.acb_mat(a)
        try:
            return list(matrix.eig())
        except ValueError:
            pass
        try:
            return list(matrix.eig(multiple=True))
        except ValueError as error:
            raise Unresolved(f"eigenvalues not enclosed at {self.bits} bits") from error

    @staticmethod
    def entry(a: Any, i: int, j: int) -> Any:
        return a[i, j]


class ExactMath:
    """The rational namespace: + - * / and max, min, abs on Fractions, exactly. A margin that
    needs anything else (a root, an exponential, eigenvalues) raises `Unresolved` here and is
    enclosed in balls instead. Exact arithmetic decides the sign even at an equality (margin 0),
    where a ball always straddles zero."""

    @staticmethod
    def number(value: Any) -> Fraction:
        return Fraction(value)

    @staticmethod
    def variable(value: Exact) -> Exact:
        return value

    @staticmethod
    def _irrational(*_: Any) -> Any:
        raise Unresolved("not a rational expression")

    sqrt = exp = log = tanh = sin = cos = erf = symmetric_eigenvalues = eigenvalue_moduli = _irrational
    abs = staticmethod(abs)

    @staticmethod
    def step(value: Any) -> Fraction:
        return Fraction(1 if value > 0 else 0)

    @staticmethod
    def max(*values: Any) -> Any:
        return max(values)

    @staticmethod
    def min(*values: Any) -> Any:
        return min(values)

    @staticmethod
    def matrix(rows: Sequence[Sequence[Any]]) -> list[list[Fraction]]:
        return [[Fraction(v) for v in row] for row in rows]

    @staticmethod
    def matmul(a: list[list[Fraction]], b: list[list[Fraction]]) -> list[list[Fraction]]:
        return [[sum((x * y for x, y in zip(row, column)), Fraction(0)) for column in zip(*b)]
                for row in a]

    @staticmethod
    def transpose(a: list[list[Fraction]]) -> list[list[Fraction]]:
        return [list(column) for column in zip(*a)]

    @staticmethod
    def entry(a: list[list[Fraction]], i: int, j: int) -> Fraction:
        return a[i][j]


class Unresolved(ArithmeticError):
    """Ball arithmetic at this working precision cannot decide (eigenvalues not isolated)."""


@dataclass(frozen=True)
class Enclosure:
    """A rigorous enclosure of a margin at an exact instance.

    text: the ball as Arb prints it ("[mid +/- rad]", the printed ball contains the computed one),
        or the exact value when the margin is rational at a rational instance.
    low / high: float64 values of its ends, for display (the decision uses the balls themselves).
    below_zero / above_zero: whether the whole ball lies strictly below / above zero, decided in
        ball arithmetic; neither when it contains zero (or the arithmetic was undecided).
    bits: the working precision that produced it (0: exact rational arithmetic).
    exact_zero: the margin is exactly zero (an equality, decided in rational arithmetic).
    """

    text: str
    low: float
    high: float
    below_zero: bool
    above_zero: bool
    bits: int
    exact_zero: bool = False

    @property
    def decided(self) -> bool:
        return self.below_zero or self.above_zero or self.exact_zero

    @property
    def not_negative(self) -> bool:
        """Proved not to be a counter-example: above zero, or exactly zero."""
        return self.above_zero or self.exact_zero


@contextmanager
def _working_precision(bits: int) -> Iterator[None]:
    """python-flint's precision is process-wide: set it for the evaluation, then restore it."""
    import flint

    previous = flint.ctx.prec
    flint.ctx.prec = bits
    try:
        yield
    finally:
        flint.ctx.prec = previous


def enclose(margin: Margin, instance: Mapping[str, Exact], bits: int) -> Enclosure:
    """Evaluate `margin` in ball arithmetic at `bits` bits on the exact `instance`."""
    with _working_precision(bits):
        m = BallMath(bits)
        try:
            value = m.number(margin({name: m.variable(v) for name, v in instance.items()}, m))
        except (Unresolved, ArithmeticError, m.flint_error) as error:
            return Enclosure(f"undecided ({error})", -math.inf, math.inf, False, False, bits)
        zero = m.number(0)
        finite = value.is_finite()
        return Enclosure(value.str(20, radius=True), float(value.lower()), float(value.upper()),
                         bool(finite and value < zero), bool(finite and value > zero), bits)


def evaluate_exact(margin: Margin, instance: Mapping[str, Exact]) -> Enclosure | None:
    """The margin in rational arithmetic, as a zero-width enclosure; None when it is not a
    rational expression of the instance."""
    try:
        value = margin(dict(instance), ExactMath())
    except (Unresolved, TypeError, AttributeError):
        return None
    except (ArithmeticError, ValueError) as error:
        return Enclosure(f"undecided ({error})", -math.inf, math.inf, False, False, 0)
    if not isinstance(value, (int, Fraction)):
        return None  # a float constant inside the margin: not exact, left to the balls
    value = Fraction(value)
    return Enclosure(_exact_text(value), float(value), float(value), value < 0, value > 0, 0,
                     exact_zero=value == 0)


EXACT_TEXT_BITS = 128
"""An exact value is printed as its fraction up to 128 bits of numerator and denominator; a longer
one (the rational iterates of a few GD steps) as its float64 rounding, marked as such."""


def _exact_text(value: Fraction) -> str:
    if max(value.numerator.bit_length(), value.denominator.bit_length()) <= EXACT_TEXT_BITS:
        return str(value)
    size = value.numerator.bit_length() + value.denominator.bit_length()
    return f"{float(value):.17g} (exactly a rational of {size} bits, shown rounded)"


def certify(margin: Margin, instance: Mapping[str, Exact],
            bits: Sequence[int] = CERTIFICATION_BITS) -> Enclosure:
    """The margin's sign at an exact instance: exactly, when the margin is rational there; else
    the enclosure at the first working precision of `bits` that decides it, or the last one."""
    enclosure = evaluate_exact(margin, instance)
    if enclosure is not None:
        return enclosure
    for precision in bits:
        enclosure = enclose(margin, instance, precision)
        if enclosure.decided:
            return enclosure
    if enclosure is None:
        raise ValueError("certify needs at least one working precision")
    return enclosure


def evaluate_float(margin: Margin, instance: Mapping[str, Exact | float]) -> float:
    """The margin in float64; NaN when it raises an arithmetic error or is not finite (the
    search treats such instances as not evaluable)."""
    try:
        with np.errstate(all="ignore"):
            value = float(margin({name: FLOAT.variable(v) for name, v in instance.items()},
                                 FLOAT))
    except (ArithmeticError, ValueError, np.linalg.LinAlgError):
        return math.nan
    return value if math.isfinite(value) else math.nan
