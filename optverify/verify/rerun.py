"""`verify rerun`: run a claim again from its report.json and compare every recorded number.

The record names everything a run depends on: the claim (its id, and in `origin` where it came
from: built-in, an entry point, or a claim file by absolute path), the master seed (or, for a
replicated run, every seed), the mpmath precision, the torch device and dtype, and quick or full
mode. `rerun` runs the claim under exactly that configuration and compares the new report.json
with the recorded one, field by field:

- compared: every number (`int`, `float`), every boolean, and every string that is a value rather
  than prose (verdicts, `values` entries such as "below precision", table cells, names, kinds);
- tolerance: exact on CPU (the same build gives the same bits); on CUDA, a relative
  `GPU_RELATIVE[dtype]`, since GPU reductions and atomics need not be bit-reproducible;
- skipped, as measured durations: every `wall_s`, the check values listed in a check's
  `durations`, the table columns listed in a table's `duration_columns`, and the verdict of a
  check whose values hold a duration (it depends on the timing);
- skipped, as prose written from the compared numbers: `serialize.PROSE_FIELDS`; the library
  versions and the report's `format_version`, which are reported beforehand
  (`version_differences`);
- skipped, and reported beforehand (`Rerun.source_change`): the SHA-256 of the claim's files,
  `claim_source`, which changes with the code whether or not the numbers do;
- only what was recorded is compared: a field that a newer report format adds is not.

The comparison functions are pure (dicts in, differences out); `rerun_report` runs the claim.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from optverify.claim import Claim
from optverify.config import RunConfig
from optverify.results import SourceFingerprint
from optverify.verify.serialize import (
    CLAIM_REPORT_FIELDS,
    CONFIG_FIELDS,
    DURATION_FIELDS,
    PROSE_FIELDS,
    UNCOMPARED_REPORT_FIELDS,
    claim_to_json,
    config_from_json,
)

GPU_RELATIVE = {"float64": 1e-9, "float32": 1e-4}
"""Relative tolerance on CUDA per dtype: reduction order changes the last bits (float64: about
1e3 ulp at 2.2e-16; float32: about 1e3 ulp at 1.2e-7)."""


class RerunError(Exception):
    """A report that cannot be rerun (unreadable, not a report, unknown claim); one line."""


@dataclass(frozen=True)
class Tolerance:
    """How two recorded numbers are compared: equal within `relative` of the larger magnitude."""

    relative: float
    name: str

    def equal(self, recorded: float, now: float) -> bool:
        if recorded == now:
            return True
        if not (math.isfinite(recorded) and math.isfinite(now)):
            return False
        return abs(recorded - now) <= self.relative * max(abs(recorded), abs(now))


def tolerance_for(environment: Mapping) -> Tolerance:
    """Exact on CPU; relative GPU_RELATIVE[dtype] on CUDA."""
    if environment.get("device") == "cpu":
        return Tolerance(0.0, "exact: every number equal, on cpu")
    relative = GPU_RELATIVE[environment.get("dtype", "float64")]
    return Tolerance(relative, f"relative {relative:g} on {environment.get('device')} "
                               f"({environment.get('dtype')})")


@dataclass(frozen=True)
class Difference:
    """A recorded field whose value changed: its JSON path, the recorded and the new value."""

    path: str
    recorded: object
    now: object


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing a new report with a recorded one."""

    differences: tuple[Difference, ...]
    skipped_durations: int
    skipped_verdicts: tuple[str, ...] = field(default=())

    @property
    def reproduced(self) -> bool:
        return not self.differences


