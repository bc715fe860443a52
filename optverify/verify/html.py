"""HTML rendering of claim reports and the run summary, with Jinja2 templates.

The templates (optverify/verify/templates/*.html.j2) only place text: every number is formatted
here, in Python, from the result objects' own fields (nothing is computed). Autoescaping is on,
so a title or detail containing markup is shown as text. The pages are static and self-contained
(inline CSS, no script, no network): `<out>/index.html` links to `<out>/<claim>/index.html`, whose
figures are the PNGs written beside it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import jinja2

from optverify.numerics.fit import FiniteSizeCorrection, GrowthComparison, RateFit
from optverify.numerics.precision import BELOW_PRECISION
from optverify.results import (
    Check,
    ClaimResult,
    Control,
    Duration,
    Environment,
    ExponentSpread,
    LayerResult,
    Replicates,
    RunResult,
    Table,
    Value,
)
from optverify.verify.formatting import number_text, seconds_text
from optverify.verify.runner import library_versions

ARXIV_ABSTRACT = "https://arxiv.org/abs/{}"
_ARXIV_ID = re.compile(r"(\d{4}\.\d{4,5}|[a-z][a-z.-]*(?:\.[A-Z]{2})?/\d{7})(v\d+)?")
_CITED_ARXIV = re.compile(r", arXiv:(\S+)$")
"""`Source.cite()` ends with ", arXiv:<id>" when the source has an arXiv id."""


@dataclass(frozen=True)
class Cell:
    """A value as shown: its text, and whether it is a number or a 'below precision' marker."""

    text: str
    numeric: bool = False
    below_precision: bool = False


@dataclass(frozen=True)
class Row:
    label: str
    cell: Cell


@dataclass(frozen=True)
class ControlView:
    alternative: str
    verdict: str
    detail: str


@dataclass(frozen=True)
class FitView:
    scale: str
    exponent: Cell
    interval: str
    stderr: Cell
    intercept: Cell
    r_squared: Cell
    fit_range: str
    local_slopes: tuple[Cell, ...]
    correction: tuple[Row, ...]
    comparison: tuple[Row, ...]


@dataclass(frozen=True)
class CheckView:
    anchor: str
    layer: str
    name: str
    statement: str
    verdict: str
    role: str
    role_class: str
    detail: str
    rules_out: str
    controls: tuple[ControlView, ...]
    control_missing: bool
    bound: str
    fit: FitView | None
    identity: tuple[Row, ...]
    values: tuple[Row, ...]


@dataclass(frozen=True)
class TableView:
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True)
class FigureView:
    file: str
    title: str


@dataclass(frozen=True)
class LayerView:
    name: str
    wall_time: str
    error: str
    checks: tuple[CheckView, ...]
    tables: tuple[TableView, ...]
    figures: tuple[FigureView, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class SpreadView:
    check: str
    seeds: str
    mean: Cell
    sd: Cell
    minimum: Cell
    maximum: Cell
    pooled: str
    verdicts: tuple[str, ...]


@dataclass(frozen=True)
class ReplicatesView:
    seeds: str
    split: str
    verdicts: tuple[Row, ...]
    level: str
    spreads: tuple[SpreadView, ...]


@dataclass(frozen=True)
class EnvironmentView:
    settings: tuple[Row, ...]
    versions: tuple[Row, ...]


@dataclass(frozen=True)
class ClaimPage:
    claim: str
    title: str
    verdict: str
    tally: str
    headline: str
    source: str
    arxiv_url: str
    bound: str
    origin: str
    assumptions: tuple[str, ...]
    main_checks: tuple[CheckView, ...]
    checks: tuple[CheckView, ...]
    layers: tuple[LayerView, ...]
    replicates: ReplicatesView | None
    environment: EnvironmentView
    summary_href: str


@dataclass(frozen=True)
class FindingView:
    """A reported (not decisive) finding as the summary names it."""

    name: str
    verdict: str
    href: str


@dataclass(frozen=True)
class SummaryRow:
    claim: str
    title: str
    href: str
    verdict: str
    tally: str
    headline: str
    wall_time: str
    split: str
    reported: tuple[FindingView, ...] = ()
    reported_count: int = 0


@dataclass(frozen=True)
class SummaryPage:
    settings: tuple[Row, ...]
    counts: tuple[Row, ...]
    exit_code: str
    claims: tuple[SummaryRow, ...]
    earlier: tuple[SummaryRow, ...]
    versions: tuple[Row, ...]


# --- formatting: text from existing fields, nothing computed -------------------------------------

def cell(value: Value, digits: int = 6) -> Cell:
    """How a value is shown; the string 'below precision' is marked as such, never as a number; a
    measured duration is shown in seconds."""
    if value is None:
        return Cell("")
    if isinstance(value, str):
        return Cell(value, below_precision=value == BELOW_PRECISION)
    if isinstance(value, Duration):
        return Cell(f"{number_text(value, 3)} s", numeric=True)
    return Cell(number_text(value, digits), numeric=True)


def arxiv_url(source: str) -> str:
    """The arXiv abstract page of a source cited as `Source.cite()` writes it, or '' without one."""
    cited = _CITED_ARXIV.search(source)
    if cited is None or not _ARXIV_ID.fullmatch(cited.group(1)):
        return ""
    return ARXIV_ABSTRACT.format(cited.group(1))


def _interval_text(fit: RateFit) -> str:
    return (f"[{number_text(fit.ci.low, 4)}, {number_text(fit.ci.high, 4)}] "
            f"({fit.ci.level:.0%} interval)")


def headline(result: ClaimResult) -> str:
    """The fitted exponent and interval of the first main check with a fit; else the residual of
    the first main check with one; else ''."""
    for check in result.main_checks:
        if check.fit is not None:
            return (f"{check.name}: exponent {number_text(check.fit.exponent, 4)} "
                    f"{_interval_text(check.fit)}")
    for check in result.main_checks:
        if check.residual is not None:
            tolerance = ("" if check.tolerance is None
                         else f" (tolerance {number_text(check.tolerance, 3)})")
            return f"{check.name}: residual {number_text(check.residual, 3)}{tolerance}"
    return ""


def _rows(pairs: Iterable[tuple[str, Value]]) -> tuple[Row, ...]:
    return tuple(Row(label, cell(value)) for label, value in pairs)


def _correction_rows(correction: FiniteSizeCorrection | None) -> tuple[Row, ...]:
    if correction is None:
        return ()
    return _rows((
        ("power q in b (x / x_ref)^-q", correction.power),
        ("coefficient b", correction.coefficient),
        ("reference x_ref", correction.reference),
        ("correction at smallest x", correction.size_at_x_min),
        ("correction at largest x", correction.size_at_x_max),
        ("straight log-log slope", correction.straight_exponent),
        ("F statistic", correction.f_statistic),
        ("p value", correction.p_value),
        ("corrected model kept", "yes" if correction.applied else "no"),
    ))


def _comparison_rows(comparison: GrowthComparison | None) -> tuple[Row, ...]:
    if comparison is None:
        return ()
    return _rows((
        ("power-law exponent on the same points", comparison.power_law_exponent),
        ("p value, power law", comparison.p_value_power_law),
        ("p value, exponential", comparison.p_value_exponential),
        ("power law rejected", "yes" if comparison.power_law_rejected else "no"),
        ("exponential rejected", "yes" if comparison.exponential_rejected else "no"),
    ))


def fit_view(fit: RateFit) -> FitView:
    return FitView(
        scale=fit.scale.value,
        exponent=cell(fit.exponent),
        interval=_interval_text(fit),
        stderr=cell(fit.stderr, 3),
        intercept=cell(fit.intercept, 4),
        r_squared=cell(fit.r_squared, 5),
        fit_range=f"{fit.n_points} points, x from {number_text(fit.x_min, 4)} "
                  f"to {number_text(fit.x_max, 4)}",
        local_slopes=tuple(cell(slope, 4) for slope in fit.local_slopes),
        correction=_correction_rows(fit.correction),
        comparison=_comparison_rows(fit.comparison),
    )


def _control_view(control: Control) -> ControlView:
    return ControlView(control.alternative, control.verdict.value, control.detail)


def _identity_rows(check: Check) -> tuple[Row, ...]:
    pairs = []
    if check.residual is not None:
        pairs.append(("Residual", check.residual))
    if check.tolerance is not None:
        pairs.append(("Tolerance", check.tolerance))
    if check.precision_digits is not None:
        pairs.append(("Digits (mpmath)", check.precision_digits))
    return tuple(Row(label, cell(value, 3 if isinstance(value, float) else 6))
                 for label, value in pairs)


def check_anchor(check: Check) -> str:
    return f"check-{check.layer.value}-{check.name}"


def check_view(check: Check) -> CheckView:
    return CheckView(
        anchor=check_anchor(check),
        layer=check.layer.value,
        name=check.name,
        statement=check.statement,
        verdict=check.verdict.value,
        role=check.role.description,
        role_class=check.role.value,
        detail=check.detail,
        rules_out=check.rules_out,
        controls=tuple(_control_view(control) for control in check.controls),
        control_missing=check.decisive and not check.controls,
        bound="" if check.bound is None else f"{check.bound.describe()} ({check.bound.kind.value})",
        fit=None if check.fit is None else fit_view(check.fit),
        identity=_identity_rows(check),
        values=_rows(check.values.items()),
    )


def table_view(table: Table) -> TableView:
    return TableView(table.caption, tuple(str(column) for column in table.columns),
                     tuple(tuple(cell(value) for value in row) for row in table.rows))


def layer_view(layer: LayerResult) -> LayerView:
    return LayerView(
        name=layer.layer.value.capitalize(),
        wall_time=seconds_text(layer.wall_s),
        error=layer.error or "",
        checks=tuple(check_view(check) for check in layer.checks),
        tables=tuple(table_view(table) for table in layer.tables),
        figures=tuple(FigureView(f"{figure.name}.png", figure.title) for figure in layer.figures),
        notes=tuple(layer.notes),
    )


def spread_view(spread: ExponentSpread) -> SpreadView:
    pooled = ("" if spread.pooled_low is None or spread.pooled_high is None
              else f"[{number_text(spread.pooled_low, 4)}, {number_text(spread.pooled_high, 4)}]")
    return SpreadView(
        check=spread.check,
        seeds=str(len(spread.seeds)),
        mean=cell(spread.mean),
        sd=cell(spread.sd, 2),
        minimum=cell(spread.minimum),
        maximum=cell(spread.maximum),
        pooled=pooled,
        verdicts=tuple(verdict.value for verdict in spread.verdicts),
    )


def replicates_view(replicates: Replicates) -> ReplicatesView:
    levels = {f"{spread.level:.0%}" for spread in replicates.exponents}
    return ReplicatesView(
        seeds=f"{len(replicates.seeds)} master seeds, {replicates.seeds[0]} to "
              f"{replicates.seeds[-1]}",
        split=replicates.split,
        verdicts=tuple(Row(str(seed), Cell(verdict.value))
                       for seed, verdict in zip(replicates.seeds, replicates.verdicts)),
        level=", ".join(sorted(levels)),
        spreads=tuple(spread_view(spread) for spread in replicates.exponents),
    )


def environment_view(environment: Environment) -> EnvironmentView:
    return EnvironmentView(
        settings=_rows((*environment.settings.items(),
                        ("wall time", seconds_text(environment.wall_s)))),
        versions=tuple(Row(name, Cell(version)) for name, version in environment.versions.items()),
    )


def claim_page(result: ClaimResult) -> ClaimPage:
    checks = tuple(check_view(check) for check in result.checks)
    return ClaimPage(
        claim=result.claim,
        title=result.title,
        verdict=result.verdict.value,
        tally=str(result.decisive_tally),
        headline=headline(result),
        source=result.source,
        arxiv_url=arxiv_url(result.source),
        bound=result.bound,
        origin=result.origin,
        assumptions=tuple(result.assumptions),
        main_checks=tuple(view for view in checks if view.role_class == "main"),
        checks=checks,
        layers=tuple(layer_view(layer) for layer in result.layers),
        replicates=None if result.replicates is None else replicates_view(result.replicates),
        environment=environment_view(result.environment),
        summary_href="../index.html",
    )


def summary_row(result: ClaimResult) -> SummaryRow:
    return SummaryRow(
        claim=result.claim,
        title=result.title,
        href=f"{result.claim}/index.html",
        verdict=result.verdict.value,
        tally=str(result.decisive_tally),
        headline=headline(result),
        wall_time=seconds_text(result.environment.wall_s),
        split="" if result.replicates is None else result.replicates.split,
        reported=tuple(FindingView(check.name, check.verdict.value,
                                   f"{result.claim}/index.html#{check_anchor(check)}")
                       for check in result.findings_not_consistent),
        reported_count=len(result.reported_findings),
    )


def earlier_row(claim: str) -> SummaryRow:
    """A claim page in the folder from an earlier run: a link only, its verdict is not restated."""
    return SummaryRow(claim=claim, title="", href=f"{claim}/index.html", verdict="", tally="",
                      headline="", wall_time="", split="")


def summary_page(run: RunResult, earlier: Sequence[str] = ()) -> SummaryPage:
    this_run = {result.claim for result in run.claims}
    return SummaryPage(
        settings=_rows((*run.config.settings.items(), ("wall time", seconds_text(run.wall_s)))),
        counts=tuple(Row(verdict.value, Cell(str(count), numeric=True))
                     for verdict, count in run.verdict_counts.items() if count),
        exit_code=str(run.exit_code),
        claims=tuple(summary_row(result) for result in run.claims),
        earlier=tuple(earlier_row(claim) for claim in sorted(earlier) if claim not in this_run),
        versions=tuple(Row(name, Cell(version)) for name, version in library_versions().items()),
    )


# --- rendering -----------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("optverify.verify", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def claim_html(result: ClaimResult) -> str:
    """The content of `<out>/<claim>/index.html`."""
    return _templates().get_template("claim.html.j2").render(page=claim_page(result))


def summary_html(run: RunResult, earlier: Sequence[str] = ()) -> str:
    """The content of `<out>/index.html`: the claims of this run, then links to the claim pages of
    earlier runs found in the folder (`earlier`: their folder names), whose verdicts it does not
    restate since they may come from another seed, mode or version."""
    return _templates().get_template("summary.html.j2").render(page=summary_page(run, earlier))


# --- notebook views (`_repr_html_` of the result objects) ----------------------------------------

@dataclass(frozen=True)
class RunView:
    settings: str
    claims: tuple[SummaryRow, ...]


@dataclass(frozen=True)
class NotebookView:
    """What one notebook cell shows: a run's table, a claim (with its figures inline) or a check."""

    run: RunView | None = None
    claim: ClaimPage | None = None
    figures: tuple[FigureView, ...] = ()
    check: CheckView | None = None


