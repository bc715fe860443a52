"""The built-in claims: one line per claim folder under `optverify/theorems/`.

A claim folder's `__init__.py` exposes `CLAIM`; registering it is adding its module name below.
Modules are imported on first use, so `verify list` stays fast. Claims from entry points and files
are found by `optverify.verify.discovery`.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing Claim imports sympy: `verify list` reads the cards without it
    from optverify.claim import Claim

ENTRY_POINT_GROUP = "optverify.claims"
"""The entry-point group under which installed distributions publish claims."""

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
    "depth_acceleration",
)


BUILTIN_IDS = tuple(name.replace("_", "-") for name in CLAIM_MODULES)
"""A built-in claim's id is its folder name in kebab case (a test holds every CLAIM to it), so ids
are known without importing any claim."""


@cache
def builtin_claim(claim_id: str) -> Claim:
    """The built-in claim with this id (its folder is imported on first use)."""
    if claim_id not in BUILTIN_IDS:
        raise KeyError(claim_id)
    module = importlib.import_module(f"optverify.theorems.{claim_id.replace('-', '_')}")
    return replace(module.CLAIM, origin="built-in")


def builtin_claims() -> dict[str, Claim]:
    """All built-in claims by id, in registration order, with origin "built-in"."""
    return {claim_id: builtin_claim(claim_id) for claim_id in BUILTIN_IDS}