_ABSENT = "<absent>"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Walker:
    def __init__(self, tolerance: Tolerance):
        self.tolerance = tolerance
        self.differences: list[Difference] = []
        self.skipped_durations = 0
        self.skipped_verdicts: list[str] = []

    def leaf(self, path: str, recorded, now) -> None:
        if _is_number(recorded) and _is_number(now):
            same = self.tolerance.equal(float(recorded), float(now)) and (
                isinstance(recorded, float) == isinstance(now, float) or recorded == now)
        else:
            same = type(recorded) is type(now) and recorded == now
        if not same:
            self.differences.append(Difference(path, recorded, now))

    def walk(self, path: str, recorded, now) -> None:
        if isinstance(recorded, dict) and isinstance(now, dict):
            self.mapping(path, recorded, now)
        elif isinstance(recorded, list) and isinstance(now, list):
            if len(recorded) != len(now):
                self.differences.append(Difference(f"{path} (length)", len(recorded), len(now)))
                return
            for index, (old, new) in enumerate(zip(recorded, now)):
                self.walk(f"{path}[{index}]", old, new)
        else:
            self.leaf(path, recorded, now)

    def mapping(self, path: str, recorded: dict, now: dict) -> None:
        durations = set(recorded.get("durations") or ()) if "values" in recorded else set()
        for key, old in recorded.items():
            where = f"{path}.{key}" if path else key
            if key in PROSE_FIELDS or (key == "versions" and path == "environment") or (
                    key in UNCOMPARED_REPORT_FIELDS and not path):
                continue
            if key in DURATION_FIELDS:
                self.skipped_durations += 1
                continue
            if key not in now:
                self.differences.append(Difference(where, old, _ABSENT))
                continue
            new = now[key]
            if key == "verdict" and durations:
                self.skipped_verdicts.append(path)
                continue
            if key == "values" and isinstance(old, dict) and isinstance(new, dict):
                self.values(where, old, new, durations)
            elif key == "rows" and "duration_columns" in recorded:
                self.rows(where, old, new, recorded)
            else:
                self.walk(where, old, new)

    def values(self, path: str, recorded: dict, now: dict, durations: set) -> None:
        for key, old in recorded.items():
            if key in durations:
                self.skipped_durations += 1
            elif key not in now:
                self.differences.append(Difference(f"{path}.{key}", old, _ABSENT))
            else:
                self.walk(f"{path}.{key}", old, now[key])

    def rows(self, path: str, recorded, now, table: dict) -> None:
        skip = {table["columns"].index(name) for name in table["duration_columns"]
                if name in table["columns"]}
        if not (isinstance(recorded, list) and isinstance(now, list)) or len(recorded) != len(now):
            self.walk(path, recorded, now)
            return
        for row_index, (old, new) in enumerate(zip(recorded, now)):
            if not (isinstance(old, list) and isinstance(new, list)) or len(old) != len(new):
                self.walk(f"{path}[{row_index}]", old, new)
                continue
            for column, (a, b) in enumerate(zip(old, new)):
                if column in skip:
                    self.skipped_durations += 1
                else:
                    self.walk(f"{path}[{row_index}][{column}]", a, b)


def compare_reports(recorded: Mapping, now: Mapping, tolerance: Tolerance) -> Comparison:
    """Every recorded field of `recorded` against `now`, by the rules of the module docstring."""
    walker = _Walker(tolerance)
    walker.mapping("", dict(recorded), dict(now))
    return Comparison(tuple(walker.differences), walker.skipped_durations,
                      tuple(walker.skipped_verdicts))


def version_differences(recorded: Mapping[str, str], installed: Mapping[str, str]
                        ) -> list[tuple[str, str, str]]:
    """(library, recorded version, installed version) for every library whose version differs."""
    names = list(dict.fromkeys([*recorded, *installed]))
    return [(name, recorded.get(name, "not recorded"), installed.get(name, "not installed"))
            for name in names if recorded.get(name) != installed.get(name)]


# -- reading reports --------------------------------------------------------------------------


def report_paths(path: Path | str) -> list[Path]:
    """A report.json itself, or every `report.json` in a folder and its claim subfolders."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("report.json")) + sorted(
            each for each in path.glob("*/report.json") if not each.parent.name.startswith("."))
        if not found:
            raise RerunError(f"no report.json in {path} or its claim folders")
        return found
    if not path.exists():
        raise RerunError(f"no report {path}")
    return [path]


def load_report(path: Path) -> dict:
    """A claim report's JSON, checked to hold what a rerun needs, or a RerunError."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise RerunError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") \
            from error
    except json.JSONDecodeError as error:
        raise RerunError(f"{path} is not valid JSON (line {error.lineno}: {error.msg}); "
                         "a truncated or edited report?") from error
    if not isinstance(data, dict) or any(key not in data for key in CLAIM_REPORT_FIELDS):
        raise RerunError(f"{path} is not an optverify claim report (no "
                         f"{', '.join(CLAIM_REPORT_FIELDS)})")
    environment = data["environment"]
    if not isinstance(environment, dict) or any(key not in environment
                                                for key in CONFIG_FIELDS):
        raise RerunError(f"{path}: the environment does not record "
                         f"{', '.join(CONFIG_FIELDS)}")
    return data


