"""Fast Walsh-Hadamard transform vs the naive per-target loop
(optverify.theorems.orthogonal_gradient_variance.walsh_hadamard).

Per-target gradients E_x[h_S(x) g(x)] for all 2^d parities of a P x 2^d per-example gradient:
the chunked butterfly costs O(P 2^d d), the per-target loop O(P 4^d). Prints both times, their
ratio and the largest difference for each d, then the fast transform alone at larger d (the naive
loop is skipped where it would take too long), and the whole Var computation of the claim at
d = 20. Usage: python benchmarks/bench_walsh_hadamard.py [--rows P] [--repeats N] [--device cpu]
[--threads T] (default 1 thread, as the claim's experiment layer runs on a CPU).
"""

import argparse
import resource
import statistics
import time

import torch

from optverify.theorems.orthogonal_gradient_variance.model import (
    gradient_variance,
    relu_network,
)
from optverify.theorems.orthogonal_gradient_variance.walsh_hadamard import (
    naive_parity_correlations,
    parity_correlations,
)


def timed(function, repeats: int) -> tuple[float, torch.Tensor]:
    times, result = [], None
    for _ in range(repeats):
        result = None  # release the previous repeat's output before the next one is computed
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=64, help="parameters P (rows transformed)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator(device=args.device).manual_seed(0)
    print(f"P = {args.rows} rows, float64, {args.device}, {torch.get_num_threads()} threads")
    print(f"{'d':>3} {'fast (s)':>10} {'naive (s)':>10} {'naive/fast':>11} {'max |diff|':>11}")
    for d in range(4, 13):
        values = torch.randn(args.rows, 2**d, generator=generator, dtype=torch.float64,
                             device=args.device)
        fast_s, fast = timed(lambda v=values: parity_correlations(v), args.repeats)
        naive_s, naive = timed(lambda v=values: naive_parity_correlations(v), args.repeats)
        difference = float((fast - naive).abs().max())
        print(f"{d:>3} {fast_s:>10.4f} {naive_s:>10.4f} {naive_s / fast_s:>11.1f} "
              f"{difference:>11.2e}")
    for d in (16, 18, 20):
        values = torch.randn(args.rows, 2**d, generator=generator, dtype=torch.float64,
                             device=args.device)
        fast_s, _ = timed(lambda v=values: parity_correlations(v), args.repeats)
        print(f"{d:>3} {fast_s:>10.4f} {'skipped':>10}")
        del values
    model = relu_network(20, 10, 1.0, generator, torch.float64, args.device)
    start = time.perf_counter()
    result = gradient_variance(model, "square", 20)
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"Var over all 2^20 parities, ReLU width 10 (P = {model.parameter_count}): "
          f"{time.perf_counter() - start:.2f} s, Var / bound = {result.ratio:.7f}, "
          f"peak resident memory of this process {peak_gib:.2f} GiB")


if __name__ == "__main__":
    main()
