"""Time the `balancedness` claim through `run_claim`, as `verify run balancedness --quick` runs it
(target: under 10 s on 2 CPU cores). Usage: python benchmarks/bench_balancedness.py [--full]
[--repeats N]. Prints the import time, each run's layer wall times and the median total."""

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="time the full run instead of quick")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    start = time.perf_counter()
    import torch

    from optverify.testing import RunConfig
    from optverify.theorems.balancedness import CLAIM
    from optverify.verify.runner import run_claim

    torch.set_num_threads(2)
    print(f"import (torch, sympy, mpmath, optverify): {time.perf_counter() - start:.2f} s")
    totals = []
    for repeat in range(args.repeats):
        start = time.perf_counter()
        result = run_claim(CLAIM, RunConfig(quick=not args.full))
        totals.append(time.perf_counter() - start)
        layers = ", ".join(f"{layer.layer.value} {layer.wall_s:.2f} s" for layer in result.layers)
        print(f"run {repeat + 1}: {totals[-1]:.2f} s ({layers}) {result.verdict.value}")
    mode = "full" if args.full else "quick"
    print(f"balancedness {mode}: median {statistics.median(totals):.2f} s over {len(totals)} runs")


if __name__ == "__main__":
    main()
