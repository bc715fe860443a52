"""The `verify` command: parse, resolve defaults, run the claims, write reports, print the summary.

    verify list
    verify all [options]
    verify run CLAIM [CLAIM ...] [options]     (CLAIM: an id or a path to a claim file)
    verify rerun PATH [PATH ...]               (PATH: a report.json, or a folder of reports)
    verify new NAME [--dir DIR]                (writes DIR/NAME.py, a commented claim file)
    verify calibrate CLAIM [CLAIM ...] --seeds K [options]   (verdicts and control rejection
                                               rates over K seeds; exit 0 once written)

Exit codes: 0 no claim violated or errored (rerun: every report reproduced); 1 a claim violated
(rerun: a report not reproduced); 2 bad usage or input, an output folder that cannot be written
or that another run holds; 3 a claim raised an error (the other claims still run and report: a
serial run's layers run in a child process, `isolation.Isolated`, so a layer that exits, crashes,
is killed or passes --timeout is its claim's error too), or an internal error; 130 interrupted
(SIGINT), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

import optverify
from optverify.verify.formatting import seconds_text

if TYPE_CHECKING:  # the run's modules import torch, scipy and sympy: each command imports them
    # when it runs, so `verify --help`, `--version` and `list` answer at once
    from rich.progress import Progress

    from optverify.claim import Claim
    from optverify.results import ClaimResult, Layer, RunResult

EXIT_USAGE = 2
EXIT_CLAIM_ERROR = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
_COLOURS = {"consistent": "green", "violated": "bold red", "inconclusive": "yellow",
            "error": "bold magenta"}


class UsageError(Exception):
    """Bad usage or input: reported as one line on stderr with exit code 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up runs (exit 143 instead of 130)."""


def _raise_terminated(signum, frame):
    raise Terminated


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line instead of usage + message
        raise UsageError(message)


def _integer(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer {what}, got {text!r}") from None


def _precision(text: str) -> int:
    from optverify.config import MAX_PRECISION_DIGITS, MIN_PRECISION_DIGITS

    digits = _integer(text, "number of digits")
    if not MIN_PRECISION_DIGITS <= digits <= MAX_PRECISION_DIGITS:
        raise argparse.ArgumentTypeError(
            f"must be between {MIN_PRECISION_DIGITS} and {MAX_PRECISION_DIGITS} digits, got {digits}"
        )
    return digits


def _seed(text: str) -> int:
    seed = _integer(text, "seed")
    if seed < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {seed}")
    return seed


def _seed_count(text: str) -> int:
    count = _integer(text, "number of seeds")
    if count < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {count}")
    return count


def _workers(text: str) -> int:
    count = _integer(text, "number of worker processes")
    if count < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {count}")
    return count


def _timeout(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return seconds


def _data_file(text: str) -> tuple[str, str]:
    name, separator, path = text.partition("=")
    if not separator or not name or not path:
        raise argparse.ArgumentTypeError(f"must be NAME=PATH, got {text!r}")
    return name, path


def _checked_data(given: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """--data, each file checked against the data set its NAME declares, before anything runs."""
    from optverify.datasets import DataSetError, checked_table
    from optverify.verify.plan import known_datasets

    known = {dataset.name: dataset for dataset in known_datasets()}
    names = [name for name, _ in given]
    if len(set(names)) != len(names):
        raise UsageError(f"--data: a data set is given twice ({', '.join(sorted(names))})")
    for name, path in given:
        if name not in known:
            raise UsageError(f"--data {name}: no claim reads a data set of that name (known: "
                             f"{', '.join(sorted(known)) or 'none'})")
        try:
            checked_table(known[name], Path(path))
        except DataSetError as error:
            raise UsageError(str(error)) from error
    return tuple(given)


def build_parser() -> argparse.ArgumentParser:
    from optverify.config import SCALES

    options = _Parser(add_help=False)
    where = options.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_workers, metavar="N",
                       help="run the claims' layers as tasks on N local worker processes "
                            "(Dask); more than the cores this process may use: a warning, and "
                            "as many as there are cores")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run them on the Dask cluster at ADDRESS (e.g. tcp://host:8786)")
    scale = options.add_mutually_exclusive_group()
    scale.add_argument("--scale", choices=SCALES,
                       help="quick: seconds per claim; full (default): the 2-core run; paper: "
                            "each claim at its paper's own sizes (a GPU or a cluster; no "
                            "--timeout unless given)")
    scale.add_argument("--quick", dest="scale", action="store_const", const="quick",
                       help="small sweeps (seconds per claim): --scale quick")
    options.add_argument("--data", type=_data_file, action="append", default=[],
                         metavar="NAME=PATH",
                         help="the user's copy of a public data set that cannot ship, checked "
                              "against its declared hash or shape (uci-ethanol: 2565 x 129); a "
                              "claim that reads it notes 'data used' in its report, else it runs "
                              "its generated stand-in")
    options.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                         help="torch device for experiments; auto = cuda when available")
    options.add_argument("--precision", type=_precision, default=50, metavar="DIGITS",
                         help="mpmath digits for the numeric layer (default 50)")
    options.add_argument("--rigorous", action="store_true",
                         help="certify the numeric layers' inequalities that carry an exact "
                              "margin in ball arithmetic (python-flint): 'certified at this "
                              "instance' when the enclosure excludes a violation, else the "
                              "mpmath figure stands")
    options.add_argument("--seed", type=_seed, default=0, help="master seed (default 0)")
    options.add_argument("--seeds", type=_seed_count, default=1, metavar="K",
                         help="replicate each claim under master seeds seed .. seed + K - 1 "
                              "(default 1)")
    options.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                         help="torch dtype for experiments (default float64)")
    options.add_argument("--out", type=Path, default=Path("reports"),
                         help="report folder (default reports/)")
    options.add_argument("--progress", choices=("auto", "on", "off"), default="auto",
                         help="progress bar on stderr; auto = a bar when stderr is a terminal, "
                              "else one line per started and finished layer")
    options.add_argument("--timeout", type=_timeout, metavar="SECONDS",
                         help="stop a layer after SECONDS and report it as an error (default "
                              "1800 s per layer; serial runs, whose layers run in a child "
                              "process)")
    options.add_argument("--json", action="store_true",
                         help="print the summary as JSON on stdout instead of a table")
    parser = _Parser(prog="verify", description="Verify optimization theorems of deep learning.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {optverify.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("list", help="list the claims: ids, titles, sources")
    commands.add_parser("all", parents=[options], help="verify every claim")
    run_parser = commands.add_parser("run", parents=[options],
                                     help="verify the named claims (ids or claim-file paths)")
    run_parser.add_argument("ids", nargs="+", metavar="CLAIM",
                            help="a claim id, or a path to a .py file that defines CLAIM")
    rerun_parser = commands.add_parser(
        "rerun", help="run claims again from their report.json and compare every recorded number")
    rerun_parser.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                              help="a claim's report.json, or a folder of claim reports")
    new_parser = commands.add_parser(
        "new", help="write a commented one-file claim to start from (NAME in snake case .py)")
    new_parser.add_argument("name", metavar="NAME", help="the claim's kebab-case id")
    new_parser.add_argument("--dir", type=Path, default=Path("."),
                            help="the folder to write it in (default: here)")
    calibrate_parser = commands.add_parser(
        "calibrate", parents=[options],
        help="run claims under --seeds K master seeds: each decisive check's verdicts and each "
             "control's rejection rate, in OUT/calibration.{json,md,html}")
    calibrate_parser.add_argument("ids", nargs="+", metavar="CLAIM",
                                  help="a claim id, or a path to a .py file that defines CLAIM")
    calibrate_parser.set_defaults(out=Path("calibration"))
    return parser


def resolve_device(requested: str) -> str:
    import torch

    available = torch.cuda.is_available()
    if requested == "auto":
        return "cuda" if available else "cpu"
    if requested == "cuda" and not available:
        raise UsageError("--device cuda was asked for, but torch sees no CUDA GPU on this machine")
    return requested


def _list_claims(console: Console) -> None:
    from optverify.verify.metadata import claim_cards

    table = Table(title="optverify claims")
    for column in ("id", "title", "source", "from"):
        table.add_column(column)
    try:
        cards = claim_cards()
    except LookupError as error:  # a DiscoveryError from an entry point that cannot be loaded
        raise UsageError(str(error)) from error
    for card in cards:
        table.add_row(card.id, card.title, card.source.cite(), card.origin)
    console.print(table)


def _summary_table(result: RunResult) -> Table:
    table = Table(title=f"optverify: {len(result.claims)} claims, "
                        f"{seconds_text(result.wall_s, 1)}")
    table.add_column("claim", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("decisive checks", no_wrap=True)
    table.add_column("reported", no_wrap=True)
    table.add_column("time", no_wrap=True, justify="right")
    for claim in result.claims:
        colour = _COLOURS[claim.verdict.value]
        table.add_row(claim.claim, f"[{colour}]{claim.verdict.value}[/]",
                      str(claim.decisive_tally), _reported_count(claim),
                      seconds_text(claim.environment.wall_s, 1))
    return table


def _reported_count(result: ClaimResult) -> str:
    findings, other = result.reported_findings, len(result.findings_not_consistent)
    if not findings:
        return "-"
    return f"{len(findings)}, " + (f"{other} not consistent" if other else "all consistent")


def _findings_lines(result: RunResult) -> list[str]:
    """Below the table, one line per claim with a reported finding that is not consistent: those
    findings by verdict (they do not decide the verdict in the table)."""
    from optverify.verify.markdown import findings_text

    return [f"  {claim.claim}: {findings_text(claim)}" for claim in result.claims
            if claim.findings_not_consistent]


class _ProgressDisplay:
    """A rich progress bar: one overall task over claims x layers, one task per inner loop."""

    def __init__(self, bar: Progress, claims: Sequence[Claim]):
        self.bar = bar
        self.total = sum(len(claim.layers()) for claim in claims)
        self.overall = bar.add_task("starting", total=self.total)
        self.loops: list = []  # the inner loops open in a layer's child process, innermost last

    def on_layer(self, claim: Claim, layer: Layer) -> None:
        self.bar.update(self.overall, description=f"{claim.id}: {layer.value}")

    def on_layer_done(self, claim: Claim, layer: Layer) -> None:
        """Counts finished layers, wherever they ran."""
        self.bar.update(self.overall, advance=1, description=f"{claim.id}: {layer.value} done")

    # a layer's inner loops, shown as their events come from its child process
    # (isolation.RemoteProgress)

    def begin(self, description: str, total: int | None) -> None:
        self.loops.append(self.bar.add_task(f"  {description}", total=total))

    def advance(self, steps: int) -> None:
        if self.loops:
            self.bar.advance(self.loops[-1], steps)

    def end(self) -> None:
        if self.loops:
            self.bar.remove_task(self.loops.pop())


class _LayerLines:
    """Progress without a bar (stderr is not a terminal): one line per started and finished
    layer, so that a log shows which claim and layer is running."""

    def __init__(self) -> None:
        self.started_at: dict[tuple[str, str], float] = {}

    def on_layer(self, claim: Claim, layer: Layer) -> None:
        self.started_at[claim.id, layer.value] = time.monotonic()
        print(f"verify: {claim.id}: {layer.value} layer started", file=sys.stderr, flush=True)

    def on_layer_done(self, claim: Claim, layer: Layer) -> None:
        started = self.started_at.pop((claim.id, layer.value), None)
        took = "" if started is None else f" in {time.monotonic() - started:.1f} s"
        print(f"verify: {claim.id}: {layer.value} layer finished{took}", file=sys.stderr,
              flush=True)


def _run_claims(args, claims: Sequence[Claim], stderr: Console,
                held: contextlib.ExitStack) -> RunResult:
    from optverify.config import RunConfig
    from optverify.verify import drawing
    from optverify.verify.replicates import run_replicated
    from optverify.verify.report import ClaimReports, clear_leftovers, ensure_writable, locked
    from optverify.verify.isolation import Isolated, default_timeout
    from optverify.verify.runner import run

    config = RunConfig(precision=args.precision, device=resolve_device(args.device),
                       seed=args.seed, scale=args.scale or "full", dtype=args.dtype,
                       data=_checked_data(args.data), rigorous=args.rigorous)
    if config.scale == "paper":
        from optverify.verify.plan import plan_lines

        print("\n".join(plan_lines([claim.id for claim in claims])), file=sys.stderr, flush=True)
    cluster = _executor(args, held)  # reached, or refused, before anything is written
    _refuse_dangling_links(args.out)
    ensure_writable(args.out)
    held.enter_context(locked(args.out))
    clear_leftovers(args.out)
    # a serial run keeps one core busy: its figures are drawn on another one while it goes on
    reports = held.enter_context(ClaimReports(args.out, draw_aside=cluster is None
                                              and drawing.spare_core()))
    show = args.progress == "on" or (args.progress == "auto" and stderr.is_terminal)
    timeout = args.timeout if args.timeout is not None else default_timeout(config)

    def execute(**options) -> RunResult:
        if args.seeds == 1:
            return run(claims, config, on_claim_done=reports.add, **options)
        return run_replicated(claims, config, args.seeds, on_claim_done=reports.add, **options)

    if not show:
        lines = _LayerLines() if args.progress != "off" else None
        on_layer = lines.on_layer if lines else None
        executor = cluster or held.enter_context(Isolated(timeout, on_layer=on_layer))
        result = execute(executor=executor, on_layer_done=lines.on_layer_done if lines else None)
        reports.finish()
        return result
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=stderr)
    with bar:
        display = _ProgressDisplay(bar, list(claims) * args.seeds)
        executor = cluster or held.enter_context(
            Isolated(timeout, progress=display, on_layer=display.on_layer))
        result = execute(on_layer_done=display.on_layer_done, executor=executor)
        bar.update(display.overall, description="writing the reports")
        reports.finish()
        bar.update(display.overall, completed=display.total, description="done")
        return result


def _refuse_dangling_links(out: Path) -> None:
    """A --out that is, or lies under, a symbolic link to nothing: say so (mkdir says only
    "File exists")."""
    for path in (out, *out.parents):
        if path.is_symlink() and not path.exists():
            raise UsageError(f"cannot write reports to {out}: {path} is a symbolic link to "
                             f"{os.readlink(path)}, which does not exist")


def _capped_workers(requested: int | None) -> int | None:
    """--workers, at most the cores this process may use: more only adds processes that wait
    (and, by the hundred, runs out of file descriptors); a warning says so."""
    from optverify.verify.drawing import usable_cores

    cores = usable_cores()
    if requested is None or requested <= cores:
        return requested
    print(f"verify: warning: --workers {requested} is more than the {cores} cores this process "
          f"may use; running {cores} workers", file=sys.stderr)
    return cores


def _executor(args, held: contextlib.ExitStack):
    """The Dask executor `--workers`/`--scheduler` ask for, held open until the run's end; None:
    the serial run (`isolation.Isolated`)."""
    if args.workers is None and args.scheduler is None:
        return None
    if args.timeout is not None:
        raise UsageError("--timeout applies to serial runs; with --workers or --scheduler the "
                         "cluster's own limits apply (leave out one or the other)")
    from optverify.verify import parallel  # imports dask.distributed only when asked for

    try:
        return held.enter_context(parallel.cluster_executor(_capped_workers(args.workers),
                                                            args.scheduler))
    except parallel.ClusterUnavailable as error:
        raise UsageError(str(error)) from error


def _selected(args) -> list[Claim]:
    from optverify.verify import discovery  # imports Claim, hence sympy: only when claims run

    try:
        return discovery.every_claim() if args.command == "all" else discovery.resolve(args.ids)
    except discovery.DiscoveryError as error:
        raise UsageError(str(error)) from error


def _rerun(paths: Sequence[Path]) -> int:
    """Rerun every report under `paths`; print reproduced or the differences per claim."""
    from optverify.verify import rerun as reruns
    from optverify.verify.serialize import FORMAT_VERSION

    try:
        items = [item for path in paths for item in reruns.prepare(path)]
    except reruns.RerunError as error:
        raise UsageError(str(error)) from error
    every = True
    for item in items:
        name = item.report["claim"]
        if item.report["format_version"] != FORMAT_VERSION:
            print(f"{name}: a report of format {item.report['format_version']}; this optverify "
                  f"writes format {FORMAT_VERSION} (fields added since are not compared)")
        changed = item.version_differences()
        if changed:
            print(f"{name}: recorded with other versions: " + ", ".join(
                f"{library} {recorded} (installed {installed})"
                for library, recorded, installed in changed))
        source_change = item.source_change()
        if source_change:
            print(f"{name}: {source_change}")
        try:
            comparison = reruns.rerun(item)
        except reruns.RerunError as error:
            raise UsageError(str(error)) from error
        skipped = f"{comparison.skipped_durations} durations skipped"
        if comparison.skipped_verdicts:
            skipped += f", {len(comparison.skipped_verdicts)} timing-dependent verdicts skipped"
        if comparison.reproduced:
            print(f"{name}: reproduced ({item.tolerance.name}; {skipped})")
            continue
        every = False
        print(f"{name}: NOT reproduced, {len(comparison.differences)} differences "
              f"({item.tolerance.name}; {skipped}):")
        for line in reruns.iter_lines(comparison):
            print(f"  {line}")
    return 0 if every else 1


def _calibrate(args, stdout: Console) -> int:
    """`verify calibrate`: the claims under --seeds K master seeds (optverify.verify.calibrate),
    written to OUT/calibration.{json,md,html}; 0 once written, whatever the verdicts."""
    from optverify.config import RunConfig
    from optverify.verify import calibrate
    from optverify.verify.report import ReportError, ensure_writable, locked

    config = RunConfig(precision=args.precision, device=resolve_device(args.device),
                       seed=args.seed, scale=args.scale or "full", dtype=args.dtype,
                       data=_checked_data(args.data), rigorous=args.rigorous)
    claims = _selected(args)

    def seed_done(seed: int) -> None:
        if args.progress != "off":
            print(f"verify: calibrate: seed {seed} done", file=sys.stderr, flush=True)

    try:
        with contextlib.ExitStack() as held:
            executor = _executor(args, held)
            ensure_writable(args.out)
            held.enter_context(locked(args.out))
            result = calibrate.calibrate(claims, config, args.seeds, on_seed_done=seed_done,
                                         executor=executor)
            calibrate.write_calibration(result, args.out)
    except ReportError as error:
        raise UsageError(str(error)) from error
    if args.json:
        print(json.dumps(calibrate.calibration_to_json(result), indent=2))
    else:
        print(calibrate.calibration_markdown(result).split("\n## ")[0])
        print(f"calibration: {args.out}/calibration.md, {args.out}/calibration.html")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The `verify` command; SIGTERM is turned into `Terminated` while it runs."""
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if on_main_thread else None
    try:
        return _main(argv)
    finally:
        if on_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _new_claim(name: str, folder: Path) -> int:
    """`verify new NAME`: write the commented claim file; print where and how to run it."""
    from optverify.verify.scaffold import ScaffoldError, write_claim_file

    try:
        path = write_claim_file(name, folder)
    except ScaffoldError as error:
        raise UsageError(str(error)) from error
    print(f"wrote {path}; run it with: verify run {path} --quick")
    return 0


