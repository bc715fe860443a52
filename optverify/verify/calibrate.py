"""`verify calibrate`: how far to trust a claim's verdicts, measured over K master seeds.

Issue 18, item 6: a verdict comes from one seed; run under seeds seed, ..., seed + K - 1
(`replicates.replicate_seeds`) through `runner.run` (so in this process or on the Dask executor of
`--workers`/`--scheduler`), each decisive check gets its verdict distribution across the seeds,
and each of its negative controls its rejection rate: the share of seeds where the control was
judged violated, which is the check's measured power against that false alternative (a control
that is inconclusive or consistent is not a rejection). Both carry 95% Clopper-Pearson intervals
(optverify.numerics.proportions). Checks are matched across seeds by layer and name, controls by
their position in the check (named as in the first seed that has them); a check a seed did not
record counts as absent there. The result is written as OUT/calibration.json, .md and .html,
atomically (docs/report-format.md).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import jinja2

from optverify.claim import Claim
from optverify.config import RunConfig
from optverify.numerics.fit import ConfidenceInterval
from optverify.numerics.proportions import clopper_pearson
from optverify.results import Check, ClaimResult, Verdict
from optverify.verify.replicates import replicate_seeds
from optverify.verify.report import write_text_atomic
from optverify.verify.runner import run

CALIBRATION_FILES = ("calibration.json", "calibration.md", "calibration.html")
CALIBRATION_FORMAT = 1
VERDICT_ORDER = (Verdict.CONSISTENT, Verdict.VIOLATED, Verdict.INCONCLUSIVE, Verdict.ERROR)


@dataclass(frozen=True)
class ControlRejection:
    """One negative control over the seeds.

    alternative: the false alternative, as named in the first seed that has the control.
    rejected: seeds where it was judged violated; evaluated: seeds where the check recorded it.
    """

    alternative: str
    rejected: int
    evaluated: int

    @property
    def rate(self) -> float:
        return self.rejected / self.evaluated

    @property
    def ci(self) -> ConfidenceInterval:
        return clopper_pearson(self.rejected, self.evaluated)


@dataclass(frozen=True)
class CheckCalibration:
    """One decisive check over the seeds: its verdict counts (by verdict value; "absent" for seeds
    that did not record it), the seeds where it was not judged consistent (to rerun them with
    `verify run --seed`) and its controls' rejection rates."""

    layer: str
    check: str
    seeds: int
    verdicts: Mapping[str, int]
    controls: tuple[ControlRejection, ...]
    seeds_not_consistent: tuple[int, ...] = ()

    def share(self, verdict: Verdict) -> float:
        return self.verdicts.get(verdict.value, 0) / self.seeds

    def interval(self, verdict: Verdict) -> ConfidenceInterval:
        return clopper_pearson(self.verdicts.get(verdict.value, 0), self.seeds)

    @property
    def ever_off(self) -> bool:
        """Whether some seed judged it other than consistent."""
        return self.verdicts.get(Verdict.CONSISTENT.value, 0) < self.seeds

    @property
    def lowest_rejection(self) -> float | None:
        return min((control.rate for control in self.controls), default=None)


@dataclass(frozen=True)
class ClaimCalibration:
    """One claim over the seeds: its per-seed claim verdicts and its decisive checks."""

    claim: str
    seeds: tuple[int, ...]
    verdicts: tuple[Verdict, ...]
    checks: tuple[CheckCalibration, ...]
    wall_s: float

    @property
    def verdict_counts(self) -> dict[str, int]:
        counts = Counter(verdict.value for verdict in self.verdicts)
        return {verdict.value: counts[verdict.value] for verdict in VERDICT_ORDER
                if counts[verdict.value]}

    @property
    def checks_ever_off(self) -> int:
        return sum(check.ever_off for check in self.checks)

    @property
    def lowest_rejection(self) -> float | None:
        rates = [check.lowest_rejection for check in self.checks
                 if check.lowest_rejection is not None]
        return min(rates, default=None)


@dataclass(frozen=True)
class Calibration:
    """A calibration run: its configuration (seed = the first seed), K and every claim's tally."""

    config: RunConfig
    seeds: tuple[int, ...]
    claims: tuple[ClaimCalibration, ...]
    wall_s: float


