"""The claim kit: its pinned public names, Bound constructors, and the Session's recorders."""

import ast
import math
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy

import optverify.kit as kit
from optverify.kit import Bound, Claim, Session, Source, Verdict
from optverify.testing import BoundKind, Layer, RunConfig, record_layer

PUBLIC = {
    "BELOW_PRECISION", "Bound", "Check", "Claim", "ConfidenceInterval", "DataSet", "Duration",
    "Enclosure", "Figure", "FitScale", "IntegerRange", "Judgement", "MatrixRange", "Panel",
    "Progress", "RateFit", "RealRange", "Resolved", "SearchBudget", "Series", "Session", "Source",
    "Surface", "Table", "Verdict", "as_power_law", "certify", "fit_exponential_rate",
    "fit_for_bound", "fit_power_law", "judge_exponent", "judge_proportion", "judge_residual",
    "machine_epsilon", "rate_panel", "resolve",
}
"""What a claim author uses: every name is imported by a built-in claim or named in the kit's
docstring (the notebook judges, the counter-example search); the harness a test needs is
`optverify.testing`'s."""
SQUARE = Bound.tight("x", 2)


def test_public_names_are_pinned():
    assert set(kit.__all__) == PUBLIC
    assert all(hasattr(kit, name) for name in kit.__all__)


THEOREMS = Path(kit.__file__).parent / "theorems"


