"""Exact second moments of the paper's piecewise-linear curves (Section 4, arXiv:1703.07950).

Distribution: f(x) = sum_{r=1..k} a_r [x - theta_r]_+ at x = 1..n, theta_r uniform without
replacement from {0..n-1}, a_r iid U[-1, 1]; p_j = sum_r a_r 1[theta_r = j - 1], f = W p.
Since E[a_r a_s] = delta_rs / 3 and each theta_r is marginally uniform, E[p p^T] = k/(3n) I
(Lemma 2's lambda) and E[f f^T] = k/(3n) W W^T.

The convolutional learner predicts p_t from the window w_t = (f_{t-2}, f_{t-1}, f_t), f_0 =
f_{-1} = 0 (the window of B = W^{-1}, filter (1, -2, 1)); its second-moment matrix is
C = (1/n) sum_{t=1..n} E[w_t w_t^T].
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from itertools import permutations

import sympy

from optverify.numerics.validation import require_int

FILTER_TAPS = 3
PAPER_BREAKPOINTS = 3
n_symbol = sympy.Symbol("n", integer=True, positive=True)


def check_breakpoints(n: int, k: int) -> None:
    """A curve of n >= FILTER_TAPS samples with 1 <= k <= n breakpoints."""
    require_int("the samples n of a curve", n, minimum=FILTER_TAPS)
    require_int("the breakpoints k of a curve", k, minimum=1, maximum=n)


def breakpoint_variance(n, k: int = PAPER_BREAKPOINTS):
    """lambda = E[p_j^2] = k / (3 n) (exact; n may be a sympy symbol)."""
    return sympy.Rational(k, 3) / n


@cache
def conv_second_moment_symbolic(k: int = PAPER_BREAKPOINTS) -> sympy.Matrix:
    """C as an exact rational function of n, by sympy summation of (W W^T)_{t-2+a, t-2+b}.

    (W W^T)_{i, i-d} = sum_{u=1..i-d} (u + d) u for d >= 0; the window entries with index <= 0
    are zero, so each sum over t starts where both indices are >= 1.
    """
    t, u = sympy.symbols("t u", integer=True, positive=True)
    moment = sympy.zeros(FILTER_TAPS, FILTER_TAPS)
    for a in range(FILTER_TAPS):
        for b in range(FILTER_TAPS):
            high, low = max(a, b), min(a, b)
            lag = high - low
            gram = sympy.summation((u + lag) * u, (u, 1, t - 2 + low))
            total = sympy.summation(gram, (t, 3 - low, n_symbol))
            moment[a, b] = sympy.factor(breakpoint_variance(n_symbol, k) * total / n_symbol)
    return moment


def _ramp(x: int, theta: int) -> int:
    return max(x - theta, 0)


def conv_second_moment_enumerated(n: int, k: int = PAPER_BREAKPOINTS) -> list[list[Fraction]]:
    """C by exact enumeration of every ordered k-tuple of distinct breakpoints (the twin).

    E over a uses E[a_r a_s] = delta_rs / 3, so E[f_i f_j | theta] = sum_r (i-theta_r)_+
    (j-theta_r)_+ / 3.
    """
    check_breakpoints(n, k)
    tuples = list(permutations(range(n), k))
    moment = [[Fraction(0)] * FILTER_TAPS for _ in range(FILTER_TAPS)]
    for t in range(1, n + 1):
        window = [t - 2, t - 1, t]
        for a in range(FILTER_TAPS):
            for b in range(FILTER_TAPS):
                total = sum(_ramp(window[a], theta) * _ramp(window[b], theta)
                            for thetas in tuples for theta in thetas)
                moment[a][b] += Fraction(total, 3 * len(tuples) * n)
    return moment


def breakpoint_covariance_enumerated(n: int, k: int = PAPER_BREAKPOINTS) -> list[list[Fraction]]:
    """E[p p^T] by exact enumeration of the breakpoint tuples (twin of lambda I)."""
    check_breakpoints(n, k)
    tuples = list(permutations(range(n), k))
    covariance = [[Fraction(0)] * n for _ in range(n)]
    for thetas in tuples:
        for theta in thetas:
            covariance[theta][theta] += Fraction(1, 3 * len(tuples))
    return covariance