def recorded_config(report: Mapping) -> RunConfig:
    """The configuration the report was run with."""
    try:
        return config_from_json(report["environment"])
    except (TypeError, ValueError, KeyError) as error:
        raise RerunError(f"report of {report['claim']}: bad environment: {error}") from error


def recorded_seeds(report: Mapping) -> tuple[int, ...]:
    """The master seeds: those of the replicates, or the one seed."""
    replicates = report.get("replicates")
    if replicates:
        return tuple(int(seed) for seed in replicates["seeds"])
    return (int(report["environment"]["seed"]),)


def find_claim(report: Mapping) -> Claim:
    """The claim a report was made from, found by its recorded origin."""
    from optverify.verify import discovery

    claim_id, origin = str(report["claim"]), str(report["origin"])
    spec = origin.removeprefix("file ") if origin.startswith("file ") else claim_id
    if origin.startswith("file ") and not Path(spec).is_file():
        raise RerunError(f"the claim file of {claim_id} is gone: {spec} (recorded in origin)")
    try:
        claim = discovery.resolve([spec])[0]
    except discovery.DiscoveryError as error:
        raise RerunError(f"cannot find the claim of the report ({origin}): {error}") from error
    if claim.id != claim_id:
        raise RerunError(f"{spec} now defines the claim {claim.id!r}, not {claim_id!r}")
    return claim


def source_change(recorded: Mapping | None, now: SourceFingerprint | None) -> str | None:
    """"claim file changed since the report: recorded sha256 X, now Y" when the claim's files
    differ from those the report recorded; None when they are the same or the report recorded
    none (a report of format 4 or older)."""
    if not isinstance(recorded, Mapping) or "sha256" not in recorded:
        return None
    current = "unknown (its files cannot be read)" if now is None else now.sha256
    if recorded["sha256"] == current:
        return None
    files = recorded.get("files") or []
    named = f" ({files[0]})" if len(files) == 1 else f" ({len(files)} files)" if files else ""
    return (f"claim file changed since the report: recorded sha256 {recorded['sha256']}, "
            f"now {current}{named}")


def iter_lines(comparison: Comparison, limit: int = 50) -> Iterator[str]:
    """The differences as `path: recorded X, now Y` lines (at most `limit`, then a count)."""
    for difference in comparison.differences[:limit]:
        yield f"{difference.path}: recorded {difference.recorded!r}, now {difference.now!r}"
    if len(comparison.differences) > limit:
        yield f"... and {len(comparison.differences) - limit} more"


# -- running ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rerun:
    """A report to rerun: where it is, its JSON, and the claim it was made from."""

    path: Path
    report: dict
    claim: Claim

    @property
    def tolerance(self) -> Tolerance:
        return tolerance_for(self.report["environment"])

    def source_change(self) -> str | None:
        """Whether the claim's files changed since the report (`source_change`)."""
        from optverify.verify.fingerprint import fingerprint

        return source_change(self.report.get("claim_source"), fingerprint(self.claim))

    def version_differences(self) -> list[tuple[str, str, str]]:
        from optverify.verify.runner import library_versions

        return version_differences(self.report["environment"].get("versions") or {},
                                   library_versions())


def prepare(path: Path | str) -> list[Rerun]:
    """Every report under `path`, read and its claim found, before anything runs."""
    reruns = []
    for each in report_paths(path):
        report = load_report(each)
        recorded_config(report)
        reruns.append(Rerun(each, report, find_claim(report)))
    return reruns


def rerun(item: Rerun, **run_options) -> Comparison:
    """Run the claim again under its recorded configuration and seeds; compare with the record."""
    from optverify.verify.replicates import run_replicated
    from optverify.verify.runner import run

    config = recorded_config(item.report)
    if config.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise RerunError(f"{item.path} was run on cuda, and torch sees no CUDA GPU here")
    seeds = recorded_seeds(item.report)
    if len(seeds) == 1:
        result = run([item.claim], config, **run_options).claims[0]
    else:
        result = run_replicated([item.claim], RunConfig(**{**config.as_dict(), "seed": seeds[0]}),
                                len(seeds), **run_options).claims[0]
    return compare_reports(item.report, claim_to_json(result), item.tolerance)
