"""What travels to another process for a claim: a built-in claim by id, a claim file by path, any
other claim object by cloudpickle (an entry point's by reference to its installed module).

Used by the isolated serial run (`optverify.verify.isolation`) and the Dask run
(`optverify.verify.parallel`): both load the claim again in the process that runs its layers.
"""

from __future__ import annotations

from dataclasses import dataclass

from optverify.claim import Claim
from optverify.verify import discovery, registry

FILE_ORIGIN = "file "


@dataclass(frozen=True)
class ClaimReference:
    """What travels for a claim: its id (built-in), its file's path, or the object."""

    kind: str
    name: str
    claim: Claim | None = None

    def load(self) -> Claim:
        if self.kind == "built-in":
            return registry.builtin_claim(self.name)
        if self.kind == "file":
            return discovery.load_claim_file(self.name)
        assert self.claim is not None
        return self.claim


def reference(claim: Claim) -> ClaimReference:
    """The smallest thing that brings this claim back in another process."""
    if claim.origin == "built-in" and claim.id in registry.BUILTIN_IDS \
            and registry.builtin_claim(claim.id) == claim:
        return ClaimReference("built-in", claim.id)
    if claim.origin.startswith(FILE_ORIGIN):
        return ClaimReference("file", claim.origin.removeprefix(FILE_ORIGIN))
    return ClaimReference("object", claim.id, claim)
