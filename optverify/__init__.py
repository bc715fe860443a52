"""optverify: checks optimization theorems of deep-learning theory on three layers.

Python API:
    import optverify
    optverify.__version__                # the package version (also `verify --version`)
    optverify.claims                     # {claim id: Claim}: built-in and entry-point claims
    result = optverify.run(["balancedness", "path/to/mine.py"], optverify.RunConfig(quick=True))
    result.claims[0].verdict             # Verdict.CONSISTENT, ...
    result                               # in Jupyter: the verdict table (result._repr_html_())

Claim authors import from `optverify.kit`; their tests from `optverify.testing`.

The names below are loaded on first use (PEP 562), so `import optverify` and the CLI's `--help`,
`--version` and `list` import no torch, scipy or sympy.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from optverify.claim import Claim
    from optverify.config import RunConfig
    from optverify.results import ClaimResult, Verdict

__all__ = ["Claim", "ClaimResult", "RunConfig", "Verdict", "__version__", "claims", "run"]

_LAZY = {"Claim": "optverify.claim", "ClaimResult": "optverify.results",
         "RunConfig": "optverify.config", "Verdict": "optverify.results"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "claims":
        from optverify.verify.discovery import known_claims

        return known_claims()
    raise AttributeError(f"module 'optverify' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def run(claims: Sequence[str | Path | Claim], config: RunConfig | None = None):
    """Run claims given as ids, claim-file paths or Claim objects; returns a `RunResult` (see
    optverify.verify.runner), which renders as a verdict table in Jupyter. An unknown id or a bad
    file raises `DiscoveryError`. `config` defaults to `RunConfig()` (full sweeps, seed 0)."""
    from optverify.config import RunConfig
    from optverify.verify import discovery, runner

    return runner.run(discovery.resolve(claims), RunConfig() if config is None else config)