def _notebook_html(view: NotebookView) -> str:
    return _templates().get_template("notebook.html.j2").render(view=view, scope=".optverify-nb")


def run_notebook_html(run: RunResult) -> str:
    """A run as a notebook shows it: one row per claim (verdict, decisive tally, reported
    findings, headline fit, time)."""
    settings = f"{run.config.settings}, {seconds_text(run.wall_s)}"
    return _notebook_html(NotebookView(run=RunView(settings, tuple(
        summary_row(result) for result in run.claims))))


def _inline_figure(figure) -> FigureView:
    from optverify.verify.plots import figure_png  # matplotlib, only when a figure is shown

    encoded = base64.b64encode(figure_png(figure)).decode("ascii")
    return FigureView(f"data:image/png;base64,{encoded}", figure.title)


def claim_notebook_html(result: ClaimResult, figures: bool = True) -> str:
    """A claim's result as a notebook shows it: verdict, checks with their roles and outcomes,
    and (with `figures`) its figures drawn inline as PNG."""
    inline = tuple(_inline_figure(figure) for figure in result.figures) if figures else ()
    return _notebook_html(NotebookView(claim=claim_page(result), figures=inline))


def check_notebook_html(check: Check) -> str:
    """One check as the claim page's card shows it."""
    return _notebook_html(NotebookView(check=check_view(check)))
