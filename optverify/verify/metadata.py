"""Claims' metadata without their layers: what `verify list` and the docs gallery show.

A built-in claim's folder `__init__.py` builds its `CLAIM` at import time, and importing it imports
its layers (sympy, mpmath, torch): seconds. Its id, title and source are literals in the
`Claim(...)` call, so they are read from the file's syntax tree instead (`ast.literal_eval`, no
code runs). A folder whose call is not literal is imported, as is every entry-point claim (a
third-party package has no file to read); with no entry points installed nothing is imported.
`tests/verify/test_metadata.py` holds every built-in card to the imported `CLAIM`.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from optverify.source import Source
from optverify.verify import registry


@dataclass(frozen=True)
class ClaimCard:
    """What a listing shows of a claim: its id, title, source and origin."""

    id: str
    title: str
    source: Source
    origin: str


class _NotLiteral(ValueError):
    """The CLAIM call of a folder is not made of literals: the folder must be imported."""


def _claim_call(tree: ast.Module) -> ast.Call:
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and any(isinstance(target, ast.Name) and target.id == "CLAIM"
                        for target in node.targets)):
            return node.value
    raise _NotLiteral("no CLAIM = Claim(...) assignment")


def _literal_keywords(call: ast.Call, names: tuple[str, ...]) -> dict[str, object]:
    keywords = {keyword.arg: keyword.value for keyword in call.keywords}
    try:
        return {name: ast.literal_eval(keywords[name]) for name in names if name in keywords}
    except ValueError as error:
        raise _NotLiteral(str(error)) from error


def card_from_source_text(text: str, origin: str) -> ClaimCard:
    """The card of a claim module's source text; `_NotLiteral` when it must be imported."""
    call = _claim_call(ast.parse(text))
    fields = _literal_keywords(call, ("id", "title"))
    source_call = {keyword.arg: keyword.value for keyword in call.keywords}.get("source")
    if not isinstance(source_call, ast.Call) or source_call.args or len(fields) != 2:
        raise _NotLiteral("id, title or source is not given as a literal keyword")
    source = Source(**_literal_keywords(source_call, ("paper", "theorem", "arxiv")))
    return ClaimCard(fields["id"], fields["title"], source, origin)


def card_of_claim(claim) -> ClaimCard:
    """The card of a loaded `Claim`."""
    return ClaimCard(claim.id, claim.title, claim.source, claim.origin)


def builtin_card(claim_id: str) -> ClaimCard:
    """A built-in claim's card, read from its folder's `__init__.py` (imported only when the call
    is not literal)."""
    module = f"optverify.theorems.{claim_id.replace('-', '_')}"
    spec = importlib.util.find_spec(module)
    if spec is not None and spec.origin is not None:
        try:
            return card_from_source_text(Path(spec.origin).read_text(encoding="utf-8"),
                                         "built-in")
        except (_NotLiteral, SyntaxError, TypeError):
            pass
    return card_of_claim(registry.builtin_claim(claim_id))


def entry_point_cards() -> list[ClaimCard]:
    """The entry-point claims' cards: loaded (and their modules imported) only when an installed
    distribution publishes any; a claim that cannot be loaded raises `DiscoveryError`."""
    if not importlib.metadata.entry_points(group=registry.ENTRY_POINT_GROUP):
        return []
    from optverify.verify.discovery import entry_point_claims

    return [card_of_claim(claim) for claim in entry_point_claims().values()]


def claim_cards() -> list[ClaimCard]:
    """Every built-in and entry-point claim's card, in `verify all`'s order."""
    return [*(builtin_card(claim_id) for claim_id in registry.BUILTIN_IDS), *entry_point_cards()]
