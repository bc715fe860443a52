"""The Claim type: what a theorem states, where it comes from, and its three verification layers.

A claim folder under `optverify/theorems/` builds one `Claim`. Its layers are plain functions
`layer(config: RunConfig, progress: Progress) -> LayerResult`: the symbolic layer (sympy), the
numeric layer (mpmath at `config.precision` digits) and the experiment layer (torch on
`config.device`). A layer never touches global random state: it draws generators from the config,
seeded by purpose (`config.torch_generator("init")`, `config.numpy_rng("data")`).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import sympy

if TYPE_CHECKING:
    import torch

    from optverify.results import LayerResult

T = TypeVar("T")

Progress = Callable[[Iterable[T], str], Iterable[T]]
"""Wraps an iterable of work items with a progress display; the second argument describes the work."""


def no_progress(items: Iterable[T], description: str = "") -> Iterable[T]:
    """The default progress: iterate silently."""
    return items


class Layer(str, Enum):
    SYMBOLIC = "symbolic"
    NUMERIC = "numeric"
    EXPERIMENT = "experiment"


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
        rate = self.kind in (BoundKind.LOWER, BoundKind.UPPER, BoundKind.TIGHT)
        if rate and self.exponent is None:
            raise ValueError(f"a {self.kind.value} bound needs an exponent")
        if not rate and self.expression is None:
            raise ValueError(f"an {self.kind.value} bound needs an expression")

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


@dataclass(frozen=True)
class Source:
    """Where a claim is stated: authors and year, the theorem or equation, and the arXiv id."""

    paper: str
    theorem: str
    arxiv: str

    def cite(self) -> str:
        return f"{self.theorem} of {self.paper}, arXiv:{self.arxiv}"


MIN_PRECISION_DIGITS = 10
MAX_PRECISION_DIGITS = 2000


@dataclass(frozen=True)
class RunConfig:
    """How to run the claims: mpmath digits, torch device and dtype, master seed, quick mode."""

    precision: int = 50
    device: str = "cpu"
    seed: int = 0
    quick: bool = False
    dtype: str = "float64"

    def __post_init__(self) -> None:
        if not MIN_PRECISION_DIGITS <= self.precision <= MAX_PRECISION_DIGITS:
            raise ValueError(
                f"precision must be between {MIN_PRECISION_DIGITS} and {MAX_PRECISION_DIGITS} "
                f"digits, got {self.precision}"
            )
        if self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}")

    def seed_for(self, purpose: str) -> int:
        """A seed derived from the master seed and a purpose name ('init', 'data', ...)."""
        return (self.seed * 1_000_003 + zlib.crc32(purpose.encode())) % 2**63

    def torch_generator(self, purpose: str) -> torch.Generator:
        import torch

        return torch.Generator(device=self.device).manual_seed(self.seed_for(purpose))

    def numpy_rng(self, purpose: str) -> np.random.Generator:
        return np.random.default_rng(self.seed_for(purpose))

    @property
    def torch_dtype(self) -> torch.dtype:
        import torch

        return getattr(torch, self.dtype)

    def as_dict(self) -> dict:
        return asdict(self)


LayerFunction = Callable[[RunConfig, Progress], "LayerResult"]

_KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Claim:
    """One theorem to verify.

    id: stable kebab-case name (the CLI name and report folder).
    bound: the main claimed bound; each layer's checks may carry their own bounds too.
    assumptions: the hypotheses under which the bound is claimed, in plain words.
    symbolic, numeric, experiment: the three layer functions.
    """

    id: str
    title: str
    source: Source
    bound: Bound
    symbolic: LayerFunction
    numeric: LayerFunction
    experiment: LayerFunction
    assumptions: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not _KEBAB.match(self.id):
            raise ValueError(f"claim id must be kebab-case, got {self.id!r}")

    def layers(self) -> tuple[tuple[Layer, LayerFunction], ...]:
        return (
            (Layer.SYMBOLIC, self.symbolic),
            (Layer.NUMERIC, self.numeric),
            (Layer.EXPERIMENT, self.experiment),
        )
