"""The lemma's and the envelope's margins of Theorem 1 of Arora, Cohen, Golowich, Hu (2019),
arXiv:1810.02281, on mpmath loss sequences, and the false alternatives they are checked against:
a run that stops at the initialization, one at half the lemma's decrease, a geometric decay at a
chosen rate and a sublinear one.
"""

from __future__ import annotations

from collections.abc import Sequence

import mpmath
from mpmath import mp

from optverify.numerics import alternatives


def envelope_margin_of(losses: Sequence[mpmath.mpf], eta, margin, depth: int) -> mpmath.mpf:
    factor = 1 - eta * margin ** (mp.mpf(2 * (depth - 1)) / depth)
    start = losses[0]
    return min((start * factor**t - loss) / start for t, loss in enumerate(losses) if t > 0)


def lemma_margin_mp(losses: Sequence[mpmath.mpf], sigma_mins: Sequence[mpmath.mpf], eta,
                    depth: int) -> mpmath.mpf:
    """min_t [(1 - eta s_t^p) l(t) - l(t+1)] / l(t) of a loss curve (the judge of the lemma)."""
    exponent = mp.mpf(2 * (depth - 1)) / depth
    return min((loss - eta * sigma**exponent * loss - following) / loss
               for loss, following, sigma in zip(losses[:-1], losses[1:], sigma_mins))


def stopped_losses(losses: Sequence[mpmath.mpf]) -> tuple[mpmath.mpf, ...]:
    """The alternative 'a run that stops at the initialization': l(t) = l(0)."""
    return alternatives.stopped_run(losses)


def slower_losses(losses: Sequence[mpmath.mpf], sigma_mins: Sequence[mpmath.mpf], eta,
                  depth: int, fraction=mp.mpf(1) / 2) -> tuple[mpmath.mpf, ...]:
    """A run decreasing by `fraction` of the lemma's guarantee: l(t+1) = (1 - f eta s_t^p) l(t)."""
    exponent = mp.mpf(2 * (depth - 1)) / depth
    curve = [losses[0]]
    for sigma in sigma_mins[: len(losses) - 1]:
        curve.append(curve[-1] * (1 - fraction * eta * sigma**exponent))
    return tuple(curve)


def geometric_losses(losses: Sequence[mpmath.mpf], eta, margin, depth: int,
                     fraction=mp.mpf(1) / 2) -> tuple[mpmath.mpf, ...]:
    """A linear convergence at `fraction` of the guaranteed rate: l(0) (1 - f eta c^p)^t."""
    decrease = fraction * eta * margin ** (mp.mpf(2 * (depth - 1)) / depth)
    return alternatives.geometric_run(losses[0], decrease, len(losses))


def sublinear_losses(losses: Sequence[mpmath.mpf], eta, margin,
                     depth: int) -> tuple[mpmath.mpf, ...]:
    """A sublinear convergence at the same initial speed: l(0) / (1 + eta c^p t)."""
    rate = eta * margin ** (mp.mpf(2 * (depth - 1)) / depth)
    return alternatives.sublinear_run(losses[0], rate, len(losses))