def _decisive_keys(results: Sequence[ClaimResult]) -> list[tuple[str, str]]:
    """(layer, name) of every check decisive in some seed, in first-seen order."""
    keys: dict[tuple[str, str], None] = {}
    for result in results:
        for check in result.checks:
            if check.decisive:
                keys.setdefault((check.layer.value, check.name), None)
    return list(keys)


def _control_rejections(checks: Sequence[Check]) -> tuple[ControlRejection, ...]:
    width = max((len(check.controls) for check in checks), default=0)
    rejections = []
    for position in range(width):
        recorded = [check.controls[position] for check in checks if len(check.controls) > position]
        rejected = sum(control.verdict is Verdict.VIOLATED for control in recorded)
        rejections.append(ControlRejection(recorded[0].alternative, rejected, len(recorded)))
    return tuple(rejections)


def calibrate_claim(results: Sequence[ClaimResult]) -> ClaimCalibration:
    """One claim's per-seed results (seed order) as its calibration tally."""
    if not results:
        raise ValueError("no seed to calibrate over")
    by_key = [{(check.layer.value, check.name): check for check in result.checks}
              for result in results]
    tallies = []
    for key in _decisive_keys(results):
        recorded = [checks[key] for checks in by_key if key in checks]
        counts = Counter(check.verdict.value for check in recorded)
        if len(recorded) < len(results):
            counts["absent"] = len(results) - len(recorded)
        off = tuple(result.environment.seed for result, checks in zip(results, by_key)
                    if key not in checks or checks[key].verdict is not Verdict.CONSISTENT)
        tallies.append(CheckCalibration(key[0], key[1], len(results), dict(counts),
                                        _control_rejections(recorded), off))
    return ClaimCalibration(results[0].claim, tuple(r.environment.seed for r in results),
                            tuple(r.verdict for r in results), tuple(tallies),
                            sum(r.environment.wall_s for r in results))


def calibrate(claims: Sequence[Claim], config: RunConfig, count: int,
              on_seed_done: Callable[[int], None] | None = None, **run_options) -> Calibration:
    """Every claim under master seeds config.seed .. config.seed + count - 1 (one `runner.run`
    of all claims per seed; `run_options` such as `executor` go to it), tallied per claim."""
    start = time.perf_counter()
    seeds = replicate_seeds(config.seed, count)
    per_claim: list[list[ClaimResult]] = [[] for _ in claims]
    for seed in seeds:
        for index, result in enumerate(run(claims, replace(config, seed=seed),
                                           **run_options).claims):
            per_claim[index].append(result)
        if on_seed_done is not None:
            on_seed_done(seed)
    return Calibration(config, seeds, tuple(calibrate_claim(results) for results in per_claim),
                       time.perf_counter() - start)


# -- rendering -----------------------------------------------------------------------------------


def _interval(ci: ConfidenceInterval) -> list[float]:
    return [ci.low, ci.high]


def calibration_to_json(calibration: Calibration) -> dict:
    """The calibration as JSON-ready data (docs/report-format.md, "Calibration")."""
    config = calibration.config
    return {
        "format": "optverify-calibration",
        "format_version": CALIBRATION_FORMAT,
        "seeds": list(calibration.seeds),
        "quick": config.quick,
        "scale": config.scale,
        "precision_digits": config.precision,
        "device": config.device,
        "dtype": config.dtype,
        "wall_s": calibration.wall_s,
        "claims": [{
            "claim": claim.claim,
            "verdicts": claim.verdict_counts,
            "decisive_checks": len(claim.checks),
            "checks_ever_not_consistent": claim.checks_ever_off,
            "lowest_control_rejection": claim.lowest_rejection,
            "wall_s": claim.wall_s,
            "checks": [{
                "layer": check.layer,
                "check": check.check,
                "verdicts": dict(check.verdicts),
                "seeds_not_consistent": list(check.seeds_not_consistent),
                "violated_ci": _interval(check.interval(Verdict.VIOLATED)),
                "consistent_ci": _interval(check.interval(Verdict.CONSISTENT)),
                "controls": [{
                    "alternative": control.alternative,
                    "rejected": control.rejected,
                    "evaluated": control.evaluated,
                    "rejection_rate": control.rate,
                    "rejection_ci": _interval(control.ci),
                } for control in check.controls],
            } for check in claim.checks],
        } for claim in calibration.claims],
    }


