"""Quick mode is a smaller sweep, not a different answer: for every built-in claim, `--quick` and
the full run reach the same claim verdict, and every decisive check present in both modes agrees
(seed 0, float64). Full runs take minutes, so this is a slow test: `pytest -m slow`."""

import pytest

from optverify.config import RunConfig
from optverify.verify import registry
from optverify.verify.runner import run_claim


@pytest.mark.slow
@pytest.mark.parametrize("claim_id", list(registry.BUILTIN_IDS))
def test_quick_and_full_runs_agree(claim_id):
    claim = registry.builtin_claims()[claim_id]
    quick = run_claim(claim, RunConfig(quick=True, seed=0, dtype="float64"))
    full = run_claim(claim, RunConfig(quick=False, seed=0, dtype="float64"))
    decisive_quick = {c.name: c.verdict for c in quick.checks if c.decisive}
    decisive_full = {c.name: c.verdict for c in full.checks if c.decisive}
    disagreeing = {name: (decisive_quick[name].value, decisive_full[name].value)
                   for name in decisive_quick.keys() & decisive_full.keys()
                   if decisive_quick[name] is not decisive_full[name]}
    assert quick.verdict is full.verdict, (quick.verdict.value, full.verdict.value, disagreeing)
    assert not disagreeing, disagreeing
