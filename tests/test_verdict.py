"""Verdict logic on every bound kind, and the combination of checks into a claim's verdict."""

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from optverify.bound import Bound, BoundKind
from optverify.config import RunConfig
from optverify.controls import default_alternatives
from optverify.numerics.fit import ConfidenceInterval, FitScale, RateFit
from optverify.results import Check, Layer, Verdict
from optverify.session import Session
from optverify.verdict import (
    EXPONENT_TOLERANCE,
    combine,
    identity_check,
    inequality_check,
    judge_exponent,
    judge_fitted_exponent,
    judge_interval,
    judge_residual,
    rate_check,
    residual_judgement,
    symbolic_zero_check,
)


def fit_with_interval(low: float, high: float) -> RateFit:
    centre = (low + high) / 2
    return RateFit(centre, 0.0, (high - low) / 4, ConfidenceInterval(low, high), 5, 1.0, 100.0,
                   FitScale.LOG_LOG, (centre,) * 4, 0.99)


def bound(kind: BoundKind, exponent) -> Bound:
    return Bound(kind, "n", sympy.nsimplify(exponent))


TOL = EXPONENT_TOLERANCE


@pytest.mark.parametrize(
    "kind, claimed, low, high, expected",
    [
        (BoundKind.LOWER, 3.5, 3.95, 4.05, Verdict.CONSISTENT),  # loose lower bound holds
        (BoundKind.LOWER, 3.5, 3.0, 3.2, Verdict.VIOLATED),
        (BoundKind.LOWER, 3.5, 3.0, 3.6, Verdict.INCONCLUSIVE),  # reaches 0.5 below the claim:
        # beyond the margin 0.05, so it cannot confirm the bound
        (BoundKind.LOWER, 3.5, 3.46, 3.6, Verdict.CONSISTENT),  # within the margin
        (BoundKind.UPPER, -1.0, -1.3, -1.05, Verdict.CONSISTENT),
        (BoundKind.UPPER, -1.0, -0.8, -0.5, Verdict.VIOLATED),
        (BoundKind.UPPER, -1.0, -1.2, -0.8, Verdict.INCONCLUSIVE),
        (BoundKind.UPPER, -1.0, -1.2, -0.96, Verdict.CONSISTENT),
        (BoundKind.TIGHT, 2.0, 1.98, 2.02, Verdict.CONSISTENT),
        (BoundKind.TIGHT, 3.0, 3.95, 4.05, Verdict.VIOLATED),
        (BoundKind.TIGHT, 2.0, 1.5, 2.5, Verdict.INCONCLUSIVE),  # too wide for the margin 0.05
        (BoundKind.TIGHT, 2.0, 1.96, 2.04, Verdict.CONSISTENT),
    ],
)
def test_rate_verdicts(kind, claimed, low, high, expected):
    assert judge_fitted_exponent(fit_with_interval(low, high), bound(kind, claimed)) is expected


def test_tolerance_edges_are_inclusive():
    lower = bound(BoundKind.LOWER, 2)
    assert judge_fitted_exponent(fit_with_interval(2 - TOL, 2.5), lower) is Verdict.CONSISTENT
    upper = bound(BoundKind.UPPER, 2)
    assert judge_fitted_exponent(fit_with_interval(1.5, 2 + TOL), upper) is Verdict.CONSISTENT


def test_non_finite_interval_is_inconclusive():
    fit = fit_with_interval(-np.inf, np.inf)
    assert judge_fitted_exponent(fit, bound(BoundKind.TIGHT, 1)) is Verdict.INCONCLUSIVE


def test_identity_bound_cannot_judge_a_fit():
    identity = Bound(BoundKind.IDENTITY, expression=sympy.Integer(0))
    with pytest.raises(ValueError):
        judge_fitted_exponent(fit_with_interval(1, 2), identity)


