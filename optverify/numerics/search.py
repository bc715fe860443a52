"""A seeded, budgeted search for an instance that breaks an inequality margin(instance) >= 0.

The referee's half that hunts: over a declared box of reals, integers and matrices (entries in a
range, optionally symmetric), evaluate the margin
(written once, see `optverify.numerics.ball`) in float64 at the box's corners, its centre and
seeded random points; refine the lowest few by a derivative-free compass search (each refinement
an independent work item, so a cluster can run them); shrink the best violation toward simple
values (integers of small size, then rationals of small denominator, the way hypothesis shrinks
its examples), keeping the float margin negative; and re-evaluate the shrunk instance (then the
unshrunk one) exactly: in rational arithmetic when the margin allows it, else in ball arithmetic.
Only a value or enclosure strictly below zero makes a counter-example: the float search proposes,
the exact evaluation decides. A search that finds nothing proves nothing; it reports its budget and
the smallest margin it met.

Everything is deterministic for a seed: the starts come from one numpy Generator, the refinements
and the shrinking are deterministic functions of their inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import product
from typing import Any

import numpy as np

from optverify.numerics.ball import Enclosure, Exact, Margin, certify, evaluate_float
from optverify.numerics.validation import require

REFINED_STARTS = 8
"""The refinement goes to the 8 lowest starts: enough to leave a local minimum that is not the
global one, few enough that the refinement (not the random starts) spends most of the budget."""

SHRINK_PASSES = 6
"""Shrinking sweeps over the variables until one changes nothing, at most 6 times."""

SHRINK_SCALES = 48
"""A real is shrunk to the simplest rational within (high - low) / 2^k of its value, k = 0..47:
from the whole range down to ~3.6e-15 of it (float64's resolution of the value)."""


@dataclass(frozen=True)
class RealRange:
    """A real variable in [low, high] (exact ends); `log=True` draws it log-uniformly (a step size,
    a scale: both ends positive)."""

    low: Fraction
    high: Fraction
    log: bool = False

    def __init__(self, low: Exact | float | str, high: Exact | float | str, log: bool = False
                 ) -> None:
        object.__setattr__(self, "low", Fraction(low))
        object.__setattr__(self, "high", Fraction(high))
        object.__setattr__(self, "log", log)
        require(self.low <= self.high,
                lambda: f"a real range needs low <= high, got [{self.low}, {self.high}]")
        require(not log or self.low > 0,
                lambda: f"a log-scale range needs positive ends, got [{self.low}, {self.high}]")

    def draw(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(float(self.low), float(self.high)))

    def clip(self, value: float) -> float:
        return min(max(value, float(self.low)), float(self.high))

    def describe(self) -> str:
        return f"[{self.low}, {self.high}]" + (" (log scale)" if self.log else "")


@dataclass(frozen=True)
class IntegerRange:
    """An integer variable in [low, high]."""

    low: int
    high: int

    def __post_init__(self) -> None:
        require(isinstance(self.low, int) and isinstance(self.high, int),
                lambda: f"an integer range needs integer ends, got [{self.low}, {self.high}]")
        require(self.low <= self.high,
                lambda: f"an integer range needs low <= high, got [{self.low}, {self.high}]")

    def draw(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.low, self.high, endpoint=True))

    def clip(self, value: float) -> int:
        return int(min(max(round(value), self.low), self.high))

    def describe(self) -> str:
        return f"{{{self.low}, ..., {self.high}}}"


