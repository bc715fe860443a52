"""optverify: checks optimization theorems of deep-learning theory on three layers.

Python API:
    import optverify
    optverify.claims                     # {claim id: Claim}: built-in and entry-point claims
    result = optverify.run(["balancedness", "path/to/mine.py"], optverify.RunConfig(quick=True))
    result.claims[0].verdict             # Verdict.CONSISTENT, ...

Claim authors import from `optverify.kit`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from optverify.claim import Claim
from optverify.config import RunConfig
from optverify.results import ClaimResult, Verdict

__all__ = ["Claim", "ClaimResult", "RunConfig", "Verdict", "claims", "run"]


def __getattr__(name: str):
    if name == "claims":
        from optverify.verify.discovery import known_claims

        return known_claims()
    raise AttributeError(f"module 'optverify' has no attribute {name!r}")


def run(claims: Sequence[str | Path | Claim], config: RunConfig = RunConfig()):
    """Run claims given as ids, claim-file paths or Claim objects; returns a `RunResult` (see
    optverify.verify.runner). An unknown id or a bad file raises `DiscoveryError`."""
    from optverify.verify import discovery, runner

    return runner.run(discovery.resolve(claims), config)