def test_bound_needs_its_exponent_or_expression():
    with pytest.raises(ValueError, match="needs an exponent"):
        Bound(BoundKind.LOWER, "n")
    with pytest.raises(ValueError, match="needs an expression"):
        Bound(BoundKind.IDENTITY)


def test_loose_bound_detail_names_the_tight_exponent():
    check = rate_check(Layer.NUMERIC, "cond", "cond(W^T W) = Omega(n^3.5)",
                       fit_with_interval(3.98, 4.02), bound(BoundKind.LOWER, 3.5))
    assert check.verdict is Verdict.CONSISTENT
    assert "not tight" in check.detail and "4" in check.detail
    assert "Omega(n^7/2)" in check.detail


@pytest.mark.parametrize(
    "residual, tolerance, expected",
    [(1e-45, 1e-40, Verdict.CONSISTENT), (1e-3, 1e-40, Verdict.VIOLATED),
     (float("nan"), 1.0, Verdict.INCONCLUSIVE)],
)
def test_identity_verdicts(residual, tolerance, expected):
    check = identity_check(Layer.NUMERIC, "id", "a = b", residual, tolerance, precision_digits=50)
    assert check.verdict is expected and check.precision_digits == 50


@pytest.mark.parametrize(
    "margin, expected",
    [(0.5, Verdict.CONSISTENT), (-1e-20, Verdict.CONSISTENT), (-0.1, Verdict.VIOLATED),
     (float("inf"), Verdict.INCONCLUSIVE)],
)
def test_inequality_verdicts(margin, expected):
    check = inequality_check(Layer.NUMERIC, "ineq", "a <= b", margin, tolerance=1e-15)
    assert check.verdict is expected


def test_symbolic_zero_check_proves_disproves_and_abstains():
    x, y = sympy.symbols("x y", real=True)
    assert symbolic_zero_check("p", "", (x + y) ** 2 - x**2 - 2 * x * y - y**2).verdict \
        is Verdict.CONSISTENT
    matrix = sympy.Matrix([[x - x, 1], [0, 0]])
    assert symbolic_zero_check("m", "", matrix).verdict is Verdict.VIOLATED
    f = sympy.Function("f")
    assert symbolic_zero_check("u", "", f(x) - f(y)).verdict is Verdict.INCONCLUSIVE


def check_with(verdict: Verdict, decisive: bool = True) -> Check:
    return Check(Layer.NUMERIC, "c", "s", verdict, decisive=decisive)


@pytest.mark.parametrize(
    "verdicts, expected",
    [
        ([Verdict.CONSISTENT, Verdict.CONSISTENT], Verdict.CONSISTENT),
        ([Verdict.CONSISTENT, Verdict.INCONCLUSIVE], Verdict.INCONCLUSIVE),
        ([Verdict.INCONCLUSIVE, Verdict.ERROR], Verdict.ERROR),
        ([Verdict.ERROR, Verdict.VIOLATED], Verdict.VIOLATED),
        ([], Verdict.INCONCLUSIVE),
    ],
)
def test_combine(verdicts, expected):
    assert combine(check_with(v) for v in verdicts) is expected


def test_non_decisive_checks_do_not_drive_the_verdict():
    checks = [check_with(Verdict.CONSISTENT), check_with(Verdict.VIOLATED, decisive=False)]
    assert combine(checks) is Verdict.CONSISTENT


def test_exponential_bound_is_described_as_an_exponential():
    decay = Bound(BoundKind.TIGHT, "t", sympy.Integer(-2), exponential=True)
    assert decay.describe() == "Theta(exp(-2 t))"
    assert bound(BoundKind.LOWER, 3.5).describe() == "Omega(n^7/2)"


