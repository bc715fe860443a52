"""The Session: what a claim's layer sees of the run, and the recorders that build its checks.

A layer is a plain function `layer(s: Session) -> None`. The session carries the run's
configuration (`s.quick`, `s.precision`, `s.device`, `s.dtype`), seeded streams named by purpose
(`s.rng("data")`, `s.generator("init")`), the quick/full preset choice (`s.preset`), the mpmath
comparison floor at the run's precision (`s.floor`), a progress wrapper (`s.progress`), and
`s.map` for independent pieces of work (in this process, or as tasks on the run's Dask cluster); the
numeric layer runs with mpmath at `s.precision` digits. The recorders build, judge and keep the
layer's checks, figures, tables and notes; the runner turns them into the layer's `LayerResult`.
A check that decides the claim's main bound is recorded with `main=True` and judged against
`Claim.bound`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import mpmath
import numpy as np
import sympy

from optverify.bound import Bound
from optverify.config import RunConfig
from optverify.controls import (
    as_power_law,
    default_alternatives,
    describe_exponent,
    shifted,
    tilted,
)
from optverify.datasets import DataChoice, DataSet, choose
from optverify.figures import rate_figure
from optverify.numerics.ball import Exact, Margin
from optverify.numerics.fit import RateFit
from optverify.numerics.precision import BELOW_PRECISION, MIN_RESOLVED_POINTS
from optverify.numerics.resample import Statistic
from optverify.numerics.search import Domain, SearchBudget
from optverify.results import (
    Check,
    Control,
    Figure,
    Judgement,
    Layer,
    LayerResult,
    Panel,
    Table,
    Value,
    Verdict,
)
from optverify.rigorous import rigorous_inequality
from optverify.search_check import record_search
from optverify.verdict import (
    describe_fit,
    identity_check,
    inequality_check,
    judge_margin,
    judge_proportion,
    judge_residual,
    rate_check,
    rate_fit,
    rate_judgement,
    short,
    sweep_points,
    symbolic_zero_check,
)

if TYPE_CHECKING:
    import torch

T = TypeVar("T")

Progress = Callable[[Iterable[T], str], Iterable[T]]
"""Wraps an iterable of work items with a progress display; the second argument describes the
work."""

FLOOR_SLACK_DIGITS = 10
"""An mpmath computation at d digits is compared against 10^-(d - 10): ten digits of slack absorb
the rounding of sums, products and linear solves over the instances a claim uses."""


Mapper = Callable[[Callable[[Any], Any], Sequence[Any], str, Progress], list]
"""Runs `function` on each item and returns the results in item order: `(function, items,
description, progress) -> results`. The runner chooses it: here, in this process; on a Dask worker,
as tasks on the cluster (`optverify.verify.parallel`)."""


def no_progress(items: Iterable[T], description: str = "") -> Iterable[T]:
    """The default progress: iterate silently."""
    return items


def map_in_process(function: Callable[[Any], Any], items: Sequence[Any], description: str,
                   progress: Progress) -> list:
    """The default mapper: one item after the other, in this process, with the progress display."""
    return [function(item) for item in progress(items, description)]


class Session:
    """One layer's view of the run, and the record of what the layer found."""

    def __init__(
        self,
        config: RunConfig,
        layer: Layer,
        claim_bound: Bound | None = None,
        progress: Progress = no_progress,
        mapper: Mapper = map_in_process,
    ) -> None:
        self.config = config
        self.layer = layer
        self.claim_bound = claim_bound
        self._progress = progress
        self._mapper = mapper
        self._checks: list[Check] = []
        self._figures: list[Figure] = []
        self._rate_figures: list[Figure] = []  # drawn only if the layer draws none of its own
        self._tables: list[Table] = []
        self._notes: list[str] = []

    # -- the run ---------------------------------------------------------------------------

    @property
    def quick(self) -> bool:
        return self.config.quick

    @property
    def precision(self) -> int:
        """mpmath decimal digits of the numeric layer."""
        return self.config.precision

    @property
    def device(self) -> str:
        return self.config.device

    @property
    def dtype(self) -> str:
        """The torch dtype's name, 'float64' or 'float32'."""
        return self.config.dtype

    @property
    def torch_dtype(self) -> torch.dtype:
        return self.config.torch_dtype

    @property
    def seed(self) -> int:
        return self.config.seed

    def rng(self, purpose: str) -> np.random.Generator:
        """A numpy generator seeded from the master seed and `purpose` ('data', 'init', ...)."""
        return self.config.numpy_rng(purpose)

    def generator(self, purpose: str, device: str | None = None) -> torch.Generator:
        """A torch generator seeded from the master seed and `purpose`, on the run's device (or on
        `device`, e.g. "cpu" for float64 instances a numeric layer builds whatever the device)."""
        import torch

        return torch.Generator(device=device or self.config.device).manual_seed(
            self.config.seed_for(purpose))

    def preset(self, *, quick: T, full: T, paper: T | None = None) -> T:
        """The value of a setting at the run's scale: quick, full, or paper (the paper's own
        sizes; the full value where the claim gives none)."""
        if self.config.scale == "quick":
            return quick
        if self.config.scale == "paper" and paper is not None:
            return paper
        return full

    def data(self, dataset: DataSet) -> DataChoice:
        """The user's copy of a public data set (`verify --data NAME=PATH`, checked) or, without
        one, the stand-in (`table` None: the claim generates its own); the choice is noted in the
        report."""
        choice = choose(dataset, self.config.data_path(dataset.name))
        self.note(choice.described)
        return choice

    @property
    def floor_digits(self) -> int:
        """k in the comparison floor 10^-k: the run's precision less the slack digits."""
        return self.config.precision - FLOOR_SLACK_DIGITS

    def floor(self) -> mpmath.mpf:
        """The mpmath comparison floor 10^-(precision - 10), computed at the run's precision
        wherever it is called."""
        with mpmath.workdps(self.config.precision):
            return mpmath.mpf(10) ** -self.floor_digits

    def progress(self, items: Iterable[T], description: str = "") -> Iterable[T]:
        """Iterate over `items` with the run's progress display."""
        return self._progress(items, description)

    def map(self, function: Callable[[Any], T], items: Iterable[Any], description: str = ""
            ) -> list[T]:
        """`[function(item) for item in items]`, for independent pieces of work (a size of a
        sweep, a replicate seed): in this process by default, as tasks on the cluster when the run
        has one. The results come back in item order.

        `function` must be picklable (cloudpickle: a closure or lambda will do), compute its value
        from the item alone and return it, without recording on the session; its randomness comes
        from the item, e.g. `s.generator(f"init-{n}")`, never from a shared stream, so the values
        do not depend on where or in which order the items run."""
        return self._mapper(function, list(items), description, self._progress)

    # -- recorders -------------------------------------------------------------------------
    # Every recorder takes: decisive (counts towards the verdict), main (decides the claim's main
    # bound), sanity (a check that cannot fail: reported, never decisive), rules_out (the false
    # alternative in words) and controls (the alternative's data for the same judge; see
    # optverify.controls). A decisive check that also accepts its control is inconclusive.

    def rate(
        self,
        name: str,
        statement: str,
        x: Sequence[float] | np.ndarray,
        y: Sequence[float] | np.ndarray | None = None,
        bound: Bound | None = None,
        *,
        tolerance: float | None = None,
        decisive: bool = True,
        main: bool = False,
        sanity: bool = False,
        rules_out: str | float | Sequence[float] = "",
        controls: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
        weights: Sequence[float] | np.ndarray | None = None,
        units: np.ndarray | None = None,
        statistic: Statistic | None = None,
        values: Mapping[str, Value] | None = None,
        resolved: Sequence[bool] | np.ndarray | None = None,
        below_precision: str = "",
    ) -> Check:
        """Fit y against x and judge the rate against `bound`: the asymptotic exponent of a power
        law toward the bound's limit (vanishing corrections modelled, the tail checked), or an
        exponential rate tested against a power law.

        tolerance: the exponent resolution (default: the bound's, Bound.judging_resolution).
        rules_out: alternative exponents (a number or several), or words for `controls`;
        controls: further alternatives' (x, y) data. The default alternatives of
        optverify.controls are always judged too, beside any named ones.
        weights: per-point weights of log y (weighted least squares).
        units: an array (n_units, n_points) of the independent units (paths, seeds, networks)
        every point is computed from; y is then statistic(units) (default: the mean over the
        units; y may be left out, or must equal it) and the intervals come from resampling the
        units (seeded by the run's seed and the check's name). The default controls are tilted
        the same way, on every resampled sweep; a named control whose points share their
        randomness passes its own units, (x, units array (n_units, n_points)), and is resampled
        the same way.
        resolved: a mask of the points above precision (the others are left out of the fit and
        the figure); below_precision: why no point is resolved. Either way, with fewer than
        MIN_RESOLVED_POINTS resolved the check is inconclusive, below precision, and nothing is
        fitted; `controls` are not masked (give their resolved points)."""
        bound = self._bound_for(name, bound, main)
        if resolved is not None:
            mask = np.asarray(resolved, dtype=bool)
            x, y, weights, units = (None if data is None else np.asarray(data)[..., mask]
                                    for data in (x, y, weights, units))
            if mask.sum() < MIN_RESOLVED_POINTS:
                below_precision = f"only {int(mask.sum())} of {mask.size} points resolved"
        if below_precision:
            return self._below_precision(name, statement, below_precision, bound, decisive,
                                         main, sanity, values)
        x = np.asarray(x, dtype=float)
        seed = self.config.seed_for(f"resample:{self.layer.value}:{name}")
        y, resampled = sweep_points(x.size, y, units, statistic, seed)
        fit = rate_fit(x, y, bound, weights=weights, resampled_y=resampled, tolerance=tolerance)
        check = rate_check(self.layer, name, statement, fit, bound, tolerance=tolerance,
                           decisive=decisive and not sanity, values=values)
        data = {alternative: self._control_points(name, alternative, cx, cy, statistic)
                for alternative, (cx, cy) in (controls or {}).items()}
        for exponent in _alternative_exponents(rules_out, bound, sanity):
            factor = tilted(x, np.ones_like(x), fit, exponent, bound.exponential)
            data[describe_exponent(exponent)] = (x, _tilt(y, factor, fit.offset),
                                                 _tilt(resampled, factor, fit.offset))
        if bound.exponential and not sanity and bool(np.all(x > 0)):
            factor = as_power_law(x, y, fit) / y
            data["a power law"] = (x, y * factor, _scaled(resampled, factor))
        judged = tuple(_rate_control(alternative, cx, cy, bound, tolerance, weights, cr)
                       for alternative, (cx, cy, cr) in data.items())
        words = rules_out if isinstance(rules_out, str) and rules_out else "; ".join(data)
        kept = self._keep(check, main, words, judged, sanity)
        self._rate_figures.append(rate_figure(name, statement, x, y, fit, bound))
        return kept

    def _control_points(self, name: str, alternative: str, x, y, statistic: Statistic | None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """A named control's (x, y, resampled sweeps): y given as points, or as a units array
        (n_units, n_points) resampled like the check's own units."""
        x = np.asarray(x, dtype=float)
        if np.ndim(y) != 2:
            return x, np.asarray(y, dtype=float), None
        seed = self.config.seed_for(f"resample:{self.layer.value}:{name}:{alternative}")
        points, resampled = sweep_points(x.size, None, y, statistic, seed)
        return x, points, resampled

    def fitted_rate(
        self,
        name: str,
        statement: str,
        fit: RateFit,
        bound: Bound | None = None,
        *,
        tolerance: float | None = None,
        decisive: bool = True,
        main: bool = False,
        sanity: bool = False,
        rules_out: str | float | Sequence[float] = "",
        controls: Mapping[str, RateFit] | None = None,
        values: Mapping[str, Value] | None = None,
    ) -> Check:
        """Judge a rate fitted elsewhere (e.g. on transformed data) against `bound`; numeric
        alternatives move the fit to that exponent with the same interval width, beside the
        default alternatives and any named control fits."""
        bound = self._bound_for(name, bound, main)
        check = rate_check(self.layer, name, statement, fit, bound, tolerance=tolerance,
                           decisive=decisive and not sanity, values=values)
        fits = dict(controls or {})
        for exponent in _alternative_exponents(rules_out, bound, sanity):
            fits[describe_exponent(exponent)] = shifted(fit, exponent)
        judged = tuple(_judged_fit(alternative, alt, bound, tolerance)
                       for alternative, alt in fits.items())
        words = rules_out if isinstance(rules_out, str) and rules_out else "; ".join(fits)
        return self._keep(check, main, words, judged, sanity)

    def identity(
        self,
        name: str,
        statement: str,
        residual: float | mpmath.mpf,
        tolerance: float | mpmath.mpf | None = None,
        *,
        precision_digits: int | None = None,
        decisive: bool = True,
        main: bool = False,
        sanity: bool = False,
        rules_out: str = "",
        controls: Mapping[str, float | mpmath.mpf] | None = None,
        values: Mapping[str, Value] | None = None,
        below_precision: str = "",
    ) -> Check:
        """An identity holds when its residual max |lhs - rhs| is at most `tolerance`. In the
        numeric layer the tolerance defaults to `floor()` and the digits to the run's precision;
        `precision_digits=0` records a residual that no mpmath computation produced (a float64
        twin, an exact count) without digits. controls: the residuals of the false alternatives.
        below_precision: why the residual cannot be resolved (the check is then inconclusive)."""
        if below_precision:
            return self._below_precision(name, statement, below_precision, None, decisive, main,
                                         sanity, values)
        numeric = self.layer is Layer.NUMERIC
        if tolerance is None:
            if not numeric:
                raise ValueError(f"check {name!r}: an identity outside the numeric layer needs an "
                                 "explicit tolerance")
            tolerance = self.floor()
        if precision_digits is None and numeric:
            precision_digits = self.config.precision
        check = identity_check(self.layer, name, statement, residual, tolerance,
                               precision_digits=precision_digits or None,
                               decisive=decisive and not sanity, values=values)
        judged = tuple(Control(alternative, judge_residual(value, tolerance),
                               f"residual {short(value)} against tolerance {short(tolerance)}")
                       for alternative, value in (controls or {}).items())
        return self._keep(check, main, rules_out or "; ".join(controls or {}), judged, sanity)

    def inequality(
        self,
        name: str,
        statement: str,
        margin: float | mpmath.mpf,
        tolerance: float | mpmath.mpf = 0.0,
        *,
        decisive: bool = True,
        main: bool = False,
        sanity: bool = False,
        rules_out: str = "",
        controls: Mapping[str, float | mpmath.mpf] | None = None,
        values: Mapping[str, Value] | None = None,
        exact: tuple[Margin, Mapping[str, Exact]] | None = None,
        below_precision: str = "",
    ) -> Check:
        """lhs <= rhs holds when the worst margin rhs - lhs is at least -tolerance.
        controls: the worst margins of the false alternatives. exact: the margin written once
        (optverify.numerics.ball) and the exact instance of the worst margin; under `--rigorous`
        it is enclosed in ball arithmetic (optverify.rigorous: certified at this instance, or
        the mpmath figure stands). below_precision: why the margin cannot be resolved (the check
        is then inconclusive)."""
        if below_precision:
            return self._below_precision(name, statement, below_precision, None, decisive, main,
                                         sanity, values)
        check = inequality_check(self.layer, name, statement, margin, tolerance,
                                 decisive=decisive and not sanity, values=values)
        if exact is not None and self.config.rigorous:
            check = rigorous_inequality(check, *exact, float(margin), float(tolerance))
        judged = tuple(Control(alternative, judge_margin(value, tolerance),
                               f"worst margin {short(value)} (tolerance {short(tolerance)})")
                       for alternative, value in (controls or {}).items())
        return self._keep(check, main, rules_out or "; ".join(controls or {}), judged, sanity)

    def zero(
        self,
        name: str,
        statement: str,
        expression: sympy.Basic,
        *,
        decisive: bool = True,
        main: bool = False,
        sanity: bool = False,
        rules_out: str = "",
        controls: Mapping[str, sympy.Basic] | None = None,
    ) -> Check:
        """A sympy proof that `expression` (a scalar or a matrix) simplifies to exactly zero.
        controls: the expressions of the false alternatives (e.g. the identity with a wrong
        constant), which sympy must not reduce to zero."""
        seed = self.config.seed_for(f"witness-{name}")
        check = replace(symbolic_zero_check(name, statement, expression, seed=seed,
                                            decisive=decisive and not sanity), layer=self.layer)
        judged = tuple(_zero_control(alternative, value, seed)
                       for alternative, value in (controls or {}).items())
        return self._keep(check, main, rules_out or "; ".join(controls or {}), judged, sanity)

    def proportion(
        self,
        name: str,
        statement: str,
        successes: int,
        trials: int,
        threshold: float,
        *,
        decisive: bool = True,
        main: bool = False,
        sanity: bool = False,
        rules_out: float | Sequence[float] = (),
        values: Mapping[str, Value] | None = None,
    ) -> Check:
        """The claim "the fraction of successes is at least `threshold`", judged by the 95%
        Clopper-Pearson interval of successes / trials: violated when its upper end lies below the
        threshold. rules_out: alternative true fractions, each judged at the expected count."""
        judgement = judge_proportion(successes, trials, threshold)
        check = Check(self.layer, name, statement, judgement.verdict, judgement.detail,
                      decisive=decisive and not sanity,
                      values={**judgement.values, **dict(values or {})})
        alternatives = (rules_out,) if isinstance(rules_out, (int, float)) else tuple(rules_out)
        judged = tuple(_proportion_control(fraction, trials, threshold)
                       for fraction in alternatives)
        words = "; ".join(control.alternative for control in judged)
        return self._keep(check, main, words, judged, sanity)

    def decide(
        self,
        name: str,
        statement: str,
        judge: Callable[[Any], Judgement],
        observed: Any,
        *,
        decisive: bool = True,
        main: bool = False,
        sanity: bool = False,
        rules_out: str = "",
        controls: Mapping[str, Any] | None = None,
        values: Mapping[str, Value] | None = None,
        **fields: Any,
    ) -> Check:
        """Any other decision: `judge(observed)` returns a `Judgement`; each control's data goes
        through the same judge. `fields` are further `Check` fields (residual, tolerance, fit)."""
        judgement = judge(observed)
        if main:
            fields["bound"] = self._bound_for(name, fields.get("bound"), main)
        check = Check(self.layer, name, statement, judgement.verdict, judgement.detail,
                      decisive=decisive and not sanity,
                      values={**judgement.values, **dict(values or {})}, **fields)
        judged = tuple(_decided_control(alternative, judge(data))
                       for alternative, data in (controls or {}).items())
        return self._keep(check, main, rules_out or "; ".join(controls or {}), judged, sanity)

    def check(
        self,
        name: str,
        statement: str,
        verdict: Verdict,
        detail: str = "",
        *,
        decisive: bool = True,
        main: bool = False,
        sanity: bool = False,
        rules_out: str = "",
        **fields: Any,
    ) -> Check:
        """A check judged by the caller: `fields` are further `Check` fields (values, residual,
        tolerance, fit, bound, precision_digits). It has no negative control, so a decisive
        judgement belongs in `decide` instead."""
        if main:
            fields["bound"] = self._bound_for(name, fields.get("bound"), main)
        check = Check(self.layer, name, statement, verdict, detail=detail,
                      decisive=decisive and not sanity, **fields)
        return self._keep(check, main, rules_out, (), sanity)

    def search(
        self,
        name: str,
        statement: str,
        margin: Margin,
        domain: Domain,
        *,
        budget: SearchBudget | None = None,
        decisive: bool = True,
        values: Mapping[str, Value] | None = None,
    ) -> Check:
        """Hunt for a counter-example to "margin(x, m) >= 0 for every x in `domain`" and certify
        it in ball arithmetic (optverify.numerics.search and .ball; the margin is written once for
        both). Violated, with the exact shrunk instance and its enclosure, only when the enclosure
        lies strictly below zero; a search that finds nothing is a reported check (never decisive,
        never a proof) with its budget and smallest margin. Seeded by the run's seed and `name`;
        its refinements run as `s.map` items. budget: default 256 starts (64 quick), 60 steps."""
        return record_search(self, name, statement, margin, domain,
                             budget or self.preset(quick=SearchBudget(64, 60),
                                                   full=SearchBudget(256, 60)),
                             decisive, values)

    def figure(
        self,
        figure: Figure | str,
        title: str = "",
        panels: Sequence[Panel] = (),
        columns: int = 1,
    ) -> Figure:
        """Record a figure: a `Figure`, or its name, title, panels and column count."""
        if not isinstance(figure, Figure):
            figure = Figure(figure, title, tuple(panels), columns)
        self._figures.append(figure)
        return figure

    def table(
        self,
        table: Table | str,
        caption: str = "",
        columns: Sequence[str] = (),
        rows: Iterable[Sequence[Value]] = (),
    ) -> Table:
        """Record a table: a `Table`, or its name, caption, column names and rows."""
        if not isinstance(table, Table):
            table = Table(table, caption, tuple(columns), tuple(tuple(row) for row in rows))
        self._tables.append(table)
        return table

    def note(self, text: str) -> None:
        """Record a note for the report."""
        self._notes.append(text)

    # -- the record ------------------------------------------------------------------------

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(self._checks)

    def result(self, wall_s: float = 0.0, error: str | None = None) -> LayerResult:
        """What the layer recorded, as a `LayerResult`. A layer that draws no figure of its own
        gets the default figure of each `s.rate` (points, fit, claimed bound, local slopes)."""
        figures = self._figures or self._rate_figures
        return LayerResult(self.layer, tuple(self._checks), tuple(figures),
                           tuple(self._tables), tuple(self._notes), wall_s, error)

    def _below_precision(self, name: str, statement: str, reason: str, bound: Bound | None,
                         decisive: bool, main: bool, sanity: bool,
                         values: Mapping[str, Value] | None) -> Check:
        """A check whose quantity the run's precision cannot resolve: inconclusive, saying why,
        with no fit and no control."""
        check = Check(self.layer, name, statement, Verdict.INCONCLUSIVE,
                      f"{BELOW_PRECISION}: {reason}", decisive=decisive and not sanity,
                      values=dict(values or {}), bound=bound)
        return self._keep(check, main, "", (), sanity)

    def _bound_for(self, name: str, bound: Bound | None, main: bool) -> Bound:
        if not main:
            if bound is None:
                raise ValueError(f"check {name!r} needs a bound (or main=True for the claim's)")
            return bound
        if self.claim_bound is None:
            raise ValueError(f"check {name!r} is marked main, but the session has no claim bound")
        if bound is not None and bound != self.claim_bound:
            raise ValueError(f"check {name!r} is marked main but judged against "
                             f"{bound.describe()}, not the claim's {self.claim_bound.describe()}")
        return self.claim_bound

    def _keep(self, check: Check, main: bool, rules_out: str, controls: tuple[Control, ...] = (),
              sanity: bool = False) -> Check:
        if main and not check.decisive:
            raise ValueError(f"check {check.name!r} decides the main bound, so it is decisive "
                             "(not a sanity check)")
        if any(kept.name == check.name for kept in self._checks):
            raise ValueError(f"check name {check.name!r} is used twice in the {self.layer.value} "
                             "layer")
        bound = self._bound_for(check.name, check.bound, main) if main else check.bound
        check = replace(check, main=main, rules_out=rules_out, controls=controls, sanity=sanity,
                        bound=bound)
        if check.decisive and check.verdict is Verdict.CONSISTENT:
            check = _undecided_by_controls(check)
        self._checks.append(check)
        return check


def _undecided_by_controls(check: Check) -> Check:
    """A consistent decisive check stays consistent only when every one of its controls is judged
    violated; a control judged consistent or inconclusive means the check cannot tell the claim from
    that alternative, and the check is inconclusive, saying which."""
    unrejected = [control for control in check.controls if not control.rejected]
    if not unrejected:
        return check
    reasons = "; ".join(f"{control.alternative} (its control is judged {control.verdict.value})"
                        for control in unrejected)
    return replace(check, verdict=Verdict.INCONCLUSIVE, detail=(
        f"{check.detail}; but the check cannot tell the claim from {reasons}: a control counts "
        "only when it is judged violated"))


def _alternative_exponents(rules_out, bound: Bound, sanity: bool) -> tuple[float, ...]:
    """The named alternative exponents and, for a decisive check, the default ones beside them."""
    if sanity:
        return ()
    if isinstance(rules_out, (int, float)):
        named = (float(rules_out),)
    elif isinstance(rules_out, str):
        named = ()
    else:
        named = tuple(float(value) for value in rules_out)
    return named + tuple(alt for alt in default_alternatives(bound) if alt not in named)


def _scaled(resampled: np.ndarray | None, factor: np.ndarray) -> np.ndarray | None:
    return None if resampled is None else resampled * factor


def _tilt(values: np.ndarray | None, factor: np.ndarray, offset: float | None
          ) -> np.ndarray | None:
    """Points (or resampled sweeps) tilted by `factor`: y factor, or a + (y - a) factor where the
    rate is that of y less its fitted limit a."""
    if values is None or offset is None:
        return _scaled(values, factor)
    return offset + (values - offset) * factor


def _rate_control(alternative: str, x, y, bound: Bound, tolerance: float | None, weights,
                  resampled: np.ndarray | None) -> Control:
    """A control's data through the check's own fit and judge; data that cannot be fitted leave
    the control inconclusive (it cannot say no)."""
    try:
        fit = rate_fit(np.asarray(x, dtype=float), np.asarray(y, dtype=float), bound,
                       weights=weights, resampled_y=resampled, tolerance=tolerance)
    except ValueError as error:
        return Control(alternative, Verdict.INCONCLUSIVE, f"cannot be fitted: {error}")
    return _judged_fit(alternative, fit, bound, tolerance)


def _judged_fit(alternative: str, fit: RateFit, bound: Bound, tolerance: float | None
                ) -> Control:
    judgement = rate_judgement(fit, bound, tolerance)
    reason = f" ({judgement.reason})" if judgement.reason else ""
    return Control(alternative, judgement.verdict,
                   f"{describe_fit(fit)}: {judgement.verdict.value}{reason}")


def _zero_control(alternative: str, expression: sympy.Basic, seed: int) -> Control:
    check = symbolic_zero_check("control", alternative, expression, points_first=True, seed=seed)
    return Control(alternative, check.verdict, check.detail)


def _proportion_control(fraction: float, trials: int, threshold: float) -> Control:
    judgement = judge_proportion(round(fraction * trials), trials, threshold)
    return Control(f"a true fraction {fraction:g}", judgement.verdict, judgement.detail)


def _decided_control(alternative: str, judgement: Judgement) -> Control:
    return Control(alternative, judgement.verdict, judgement.detail)


LayerFunction = Callable[[Session], None]
"""A claim's layer: records its checks, figures, tables and notes on the session."""


def record_layer(
    function: LayerFunction,
    layer: Layer,
    config: RunConfig = RunConfig(),
    *,
    claim_bound: Bound | None = None,
    progress: Progress = no_progress,
    mapper: Mapper = map_in_process,
) -> LayerResult:
    """Run one layer function on a fresh session and return what it recorded (exceptions
    propagate; the runner turns them into `error` checks). The numeric layer runs with mpmath at
    the run's precision (`mpmath.workdps`, restored afterwards); `mapper` runs its `s.map`."""
    session = Session(config, layer, claim_bound, progress, mapper)
    digits = config.precision if layer is Layer.NUMERIC else mpmath.mp.dps
    with mpmath.workdps(digits):
        returned = function(session)
    if returned is not None:
        raise TypeError(f"a layer records on its session and returns None, got "
                        f"{type(returned).__name__}")
    return session.result()