def _verify(args, stderr: Console) -> RunResult:
    """`verify all` / `verify run`: run the claims and write their reports; a report folder that
    cannot be written is a `UsageError`."""
    from optverify.verify import isolation
    from optverify.verify.report import ReportError, write_summary

    if args.workers is None and args.scheduler is None:
        isolation.prestart()  # the layers' process imports the kit while the claims are found
    # what the claims print while they are imported or run is kept out of stdout's JSON
    quiet = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
    try:
        with quiet, contextlib.ExitStack() as held:
            result = _run_claims(args, _selected(args), stderr, held)
            write_summary(result, args.out)
    except ReportError as error:
        raise UsageError(str(error)) from error
    return result


def _main(argv: Sequence[str] | None) -> int:
    stdout, stderr = Console(), Console(stderr=True)
    try:
        args = build_parser().parse_args(argv)
        if args.command == "list":
            _list_claims(stdout)
            return 0
        if args.command == "rerun":
            return _rerun(args.paths)
        if args.command == "new":
            return _new_claim(args.name, args.dir)
        if args.command == "calibrate":
            return _calibrate(args, stdout)
        result = _verify(args, stderr)
    except UsageError as error:
        print(f"verify: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:  # a bug outside any claim: one line, unless debugging
        if os.environ.get("OPTVERIFY_DEBUG"):
            raise
        print(f"verify: internal error: {type(error).__name__}: {error} "
              "(set OPTVERIFY_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_CLAIM_ERROR
    except KeyboardInterrupt as interrupt:
        terminated = isinstance(interrupt, Terminated)
        print(f"verify: {'terminated' if terminated else 'interrupted'}; reports already written "
              "are complete, others untouched", file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    if args.json:
        from optverify.verify.serialize import summary_to_json

        print(json.dumps(summary_to_json(result), indent=2))
    else:
        stdout.print(_summary_table(result))
        findings = _findings_lines(result)
        if findings:
            stdout.print("reported findings, not decisive (each claim's report says why):",
                         *findings, sep="\n", highlight=False)
        stdout.print(f"reports: {args.out}/summary.md, {args.out}/index.html")
    return result.exit_code
