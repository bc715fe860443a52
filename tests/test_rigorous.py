"""`verify --rigorous` (optverify.rigorous): a numeric inequality with an exact margin is certified
at its instance, certified violated, or left to its mpmath figure; the enclosure must agree with
the recorded margin; without the flag nothing changes."""

import json
from fractions import Fraction

import mpmath
import pytest

from optverify.kit import Session, Verdict
from optverify.testing import Layer, RunConfig
from optverify.verify import cli
from optverify.verify.rerun import recorded_config


def root_gap(x, m):
    """sqrt(a) - q"""
    return m.sqrt(x["a"]) - x["q"]


def session(rigorous: bool) -> Session:
    return Session(RunConfig(quick=True, rigorous=rigorous), Layer.NUMERIC)


def mp_gap(a, q) -> float:
    with mpmath.workdps(50):
        return mpmath.sqrt(a) - mpmath.mpf(q.numerator) / q.denominator


def test_an_inequality_is_certified_at_its_instance():
    instance = {"a": Fraction(2), "q": Fraction(7, 5)}
    check = session(True).inequality("root", "sqrt 2 >= 7/5", mp_gap(2, Fraction(7, 5)),
                                     exact=(root_gap, instance))
    assert check.verdict is Verdict.CONSISTENT and check.values["certified_at_instance"] == "yes"
    assert "certified at this instance (a = 2, q = 7/5)" in check.detail
    assert check.values["rigorous_bits"] == 128


def test_without_the_flag_the_exact_margin_is_not_evaluated():
    check = session(False).inequality("root", "sqrt 2 >= 7/5", mp_gap(2, Fraction(7, 5)),
                                      exact=(root_gap, {"a": Fraction(2), "q": Fraction(7, 5)}))
    assert "certified_at_instance" not in check.values


def test_a_margin_below_minus_tolerance_is_certified_violated():
    instance = {"a": Fraction(2), "q": Fraction(3, 2)}
    check = session(True).inequality("root", "sqrt 2 >= 3/2", mp_gap(2, Fraction(3, 2)),
                                     exact=(root_gap, instance))
    assert check.verdict is Verdict.VIOLATED and check.values["certified_at_instance"] == "violated"


def test_an_equality_of_roots_is_not_certified_and_the_mpmath_figure_stands():
    def square_of_root(x, m):
        return m.sqrt(x["a"]) ** 2 - x["a"]

    check = session(True).inequality("equality", "sqrt(3)^2 >= 3", 0.0,
                                     exact=(square_of_root, {"a": Fraction(3)}))
    assert check.values["certified_at_instance"] == "no"
    assert check.verdict is Verdict.CONSISTENT and "the mpmath figure stands" in check.detail


def test_an_exact_margin_that_disagrees_with_the_recorded_one_is_an_error():
    with pytest.raises(ValueError, match="disagrees with the recorded margin"):
        session(True).inequality("root", "sqrt 2 >= 7/5", 0.5,
                                 exact=(root_gap, {"a": Fraction(2), "q": Fraction(7, 5)}))


def test_the_flag_is_recorded_and_rerun_reads_it(tmp_path):
    code = cli.main(["run", "flat-activations", "--quick", "--rigorous", "--out", str(tmp_path),
                     "--progress", "off", "--device", "cpu"])
    report = json.loads((tmp_path / "flat-activations" / "report.json").read_text())
    assert code == 0 and report["environment"]["rigorous"] is True
    assert recorded_config(report).rigorous
    check = next(c for c in report["checks"] if c["name"] == "forward-only-descends")
    assert check["values"]["certified_at_instance"] == "yes"
