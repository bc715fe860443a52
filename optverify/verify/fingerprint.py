"""The SHA-256 of the files that define a claim, recorded in its report (`claim_source`), so that
`verify rerun` can say that a claim's code changed even when its numbers did not.

Which files: a claim file (`verify run FILE`) is that file; a built-in claim is every `.py` file of
its folder under `optverify/theorems/`; a claim from an entry point (or a Python object) is the
source files of the modules that define its layer functions. One file's digest is that file's own
SHA-256 (what `sha256sum FILE` prints); several files' digest is the SHA-256 of their
`sha256sum`-style lines, `<hex digest>  <name>\\n`, sorted by name (the names as recorded in
`files`).
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import optverify
from optverify.claim import Claim
from optverify.results import SourceFingerprint

BUILTIN_ROOT = Path(optverify.__file__).resolve().parent
"""The installed optverify package: built-in claim files are named relative to its parent."""


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def digest_of(files: dict[str, Path]) -> str:
    """One file's own SHA-256, or the SHA-256 of the `<digest>  <name>` lines of several, sorted by
    name."""
    if len(files) == 1:
        return file_sha256(next(iter(files.values())))
    lines = "".join(f"{file_sha256(path)}  {name}\n" for name, path in sorted(files.items()))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def claim_source_files(claim: Claim) -> dict[str, Path]:
    """The files that define `claim`, by the name recorded for each (module docstring)."""
    if claim.origin.startswith("file "):
        path = Path(claim.origin.removeprefix("file "))
        return {str(path): path}
    if claim.origin == "built-in":
        folder = BUILTIN_ROOT / "theorems" / claim.id.replace("-", "_")
        return {path.relative_to(BUILTIN_ROOT.parent).as_posix(): path
                for path in folder.rglob("*.py") if "__pycache__" not in path.parts}
    found = {}
    for _, function in claim.layers():
        try:
            source = inspect.getsourcefile(function)
        except TypeError:  # a builtin or C function: no source file
            source = None
        if source and Path(source).is_file():
            found[str(Path(source).resolve())] = Path(source)
    return found


def fingerprint(claim: Claim) -> SourceFingerprint | None:
    """The claim's source fingerprint; None when its files cannot be found or read (a claim made
    in an interactive session)."""
    try:
        files = claim_source_files(claim)
        return SourceFingerprint(digest_of(files), tuple(sorted(files))) if files else None
    except OSError:
        return None
