"""The time budget: `verify all` in the quick and the full mode, serial and with `--workers N`,
wall time of each run, per-claim wall time, the longest single task (a claim's layer), and whether
the parallel reports equal the serial ones bit for bit except durations (`verify rerun`'s
comparison). Ends with the per-claim table of benchmarks/README.md in Markdown.

    python benchmarks/bench_parallel.py [--modes quick full] [--workers 2 4]

The lead runs it on an idle machine; the load average is printed with every figure. A parallel
run's wall time includes starting the local cluster (worker processes importing torch). Peak RSS
is the main process's (a Dask worker's memory is not in it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from optverify.verify.rerun import compare_reports, tolerance_for


def timed_run(out: Path, extra: list[str], full: bool) -> tuple[float, float]:
    """(wall seconds, peak RSS of the main process in GB) of one `verify all`."""
    command = [sys.executable, "-m", "optverify", "all", "--progress", "off", "--device", "cpu",
               "--out", str(out), *([] if full else ["--quick"]), *extra]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1e6


def reports(out: Path) -> dict[str, dict]:
    return {path.parent.name: json.loads(path.read_text()) for path in out.glob("*/report.json")}


def longest_task(claims: dict[str, dict]) -> tuple[str, float]:
    name, seconds = max(((f"{claim}/{layer['layer']}", layer["wall_s"])
                         for claim, report in claims.items() for layer in report["layers"]),
                        key=lambda item: item[1])
    return name, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", choices=("quick", "full"), default=["quick"])
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    args = parser.parse_args()
    table: dict[tuple[str, str], dict[str, dict]] = {}
    walls: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for mode in args.modes:
            full = mode == "full"
            print(f"{mode}: load before {os.getloadavg()[0]:.2f}")
            runs = [("serial", [])] + [(f"--workers {n}", ["--workers", str(n)])
                                       for n in args.workers]
            for label, extra in runs:
                out = root / f"{mode}-{label.replace(' ', '')}"
                wall, rss = timed_run(out, extra, full)
                claims = reports(out)
                table[mode, label], walls[mode, label] = claims, wall
                task, task_s = longest_task(claims)
                line = (f"  {label:12s} {wall:7.1f} s wall, peak RSS {rss:.2f} GB (load "
                        f"{os.getloadavg()[0]:.2f}); longest task {task} {task_s:.1f} s")
                if label != "serial":
                    serial = table[mode, "serial"]
                    same = sorted(claim for claim in serial if claim in claims and compare_reports(
                        serial[claim], claims[claim], tolerance_for(serial[claim]["environment"])
                    ).reproduced)
                    line += (f"; speed-up {walls[mode, 'serial'] / wall:.2f}; reports identical "
                             f"but for durations {len(same)}/{len(serial)}")
                    line += "".join(f"\n    differs: {c}" for c in sorted(set(serial) - set(same)))
                print(line, flush=True)
    columns = list(table)
    print("\n| claim | " + " | ".join(f"{mode} {label}" for mode, label in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for claim in sorted(next(iter(table.values()))):
        cells = [f"{table[key][claim]['environment']['wall_s']:.1f} "
                 f"({table[key][claim]['verdict']})" if claim in table[key] else "-"
                 for key in columns]
        print(f"| {claim} | " + " | ".join(cells) + " |")
    print("| **wall, whole run** | " + " | ".join(f"{walls[key]:.1f}" for key in columns) + " |")


if __name__ == "__main__":
    main()
