"""JSON form of the result objects: a faithful, documented serialization (docs/report-format.md).

Non-finite floats have no JSON spelling: they are written as the strings "nan", "inf", "-inf".
The schema lives here alone: beside the writers, which fields are prose, which are measured
durations, what every claim report holds, and how its environment reads back as a `RunConfig`
(`verify rerun` reads reports through these).
"""

from __future__ import annotations

from collections.abc import Mapping

from optverify.bound import Bound
from optverify.config import RunConfig
from optverify.numerics.fit import (
    FiniteSizeCorrection,
    GrowthComparison,
    ModelFit,
    RateFit,
    TailSlope,
)
from optverify.results import (
    Check,
    ClaimResult,
    Control,
    Duration,
    Environment,
    ExponentSpread,
    Figure,
    LayerResult,
    Replicates,
    RunResult,
    SourceFingerprint,
    Table,
    Value,
)
from optverify.verify.formatting import non_finite_name
from optverify.verify.runner import library_versions

FORMAT_VERSION = 5

PROSE_FIELDS = frozenset({
    "title", "source", "origin", "assumptions", "statement", "detail", "rules_out", "alternative",
    "caption", "notes", "text", "split",
})
"""Fields in words: they restate numbers written elsewhere in the report (or none), so a report
compared with its record skips them."""

DURATION_FIELDS = frozenset({"wall_s"})
"""Fields that are measured durations wherever they appear. A check's values that are durations
are named in its `durations`, a table's columns of durations in its `duration_columns`."""

UNCOMPARED_REPORT_FIELDS = frozenset({"format_version", "claim_source"})
"""Top-level fields of a claim report that describe the code rather than its numbers: the format
and the SHA-256 of the claim's files (a rerun reports their changes beforehand)."""

CLAIM_REPORT_FIELDS = ("format_version", "claim", "origin", "checks", "layers", "environment")
"""What every claim report holds, in every format version."""

CONFIG_FIELDS = ("seed", "precision_digits", "device", "dtype", "quick")
"""What every report's `environment` holds of the run's configuration (`config_from_json`)."""


def _number(value: Value) -> Value:
    if isinstance(value, float):
        return non_finite_name(value) or value
    return value


def _values(values: Mapping[str, Value]) -> dict[str, Value]:
    return {str(key): _number(value) for key, value in values.items()}


def correction_to_json(correction: FiniteSizeCorrection | None) -> dict | None:
    if correction is None:
        return None
    return {
        "power": correction.power,
        "coefficient": _number(correction.coefficient),
        "reference": correction.reference,
        "size_at_x_min": _number(correction.size_at_x_min),
        "size_at_x_max": _number(correction.size_at_x_max),
        "straight_exponent": _number(correction.straight_exponent),
        "f_statistic": _number(correction.f_statistic),
        "p_value": _number(correction.p_value),
        "applied": correction.applied,
    }


def comparison_to_json(comparison: GrowthComparison | None) -> dict | None:
    if comparison is None:
        return None
    return {
        "power_law_exponent": _number(comparison.power_law_exponent),
        "p_value_power_law": _number(comparison.p_value_power_law),
        "p_value_exponential": _number(comparison.p_value_exponential),
        "power_law_rejected": comparison.power_law_rejected,
        "exponential_rejected": comparison.exponential_rejected,
        "finite_size_term": comparison.finite_size_term,
    }


def control_to_json(control: Control) -> dict:
    return {"alternative": control.alternative, "verdict": control.verdict.value,
            "detail": control.detail}


def fit_to_json(fit: RateFit) -> dict:
    return {
        "exponent": _number(fit.exponent),
        "ci_low": _number(fit.ci.low),
        "ci_high": _number(fit.ci.high),
        "ci_level": fit.ci.level,
        "stderr": _number(fit.stderr),
        "intercept": _number(fit.intercept),
        "x_min": fit.x_min,
        "x_max": fit.x_max,
        "n_points": fit.n_points,
        "scale": fit.scale.value,
        "r_squared": _number(fit.r_squared),
        "local_slopes": [_number(slope) for slope in fit.local_slopes],
        "correction": correction_to_json(fit.correction),
        "comparison": comparison_to_json(fit.comparison),
        "limit": fit.limit,
        "log_power": fit.log_power,
        "interval": fit.interval,
        "offset": _number(fit.offset),
        "models": [model_to_json(model) for model in fit.models],
        "tail": tail_to_json(fit.tail),
    }


def model_to_json(model: ModelFit) -> dict:
    return {
        "name": model.name,
        "exponent": _number(model.exponent),
        "ci_low": _number(model.ci.low),
        "ci_high": _number(model.ci.high),
        "rss": _number(model.rss),
        "plausible": model.plausible,
        "describes_tail": model.describes_tail,
        "tail_slope": _number(model.tail_slope),
        "log_power": _number(model.log_power),
        "log_power_ci_low": None if model.log_power_ci is None else _number(model.log_power_ci.low),
        "log_power_ci_high": None if model.log_power_ci is None else _number(
            model.log_power_ci.high),
    }


def tail_to_json(tail: TailSlope | None) -> dict | None:
    if tail is None:
        return None
    return {"slope": _number(tail.slope), "ci_low": _number(tail.ci.low),
            "ci_high": _number(tail.ci.high), "x_from": tail.x_from, "x_to": tail.x_to,
            "n_points": tail.n_points, "local_first": _number(tail.local_first),
            "local_last": _number(tail.local_last)}