@dataclass(frozen=True)
class MatrixRange:
    """A rows x columns real matrix with every entry in [low, high]; `symmetric=True` (square
    only) varies the upper triangle and mirrors it. The search sees one real variable per free
    entry, named `W[i,j]`; the margin gets `x["W"]` as a list of rows, for `m.matrix(x["W"])`."""

    rows: int
    columns: int
    low: Fraction
    high: Fraction
    symmetric: bool = False

    def __init__(self, rows: int, columns: int, low: Exact | float | str,
                 high: Exact | float | str, symmetric: bool = False) -> None:
        require(isinstance(rows, int) and isinstance(columns, int) and rows >= 1 and columns >= 1,
                lambda: f"a matrix range needs positive integer sizes, got {rows} x {columns}")
        require(not symmetric or rows == columns,
                lambda: f"a symmetric matrix range must be square, got {rows} x {columns}")
        entry = RealRange(low, high)
        for name, value in (("rows", rows), ("columns", columns), ("low", entry.low),
                            ("high", entry.high), ("symmetric", symmetric)):
            object.__setattr__(self, name, value)

    def entries(self, name: str) -> dict[str, RealRange]:
        """The free entries as real variables."""
        return {f"{name}[{i},{j}]": RealRange(self.low, self.high)
                for i in range(self.rows) for j in range(self.columns)
                if not self.symmetric or i <= j}

    def assemble(self, name: str, values: Mapping[str, Any]) -> list[list[Any]]:
        return [[values[f"{name}[{min(i, j)},{max(i, j)}]" if self.symmetric
                        else f"{name}[{i},{j}]"] for j in range(self.columns)]
                for i in range(self.rows)]

    def describe(self) -> str:
        kind = "symmetric " if self.symmetric else ""
        return f"{kind}{self.rows} x {self.columns} matrices, entries in [{self.low}, {self.high}]"


Variable = RealRange | IntegerRange
Domain = Mapping[str, Variable | MatrixRange]
Point = dict[str, float | int]


@dataclass(frozen=True)
class SearchBudget:
    """How hard to look: `starts` float evaluations at corners, centre and random points, then up
    to `steps` compass steps (each 2 x variables evaluations) for each of the lowest starts."""

    starts: int = 256
    steps: int = 60

    def __post_init__(self) -> None:
        require(self.starts >= 1 and self.steps >= 0,
                lambda: f"a search budget needs starts >= 1 and steps >= 0, got "
                        f"starts={self.starts}, steps={self.steps}")


@dataclass(frozen=True)
class Refined:
    """One start after the compass search: where it ended, its margin, evaluations spent."""

    point: Point
    margin: float
    evaluations: int


@dataclass(frozen=True)
class SearchResult:
    """What a search found.

    evaluations: float64 margin evaluations spent (starts, refinements, shrinking).
    unevaluable: instances where the float margin raised or was not finite.
    best_margin / best_point: the smallest float margin met and where.
    counter_example: the exact (shrunk) instance that was certified, or None.
    enclosure: the exact value or ball enclosure of the margin at the certified instance; when
        none was certified, at the first candidate proved not negative (the float violation was
        rounding or an equality), else at the unshrunk one; None when nothing violated in float.
    candidate / candidate_margin: the instance the enclosure is about and its float margin.
    """

    evaluations: int
    unevaluable: int
    best_margin: float
    best_point: Mapping[str, float | int]
    counter_example: Mapping[str, Exact] | None = None
    enclosure: Enclosure | None = None
    candidate: Mapping[str, Exact] = field(default_factory=dict)
    candidate_margin: float | None = None

    @property
    def certified(self) -> bool:
        return self.counter_example is not None

    @property
    def violated_in_float(self) -> bool:
        return self.best_margin < 0


def validate_domain(domain: Domain) -> None:
    """One clear error for a domain that cannot be searched."""
    if not isinstance(domain, Mapping) or not domain:
        raise ValueError("a search domain is a non-empty mapping of variable names to "
                         "RealRange / IntegerRange")
    for name, variable in domain.items():
        if not isinstance(name, str) or not isinstance(variable,
                                                       (RealRange, IntegerRange, MatrixRange)):
            raise ValueError(f"search variable {name!r}: expected a RealRange, IntegerRange or "
                             f"MatrixRange, got {type(variable).__name__}")


def flatten(domain: Domain) -> dict[str, Variable]:
    """The box the search walks: scalars as they are, each matrix as its free entries."""
    flat: dict[str, Variable] = {}
    for name, variable in domain.items():
        flat.update(variable.entries(name) if isinstance(variable, MatrixRange)
                    else {name: variable})
    return flat


