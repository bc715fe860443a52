"""Which claims exist: one line per claim folder under `optverify/theorems/`.

A claim folder's `__init__.py` exposes `CLAIM`; registering it is adding its module name below.
Modules are imported on first use, so `verify list` stays fast.
"""

from __future__ import annotations

import difflib
import importlib
from functools import cache

from optverify.claim import Claim

CLAIM_MODULES = (
    "balancedness",
    "end_to_end_preconditioner",
    "deficiency_margin_convergence",
    "pwl_conditioning",
    "orthogonal_gradient_variance",
    "saxe_dynamics",
    "jacobian_products",
    "end_to_end_snr",
    "saddle_points",
    "flat_activations",
    "linear_interpolation",
)


class UnknownClaimError(LookupError):
    """A claim id that is not registered; the message suggests the closest ids."""


@cache
def claims() -> dict[str, Claim]:
    """All registered claims by id, in registration order."""
    loaded = [importlib.import_module(f"optverify.theorems.{name}").CLAIM for name in CLAIM_MODULES]
    return {claim.id: claim for claim in loaded}


def get(claim_id: str) -> Claim:
    """The claim with this id, or UnknownClaimError naming the closest registered ids."""
    known = claims()
    if claim_id in known:
        return known[claim_id]
    close = difflib.get_close_matches(claim_id, list(known), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(known)}"
    raise UnknownClaimError(f"unknown claim {claim_id!r}{hint}")
