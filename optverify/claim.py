"""The Claim type: what a theorem states, where it comes from, and its verification layers.

A claim is one `Claim` object: its id, title, source, main bound and assumptions, and up to three
layer functions `layer(s: Session) -> None` (see `optverify.session`): `symbolic` (sympy),
`numeric` (mpmath at `s.precision` digits) and `experiment` (torch on `s.device`). Every layer is
optional; a claim with only an experiment is valid. A layer never touches global random state: it
draws its streams from the session, seeded by purpose (`s.generator("init")`, `s.rng("data")`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from optverify.bound import Bound
from optverify.results import Layer
from optverify.session import LayerFunction
from optverify.source import Source

_KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Claim:
    """One theorem to verify.

    id: stable kebab-case name (the CLI name and report folder).
    bound: the main claimed bound; the check recorded with `main=True` is judged against it.
    assumptions: the hypotheses under which the bound is claimed, in plain words.
    symbolic, numeric, experiment: the layer functions (each optional).
    origin: where the claim was found ("built-in", "entry point ...", "file ..."); set by discovery.
    """

    id: str
    title: str
    source: Source
    bound: Bound
    symbolic: LayerFunction | None = None
    numeric: LayerFunction | None = None
    experiment: LayerFunction | None = None
    assumptions: tuple[str, ...] = field(default_factory=tuple)
    origin: str = "python object"

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _KEBAB.match(self.id):
            raise ValueError(f"claim id must be kebab-case, got {self.id!r}")
        if not isinstance(self.bound, Bound):
            raise TypeError(f"claim {self.id!r}: bound must be a Bound, got {self.bound!r}")
        if not any(callable(function) for _, function in self.layers()):
            raise ValueError(f"claim {self.id!r} has no layer: give it a symbolic, numeric or "
                             "experiment function")
        if isinstance(self.assumptions, str):
            raise TypeError(f"claim {self.id!r}: assumptions are a tuple of strings")

    def layers(self) -> tuple[tuple[Layer, LayerFunction], ...]:
        """The layers this claim has, in order: symbolic, numeric, experiment."""
        every = ((Layer.SYMBOLIC, self.symbolic), (Layer.NUMERIC, self.numeric),
                 (Layer.EXPERIMENT, self.experiment))
        return tuple((layer, function) for layer, function in every if function is not None)