def test_symbolic_zero_check_finds_a_counter_example_where_sympy_cannot_simplify():
    x = sympy.symbols("x", positive=True)
    n = sympy.symbols("n", integer=True, positive=True)
    # sympy leaves both unsimplified; they are not identities (the second is off by 1/n^2 terms)
    wrong = sympy.sin(x) ** 2 + sympy.cos(x) ** 2 - 1 + sympy.Rational(1, 10) * sympy.gamma(x) * x
    check = symbolic_zero_check("w", "", wrong)
    assert check.verdict is Verdict.VIOLATED and "not 0, at x = " in check.detail
    assert symbolic_zero_check("h", "", sympy.harmonic(n) - sympy.log(n)).verdict \
        is Verdict.VIOLATED


def test_symbolic_zero_check_stays_inconclusive_on_a_true_identity_it_cannot_prove():
    x = sympy.symbols("x", positive=True)
    true_but_hard = sympy.zeta(2) - sympy.pi**2 / 6 + x - x  # sympy proves this one
    assert symbolic_zero_check("z", "", true_but_hard).verdict is Verdict.CONSISTENT
    f = sympy.Function("f")
    assert symbolic_zero_check("u", "", f(x) - f(2 * x)).verdict is Verdict.INCONCLUSIVE


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=3),
       st.lists(st.integers(-3, 3), min_size=1, max_size=3), st.integers(-2, 2),
       st.sampled_from(["x", "sin"]))
def test_points_first_gives_the_verdict_of_simplifying_first(left, right, offset, kind):
    """The control path (`points_first`) against the main path on random identities and
    near-identities: p(x) q(y) - expand(p q) + offset [x -> sin(x)^2 + cos(x)^2 - 1 + x]."""
    x, y = sympy.symbols("x y", real=True)
    base = x if kind == "x" else sympy.sin(x) ** 2 + sympy.cos(x) ** 2 - 1 + x
    p = sum(c * base**i for i, c in enumerate(left))
    q = sum(c * y**j for j, c in enumerate(right))
    expression = p * q - sympy.expand((sum(c * x**i for i, c in enumerate(left))) * q) + offset
    plain = symbolic_zero_check("e", "", expression)
    quick = symbolic_zero_check("e", "", expression, points_first=True)
    assert quick.verdict is plain.verdict
    assert plain.verdict is (Verdict.CONSISTENT if offset == 0 else Verdict.VIOLATED)


def test_points_first_leaves_a_true_identity_to_the_simplifier():
    """sin^2 + cos^2 - 1 is 0 at every point up to evalf's rounding (below the 1e-40 floor): no
    counter-example, so the simplification decides (consistent)."""
    x = sympy.symbols("x", positive=True)
    matrix = sympy.Matrix([sympy.sin(x) ** 2 + sympy.cos(x) ** 2 - 1, x - x])
    check = symbolic_zero_check("t", "", matrix, points_first=True)
    assert check.verdict is Verdict.CONSISTENT
    wrong = symbolic_zero_check("w", "", matrix + sympy.Matrix([0, x]), points_first=True)
    assert wrong.verdict is Verdict.VIOLATED and "not 0, at x = " in wrong.detail


# -- the judge that reads the claimed limit (issue 18 items 1, 4, 5) -----------------------------

T = np.geomspace(10, 1e4, 10)
ETA = np.geomspace(1e-3, 1e-1, 8)


@pytest.mark.parametrize("name, x, y, claimed, consistent", [
    ("slow tail T^-0.9 + c T^-0.2", T, T**-0.9 + 0.01 * T**-0.2, Bound.upper("T", -0.5), False),
    ("T^-1/2 (1 + 5 T^-1/2)", T, T**-0.5 * (1 + 5 * T**-0.5), Bound.upper("T", -0.5), True),
    ("log(T)/T claimed O(1/T)", T, np.log(T) / T, Bound.upper("T", -1), False),
    ("log(T)/T claimed O(log(T)/T)", T, np.log(T) / T, Bound.upper("T", -1, log_power=1), True),
    ("SGD 1/t + 3/t^2 claimed Theta(1/t)", T, 1 / T + 3 / T**2, Bound.tight("t", -1), True),
    ("SGD 1/t + 3/t^2 claimed Theta(t^-1.1)", T, 1 / T + 3 / T**2, Bound.tight("t", -1.1), False),
    ("eta^2 + 5 eta^3 as eta -> 0", ETA, ETA**2 + 5 * ETA**3,
     Bound.tight("eta", 2, limit="zero"), True),
    ("eta^2 + 5 eta^3 claimed O(eta^2.5) as eta -> 0", ETA, ETA**2 + 5 * ETA**3,
     Bound.upper("eta", 2.5, limit="zero"), False),
])
def test_the_judge_reads_the_limit_and_the_tail(name, x, y, claimed, consistent):
    judged = judge_exponent(x, y, claimed)
    assert (judged.verdict is Verdict.CONSISTENT) is consistent, judged.detail


