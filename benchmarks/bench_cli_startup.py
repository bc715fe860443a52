"""How long the `verify` command takes to answer `--help`, `--version` and `list`, against a bare
`python -c pass` in the same run (issue 21, item 5: `verify list` within 15x of it).

    python benchmarks/bench_cli_startup.py [--tree DIR] [--repeats N]

--tree DIR times the optverify found in DIR instead of the installed one (put first on
PYTHONPATH), e.g. an export of an older commit: `git archive COMMIT | tar -x -C DIR`. The commands
alternate, round after round, so a change of the machine's load reaches each alike; the table gives
each command's median and fastest wall time and the median's ratio to `python -c pass`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

TARGET_RATIO = 15.0
"""The issue's target for `verify list`: at most 15x a bare interpreter start."""

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "verify --help": [sys.executable, "-m", "optverify", "--help"],
    "verify --version": [sys.executable, "-m", "optverify", "--version"],
    "verify list": [sys.executable, "-m", "optverify", "list"],
}


def _wall_s(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """The command's wall time and exit code (an older tree may not know `--version`: exit 2)."""
    start = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", help="time the optverify package found in this folder")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    env = dict(os.environ)
    if args.tree:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [args.tree, env.get("PYTHONPATH")]))
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    codes: dict[str, set[int]] = {name: set() for name in COMMANDS}
    for _ in range(args.repeats):
        for name, command in COMMANDS.items():
            wall_s, code = _wall_s(command, env)
            times[name].append(wall_s)
            codes[name].add(code)
    bare = statistics.median(times["python -c pass"])
    print("| command | median s | fastest s | median / python -c pass |")
    print("|---|---|---|---|")
    for name, walls in times.items():
        failed = f" (exit {sorted(codes[name] - {0})})" if codes[name] - {0} else ""
        print(f"| `{name}`{failed} | {statistics.median(walls):.3f} | {min(walls):.3f} | "
              f"{statistics.median(walls) / bare:.1f}x |")
    ratio = statistics.median(times["verify list"]) / bare
    print(f"\nverify list: {ratio:.1f}x python -c pass (target <= {TARGET_RATIO:.0f}x): "
          f"{'met' if ratio <= TARGET_RATIO else 'not met'}")


if __name__ == "__main__":
    main()
