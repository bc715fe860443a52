"""`verify all --quick`: serial against `--workers 2` (and more with `--workers N ...`), wall time
of each run, per-claim compute time, and whether the reports agree bit for bit except durations (the `verify rerun` comparison).

    python benchmarks/bench_parallel.py [--workers 2 4] [--full]

The lead runs it on an idle machine; the load average is printed with every figure. A parallel
run's wall time includes starting the local cluster (worker processes importing torch).
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


def timed_run(out: Path, extra: list[str], full: bool) -> float:
    command = [sys.executable, "-m", "optverify", "all", "--progress", "off", "--device", "cpu",
               "--out", str(out), *([] if full else ["--quick"]), *extra]
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def reports(out: Path) -> dict[str, dict]:
    return {path.parent.name: json.loads(path.read_text()) for path in out.glob("*/report.json")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--full", action="store_true", help="full mode (minutes; lead only)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        print(f"load before: {os.getloadavg()[0]:.2f}")
        serial_s = timed_run(root / "serial", [], args.full)
        serial = reports(root / "serial")
        print(f"serial        {serial_s:7.1f} s  (load {os.getloadavg()[0]:.2f})")
        for claim, report in sorted(serial.items()):
            print(f"  {claim:32s} {report['environment']['wall_s']:7.1f} s  {report['verdict']}")
        for workers in args.workers:
            out = root / f"workers{workers}"
            wall = timed_run(out, ["--workers", str(workers)], args.full)
            parallel = reports(out)
            same = sorted(claim for claim in serial if claim in parallel and compare_reports(
                serial[claim], parallel[claim], tolerance_for(serial[claim]["environment"])
            ).reproduced)
            longest = max(parallel.items(), key=lambda item: item[1]["environment"]["wall_s"])
            print(f"--workers {workers:<3d} {wall:7.1f} s  (load {os.getloadavg()[0]:.2f}); "
                  f"speed-up {serial_s / wall:.2f}; identical reports {len(same)}/{len(serial)}; "
                  f"longest claim {longest[0]} {longest[1]['environment']['wall_s']:.1f} s")
            for claim in sorted(set(serial) - set(same)):
                print(f"  differs: {claim}")


if __name__ == "__main__":
    main()
