"""The judges' headline error rates at fixed seeds (benchmarks/calibrate_judges.py, issue 18).

Each test runs a few hundred seeded replicates of a family with a known truth through the judge a
claim uses and asserts the targets with binomial slack: the measured rate must not be
significantly worse than its target (the 95% Clopper-Pearson interval must reach the target).
A judge that always says consistent, or an interval that is too narrow, fails these assertions
(the last tests feed such broken judges and expect the failure).
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from optverify.numerics.fit import ConfidenceInterval
from optverify.results import Verdict


def _load_benchmark():
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "calibrate_judges.py"
    spec = importlib.util.spec_from_file_location("calibrate_judges", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


calibrate = _load_benchmark()
REPLICATES = 100
SEED = 20261206


def assert_targets(tally, true_claim: bool = True) -> None:
    """The family's rates are not significantly worse than the fixed targets (the true claim's
    only when `true_claim`)."""
    if true_claim and tally.true_violated is not None:
        assert tally.true_violated.ci.low <= calibrate.TRUE_VIOLATED_TARGET, \
            f"{tally.family.name}: true claim violated {tally.true_violated.describe()}"
    if tally.false_consistent is not None:
        assert tally.false_consistent.ci.low <= calibrate.FALSE_CONSISTENT_TARGET, \
            f"{tally.family.name}: false claim consistent {tally.false_consistent.describe()}"
    if true_claim and tally.coverage is not None:
        assert tally.coverage.ci.high >= calibrate.COVERAGE_TARGET, \
            f"{tally.family.name}: coverage {tally.coverage.describe()}"


def family(name_part: str):
    names = {f"{f.judge}: {f.name}": f for f in calibrate.every_family()}
    if name_part in names:
        return names[name_part]
    matches = [f for name, f in names.items() if name_part in name]
    assert len(matches) == 1, f"{name_part!r} names {len(matches)} families"
    return matches[0]


REPRESENTATIVE = [
    ("power-law rate: x^-0.5, noise 1%, 8 points over 2 decades", REPLICATES),
    ("power-law rate: x^-0.5, noise 1%, 8 points over 2 decades, false claim 0.06 off", 60),
    ("power-law rate: x^-0.5, noise 5%, 30 points", REPLICATES),
    ("power-law rate: x^-1/2 (1 + 5 x^-1/2)", 60),
    ("exponential rate: e^(-0.5 t), noise 5%", REPLICATES),
    ("exponential rate: x^-2 (a power law)", REPLICATES),
    ("growth (exponential vs power law): e^(0.3 x)", REPLICATES),
    ("proportion: true fraction 0.97, 1000 trials", 100),
    ("residual: |sum of 100 rounding errors|", REPLICATES),
    ("ratio (speed-up): per-seed ratio 0.5 x log-normal scatter 0.3, 12 seeds", REPLICATES),
    ("symbolic zero: (p a + q b)", 60),
    ("symbolic zero: (x_i - x_j)", 60),
]


@pytest.mark.parametrize("name, replicates", REPRESENTATIVE)
def test_headline_rates_meet_their_targets(name, replicates):
    tally = calibrate.run_family(family(name), replicates, SEED)
    assert sum(tally.true_verdicts.values()) in (0, replicates)
    assert sum(tally.false_verdicts.values()) in (0, replicates)
    assert_targets(tally)


def test_a_growing_correction_does_not_pass_a_faster_upper_bound():
    """Issue 18's false claim: x^-0.9 + 0.01 x^-0.2 (tail x^-0.2) claimed O(x^-1/2), never
    consistent; its true claim Theta(x^-0.2), whose local slopes still move from -0.86 to -0.32,
    is pre-asymptotic: never violated (the model that fits it extrapolates the exponent more than
    the margin beyond its own tail slope, optverify.verdict). The interval's coverage is not
    asserted: the sweep ends before the tail, and docs/calibration.md gives it."""
    tally = calibrate.run_family(family("power-law rate: x^-0.9 + 0.01 x^-0.2"), 60, SEED)
    assert_targets(tally, true_claim=False)
    assert tally.true_violated.ci.low <= calibrate.TRUE_VIOLATED_TARGET
    assert tally.true_verdicts.get(Verdict.CONSISTENT, 0) == 0


def test_a_log_factor_left_out_is_not_consistent():
    """log(x)/x claimed O(x^-1): the log factor the claim leaves out is never confirmed within the
    margin (optverify.verdict), whichever model survives."""
    tally = calibrate.run_family(family("power-law rate: log(x)/x"), 60, SEED)
    assert_targets(tally)


def test_a_judge_that_always_says_consistent_fails():
    def credulous(data, claim):
        return calibrate.Outcome(Verdict.CONSISTENT, ConfidenceInterval(-10.0, 10.0))

    tally = calibrate.run_family(family("power-law rate: x^-0.5, noise 1%, 8 points over 2 decades"), 100, SEED,
                                 judge=credulous)
    assert tally.false_consistent.value == 1.0
    with pytest.raises(AssertionError, match="false claim consistent"):
        assert_targets(tally)


def test_an_interval_that_is_too_narrow_fails_coverage():
    def overconfident(data, claim):
        x, y = data
        slope = float(np.polyfit(np.log(x), np.log(y), 1)[0])
        verdict = (Verdict.CONSISTENT if abs(slope - float(claim.exponent)) < 1e-3
                   else Verdict.VIOLATED)
        return calibrate.Outcome(verdict, ConfidenceInterval(slope - 1e-4, slope + 1e-4))

    tally = calibrate.run_family(family("power-law rate: x^-0.5, noise 5%, 8 points"), 100, SEED,
                                 judge=overconfident)
    with pytest.raises(AssertionError):
        assert_targets(tally)
    assert tally.coverage.value < 0.2


def test_target_status_reads_the_interval():
    assert calibrate.target_status(calibrate.Rate(0, 1000), 0.05, True) == "met"
    assert calibrate.target_status(calibrate.Rate(60, 1000), 0.05, True) == "MISSED"
    assert calibrate.target_status(calibrate.Rate(200, 1000), 0.05, True) == \
        "MISSED, significantly"
    assert calibrate.target_status(calibrate.Rate(950, 1000), 0.93, False) == "met"
    assert calibrate.target_status(None, 0.05, True) == "-"


def test_replicates_are_reproducible_from_the_seed():
    chosen = family("power-law rate: x^-0.5, noise 20%, 8 points")
    first = chosen.draw(calibrate.replicate_rng(SEED, chosen, 7))
    again = chosen.draw(calibrate.replicate_rng(SEED, chosen, 7))
    other = chosen.draw(calibrate.replicate_rng(SEED, chosen, 8))
    assert np.array_equal(first[1], again[1])
    assert not np.array_equal(first[1], other[1])


def test_the_table_names_every_family_and_its_misses(tmp_path):
    out = tmp_path / "calibration.md"
    assert calibrate.main(["--replicates", "3", "--only", "residual", "--out", str(out)]) == 0
    text = out.read_text()
    for chosen in calibrate.residual_families():
        assert calibrate.table_cell(chosen.name) in text
    assert "## Targets missed" in text


def test_bad_replicate_count_is_one_line_and_exit_2(capsys, tmp_path):
    assert calibrate.main(["--replicates", "0", "--out", str(tmp_path / "c.md")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
