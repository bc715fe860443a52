"""Markdown rendering of claim reports and the run summary (reads result objects, computes nothing)."""

from __future__ import annotations

from optverify.results import (
    Check,
    ClaimResult,
    Layer,
    Replicates,
    Role,
    RunResult,
    Table,
    Value,
    Verdict,
)
from optverify.verify.formatting import number_text, seconds_text

_MARK = {"consistent": "consistent", "violated": "**VIOLATED**", "inconclusive": "inconclusive",
         "error": "**ERROR**"}


def _cell(value: Value) -> str:
    if isinstance(value, float):
        return number_text(value)
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def _table(columns, rows) -> list[str]:
    lines = ["| " + " | ".join(_cell(c) for c in columns) + " |",
             "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _check_lines(check: Check) -> list[str]:
    role = "" if check.role is Role.DECISIVE else f" ({check.role.description})"
    lines = [f"#### `{check.name}` — {_MARK[check.verdict.value]}{role}", "", check.statement, "",
             f"- Outcome: {check.detail}"]
    if check.rules_out:
        lines.append(f"- Rules out: {check.rules_out}")
    for control in check.controls:
        lines.append(f"- Negative control, {control.alternative}: {_MARK[control.verdict.value]} "
                     f"({control.detail})")
    if check.decisive and not check.controls:
        lines.append("- Negative control: none named")
    if check.fit is not None:
        fit = check.fit
        lines.append(f"- Fit ({fit.scale.value}): slope {fit.exponent:.6g} +- {fit.stderr:.2g} "
                     f"(standard error), intercept {fit.intercept:.4g}, R^2 = {fit.r_squared:.5f}")
        slopes = ", ".join(f"{s:.3g}" for s in check.fit.local_slopes)
        lines.append(f"- Local slopes between consecutive points: {slopes}")
    if check.bound is not None:
        lines.append(f"- Bound: {check.bound.describe()} ({check.bound.kind.value})")
    for key, value in check.values.items():
        lines.append(f"- {key}: {_cell(value)}")
    return lines + [""]


def _table_lines(table: Table) -> list[str]:
    return [f"**{table.caption}**", "", *_table(table.columns, table.rows), ""]


def _main_statement(result: ClaimResult) -> str:
    main = result.main_checks
    if not main:
        return "no check is marked as deciding the main bound"
    return ", ".join(f"`{check.name}` ({check.layer.value}, {check.verdict.value})"
                     for check in main)


def _number_or_dash(value: float | None, digits: int) -> str:
    return "-" if value is None else number_text(value, digits)


def _replicate_lines(replicates: Replicates) -> list[str]:
    seeds = len(replicates.seeds)
    lines = ["## Seed replicates", "",
             f"{seeds} master seeds {replicates.seeds[0]}..{replicates.seeds[-1]}: "
             f"{replicates.split}. The claim's verdict is the one all seeds agree on, else "
             "inconclusive; the checks below are those of the first seed.", ""]
    lines += _table(("seed", "verdict"), zip(replicates.seeds,
                                             (_MARK[v.value] for v in replicates.verdicts)))
    lines.append("")
    if replicates.exponents:
        level = f"{replicates.exponents[0].level:.0%}"
        lines += ["Fitted exponents over the seeds (pooled: the "
                  f"{level} Student-t interval of the mean of the per-seed exponents):", ""]
        rows = [(spread.check, len(spread.seeds), _number_or_dash(spread.mean, 6),
                 _number_or_dash(spread.sd, 2), _number_or_dash(spread.minimum, 6),
                 _number_or_dash(spread.maximum, 6),
                 "-" if spread.pooled_low is None
                 else f"[{number_text(spread.pooled_low)}, {number_text(spread.pooled_high)}]",
                 ", ".join(v.value for v in spread.verdicts))
                for spread in replicates.exponents]
        lines += _table(("check", "seeds", "mean", "sd", "min", "max", "pooled interval",
                         "verdicts"), rows)
        lines.append("")
    return lines


def claim_markdown(result: ClaimResult) -> str:
    """The content of `<out>/<claim>/report.md`."""
    env = result.environment
    lines = [
        f"# {result.title} (`{result.claim}`)",
        "",
        f"**Verdict: {_MARK[result.verdict.value]}**",
        "",
        f"- Source: {result.source}",
        f"- Claimed bound: {result.bound}",
        f"- Decided by: {_main_statement(result)}",
        f"- Claim from: {result.origin}",
    ]
    lines += [f"- Assumption: {assumption}" for assumption in result.assumptions]
    lines.append("")
    if result.replicates is not None:
        lines += _replicate_lines(result.replicates)
    lines += ["## Checks", ""]
    lines += _table(
        ("layer", "check", "verdict", "role"),
        [(c.layer.value, c.name, c.verdict.value, c.role.value) for c in result.checks],
    )
    lines.append("")
    for layer in result.layers:
        lines += [f"## {layer.layer.value.capitalize()} layer ({seconds_text(layer.wall_s)})", ""]
        if layer.error:
            lines += [f"The layer raised an error: `{layer.error}`", ""]
        for check in layer.checks:
            lines += _check_lines(check)
        for table in layer.tables:
            lines += _table_lines(table)
        for figure in layer.figures:
            lines += [f"![{figure.title}]({figure.name}.png)", ""]
        lines += [f"> {note}" for note in layer.notes]
        if layer.notes:
            lines.append("")
    lines += [
        "## Environment",
        "",
        f"{env.settings}, wall time {seconds_text(env.wall_s)}",
        "",
        ", ".join(f"{name} {version}" for name, version in env.versions.items()),
        "",
    ]
    return "\n".join(lines)


def summary_markdown(run: RunResult) -> str:
    """The content of `<out>/summary.md`."""
    lines = [
        "# optverify summary",
        "",
        f"{run.config.settings}, wall time {seconds_text(run.wall_s, 1)}, "
        f"exit code {run.exit_code}",
        "",
    ]
    rows = []
    for result in run.claims:
        decisive_verdicts = {  # a layer's cell: its decisive checks' verdicts only
            layer: sorted({c.verdict.value for c in result.decisive_checks if c.layer is layer})
            for layer in Layer
        }
        rows.append((f"[{result.claim}]({result.claim}/report.md)", _MARK[result.verdict.value],
                     *(", ".join(v) or "-" for v in decisive_verdicts.values()),
                     _findings(result), seconds_text(result.environment.wall_s, 1)))
    lines += _table(("claim", "verdict", "symbolic (decisive)", "numeric (decisive)",
                     "experiment (decisive)", "reported findings", "time"), rows)
    lines += ["", "A layer's cell holds the verdicts of its decisive checks, which decide the "
              "claim's verdict; reported findings (a statement as written beside the corrected "
              "one that was measured, ...) are named apart and do not decide it."]
    return "\n".join(lines) + "\n"


def findings_text(result: ClaimResult, quote: str = "") -> str:
    """The reported (not decisive) findings: their count, and by verdict the names of those not
    consistent ("6 reported; violated: a; inconclusive: b"), or "-" when there are none."""
    findings = result.reported_findings
    if not findings:
        return "-"
    by_verdict = {verdict: [f"{quote}{check.name}{quote}"
                            for check in result.findings_not_consistent
                            if check.verdict is verdict] for verdict in Verdict}
    named = [f"{verdict.value}: " + ", ".join(names) for verdict, names in by_verdict.items()
             if names]
    return "; ".join([f"{len(findings)} reported", *named]) if named else \
        f"{len(findings)} reported, all consistent"


def _findings(result: ClaimResult) -> str:
    return findings_text(result, quote="`")
