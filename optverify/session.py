"""The Session: what a claim's layer sees of the run, and the recorders that build its checks.

A layer is a plain function `layer(s: Session) -> None`. The session carries the run's
configuration (`s.quick`, `s.precision`, `s.device`, `s.dtype`), seeded streams named by purpose
(`s.rng("data")`, `s.generator("init")`), the quick/full preset choice (`s.preset`), the mpmath
comparison floor at the run's precision (`s.floor`), and a progress wrapper (`s.progress`); the
numeric layer runs with mpmath at `s.precision` digits. The recorders build, judge and keep the
layer's checks, figures, tables and notes; the runner turns them into the layer's `LayerResult`. A check that decides the claim's main bound is recorded with
`main=True` and judged against `Claim.bound`.
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
from optverify.numerics.fit import FitScale, RateFit, fit_rate
from optverify.results import Check, Figure, Layer, LayerResult, Panel, Table, Value, Verdict
from optverify.verdict import (
    EXPONENT_TOLERANCE,
    identity_check,
    inequality_check,
    rate_check,
    symbolic_zero_check,
)

if TYPE_CHECKING:
    import torch

T = TypeVar("T")

Progress = Callable[[Iterable[T], str], Iterable[T]]
"""Wraps an iterable of work items with a progress display; the second argument describes the work."""

FLOOR_SLACK_DIGITS = 10
"""An mpmath computation at d digits is compared against 10^-(d - 10): ten digits of slack absorb
the rounding of sums, products and linear solves over the instances a claim uses."""


def no_progress(items: Iterable[T], description: str = "") -> Iterable[T]:
    """The default progress: iterate silently."""
    return items


class Session:
    """One layer's view of the run, and the record of what the layer found."""

    def __init__(
        self,
        config: RunConfig,
        layer: Layer,
        claim_bound: Bound | None = None,
        progress: Progress = no_progress,
    ) -> None:
        self.config = config
        self.layer = layer
        self.claim_bound = claim_bound
        self._progress = progress
        self._checks: list[Check] = []
        self._figures: list[Figure] = []
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

    def preset(self, *, quick: T, full: T) -> T:
        """The quick-mode or the full-mode value of a setting."""
        return quick if self.config.quick else full

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

    # -- recorders -------------------------------------------------------------------------

    def rate(
        self,
        name: str,
        statement: str,
        x: Sequence[float] | np.ndarray,
        y: Sequence[float] | np.ndarray,
        bound: Bound | None = None,
        *,
        tolerance: float = EXPONENT_TOLERANCE,
        decisive: bool = True,
        main: bool = False,
        rules_out: str = "",
        values: Mapping[str, Value] | None = None,
    ) -> Check:
        """Fit y against x (a power law, or an exponential rate for an exponential bound), judge
        the fitted exponent's interval against `bound` and record the check."""
        bound = self._bound_for(name, bound, main)
        scale = FitScale.LOG_LINEAR if bound.exponential else FitScale.LOG_LOG
        return self.fitted_rate(name, statement, fit_rate(x, y, scale), bound,
                                tolerance=tolerance, decisive=decisive, main=main,
                                rules_out=rules_out, values=values)

    def fitted_rate(
        self,
        name: str,
        statement: str,
        fit: RateFit,
        bound: Bound | None = None,
        *,
        tolerance: float = EXPONENT_TOLERANCE,
        decisive: bool = True,
        main: bool = False,
        rules_out: str = "",
        values: Mapping[str, Value] | None = None,
    ) -> Check:
        """Judge a rate fitted elsewhere (e.g. on transformed data) against `bound`."""
        bound = self._bound_for(name, bound, main)
        check = rate_check(self.layer, name, statement, fit, bound, tolerance=tolerance,
                           decisive=decisive, values=values)
        return self._keep(check, main, rules_out)

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
        rules_out: str = "",
        values: Mapping[str, Value] | None = None,
    ) -> Check:
        """An identity holds when its residual max |lhs - rhs| is at most `tolerance`. In the
        numeric layer the tolerance defaults to `floor()` and the digits to the run's precision;
        `precision_digits=0` records a residual that no mpmath computation produced (a float64
        twin, an exact count) without digits."""
        numeric = self.layer is Layer.NUMERIC
        if tolerance is None:
            if not numeric:
                raise ValueError(f"check {name!r}: an identity outside the numeric layer needs an "
                                 "explicit tolerance")
            tolerance = self.floor()
        if precision_digits is None and numeric:
            precision_digits = self.config.precision
        check = identity_check(self.layer, name, statement, residual, tolerance,
                               precision_digits=precision_digits or None, decisive=decisive, values=values)
        return self._keep(check, main, rules_out, bound=self._claim_bound_if(name, main))

    def inequality(
        self,
        name: str,
        statement: str,
        margin: float | mpmath.mpf,
        tolerance: float | mpmath.mpf = 0.0,
        *,
        decisive: bool = True,
        main: bool = False,
        rules_out: str = "",
        values: Mapping[str, Value] | None = None,
    ) -> Check:
        """lhs <= rhs holds when the worst margin rhs - lhs is at least -tolerance."""
        check = inequality_check(self.layer, name, statement, margin, tolerance,
                                 decisive=decisive, values=values)
        return self._keep(check, main, rules_out, bound=self._claim_bound_if(name, main))

    def zero(
        self,
        name: str,
        statement: str,
        expression: sympy.Basic,
        *,
        decisive: bool = True,
        main: bool = False,
        rules_out: str = "",
    ) -> Check:
        """A sympy proof that `expression` (a scalar or a matrix) simplifies to exactly zero."""
        check = replace(symbolic_zero_check(name, statement, expression, decisive=decisive),
                        layer=self.layer)
        return self._keep(check, main, rules_out, bound=self._claim_bound_if(name, main))

    def check(
        self,
        name: str,
        statement: str,
        verdict: Verdict,
        detail: str = "",
        *,
        decisive: bool = True,
        main: bool = False,
        rules_out: str = "",
        **fields: Any,
    ) -> Check:
        """Any other check, judged by the caller: `fields` are further `Check` fields (values,
        residual, tolerance, fit, bound, precision_digits)."""
        if main:
            fields["bound"] = self._bound_for(name, fields.get("bound"), main)
        check = Check(self.layer, name, statement, verdict, detail=detail, decisive=decisive,
                      **fields)
        return self._keep(check, main, rules_out)

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
        """What the layer recorded, as a `LayerResult`."""
        return LayerResult(self.layer, tuple(self._checks), tuple(self._figures),
                           tuple(self._tables), tuple(self._notes), wall_s, error)

    def _claim_bound_if(self, name: str, main: bool) -> Bound | None:
        return self._bound_for(name, None, main) if main else None

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

    def _keep(self, check: Check, main: bool, rules_out: str, bound: Bound | None = None) -> Check:
        if main and not check.decisive:
            raise ValueError(f"check {check.name!r} decides the main bound, so it is decisive")
        if any(kept.name == check.name for kept in self._checks):
            raise ValueError(f"check name {check.name!r} is used twice in the {self.layer.value} "
                             "layer")
        check = replace(check, main=main, rules_out=rules_out,
                        bound=check.bound if bound is None else bound)
        self._checks.append(check)
        return check


LayerFunction = Callable[[Session], None]
"""A claim's layer: records its checks, figures, tables and notes on the session."""


def run_layer(
    function: LayerFunction,
    layer: Layer,
    config: RunConfig = RunConfig(),
    *,
    claim_bound: Bound | None = None,
    progress: Progress = no_progress,
) -> LayerResult:
    """Run one layer function on a fresh session and return what it recorded (exceptions
    propagate; the runner turns them into `error` checks). The numeric layer runs with mpmath at
    the run's precision (`mpmath.workdps`, restored afterwards)."""
    session = Session(config, layer, claim_bound, progress)
    digits = config.precision if layer is Layer.NUMERIC else mpmath.mp.dps
    with mpmath.workdps(digits):
        returned = function(session)
    if returned is not None:
        raise TypeError(f"a layer records on its session and returns None, got "
                        f"{type(returned).__name__}")
    return session.result()
