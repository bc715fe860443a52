"""The door for a claim author's tests: assertions on claims and their results, and the harness.

    from optverify.testing import assert_consistent, assert_every_decisive_check_can_say_no

    def test_my_claim_holds():
        result = assert_consistent("claims/gd_quadratic.py")       # quick, seed 0
        assert_every_decisive_check_can_say_no(result)

Modelled on `xarray.testing`: the assertions the project's own suite uses, public, and the
harness a test needs beside the kit: `record_layer(function, Layer.EXPERIMENT,
RunConfig(quick=True))` runs one layer on a fresh session and returns its `LayerResult`
(exceptions propagate); `fit_rate` is the plain least-squares slope behind the judges; `Control`,
`BoundKind` and `ExponentJudgement` are result types the assertions read.

A claim is given as a `Claim`, a built-in or entry-point id, or the path of a claim file. Each
assertion raises `AssertionError` with the claim's decisive checks and their details, so a failing
test says what the referee found. `pytest --optverify PATH` (optverify.pytest_plugin) runs claims
as test items on the same functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from optverify.bound import BoundKind
from optverify.claim import Claim
from optverify.config import RunConfig
from optverify.numerics.fit import fit_rate
from optverify.results import Check, ClaimResult, Control, Layer, LayerResult, Verdict
from optverify.session import record_layer
from optverify.verdict import ExponentJudgement
from optverify.verify.discovery import resolve
from optverify.verify.runner import run_claim

__all__ = [
    "BoundKind",
    "Check",
    "ClaimResult",
    "Control",
    "ExponentJudgement",
    "Layer",
    "LayerResult",
    "RunConfig",
    "Verdict",
    "assert_consistent",
    "assert_every_decisive_check_can_say_no",
    "decisive_report",
    "fit_rate",
    "quick_run",
    "record_layer",
]


def quick_run(claim: Claim | str | Path, *, quick: bool = True, seed: int = 0,
              precision: int = 50, device: str = "cpu", dtype: str = "float64") -> ClaimResult:
    """Run one claim (a `Claim`, an id or a claim-file path) in this process; quick by default,
    on the CPU, reproducible from `seed`."""
    [resolved] = resolve([claim])
    config = RunConfig(precision=precision, device=device, seed=seed, quick=quick, dtype=dtype)
    return run_claim(resolved, config)


def _check_line(check: Check) -> str:
    detail = f": {check.detail}" if check.detail else ""
    return (f"  [{check.verdict.value}] {check.layer.value}/{check.name} "
            f"({check.role.description}){detail}")


def decisive_report(result: ClaimResult) -> str:
    """The claim's verdict, then every decisive check not consistent and every layer that raised,
    one line each: the text an assertion fails with."""
    lines = [f"claim {result.claim!r} is {result.verdict.value} ({result.environment.settings})"]
    lines += [_check_line(check) for check in result.decisive_checks
              if check.verdict is not Verdict.CONSISTENT]
    lines += [f"  [error] {layer.layer.value} layer raised: {layer.error}"
              for layer in result.layers if layer.error]
    if not result.decisive_checks:
        lines.append("  no decisive check was recorded")
    return "\n".join(lines)


def assert_consistent(claim: Claim | str | Path | ClaimResult, *, quick: bool = True,
                      seed: int = 0, precision: int = 50, device: str = "cpu",
                      dtype: str = "float64") -> ClaimResult:
    """Run the claim (or take a result already run) and fail unless its verdict is consistent;
    the failure lists the decisive checks that disagree with their details. Returns the result."""
    result = claim if isinstance(claim, ClaimResult) else quick_run(
        claim, quick=quick, seed=seed, precision=precision, device=device, dtype=dtype)
    if result.verdict is not Verdict.CONSISTENT:
        raise AssertionError(decisive_report(result))
    return result


def _unrejected(decisive: Iterable[Check]) -> list[str]:
    return [f"{check.name}: {control.alternative} judged {control.verdict.value} "
            f"({control.detail})"
            for check in decisive for control in check.controls if not control.rejected]


def assert_every_decisive_check_can_say_no(result: ClaimResult) -> None:
    """The negative controls: every decisive check names a false alternative and feeds it
    through its own judging path, which must judge it violated (an inconclusive control means the
    check cannot tell the claim from the alternative)."""
    uncontrolled = [check.name for check in result.decisive_checks if not check.controls]
    assert not uncontrolled, f"decisive checks without a negative control: {uncontrolled}"
    unrejected = _unrejected(result.decisive_checks)
    assert not unrejected, f"controls not rejected: {unrejected}"
