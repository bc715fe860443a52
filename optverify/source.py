"""Where a claim is stated: `Source`, kept apart from `Claim` so that a claim's citation can be
read (`verify list`, the docs gallery) without importing the layers' sympy and torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """Where a claim is stated: authors and year, the theorem or equation, and the arXiv id
    (empty when the claim has none)."""

    paper: str
    theorem: str
    arxiv: str = ""

    def cite(self) -> str:
        where = f"{self.theorem} of {self.paper}"
        return f"{where}, arXiv:{self.arxiv}" if self.arxiv else where