def test_a_tight_upper_bound_has_no_not_tight_note():
    judged = judge_exponent(T, T**-0.5 * (1 + 5 * T**-0.5), Bound.upper("T", -0.5))
    assert judged.verdict is Verdict.CONSISTENT and "not tight" not in judged.detail
    loose = judge_exponent(T, T**-1.0, Bound.upper("T", -0.5))
    assert loose.verdict is Verdict.CONSISTENT and "not tight" in loose.detail


def test_model_dependent_and_pre_asymptotic_verdicts_are_inconclusive_with_a_reason():
    noise = np.exp(np.random.default_rng(0).normal(0, 0.03, T.size))
    mixed = judge_exponent(T, T**-1.0 * (1 + 3 * T**-0.5) * noise, Bound.tight("T", -1))
    assert mixed.verdict is Verdict.INCONCLUSIVE and "model-dependent" in mixed.detail
    x = np.geomspace(1, 1e4, 12)
    kinked = np.where(x < 1e3, x**-2.0, 1e-6 * (x / 1e3) ** -0.5)
    pre = judge_exponent(x, kinked, Bound.tight("x", -0.5))
    assert pre.verdict is Verdict.INCONCLUSIVE and "pre-asymptotic" in pre.detail
    broken = judge_exponent(x, kinked, Bound.upper("x", -2))  # every model and the tail break it
    assert broken.verdict is Verdict.VIOLATED and "no model bears out the tail" in broken.detail


def test_a_model_that_extrapolates_beyond_the_margin_is_never_consistent_nor_alone_violates():
    """Settled models (optverify.verdict): the slow tail's only surviving model puts the exponent
    more than the margin beyond the slope its own curve has over the tail, so it confirms nothing,
    and violates only where the tail itself breaks the bound and is not heading for the claim.
    The true claim Theta(T^-0.2) is pre-asymptotic, never violated; a model within the margin of
    its tail slope (T^-1/2 (1 + 5 T^-1/2)) still confirms its claim."""
    slow = T**-0.9 + 0.01 * T**-0.2
    true = judge_exponent(T, slow, Bound.tight("T", -0.2))
    extrapolating = [model for model in true.fit.surviving if model.extrapolation > 0.05]
    assert extrapolating and true.verdict is Verdict.INCONCLUSIVE
    assert "extrapolates the exponent rather than measuring it" in true.detail
    settled = judge_exponent(T, T**-0.5 * (1 + 5 * T**-0.5), Bound.tight("T", -0.5))
    assert settled.verdict is Verdict.CONSISTENT
    assert all(model.extrapolation <= 0.05 for model in settled.fit.surviving)
    x = np.geomspace(10, 1e4, 12)  # a tail that has settled away from the claim still breaks it
    settled_away = judge_exponent(x, x**-0.3 * (1 + 0.5 * x**-1), Bound.upper("x", -0.5))
    assert settled_away.verdict is Verdict.VIOLATED


