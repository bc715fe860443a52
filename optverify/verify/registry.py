"""The built-in claims: one line per claim folder under `optverify/theorems/`.

A claim folder's `__init__.py` exposes `CLAIM`; registering it is adding its module name below.
Modules are imported on first use, so `verify list` stays fast. Claims from entry points and files
are found by `optverify.verify.discovery`.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
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


@cache
def builtin_claims() -> dict[str, Claim]:
    """All built-in claims by id, in registration order, with origin "built-in"."""
    modules = [importlib.import_module(f"optverify.theorems.{name}") for name in CLAIM_MODULES]
    return {m.CLAIM.id: replace(m.CLAIM, origin="built-in") for m in modules}