@dataclass(frozen=True)
class Assembled:
    """The margin seen on the flat box: matrices assembled from their entries, then `margin`."""

    margin: Margin
    domain: Domain

    def __call__(self, x: Mapping[str, Any], m: Any) -> Any:
        matrices = {name: variable.assemble(name, x) for name, variable in self.domain.items()
                    if isinstance(variable, MatrixRange)}
        scalars = {name: x[name] for name, variable in self.domain.items()
                   if not isinstance(variable, MatrixRange)}
        return self.margin({**scalars, **matrices}, m)


def starts(domain: Domain, count: int, rng: np.random.Generator) -> list[Point]:
    """The box's corners (a seeded subset when there are more than half of `count`), its centre,
    then seeded random points, `count` in all."""
    names = list(domain)
    corners = [dict(zip(names, values)) for values in
               product(*[(_end(domain[n], "low"), _end(domain[n], "high")) for n in names])]
    if len(corners) > count // 2:
        chosen = rng.choice(len(corners), size=count // 2, replace=False)
        corners = [corners[i] for i in sorted(chosen)]
    centre = {n: domain[n].clip((float(domain[n].low) + float(domain[n].high)) / 2)
              for n in names}
    points = (corners + [centre])[:count]
    while len(points) < count:
        points.append({n: domain[n].draw(rng) for n in names})
    return points


def _end(variable: Variable, which: str) -> float | int:
    value = getattr(variable, which)
    return value if isinstance(variable, IntegerRange) else float(value)


def refine(margin: Margin, domain: Domain, point: Point, steps: int) -> Refined:
    """Compass search from `point`: try +- step on each variable, move to the first that lowers
    the margin, halve the steps when none does (integers down to 1). Deterministic."""
    names = list(domain)
    scale = {n: (float(domain[n].high) - float(domain[n].low)) / 4 for n in names}
    for n in names:
        if isinstance(domain[n], IntegerRange):
            scale[n] = max(1.0, math.floor(scale[n]))
    current = dict(point)
    value = _finite(evaluate_float(margin, current))
    evaluations = 1
    for _ in range(steps):
        moved = False
        for n, sign in product(names, (-1, 1)):
            trial = dict(current)
            trial[n] = domain[n].clip(current[n] + sign * scale[n])
            if trial[n] == current[n]:
                continue
            trial_value = _finite(evaluate_float(margin, trial))
            evaluations += 1
            if trial_value < value:
                current, value, moved = trial, trial_value, True
                break
        if not moved:
            if all(scale[n] <= (1.0 if isinstance(domain[n], IntegerRange)
                                else 1e-12 * max(1.0, abs(current[n]))) for n in names):
                break
            scale = {n: (max(1.0, math.floor(scale[n] / 2)) if isinstance(domain[n], IntegerRange)
                         else scale[n] / 2) for n in names}
    return Refined(current, value, evaluations)


def _finite(value: float) -> float:
    return math.inf if math.isnan(value) else value


def simplest_between(low: Fraction, high: Fraction) -> Fraction:
    """The simplest rational in [low, high]: smallest denominator, then smallest |numerator|
    (continued fractions; 0 when the interval holds it, else an integer when one lies inside)."""
    if low > high:
        raise ValueError(f"empty interval [{low}, {high}]")
    if low <= 0 <= high:
        return Fraction(0)
    if high < 0:
        return -simplest_between(-high, -low)
    whole = math.floor(low)
    if whole == low:
        return Fraction(whole)
    if whole + 1 <= high:
        return Fraction(whole + 1)
    return whole + 1 / simplest_between(1 / (high - whole), 1 / (low - whole))


def _simpler_values(variable: Variable, value: Exact) -> list[Exact]:
    """Candidates simpler than `value` within the variable's range, simplest first: the simplest
    number within (high - low) / 2^k of it for k = 0, 1, ..."""
    low, high = Fraction(variable.low), Fraction(variable.high)
    width = high - low
    candidates: list[Exact] = []
    for k in range(SHRINK_SCALES):
        radius = width / 2 ** k
        lower, upper = max(low, value - radius), min(high, value + radius)
        if isinstance(variable, IntegerRange):
            lower, upper = Fraction(math.ceil(lower)), Fraction(math.floor(upper))
            if lower > upper:
                break
        candidate = simplest_between(lower, upper)
        candidate = int(candidate) if isinstance(variable, IntegerRange) else candidate
        if candidate == value:
            break
        if candidate not in candidates:
            candidates.append(candidate)
    return candidates


def shrink(margin: Margin, domain: Domain, point: Point) -> tuple[dict[str, Exact], int]:
    """Move each variable to the simplest value that keeps the float margin negative, sweep
    until nothing changes; returns the exact instance and the evaluations spent."""
    instance: dict[str, Exact] = {
        n: (int(v) if isinstance(domain[n], IntegerRange) else Fraction(v))
        for n, v in point.items()}
    evaluations = 0
    for _ in range(SHRINK_PASSES):
        changed = False
        for n in domain:
            for candidate in _simpler_values(domain[n], instance[n]):
                trial = {**instance, n: candidate}
                evaluations += 1
                if evaluate_float(margin, trial) < 0:
                    instance, changed = trial, True
                    break
        if not changed:
            break
    return instance, evaluations


Mapper = Callable[[Callable[[Point], Refined], Sequence[Point]], list[Refined]]
"""Runs the refinements: `(refine_one, starts) -> results in order` (in process, or `s.map`)."""


def search(margin: Margin, domain: Domain, seed: int, budget: SearchBudget = SearchBudget(),
           mapper: Mapper | None = None) -> SearchResult:
    """Search `domain` for an instance with margin < 0; certify the best one found. A domain with
    matrices is searched entry by entry (`flatten`); the result names the entries."""
    validate_domain(domain)
    if not callable(margin):
        raise ValueError(f"a search margin is a function margin(x, m), got "
                         f"{type(margin).__name__}")
    if any(isinstance(variable, MatrixRange) for variable in domain.values()):
        margin, domain = Assembled(margin, domain), flatten(domain)
    rng = np.random.default_rng(seed)
    points = starts(domain, budget.starts, rng)
    margins = [_finite(evaluate_float(margin, p)) for p in points]
    unevaluable = sum(math.isinf(v) for v in margins)
    order = sorted(range(len(points)), key=lambda i: (margins[i], i))[:REFINED_STARTS]
    chosen = [points[i] for i in order if not math.isinf(margins[i])]
    run = mapper or (lambda function, items: [function(item) for item in items])
    refined = run(_Refiner(margin, domain, budget.steps), chosen)
    evaluations = len(points) + sum(r.evaluations for r in refined)
    best = min([Refined(p, v, 0) for p, v in zip(points, margins)] + list(refined),
               key=lambda r: r.margin)
    if not best.margin < 0:
        return SearchResult(evaluations, unevaluable, best.margin, best.point)
    shrunk, spent = shrink(margin, domain, best.point)
    evaluations += spent
    unshrunk = {n: (int(v) if isinstance(domain[n], IntegerRange) else Fraction(v))
                for n, v in best.point.items()}
    decided = [(candidate, certify(margin, candidate)) for candidate in (shrunk, unshrunk)]
    for candidate, enclosure in decided:
        if enclosure.below_zero:
            return SearchResult(evaluations, unevaluable, best.margin, best.point, candidate,
                                enclosure, candidate, evaluate_float(margin, candidate))
    candidate, enclosure = next(((c, e) for c, e in decided if e.not_negative), decided[-1])
    return SearchResult(evaluations, unevaluable, best.margin, best.point, None, enclosure,
                        candidate, evaluate_float(margin, candidate))


@dataclass(frozen=True)
class _Refiner:
    """`refine` with its margin, domain and steps bound: one picklable work item function."""

    margin: Margin
    domain: Domain
    steps: int

    def __call__(self, point: Point) -> Refined:
        return refine(self.margin, self.domain, point, self.steps)