def test_a_log_factor_the_claim_leaves_out_is_never_consistent():
    """x^p log^k x with p's interval within the margin of a but reaching a - tol, and k's interval
    above 0: not O(x^a) within the margin (inconclusive, since p may lie below a - tol); with p's
    interval clear of a - tol, violated; a Theta bound needs k's interval to hold 0."""
    exponent, log_power = ConfidenceInterval(-1.027, -0.995), ConfidenceInterval(0.98, 1.1)
    upper = Bound.upper("T", -1)
    assert judge_interval(exponent, upper, TOL, log_power) is Verdict.INCONCLUSIVE
    assert judge_interval(exponent, upper, TOL) is Verdict.CONSISTENT  # without the log factor
    assert judge_interval(ConfidenceInterval(-1.015, -0.995), upper, TOL,
                          log_power) is Verdict.VIOLATED
    below = ConfidenceInterval(-1.1, -1.05)  # smaller by a power: any log factor is dominated
    assert judge_interval(below, upper, TOL, log_power) is Verdict.CONSISTENT
    tight = Bound.tight("T", -1)
    assert judge_interval(ConfidenceInterval(-1.01, -0.99), tight, TOL,
                          ConfidenceInterval(-0.1, 0.2)) is Verdict.CONSISTENT
    assert judge_interval(ConfidenceInterval(-1.03, -0.97), tight, TOL,
                          ConfidenceInterval(-0.4, -0.1)) is Verdict.INCONCLUSIVE
    lower = Bound.lower("T", -1)
    assert judge_interval(ConfidenceInterval(-1.01, -0.97), lower, TOL,
                          ConfidenceInterval(-0.4, -0.1)) is Verdict.INCONCLUSIVE


def test_replicated_x_values_share_the_tail_window():
    """Three replicates at each of 8 x values: the tail window holds the last third of the
    distinct x with every replicate, and its local slopes are finite."""
    x = np.repeat(np.geomspace(5, 55, 8), 3)
    fit = judge_exponent(x, np.exp(x / 2), Bound.tight("L", 1)).fit
    assert fit.tail.n_points == 9 and np.isfinite([fit.tail.local_first, fit.tail.local_last]).all()


def test_toward_zero_the_order_of_sizes_turns_round():
    """O(eta^2) as eta -> 0 holds for eta^3 (smaller near 0) and fails for eta^1."""
    upper = Bound.upper("eta", 2, limit="zero")
    assert judge_exponent(ETA, ETA**3, upper).verdict is Verdict.CONSISTENT
    assert judge_exponent(ETA, ETA**1, upper).verdict is Verdict.VIOLATED
    assert default_alternatives(upper) == (1.75,)
    assert default_alternatives(Bound.lower("eta", 2, limit="zero")) == (2.25,)


def test_falls_and_grows_at_an_unstated_rate():
    falls = Bound.falls("T")
    assert judge_exponent(T, T**-0.3, falls).verdict is Verdict.CONSISTENT
    assert judge_exponent(T, np.ones_like(T), falls).verdict is Verdict.VIOLATED
    assert judge_exponent(T, T**0.2, falls).verdict is Verdict.VIOLATED
    assert judge_exponent(T, T**0.5, Bound.grows("T")).verdict is Verdict.CONSISTENT
    assert default_alternatives(falls) == (0.0,)
    assert judge_interval(ConfidenceInterval(-0.5, 0.1), falls, TOL) is Verdict.INCONCLUSIVE
    assert "falls in T" in falls.describe()


def test_an_exponential_rate_is_resolved_relative_to_itself():
    slow = Bound.tight("t", -0.001, exponential=True)
    assert slow.judging_resolution == pytest.approx(2e-5)
    assert Bound.tight("t", -50, exponential=True).judging_resolution == pytest.approx(1.0)
    assert Bound.tight("t", -1).judging_resolution == TOL
    assert slow.judging_margin == pytest.approx(5e-5)  # one rule, its two constants
    assert Bound.tight("t", -1).judging_margin == pytest.approx(0.05)
    assert Bound.tight("t", 0, exponential=True).judging_resolution == TOL
    assert Bound.falls("t").judging_margin is None
    t = np.linspace(0, 2000, 12)
    faster = judge_exponent(t, np.exp(-0.0012 * t), slow)
    assert faster.verdict is Verdict.VIOLATED  # 20% off: beyond 2%, though 0.0002 < 0.02


