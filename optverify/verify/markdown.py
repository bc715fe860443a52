"""Markdown rendering of claim reports and the run summary (reads result objects, computes nothing)."""

from __future__ import annotations

from optverify.results import Check, ClaimResult, Layer, Replicates, Table, Value
from optverify.verify.runner import RunResult

_MARK = {"consistent": "consistent", "violated": "**VIOLATED**", "inconclusive": "inconclusive",
         "error": "**ERROR**"}


def _cell(value: Value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def _table(columns, rows) -> list[str]:
    lines = ["| " + " | ".join(_cell(c) for c in columns) + " |",
             "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _check_lines(check: Check) -> list[str]:
    role = " (main statement)" if check.main else ""
    if check.sanity:
        role += " (sanity check: cannot fail, not decisive)"
    elif not check.decisive:
        role += " (reported, not decisive)"
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


def _role(check: Check) -> str:
    if check.main:
        return "main"
    if check.sanity:
        return "sanity"
    return "yes" if check.decisive else "no"


def _main_statement(result: ClaimResult) -> str:
    main = result.main_checks
    if not main:
        return "no check is marked as deciding the main bound"
    return ", ".join(f"`{check.name}` ({check.layer.value}, {check.verdict.value})"
                     for check in main)


def _number_or_dash(value: float | None, digits: str) -> str:
    return "-" if value is None else format(value, digits)


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
        rows = [(spread.check, len(spread.seeds), _number_or_dash(spread.mean, ".6g"),
                 _number_or_dash(spread.sd, ".2g"), _number_or_dash(spread.minimum, ".6g"),
                 _number_or_dash(spread.maximum, ".6g"),
                 "-" if spread.pooled_low is None
                 else f"[{spread.pooled_low:.6g}, {spread.pooled_high:.6g}]",
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
        ("layer", "check", "verdict", "decisive"),
        [(c.layer.value, c.name, c.verdict.value, _role(c)) for c in result.checks],
    )
    lines.append("")
    for layer in result.layers:
        lines += [f"## {layer.layer.value.capitalize()} layer ({layer.wall_s:.2f} s)", ""]
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
        f"seed {env.seed}, precision {env.precision_digits} digits, device {env.device}, "
        f"dtype {env.dtype}, {env.scale} mode{', rigorous' if env.rigorous else ''}, "
        f"wall time {env.wall_s:.2f} s",
        "",
        ", ".join(f"{name} {version}" for name, version in env.versions.items()),
        "",
    ]
    return "\n".join(lines)


def summary_markdown(run: RunResult) -> str:
    """The content of `<out>/summary.md`."""
    config = run.config
    lines = [
        "# optverify summary",
        "",
        f"seed {config.seed}, precision {config.precision} digits, device {config.device}, "
        f"dtype {config.dtype}, {config.scale} mode{', rigorous' if config.rigorous else ''}, "
        f"wall time {run.wall_s:.1f} s, exit code {run.exit_code}",
        "",
    ]
    rows = []
    for result in run.claims:
        decisive_verdicts = {  # a layer's cell: its decisive checks' verdicts only
            layer: sorted({c.verdict.value for c in result.checks
                           if c.layer is layer and c.decisive})
            for layer in Layer
        }
        rows.append((f"[{result.claim}]({result.claim}/report.md)", _MARK[result.verdict.value],
                     *(", ".join(v) or "-" for v in decisive_verdicts.values()),
                     _findings(result), f"{result.environment.wall_s:.1f} s"))
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
    named = [f"{verdict}: " + ", ".join(f"{quote}{check.name}{quote}" for check in findings
                                         if check.verdict.value == verdict)
             for verdict in ("violated", "inconclusive", "error")
             if any(check.verdict.value == verdict for check in findings)]
    return "; ".join([f"{len(findings)} reported", *named]) if named else \
        f"{len(findings)} reported, all consistent"


def _findings(result: ClaimResult) -> str:
    return findings_text(result, quote="`")