def _counts_text(counts: Mapping[str, int], total: int) -> str:
    order = [verdict.value for verdict in VERDICT_ORDER] + ["absent"]
    return ", ".join(f"{name} {counts[name]}/{total}" for name in order if counts.get(name))


def _percent(ci: ConfidenceInterval, rate: float) -> str:
    return f"{100 * rate:.0f}% [{100 * ci.low:.0f}, {100 * ci.high:.0f}]"


def _verdicts_text(check: CheckCalibration) -> str:
    text = _counts_text(check.verdicts, check.seeds)
    if not check.seeds_not_consistent:
        return text
    shown = ", ".join(map(str, check.seeds_not_consistent[:10]))
    more = ", ..." if len(check.seeds_not_consistent) > 10 else ""
    return f"{text} (not consistent at seed {shown}{more})"


def _rejection_text(check: CheckCalibration) -> str:
    if not check.controls:
        return "no control"
    return "; ".join(f"{control.alternative}: {control.rejected}/{control.evaluated} = "
                     f"{_percent(control.ci, control.rate)}" for control in check.controls)


def _lowest_text(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.0f}%"


def calibration_markdown(calibration: Calibration) -> str:
    """The calibration as Markdown: one summary row per claim, then per claim its checks."""
    k = len(calibration.seeds)
    config = calibration.config
    lines = [
        "# optverify calibration",
        "",
        f"{k} master seeds ({calibration.seeds[0]} .. {calibration.seeds[-1]}), "
        f"{config.scale} mode, {config.precision} digits, {config.dtype}, "
        f"{config.device}; {calibration.wall_s:.1f} s. A control's rejection rate is the share "
        "of seeds where it was judged violated (the check's power against that alternative); "
        "95% Clopper-Pearson intervals in brackets.",
        "",
        "| claim | claim verdicts | decisive checks | ever not consistent | lowest control "
        "rejection |",
        "|---|---|---|---|---|",
    ]
    for claim in calibration.claims:
        lines.append(f"| `{claim.claim}` | {_counts_text(claim.verdict_counts, k)} | "
                     f"{len(claim.checks)} | {claim.checks_ever_off} | "
                     f"{_lowest_text(claim.lowest_rejection)} |")
    for claim in calibration.claims:
        lines += ["", f"## {claim.claim}", "",
                  "| layer | check | verdicts over the seeds | control rejection |",
                  "|---|---|---|---|"]
        for check in claim.checks:
            lines.append(f"| {check.layer} | `{check.check}` | {_verdicts_text(check)} | "
                         f"{_rejection_text(check)} |")
    return "\n".join(lines) + "\n"


def _templates() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("optverify.verify", "templates"),
                              autoescape=True, trim_blocks=True, lstrip_blocks=True)


def calibration_html(calibration: Calibration) -> str:
    """The calibration as one self-contained HTML page (templates/calibration.html.j2)."""
    k = len(calibration.seeds)
    claims = [{
        "claim": claim.claim,
        "verdicts": _counts_text(claim.verdict_counts, k),
        "decisive": len(claim.checks),
        "ever_off": claim.checks_ever_off,
        "lowest": _lowest_text(claim.lowest_rejection),
        "checks": [{"layer": check.layer, "check": check.check,
                    "verdicts": _verdicts_text(check),
                    "off": check.ever_off, "controls": _rejection_text(check)}
                   for check in claim.checks],
    } for claim in calibration.claims]
    config = calibration.config
    return _templates().get_template("calibration.html.j2").render(
        seeds=k, first=calibration.seeds[0], last=calibration.seeds[-1],
        mode=config.scale, precision=config.precision, dtype=config.dtype,
        device=config.device, wall_s=f"{calibration.wall_s:.1f}", claims=claims)


def write_calibration(calibration: Calibration, out: Path | str) -> None:
    """OUT/calibration.json, .md and .html, each written atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "calibration.json",
                      json.dumps(calibration_to_json(calibration), indent=2) + "\n")
    write_text_atomic(out / "calibration.md", calibration_markdown(calibration))
    write_text_atomic(out / "calibration.html", calibration_html(calibration))