def test_an_infinite_residual_is_violated_and_nan_inconclusive():
    assert judge_residual(np.inf, 1e-12) is Verdict.VIOLATED
    assert judge_residual(mpmath.inf, mpmath.mpf("1e-40")) is Verdict.VIOLATED
    assert judge_residual(np.nan, 1e-12) is Verdict.INCONCLUSIVE
    assert residual_judgement(1e-3, 1e-12).verdict is Verdict.VIOLATED


def test_weighted_points_change_the_fit():
    y = T**-1.0 * np.where(T < 50, 3.0, 1.0)  # two early points off by a factor 3
    bound_ = Bound.tight("T", -1)
    assert judge_exponent(T, y, bound_).fit.models[0].exponent < -1.05
    weighted = judge_exponent(T, y, bound_, weights=np.where(T < 50, 1e-9, 1.0))
    assert weighted.fit.models[0].exponent == pytest.approx(-1, abs=1e-4)


def test_shared_units_give_bootstrap_intervals_that_cover():
    """Every point from the same 40 paths, each path off by its own level and tilt
    (1 + 0.3 a + 0.3 b c(T)): the points' errors are correlated, so the regression interval of the
    mean curve is far too narrow; the bootstrap interval over the paths covers the exponent of the
    expected curve (exactly T^-1), is reproducible from its seed, and bad units are refused."""
    bound_ = Bound.tight("T", -1)
    centred = np.log(T) - np.log(T).mean()
    tilt = centred / np.abs(centred).max()
    rng = np.random.default_rng(0)
    trials, covered, widths = 20, 0, []
    for _ in range(trials):
        units = T**-1.0 * (1 + 0.3 * rng.normal(0, 1, (40, 1)) + 0.3 * rng.normal(0, 1, (40, 1))
                           * tilt + 0.02 * rng.normal(0, 1, (40, T.size)))
        judged = judge_exponent(T, None, bound_, units=units, seed=3)
        naive = judge_exponent(T, units.mean(axis=0), bound_)
        covered += judged.fit.ci.contains(-1.0)
        widths.append(judged.fit.ci.width / naive.fit.ci.width)
    assert judged.fit.interval == "bootstrap" and naive.fit.interval == "t"
    assert covered >= stats.binom.ppf(0.001, trials, 0.95)
    assert np.median(widths) > 5
    assert judge_exponent(T, None, bound_, units=units, seed=3).fit.ci == judged.fit.ci
    with pytest.raises(ValueError, match="statistic of the units"):
        judge_exponent(T, units.mean(axis=0) * 2, bound_, units=units)
    with pytest.raises(ValueError, match="units must be an array"):
        judge_exponent(T, None, bound_, units=units[:, :3])


def test_a_named_control_adds_to_the_defaults_and_an_unfittable_one_is_inconclusive():
    s = Session(RunConfig(), Layer.EXPERIMENT, Bound.tight("x", 2))
    x = np.geomspace(1, 100, 8)
    check = s.rate("square", "y ~ x^2", x, x**2, main=True,
                   controls={"zeros": (x, np.zeros_like(x))})
    verdicts = {control.alternative: control.verdict for control in check.controls}
    assert set(verdicts) == {"zeros", "exponent 1.75", "exponent 2.25"}
    assert verdicts["zeros"] is Verdict.INCONCLUSIVE
    assert verdicts["exponent 1.75"] is verdicts["exponent 2.25"] is Verdict.VIOLATED