def _imported_optverify_modules(path: Path) -> set[str]:
    """The optverify modules a file imports (absolute imports; a relative one stays inside its
    package and is named as '.')."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found.add("." if node.level else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "." or name.split(".")[0] == "optverify"}


def _allowed(module: str, folder: str) -> bool:
    return module == "." or any(module == door or module.startswith(door + ".") for door in (
        "optverify.kit", "optverify.numerics", f"optverify.theorems.{folder}"))


def test_claims_import_only_the_kit_the_numerics_and_their_own_folder():
    files = sorted(THEOREMS.glob("*/**/*.py"))
    assert len({path.relative_to(THEOREMS).parts[0] for path in files}) >= 12
    behind = {f"{path.relative_to(THEOREMS)}: {module}" for path in files
              for module in _imported_optverify_modules(path)
              if not _allowed(module, path.relative_to(THEOREMS).parts[0])}
    assert not behind, sorted(behind)


def test_the_import_pin_would_see_an_import_behind_the_kit(tmp_path):
    claim = tmp_path / "claim.py"
    claim.write_text("from optverify.session import rate_fit\nimport optverify.verdict\n"
                     "from optverify.theorems.balancedness import CLAIM\n")
    modules = _imported_optverify_modules(claim)
    assert modules == {"optverify.session", "optverify.verdict", "optverify.theorems.balancedness"}
    assert not any(_allowed(module, "saddle_points") for module in modules)


@pytest.mark.parametrize("given, exact", [(3.5, sympy.Rational(7, 2)), (0.1, sympy.Rational(1, 10)),
                                          (-1, sympy.Integer(-1)),
                                          (sympy.Rational(1, 3), sympy.Rational(1, 3))])
def test_bound_exponents_become_exact_numbers(given, exact):
    assert Bound.lower("n", given).exponent == exact


def test_bound_constructors():
    assert Bound.lower("n", 3.5).describe() == "Omega(n^7/2)"
    assert Bound.upper("|H|", -1).kind is BoundKind.UPPER
    assert Bound.tight("t", -2, exponential=True).describe() == "Theta(exp(-2 t))"
    x = sympy.Symbol("x")
    assert Bound.identity(sympy.Eq(x, x)).kind is BoundKind.IDENTITY
    assert Bound.inequality(x**2 >= 0).kind is BoundKind.INEQUALITY
    with pytest.raises(TypeError):
        Bound.tight("x", True)
    with pytest.raises(TypeError):
        Bound.tight("x", "2")


def session(layer=Layer.EXPERIMENT, bound=SQUARE, **config):
    return Session(RunConfig(**config), layer, bound)


def test_rate_main_is_judged_against_the_claim_bound_and_can_fail():
    s = session()
    x = np.geomspace(1, 100, 6)
    good = s.rate("square", "y ~ x^2", x, x**2, main=True)
    bad = s.rate("cube", "y ~ x^2", x, x**3, main=True)
    assert good.main and good.bound == SQUARE and good.verdict is Verdict.CONSISTENT
    assert bad.verdict is Verdict.VIOLATED and math.isclose(bad.fit.exponent, 3)
    assert [check.name for check in s.result().checks] == ["square", "cube"]


def test_exponential_bound_fits_a_log_linear_rate():
    s = session(bound=Bound.tight("t", -0.5, exponential=True))
    t = np.arange(1.0, 9.0)
    check = s.rate("decay", "y ~ exp(-t/2)", t, np.exp(-0.5 * t), main=True)
    assert check.fit.scale is kit.FitScale.LOG_LINEAR and check.verdict is Verdict.CONSISTENT


def test_recorder_misuse_is_refused():
    s = session()
    x = np.geomspace(1, 100, 6)
    with pytest.raises(ValueError, match="not the claim's"):
        s.rate("other", "...", x, x, Bound.tight("x", 1), main=True)
    with pytest.raises(ValueError, match="needs a bound"):
        s.rate("none", "...", x, x)
    with pytest.raises(ValueError, match="decisive"):
        s.rate("reported", "...", x, x**2, main=True, decisive=False)
    s.rate("twice", "...", x, x**2, SQUARE)
    with pytest.raises(ValueError, match="used twice"):
        s.rate("twice", "...", x, x**2, SQUARE)
    with pytest.raises(ValueError, match="explicit tolerance"):
        s.identity("identity", "...", 0.0)
    with pytest.raises(ValueError, match="no claim bound"):
        session(bound=None).zero("main", "...", sympy.Integer(0), main=True)


def test_rate_fits_only_the_resolved_points():
    s = session()
    x = np.geomspace(1, 100, 6)
    y = x**2
    y[:2] = 1e-300  # two points lost in rounding: fitted, they would bend the exponent
    resolved = np.arange(6) >= 2
    masked = s.rate("masked", "y ~ x^2", x, y, SQUARE, resolved=resolved)
    by_hand = s.rate("by-hand", "y ~ x^2", x[resolved], y[resolved], SQUARE)
    assert masked.verdict is by_hand.verdict is Verdict.CONSISTENT
    assert masked.fit.exponent == by_hand.fit.exponent and masked.fit.n_points == 4


def test_below_precision_is_inconclusive_with_the_count_or_the_reason():
    s = session()
    x = np.geomspace(1, 100, 6)
    few = s.rate("few", "y ~ x^2", x, x**3, main=True, resolved=x > 30)
    assert few.verdict is Verdict.INCONCLUSIVE and few.fit is None and few.main
    assert few.detail == "below precision: only 2 of 6 points resolved" and few.decisive
    said = s.rate("said", "...", x, x**3, SQUARE, decisive=False, below_precision="overflow")
    assert said.verdict is Verdict.INCONCLUSIVE and said.detail == "below precision: overflow"
    assert not said.decisive and not said.controls
    margin = s.inequality("margin", "...", -0.5, 0.1, below_precision="under the floor",
                          values={"steps": 3})
    residual = s.identity("residual", "...", 1.0, 0.1, below_precision="no point to compare")
    assert margin.verdict is residual.verdict is Verdict.INCONCLUSIVE
    assert margin.values == {"steps": 3} and residual.detail.startswith("below precision: ")
    assert s.inequality("resolved", "...", -0.5, 0.1).verdict is Verdict.VIOLATED


def test_numeric_identity_defaults_to_the_precision_floor():
    s = session(Layer.NUMERIC, precision=2000)
    with mpmath.workdps(2000):
        assert s.floor() == mpmath.mpf(10) ** -1990 and s.floor() > 0
    below = s.identity("tiny", "...", mpmath.mpf(10) ** -1995)
    above = s.identity("large", "...", mpmath.mpf(10) ** -1985)
    assert below.verdict is Verdict.CONSISTENT and below.precision_digits == 2000
    assert above.verdict is Verdict.VIOLATED


def test_zero_inequality_and_check_recorders():
    s = session(Layer.SYMBOLIC, bound=Bound.identity(sympy.Symbol("x") - sympy.Symbol("x")))
    x = sympy.Symbol("x")
    assert s.zero("square", "(x+1)^2 expands", (x + 1) ** 2 - x**2 - 2 * x - 1, main=True).main
    assert s.zero("wrong", "x + 1 = x", sympy.Integer(1)).verdict is Verdict.VIOLATED
    assert s.inequality("margin", "...", -0.5, 0.1).verdict is Verdict.VIOLATED
    other = s.check("custom", "...", Verdict.INCONCLUSIVE, "not enough data", values={"n": 3})
    assert other.values == {"n": 3} and other.layer is Layer.SYMBOLIC


def test_presets_streams_and_records():
    quick, full = session(quick=True, seed=4), session(seed=4)
    assert quick.preset(quick=1, full=2) == 1 and full.preset(quick=1, full=2) == 2
    assert quick.rng("data").normal() == full.rng("data").normal() != full.rng("init").normal()
    full.note("a note")
    full.table("t", "caption", ("a",), [(1,)])
    full.figure("f", "title", ())
    result = full.result()
    assert result.notes == ("a note",) and result.tables[0].rows == ((1,),)
    assert result.figures[0].name == "f"


def test_a_layer_returns_nothing():
    with pytest.raises(TypeError, match="returns None"):
        record_layer(lambda s: 3, Layer.EXPERIMENT)


def test_claims_need_a_kebab_id_and_at_least_one_layer():
    source = Source("Someone (2026)", "Lemma 1")
    only_experiment = Claim("mine", "t", source, SQUARE, experiment=lambda s: None)
    assert [layer for layer, _ in only_experiment.layers()] == [Layer.EXPERIMENT]
    assert source.cite() == "Lemma 1 of Someone (2026)"
    with pytest.raises(ValueError, match="no layer"):
        Claim("mine", "t", source, SQUARE)
    with pytest.raises(ValueError, match="kebab-case"):
        Claim("Mine Claim", "t", source, SQUARE, experiment=lambda s: None)


def test_a_rate_that_cannot_tell_the_claim_from_its_alternatives_is_inconclusive():
    s = session()
    x = np.geomspace(1, 100, 8)
    noisy = x**2 * np.exp(np.random.default_rng(0).normal(0, 1.0, x.size))
    check = s.rate("noisy", "y ~ x^2", x, noisy, main=True)
    assert [c.alternative for c in check.controls] == ["exponent 1.75", "exponent 2.25"]
    assert check.verdict is Verdict.INCONCLUSIVE and "cannot confirm" in check.detail
    precise = s.rate("precise", "y ~ x^2", x, x**2, main=True, rules_out=3)
    assert precise.verdict is Verdict.CONSISTENT  # a named alternative adds to the defaults
    assert precise.rules_out == "exponent 3; exponent 1.75; exponent 2.25"
    assert [c.verdict for c in precise.controls] == [Verdict.VIOLATED] * 3


def test_an_exponential_claim_needs_the_power_law_rejected():
    s = session(bound=Bound.upper("r", -0.5, exponential=True))
    r = np.linspace(1, 10, 10)
    noise = np.exp(np.random.default_rng(1).normal(0, 0.01, r.size))
    exponential = s.rate("exponential", "Var = exp(-Omega(r))", r, np.exp(-r) * noise, main=True)
    assert exponential.verdict is Verdict.CONSISTENT
    assert exponential.fit.comparison.power_law_rejected
    assert {c.alternative: c.verdict for c in exponential.controls}["a power law"] \
        is Verdict.VIOLATED
    power_law = s.rate("power-law", "Var = exp(-Omega(r))", r, r**-3.0 * noise, main=True)
    slow = s.rate("slow", "Var = exp(-Omega(r))", r, r**-0.1 * noise, main=True)
    assert power_law.verdict is Verdict.VIOLATED and slow.verdict is Verdict.VIOLATED


def test_proportions_and_their_alternative_fractions():
    s = session()
    usually = s.proportion("usually", "most paths are monotone", 1022, 1024, 0.9, rules_out=0.55)
    assert usually.verdict is Verdict.CONSISTENT and usually.controls[0].verdict is Verdict.VIOLATED
    weak = s.proportion("weak", "more than half", 1022, 1024, 0.5, rules_out=0.55)
    assert weak.verdict is Verdict.INCONCLUSIVE  # a true 0.55 would pass the same threshold
    assert s.proportion("few", "most", 400, 1024, 0.5).verdict is Verdict.VIOLATED


def test_decide_identity_and_sanity_checks_carry_their_controls():
    s = session(Layer.NUMERIC)

    def at_most_one(value):
        return kit.Judgement(Verdict.CONSISTENT if value <= 1 else Verdict.VIOLATED, f"{value}")

    decided = s.decide("ratio", "ratio <= 1", at_most_one, 0.5, controls={"ratio 2": 2.0})
    assert decided.verdict is Verdict.CONSISTENT and decided.controls[0].verdict is Verdict.VIOLATED
    identity = s.identity("id", "a = b", mpmath.mpf(10) ** -45,
                          controls={"a wrong constant": mpmath.mpf("1e-3")})
    assert identity.rules_out == "a wrong constant"
    assert identity.controls[0].verdict is not Verdict.CONSISTENT
    sanity = s.rate("self-fit", "a closed form against itself", [1, 2, 4, 8], [1, 4, 16, 64],
                    Bound.tight("x", 2), sanity=True)
    assert sanity.sanity and not sanity.decisive and sanity.controls == ()


def test_a_control_counts_only_when_it_is_judged_violated():
    """Issue 18 item 2: an inconclusive control (here: a judge that abstains on the alternative's
    data) leaves the decisive check inconclusive, naming the alternative; a violated one decides."""
    s = session(Layer.NUMERIC)

    def at_most_one(value):
        if value is None:
            return kit.Judgement(Verdict.INCONCLUSIVE, "cannot be evaluated")
        return kit.Judgement(Verdict.CONSISTENT if value <= 1 else Verdict.VIOLATED, f"{value}")

    undecided = s.decide("ratio", "ratio <= 1", at_most_one, 0.5,
                         controls={"a ratio nobody measured": None, "ratio 2": 2.0})
    assert undecided.verdict is Verdict.INCONCLUSIVE
    assert "cannot tell the claim from a ratio nobody measured" in undecided.detail
    assert "ratio 2" not in undecided.detail.split("cannot tell")[1]
    assert not undecided.controls[0].rejected and undecided.controls[1].rejected
    decided = s.decide("ratio-2", "ratio <= 1", at_most_one, 0.5, controls={"ratio 2": 2.0})
    assert decided.verdict is Verdict.CONSISTENT
    reported = s.decide("ratio-3", "ratio <= 1", at_most_one, 0.5, decisive=False,
                        controls={"a ratio nobody measured": None})
    assert reported.verdict is Verdict.CONSISTENT  # only decisive checks need their controls


def test_a_fitted_rate_control_moves_every_model_with_the_exponent():
    """`fitted_rate`'s numeric alternatives shift the whole judgement (each candidate model, the
    tail): a control left with the original models would be judged like the claim (pwl's
    condition-number checks had every control 'consistent' that way)."""
    n = np.array([32.0, 64, 128, 256, 512, 1024])
    fit = kit.judge_exponent(n, n**4 * (1 + 3 / n), Bound.tight("n", 4)).fit
    s = session(Layer.NUMERIC)
    check = s.fitted_rate("tight", "cond ~ n^4", fit, Bound.tight("n", 4), rules_out=(3.75, 4.25))
    assert check.verdict is Verdict.CONSISTENT
    assert [control.verdict for control in check.controls] == [Verdict.VIOLATED] * 2
