"""`verify calibrate`: verdict distributions and control rejection rates over seeds, the files it
writes, and bad input."""

import json

import pytest

from optverify.config import RunConfig
from optverify.numerics.proportions import clopper_pearson
from optverify.results import Check, Control, Layer, Verdict
from optverify.verify import calibrate, cli
from optverify.verify.runner import run_claim
from tests.toy_claims import CONSISTENT, RAISING, VIOLATED, install_toy_registry

C, V, I = Verdict.CONSISTENT, Verdict.VIOLATED, Verdict.INCONCLUSIVE


@pytest.fixture
def toy_registry(monkeypatch):
    return install_toy_registry(monkeypatch, (CONSISTENT, VIOLATED, RAISING))


def check(name: str, verdict: Verdict, *controls: Verdict, decisive: bool = True) -> Check:
    return Check(Layer.EXPERIMENT, name, "statement", verdict, decisive=decisive,
                 controls=tuple(Control(f"alternative {i}", c) for i, c in enumerate(controls)))


def seeded(result, seed: int, *checks: Check):
    layer = result.layers[0]
    environment = result.environment.__class__(**{**result.environment.__dict__, "seed": seed})
    return result.__class__(**{**result.__dict__, "layers": (layer.__class__(
        **{**layer.__dict__, "checks": checks}),), "environment": environment})


@pytest.fixture(scope="module")
def template():
    return run_claim(CONSISTENT, RunConfig(quick=True))


def test_verdicts_and_rejections_are_counted_per_check(template):
    results = [
        seeded(template, 0, check("rate", C, V, V), check("sanity", C, decisive=False)),
        seeded(template, 1, check("rate", I, V, I), check("other", V)),
        seeded(template, 2, check("rate", C, V, C)),
    ]
    tally = calibrate.calibrate_claim(results)
    assert tally.seeds == (0, 1, 2)
    assert [c.check for c in tally.checks] == ["rate", "other"]  # decisive ones only
    rate, other = tally.checks
    assert rate.verdicts == {"consistent": 2, "inconclusive": 1}
    assert other.verdicts == {"violated": 1, "absent": 2}
    # only a violated control is a rejection: inconclusive and consistent are not
    assert [(c.rejected, c.evaluated) for c in rate.controls] == [(3, 3), (1, 3)]
    assert rate.controls[1].ci == clopper_pearson(1, 3)
    assert rate.lowest_rejection == pytest.approx(1 / 3)
    assert tally.checks_ever_off == 2
    assert rate.share(C) == pytest.approx(2 / 3)
    assert rate.seeds_not_consistent == (1,) and other.seeds_not_consistent == (0, 1, 2)


def test_a_check_without_controls_has_no_rejection_rate(template):
    tally = calibrate.calibrate_claim([seeded(template, 0, check("bare", C))])
    assert tally.checks[0].controls == () and tally.lowest_rejection is None


def test_no_seed_is_an_error():
    with pytest.raises(ValueError):
        calibrate.calibrate_claim([])


def test_calibrate_runs_each_claim_under_each_seed():
    result = calibrate.calibrate([CONSISTENT, VIOLATED], RunConfig(quick=True, seed=5), 2)
    assert result.seeds == (5, 6)
    consistent, violated = result.claims
    assert consistent.verdicts == (C, C) and violated.verdicts == (V, V)
    rate = next(c for c in consistent.checks if c.check == "square-rate")
    assert rate.verdicts == {"consistent": 2}
    assert (rate.controls[0].alternative, rate.controls[0].rejected) == ("exponent 3", 2)
    assert all(c.rejected == c.evaluated == 2 for c in rate.controls)


def test_cli_writes_json_markdown_and_html_and_exits_zero(toy_registry, capsys, tmp_path):
    code = cli.main(["calibrate", "toy-consistent", "toy-violated", "--seeds", "2", "--quick",
                     "--progress", "off", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "toy-violated" in out and "violated 2/2" in out
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == \
        ["calibration.html", "calibration.json", "calibration.md"]
    data = json.loads((tmp_path / "calibration.json").read_text())
    assert data["seeds"] == [0, 1] and data["format"] == "optverify-calibration"
    claims = {claim["claim"]: claim for claim in data["claims"]}
    assert claims["toy-violated"]["verdicts"] == {"violated": 2}
    rate = next(c for c in claims["toy-consistent"]["checks"] if c["check"] == "square-rate")
    assert rate["controls"][0]["rejection_rate"] == 1.0
    assert claims["toy-violated"]["checks"][-1]["seeds_not_consistent"] == [0, 1]
    assert "toy-consistent" in (tmp_path / "calibration.html").read_text()
    assert "| `toy-violated` | violated 2/2 |" in (tmp_path / "calibration.md").read_text()


def test_cli_json_on_stdout(toy_registry, capsys, tmp_path):
    code = cli.main(["calibrate", "toy-consistent", "--seeds", "1", "--progress", "off",
                     "--json", "--out", str(tmp_path)])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["claims"][0]["claim"] == "toy-consistent"


def test_the_workers_path_gives_the_same_tallies(toy_registry, capsys, tmp_path):
    arguments = ["calibrate", "toy-consistent", "--seeds", "2", "--quick", "--progress", "off"]
    assert cli.main([*arguments, "--out", str(tmp_path / "serial")]) == 0
    assert cli.main([*arguments, "--workers", "2", "--out", str(tmp_path / "parallel")]) == 0
    capsys.readouterr()

    def tallies(folder):
        data = json.loads((tmp_path / folder / "calibration.json").read_text())
        return [{key: value for key, value in claim.items() if key != "wall_s"}
                for claim in data["claims"]]

    assert tallies("serial") == tallies("parallel")


@pytest.mark.parametrize("argv, words", [
    (["calibrate", "toy-nonexistent", "--seeds", "2"], "toy-nonexistent"),
    (["calibrate", "toy-consistent", "--seeds", "0"], "--seeds"),
    (["calibrate", "toy-consistent", "--seeds", "two"], "--seeds"),
    (["calibrate", "--seeds", "2"], "CLAIM"),
])
def test_bad_input_is_one_line_and_exit_two(toy_registry, capsys, tmp_path, argv, words):
    code = cli.main([*argv, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and words in err
    assert not (tmp_path / "out" / "calibration.json").exists()