def test_session_units_tilt_the_controls_the_same_way():
    rng = np.random.default_rng(1)
    units = T**-1.0 * np.exp(rng.normal(0, 0.05, (30, T.size)))
    s = Session(RunConfig(), Layer.EXPERIMENT, Bound.tight("T", -1))
    check = s.rate("shared", "y ~ 1/T", T, units=units, main=True)
    assert check.fit.interval == "bootstrap" and check.verdict is Verdict.CONSISTENT
    assert all(control.verdict is Verdict.VIOLATED for control in check.controls)
    assert all("bootstrap" in control.detail for control in check.controls)


def test_a_named_control_passes_its_own_units_and_is_resampled_like_the_check():
    """A named control computed from shared paths (its own units array) gets a bootstrap interval
    as the check does, not a regression interval that treats its points as independent."""
    rng = np.random.default_rng(2)
    units = T**-1.0 * np.exp(rng.normal(0, 0.05, (30, T.size)))
    slower = T**-0.5 * np.exp(rng.normal(0, 0.05, (30, T.size)))
    s = Session(RunConfig(), Layer.EXPERIMENT, Bound.tight("T", -1))
    check = s.rate("shared", "y ~ 1/T", T, units=units, main=True,
                   controls={"a slower T^-1/2 from its own paths": (T, slower),
                             "its mean curve alone": (T, slower.mean(axis=0))})
    details = {control.alternative: control.detail for control in check.controls}
    assert "bootstrap" in details["a slower T^-1/2 from its own paths"]
    assert "bootstrap" not in details["its mean curve alone"]
    assert all(control.verdict is Verdict.VIOLATED for control in check.controls)


NOMINAL = 0.05


@settings(max_examples=8)
@given(exponent=st.sampled_from([-2.0, -1.0, -0.5, 0.5, 1.5]),
       noise=st.sampled_from([0.01, 0.05]), seed=st.integers(0, 1000))
def test_pure_power_laws_with_small_noise_are_rarely_violated(exponent, noise, seed):
    """Property: a true Theta bound on a pure power law with multiplicative noise is called
    violated at most at the nominal rate (binomial slack at 99.9%) over 50 seeded sweeps."""
    rng = np.random.default_rng(seed)
    x = np.geomspace(1, 1000, 8)
    claimed = Bound.tight("x", exponent)
    trials = 50
    violated = sum(judge_exponent(x, x**exponent * np.exp(rng.normal(0, noise, x.size)), claimed)
                   .verdict is Verdict.VIOLATED for _ in range(trials))
    assert violated <= stats.binom.ppf(0.999, trials, NOMINAL)


def test_an_offset_is_fitted_and_its_uncertainty_widens_the_interval():
    """y = 0.37 + 2 T^-1/2 (a loss converging to an unknown L* = 0.37): claimed a + Theta(T^-1/2)
    it is never violated at 1% noise in 20 seeds (the offset's uncertainty mostly leaves the
    exponent wider than the margin: inconclusive, not consistent), and a + Theta(T^-3/4) is
    violated in at least 18; without the offset the quantity tends to a constant (exponent 0)."""
    tight, false = Bound.tight("T", -0.5, offset=True), Bound.tight("T", -0.75, offset=True)
    exact = judge_exponent(T, 0.37 + 2 * T**-0.5, tight)
    assert exact.verdict is Verdict.CONSISTENT and exact.fit.offset == pytest.approx(0.37)
    assert judge_exponent(T, 0.37 + 2 * T**-0.5, Bound.tight("T", -0.5)).verdict \
        is Verdict.VIOLATED
    true_violated = violated = 0
    for seed in range(20):
        y = (0.37 + 2 * T**-0.5) * np.exp(np.random.default_rng(seed).normal(0, 0.01, T.size))
        true_violated += judge_exponent(T, y, tight).verdict is Verdict.VIOLATED
        violated += judge_exponent(T, y, false).verdict is Verdict.VIOLATED
    assert true_violated == 0 and violated >= 18
    assert "a + Theta(T^-1/2)" == tight.describe()
