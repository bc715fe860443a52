"""Where claims come from: three doors.

1. Built-in: the claim folders under `optverify/theorems/`, listed in `registry.CLAIM_MODULES`.
2. Entry points: a third-party package publishes claims under the group `optverify.claims`; each
   entry point names a `Claim` object (`pkg.claims:CLAIM`) or a module that defines `CLAIM`.
3. Files: `verify run path/to/claim.py`, a Python file that defines `CLAIM`.

Every claim found carries its origin ("built-in", "entry point NAME (DIST VERSION)", "file PATH").
Problems a user can fix (an unknown id, a missing file, a syntax error, no `CLAIM`, an id that
collides with another claim's) raise `DiscoveryError` with one clear line.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from types import ModuleType

from optverify.claim import Claim
from optverify.verify import registry

ENTRY_POINT_GROUP = registry.ENTRY_POINT_GROUP


class DiscoveryError(LookupError):
    """A claim that cannot be found or loaded; the message is one line for the user."""


def _claim_of(obj, where: str) -> Claim:
    """The Claim an entry point or file names: the object itself, or a module's CLAIM."""
    if isinstance(obj, ModuleType):
        if not hasattr(obj, "CLAIM"):
            raise DiscoveryError(f"{where} defines no CLAIM (a module-level optverify.kit.Claim)")
        obj = obj.CLAIM
    if not isinstance(obj, Claim):
        raise DiscoveryError(f"{where}: CLAIM is a {type(obj).__name__}, not an optverify Claim")
    return obj


def entry_point_claims() -> dict[str, Claim]:
    """Claims published by installed distributions under the `optverify.claims` group."""
    found: dict[str, Claim] = {}
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry.dist
        origin = f"entry point {entry.name}" + (f" ({dist.name} {dist.version})" if dist else "")
        try:
            loaded = entry.load()
        except Exception as error:
            raise DiscoveryError(f"{origin}: loading {entry.value} raised "
                                 f"{type(error).__name__}: {error}") from error
        claim = replace(_claim_of(loaded, origin), origin=origin)
        if claim.id in registry.BUILTIN_IDS:
            raise DiscoveryError(f"{origin} reuses the claim id {claim.id!r} of a built-in claim")
        if claim.id in found:
            raise DiscoveryError(f"{origin} reuses the claim id {claim.id!r} of "
                                 f"{found[claim.id].origin}")
        found[claim.id] = claim
    return found


def known_claims() -> dict[str, Claim]:
    """Built-in claims, then entry-point claims, by id."""
    return {**registry.builtin_claims(), **entry_point_claims()}


def _module_name(path: Path) -> str:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    stem = "".join(ch if ch.isalnum() else "_" for ch in path.stem)
    return f"optverify_claim_files.{stem}_{digest}"


def _import_file(path: Path) -> ModuleType:
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise DiscoveryError(f"{path}: not a Python file that can be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        del sys.modules[name]
        raise DiscoveryError(f"{path}: syntax error at line {error.lineno}: {error.msg}") from error
    except Exception as error:
        del sys.modules[name]
        raise DiscoveryError(f"{path}: importing it raised {type(error).__name__}: {error}") \
            from error
    finally:
        sys.path.remove(str(path.parent))
    import cloudpickle  # here, not at start-up: only a claim file needs it

    # its functions travel by value to Dask workers (s.map items, s.search refinements): the
    # workers cannot import a module that only this process loaded from a path
    cloudpickle.register_pickle_by_value(module)
    return module


def load_claim_file(path: str | Path) -> Claim:
    """The CLAIM defined by a Python file; its id may not be a built-in claim's."""
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise DiscoveryError(f"no claim file {path}")
    if path.suffix != ".py":
        raise DiscoveryError(f"{path}: a claim file is a .py file")
    claim = _claim_of(_import_file(path), str(path))
    if claim.id in registry.BUILTIN_IDS:
        raise DiscoveryError(f"{path}: the claim id {claim.id!r} is a built-in claim's; "
                             "give yours another id")
    return replace(claim, origin=f"file {path}")


def looks_like_path(spec: str) -> bool:
    """A claim spec names a file when it ends in .py or contains a path separator."""
    return spec.endswith(".py") or "/" in spec or "\\" in spec


def _by_id(claim_id: str, published: dict[str, Claim]) -> Claim:
    if claim_id in registry.BUILTIN_IDS:
        return registry.builtin_claim(claim_id)
    if claim_id in published:
        return published[claim_id]
    known = [*registry.BUILTIN_IDS, *published]
    close = difflib.get_close_matches(claim_id, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(known)}"
    raise DiscoveryError(f"unknown claim {claim_id!r}{hint}")


def resolve(specs: Iterable[str | Path | Claim]) -> list[Claim]:
    """Claims for a mix of ids, claim-file paths and Claim objects, in order, without repeats.

    Entry points are loaded only when an id is not built-in, so a broken third-party package does
    not stand in the way of the built-in claims."""
    claims: list[Claim] = []
    published: dict[str, Claim] | None = None
    for spec in specs:
        if isinstance(spec, Claim):
            claim = spec
        elif isinstance(spec, Path) or looks_like_path(str(spec)):
            claim = load_claim_file(spec)
        else:
            if published is None and spec not in registry.BUILTIN_IDS:
                published = entry_point_claims()
            claim = _by_id(str(spec), published or {})
        earlier = next((other for other in claims if other.id == claim.id), None)
        if earlier is None:
            claims.append(claim)
        elif earlier.origin != claim.origin:
            raise DiscoveryError(f"two claims share the id {claim.id!r}: {earlier.origin} and "
                                 f"{claim.origin}")
    return claims


def every_claim() -> list[Claim]:
    """What `verify all` runs: every built-in and entry-point claim."""
    return list(known_claims().values())
