"""Facts computed once on the result objects (a check's role, a claim's decisive tally, a run's
verdict counts and settings), and the one spelling of numbers the reports share."""

import json
import math
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from optverify.config import RunConfig
from optverify.results import (
    Check,
    ClaimResult,
    Environment,
    Layer,
    LayerResult,
    Role,
    RunResult,
    Verdict,
)
from optverify.verify import html, markdown, serialize
from optverify.verify.formatting import non_finite_name, number_text

ENVIRONMENT = Environment(seed=4, precision_digits=30, device="cpu", dtype="float32", quick=True,
                          versions={}, wall_s=1.0, scale="quick")


def _check(name: str, verdict: Verdict = Verdict.CONSISTENT, **flags) -> Check:
    return Check(Layer.EXPERIMENT, name, "a statement", verdict, **flags)


def _claim(checks, verdict: Verdict = Verdict.CONSISTENT, claim: str = "c") -> ClaimResult:
    return ClaimResult(claim=claim, title="t", source="s", bound="b", origin="built-in",
                       assumptions=(), verdict=verdict,
                       layers=(LayerResult(Layer.EXPERIMENT, checks=tuple(checks)),),
                       environment=ENVIRONMENT)


def test_each_check_has_one_role():
    assert _check("a", main=True).role is Role.MAIN
    assert _check("b").role is Role.DECISIVE
    assert _check("c", decisive=False).role is Role.REPORTED
    assert _check("d", decisive=False, sanity=True).role is Role.SANITY
    assert Role.REPORTED.description == "reported, not decisive"
    assert {role.value for role in Role} == {"main", "decisive", "reported", "sanity"}


verdicts = st.sampled_from(list(Verdict))
flags = st.fixed_dictionaries({"decisive": st.booleans(), "sanity": st.booleans()})


@given(st.lists(st.tuples(verdicts, flags), max_size=12))
def test_the_decisive_tally_counts_the_recorded_verdicts(recorded):
    checks = [_check(f"c{index}", verdict, **flag)
              for index, (verdict, flag) in enumerate(recorded)]
    result = _claim(checks)
    decisive = [check for check in checks if check.decisive]
    tally = result.decisive_tally
    assert tally.decisive == len(decisive) == len(result.decisive_checks)
    assert tally.consistent == sum(check.verdict is Verdict.CONSISTENT for check in decisive)
    assert str(tally) == f"{tally.consistent}/{tally.decisive} decisive consistent"
    reported = [check for check in checks if not check.decisive and not check.sanity]
    assert list(result.reported_findings) == reported
    assert list(result.findings_not_consistent) == [
        check for check in reported if check.verdict is not Verdict.CONSISTENT]


@given(st.lists(verdicts, max_size=10))
def test_verdict_counts_name_every_verdict_in_order(claim_verdicts):
    run = RunResult(RunConfig(), tuple(_claim((), verdict, f"c{index}")
                                       for index, verdict in enumerate(claim_verdicts)), 0.5)
    counts = run.verdict_counts
    assert list(counts) == list(Verdict)
    assert sum(counts.values()) == len(claim_verdicts)
    assert all(counts[verdict] == claim_verdicts.count(verdict) for verdict in Verdict)
    assert serialize.summary_to_json(run)["counts"] == {
        verdict.value: count for verdict, count in counts.items()}
    shown = {row.label: int(row.cell.text) for row in html.summary_page(run).counts}
    assert shown == {verdict.value: count for verdict, count in counts.items() if count}


def test_run_settings_are_worded_once_for_a_config_and_an_environment():
    config = RunConfig(precision=30, device="cpu", seed=4, quick=True, dtype="float32")
    text = "seed 4, precision 30 digits, device cpu, dtype float32, scale quick"
    assert str(config.settings) == text
    assert config.settings == ENVIRONMENT.settings
    assert dict(config.settings.items())["precision"] == "30 digits"
    claim = _claim((_check("a", main=True),))
    assert f"{text}, wall time" in markdown.claim_markdown(claim)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_json_and_pages_spell_a_non_finite_number_alike(value):
    written = serialize._number(value)
    shown = number_text(value)
    if math.isfinite(value):
        assert written == value and non_finite_name(value) is None
        assert float(shown) == float(f"{value:.6g}")
    else:
        assert written == shown == non_finite_name(value) in ("nan", "inf", "-inf")
    json.dumps(written, allow_nan=False)


def test_a_non_finite_value_in_a_check_reads_the_same_in_json_and_html():
    check = replace(_check("a"), values={"ratio": float("-inf")})
    assert serialize.check_to_json(check)["values"]["ratio"] == "-inf"
    assert html.check_view(check).values[0].cell.text == "-inf"
