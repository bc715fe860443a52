"""Seed replicates: the verdict rule, the split in words, the exponent spread and its pooled
interval (against an independent twin), and the combined result."""

import math
import statistics
from dataclasses import replace

import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

from optverify.config import RunConfig
from optverify.results import Verdict
from optverify.verify import replicates
from optverify.verify.runner import run_claim
from optverify.verify.serialize import claim_to_json
from tests.toy_claims import CONSISTENT, VIOLATED

C, V, I = Verdict.CONSISTENT, Verdict.VIOLATED, Verdict.INCONCLUSIVE


def test_seeds_are_consecutive_and_the_count_is_a_positive_integer():
    assert replicates.replicate_seeds(7, 3) == (7, 8, 9)
    for bad in (0, -1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="integer >= 1"):
            replicates.replicate_seeds(0, bad)


def test_the_verdict_is_the_agreed_one_else_inconclusive_with_the_split():
    assert replicates.agreed_verdict([C, C, C]) is C
    assert replicates.agreed_verdict([V]) is V
    assert replicates.agreed_verdict([C, V, C]) is I
    assert replicates.verdict_split([C, V, C]) == "consistent 2/3, violated 1/3"
    assert replicates.verdict_split([V, C]) == "consistent 1/2, violated 1/2"


@given(st.lists(st.floats(-10, 10, allow_nan=False), min_size=2, max_size=12))
def test_spread_matches_an_independent_computation(exponents):
    spread = replicates.exponent_spread("rate", range(len(exponents)), exponents,
                                        [C] * len(exponents))
    mean, sd = statistics.fmean(exponents), statistics.stdev(exponents)
    assert spread.mean == pytest.approx(mean, abs=1e-9)
    assert spread.sd == pytest.approx(sd, abs=1e-9)
    assert (spread.minimum, spread.maximum) == (min(exponents), max(exponents))
    if sd > 0:
        low, high = scipy.stats.t.interval(0.95, len(exponents) - 1, loc=mean,
                                           scale=sd / math.sqrt(len(exponents)))
        assert spread.pooled_low == pytest.approx(low, abs=1e-9)
        assert spread.pooled_high == pytest.approx(high, abs=1e-9)
    assert spread.pooled_low <= spread.mean <= spread.pooled_high


def test_one_seed_has_no_sd_and_no_pooled_interval():
    spread = replicates.exponent_spread("rate", [0], [2.0], [C])
    assert spread.sd is None and spread.pooled_low is None and spread.mean == 2.0


def test_combined_result_keeps_the_first_seed_and_records_every_seed():
    per_seed = [run_claim(CONSISTENT, RunConfig(seed=seed)) for seed in (3, 4, 5)]
    per_seed[1] = replace(per_seed[1], verdict=Verdict.VIOLATED)
    combined = replicates.combine_replicates(per_seed)
    assert combined.verdict is I and combined.layers == per_seed[0].layers
    assert combined.replicates.seeds == (3, 4, 5)
    assert combined.replicates.split == "consistent 2/3, violated 1/3"
    (spread,) = combined.replicates.exponents
    assert spread.check == "square-rate" and spread.exponents == tuple(
        result.checks[2].fit.exponent for result in per_seed)
    assert combined.environment.wall_s == pytest.approx(
        sum(result.environment.wall_s for result in per_seed))
    data = claim_to_json(combined)["replicates"]
    assert data["verdicts"] == ["consistent", "violated", "consistent"]
    assert data["exponents"][0]["pooled_level"] == 0.95


def test_replicates_of_different_claims_are_refused():
    with pytest.raises(ValueError, match="different claims"):
        replicates.combine_replicates([run_claim(CONSISTENT), run_claim(VIOLATED)])
    with pytest.raises(ValueError, match="no replicate"):
        replicates.combine_replicates([])


def test_run_replicated_runs_each_seed():
    result = replicates.run_replicated([VIOLATED], RunConfig(seed=2), 2)
    (claim,) = result.claims
    assert claim.verdict is V and claim.replicates.seeds == (2, 3)
    assert claim.replicates.exponents[0].mean == pytest.approx(3.0, abs=0.02)
