"""optverify: checks optimization theorems of deep-learning theory on three layers.

Python API:
    import optverify
    optverify.claims                     # {claim id: Claim}
    result = optverify.run(["balancedness"], optverify.RunConfig(quick=True))
    result.claims[0].verdict             # Verdict.CONSISTENT, ...
"""

from __future__ import annotations

from collections.abc import Sequence

from optverify.claim import Claim, RunConfig
from optverify.results import ClaimResult, Verdict

__all__ = ["Claim", "ClaimResult", "RunConfig", "Verdict", "claims", "run"]


def __getattr__(name: str):
    if name == "claims":
        from optverify.verify.registry import claims

        return claims()
    raise AttributeError(f"module 'optverify' has no attribute {name!r}")


def run(claim_ids: Sequence[str], config: RunConfig = RunConfig()):
    """Run the named claims and return a `RunResult` (see optverify.verify.runner)."""
    from optverify.verify import registry, runner

    return runner.run([registry.get(claim_id) for claim_id in claim_ids], config)
