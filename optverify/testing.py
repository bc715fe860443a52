"""The door for a claim author's tests: assertions on claims and their results, and the harness.

    from optverify.testing import assert_consistent, assert_every_decisive_check_can_say_no

    def test_my_claim_holds():
        result = assert_consistent("claims/gd_quadratic.py")       # quick, seed 0
        assert_every_decisive_check_can_say_no(result)

Modelled on `xarray.testing`: the assertions the project's own suite uses, public. A claim is given
as a `Claim`, a built-in or entry-point id, or the path of a claim file. Each assertion raises
`AssertionError` with the claim's decisive checks and their details, so a failing test says what
the referee found. `pytest --optverify PATH` (optverify.pytest_plugin) runs claims as test items
on the same functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from optverify.claim import Claim
from optverify.config import RunConfig
from optverify.results import Check, ClaimResult, Control, LayerResult, Verdict
from optverify.verify.discovery import resolve
from optverify.verify.runner import run_claim

__all__ = [
    "Check",
    "ClaimResult",
    "Control",
    "LayerResult",
    "RunConfig",
    "Verdict",
    "assert_consistent",
    "assert_every_decisive_check_can_say_no",
    "decisive_report",
    "quick_run",
]


def quick_run(claim: Claim | str | Path, *, quick: bool = True, seed: int = 0,
              precision: int = 50, device: str = "cpu", dtype: str = "float64") -> ClaimResult:
    """Run one claim (a `Claim`, an id or a claim-file path) in this process; quick by default,
    on the CPU, reproducible from `seed`."""
    [resolved] = resolve([claim])
    config = RunConfig(precision=precision, device=device, seed=seed, quick=quick, dtype=dtype)
    return run_claim(resolved, config)


def _check_line(check: Check) -> str:
    role = "main, decisive" if check.main else "decisive"
    detail = f": {check.detail}" if check.detail else ""
    return f"  [{check.verdict.value}] {check.layer.value}/{check.name} ({role}){detail}"


def decisive_report(result: ClaimResult) -> str:
    """The claim's verdict, then every decisive check not consistent and every layer that raised,
    one line each: the text an assertion fails with."""
    environment = result.environment
    settings = (f"{'quick' if environment.quick else 'full'}, seed {environment.seed}, "
                f"{environment.precision_digits} digits, {environment.device}, {environment.dtype}")
    lines = [f"claim {result.claim!r} is {result.verdict.value} ({settings})"]
    disagreeing = [check for check in result.checks
                   if check.decisive and check.verdict is not Verdict.CONSISTENT]
    lines += [_check_line(check) for check in disagreeing]
    lines += [f"  [error] {layer.layer.value} layer raised: {layer.error}"
              for layer in result.layers if layer.error]
    decisive = [check for check in result.checks if check.decisive]
    if not decisive:
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


def _unrejected(checks: Iterable[Check]) -> list[str]:
    return [f"{check.name}: {control.alternative} judged {control.verdict.value} "
            f"({control.detail})"
            for check in checks if check.decisive for control in check.controls
            if not control.rejected]


def assert_every_decisive_check_can_say_no(result: ClaimResult) -> None:
    """The negative controls: every decisive check names a false alternative and feeds it
    through its own judging path, which must judge it violated (an inconclusive control means the
    check cannot tell the claim from the alternative)."""
    uncontrolled = [check.name for check in result.checks if check.decisive and not check.controls]
    assert not uncontrolled, f"decisive checks without a negative control: {uncontrolled}"
    unrejected = _unrejected(result.checks)
    assert not unrejected, f"controls not rejected: {unrejected}"
