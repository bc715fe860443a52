"""Theorem 1's right-hand side at 50 mpmath digits: one SVD of W_e reused for every fractional
power (end_to_end_preconditioner.preconditioner.end_to_end_velocity_mp) against 2N Gram
eigendecompositions (optverify.numerics.mp_linalg.psd_power), then the claim's quick run layer by
layer. Usage: python benchmarks/bench_end_to_end_preconditioner.py [--depth N] [--repeats R]."""

import argparse
import time

import numpy as np
from mpmath import mp

from optverify.numerics.mp_linalg import max_abs, psd_power, to_mp
from optverify.testing import RunConfig
from optverify.theorems.end_to_end_preconditioner.preconditioner import (
    end_to_end_velocity_mp,
)


def velocity_by_psd_power(end_to_end, grad, depth):
    left, right = end_to_end * end_to_end.T, end_to_end.T * end_to_end
    total = mp.zeros(end_to_end.rows, end_to_end.cols)
    for j in range(1, depth + 1):
        total -= psd_power(left, mp.mpf(j - 1) / depth) * grad * psd_power(
            right, mp.mpf(depth - j) / depth
        )
    return total


def timed(function, repeats):
    start = time.perf_counter()
    for _ in range(repeats):
        value = function()
    return (time.perf_counter() - start) / repeats, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with mp.workdps(50):
        for shape in ((2, 2), (3, 4), (5, 5)):
            w_e, grad = to_mp(rng.standard_normal(shape)), to_mp(rng.standard_normal(shape))
            svd_s, svd_value = timed(
                lambda w_e=w_e, grad=grad: end_to_end_velocity_mp(w_e, grad, args.depth),
                args.repeats)
            eig_s, eig_value = timed(
                lambda w_e=w_e, grad=grad: velocity_by_psd_power(w_e, grad, args.depth),
                args.repeats)
            print(f"W_e {shape[0]}x{shape[1]}, N = {args.depth}: SVD {svd_s * 1e3:.1f} ms, "
                  f"psd_power {eig_s * 1e3:.1f} ms, ratio {eig_s / svd_s:.2f}, "
                  f"difference {float(max_abs(svd_value - eig_value)):.2g}")
    from optverify.theorems.end_to_end_preconditioner import CLAIM
    from optverify.verify.runner import run_claim

    start = time.perf_counter()
    result = run_claim(CLAIM, RunConfig(quick=True))
    layers = ", ".join(f"{layer.layer.value} {layer.wall_s:.2f} s" for layer in result.layers)
    print(f"quick run {time.perf_counter() - start:.2f} s ({layers}): {result.verdict.value}")


if __name__ == "__main__":
    main()
