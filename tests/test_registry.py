"""Every registered claim runs in quick mode: all three layers produce checks, none errors."""

import json

import pytest

import optverify
from optverify.config import RunConfig
from optverify.results import Layer
from optverify.testing import assert_every_decisive_check_can_say_no
from optverify.verify import discovery, registry
from optverify.verify.report import write_claim_report
from optverify.verify.runner import run_claim

CLAIM_IDS = list(registry.BUILTIN_IDS)


def test_registry_ids_are_unique_and_match_the_modules():
    assert list(registry.builtin_claims()) == CLAIM_IDS
    assert len(set(CLAIM_IDS)) == len(registry.CLAIM_MODULES)


def test_python_api_exposes_the_claims():
    assert list(optverify.claims)[: len(CLAIM_IDS)] == CLAIM_IDS
    assert all(claim.origin == "built-in" for claim in registry.builtin_claims().values())


def test_unknown_claim_suggests_close_ids():
    with pytest.raises(discovery.DiscoveryError, match="did you mean balancedness"):
        discovery.resolve(["balancednes"])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_claim_runs_in_quick_mode(claim_id, dtype, tmp_path):
    claim = registry.builtin_claims()[claim_id]
    result = run_claim(claim, RunConfig(quick=True, seed=0, dtype=dtype))
    errors = [f"{c.layer.value}/{c.name}: {c.detail}" for c in result.checks
              if c.verdict.value == "error"]
    assert not errors, errors
    for layer in Layer:
        assert any(check.layer is layer for check in result.checks), f"no {layer.value} check"
    assert result.main_checks and all(check.bound == claim.bound for check in result.main_checks)
    folder = write_claim_report(result, tmp_path)
    assert json.loads((folder / "report.json").read_text())["claim"] == claim_id
    assert_every_decisive_check_can_say_no(result)