def bound_to_json(bound: Bound) -> dict:
    return {
        "kind": bound.kind.value,
        "variable": bound.variable,
        "exponent": bound.exponent_value,
        "expression": None if bound.expression is None else str(bound.expression),
        "exponential": bound.exponential,
        "limit": bound.limit,
        "log_power": bound.log_power_value,
        "offset": bound.offset,
        "margin": bound.judging_margin,
        "text": bound.describe(),
    }


def check_to_json(check: Check) -> dict:
    return {
        "layer": check.layer.value,
        "name": check.name,
        "statement": check.statement,
        "verdict": check.verdict.value,
        "decisive": check.decisive,
        "main": check.main,
        "sanity": check.sanity,
        "rules_out": check.rules_out,
        "controls": [control_to_json(control) for control in check.controls],
        "detail": check.detail,
        "fit": None if check.fit is None else fit_to_json(check.fit),
        "bound": None if check.bound is None else bound_to_json(check.bound),
        "residual": _number(check.residual),
        "tolerance": _number(check.tolerance),
        "precision_digits": check.precision_digits,
        "values": _values(check.values),
        "durations": [str(key) for key, value in check.values.items()
                      if isinstance(value, Duration)],
    }


def table_to_json(table: Table) -> dict:
    return {
        "name": table.name,
        "caption": table.caption,
        "columns": list(table.columns),
        "rows": [[_number(cell) for cell in row] for row in table.rows],
        "duration_columns": [column for index, column in enumerate(table.columns)
                             if any(isinstance(row[index], Duration) for row in table.rows)],
    }


def figure_to_json(figure: Figure) -> dict:
    return {"name": figure.name, "title": figure.title, "file": f"{figure.name}.png"}


def layer_to_json(layer: LayerResult) -> dict:
    return {
        "layer": layer.layer.value,
        "wall_s": layer.wall_s,
        "error": layer.error,
        "notes": list(layer.notes),
        "tables": [table_to_json(table) for table in layer.tables],
        "figures": [figure_to_json(figure) for figure in layer.figures],
    }


def environment_to_json(environment: Environment) -> dict:
    return {
        "seed": environment.seed,
        "precision_digits": environment.precision_digits,
        "device": environment.device,
        "dtype": environment.dtype,
        "quick": environment.quick,
        "scale": environment.scale,
        "rigorous": environment.rigorous,
        "data": [{"name": name, "path": path, "sha256": sha256}
                 for name, path, sha256 in environment.data],
        "versions": dict(environment.versions),
        "wall_s": environment.wall_s,
    }


def config_from_json(environment: Mapping) -> RunConfig:
    """The configuration an `environment_to_json` record was run with; a report from before the
    paper scale records only `quick`, one from before `--rigorous` not `rigorous`. A bad field raises TypeError, ValueError or KeyError."""
    scale = environment.get("scale", "quick" if environment["quick"] else "full")
    return RunConfig(precision=int(environment["precision_digits"]),
                     device=str(environment["device"]), seed=int(environment["seed"]),
                     scale=str(scale), dtype=str(environment["dtype"]),
                     data=tuple((str(given["name"]), str(given["path"]))
                                for given in environment.get("data", ())),
                     rigorous=bool(environment.get("rigorous", False)))


def spread_to_json(spread: ExponentSpread) -> dict:
    return {
        "check": spread.check,
        "seeds": list(spread.seeds),
        "exponents": [_number(exponent) for exponent in spread.exponents],
        "verdicts": [verdict.value for verdict in spread.verdicts],
        "mean": _number(spread.mean),
        "sd": _number(spread.sd),
        "min": _number(spread.minimum),
        "max": _number(spread.maximum),
        "pooled_low": _number(spread.pooled_low),
        "pooled_high": _number(spread.pooled_high),
        "pooled_level": spread.level,
    }


def replicates_to_json(replicates: Replicates | None) -> dict | None:
    if replicates is None:
        return None
    return {
        "seeds": list(replicates.seeds),
        "verdicts": [verdict.value for verdict in replicates.verdicts],
        "split": replicates.split,
        "exponents": [spread_to_json(spread) for spread in replicates.exponents],
    }


def claim_source_to_json(source: SourceFingerprint | None) -> dict | None:
    if source is None:
        return None
    return {"sha256": source.sha256, "files": list(source.files)}


def claim_to_json(result: ClaimResult) -> dict:
    """The content of `<out>/<claim>/report.json`."""
    return {
        "format_version": FORMAT_VERSION,
        "claim": result.claim,
        "title": result.title,
        "source": result.source,
        "bound": result.bound,
        "origin": result.origin,
        "claim_source": claim_source_to_json(result.claim_source),
        "assumptions": list(result.assumptions),
        "verdict": result.verdict.value,
        "main_checks": [check.name for check in result.main_checks],
        "checks": [check_to_json(check) for check in result.checks],
        "layers": [layer_to_json(layer) for layer in result.layers],
        "environment": environment_to_json(result.environment),
        "replicates": replicates_to_json(result.replicates),
    }


def summary_to_json(run: RunResult) -> dict:
    """The content of `<out>/summary.json`."""
    return {
        "format_version": FORMAT_VERSION,
        "exit_code": run.exit_code,
        "config": run.config.as_dict(),
        "counts": {verdict.value: count for verdict, count in run.verdict_counts.items()},
        "claims": [
            {
                "claim": result.claim,
                "title": result.title,
                "verdict": result.verdict.value,
                "bound": result.bound,
                "origin": result.origin,
                "wall_s": result.environment.wall_s,
                "report": f"{result.claim}/report.json",
            }
            for result in run.claims
        ],
        "versions": library_versions(),
        "wall_s": run.wall_s,
    }
