"""cond(W^T W) of the ramp matrix: structured O(n) (pwl_conditioning/structured.py) vs
dense SVD.

Section 4 of arXiv:1703.07950. Prints, per n, both wall times, their ratio and the relative
difference of the two condition numbers; beyond the dense sizes, the structured time alone (to
n = 1e5). Run: python benchmarks/bench_pwl_conditioning.py [--quick]
"""

import sys
import time

from optverify.theorems.pwl_conditioning.structured import (
    ramp_spectrum,
    ramp_spectrum_dense,
)


def _timed(function, n):
    start = time.perf_counter()
    result = function(n)
    return result, time.perf_counter() - start


def main(quick: bool) -> None:
    both = (100, 300, 1000) if quick else (100, 300, 1000, 2000, 4000)
    structured_only = (10_000,) if quick else (10_000, 30_000, 100_000)
    print(f"{'n':>7} {'structured s':>13} {'dense s':>9} {'dense/structured':>17} {'rel diff':>9}")
    for n in both:
        fast, fast_s = _timed(ramp_spectrum, n)
        dense, dense_s = _timed(ramp_spectrum_dense, n)
        difference = abs(fast.gram_condition / dense.gram_condition - 1)
        print(f"{n:>7} {fast_s:>13.4f} {dense_s:>9.4f} {dense_s / fast_s:>17.1f} {difference:>9.1e}")
    for n in structured_only:
        fast, fast_s = _timed(ramp_spectrum, n)
        print(f"{n:>7} {fast_s:>13.4f} {'-':>9} {'-':>17} {'-':>9}  cond/n^4 = "
              f"{fast.gram_condition / n**4:.6f}")


if __name__ == "__main__":
    main("--quick" in sys.argv)
