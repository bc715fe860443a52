"""GD on a deep linear regression until every learned strength crosses its level: the loop the
random-start experiments of `saxe-dynamics` share (Saxe, McClelland, Ganguli 2014,
arXiv:1312.6120, Eq. (9): the learning time is the time a mode's strength takes to reach s/2).

The runs are batched: `factors` carry any leading batch dimensions, `strengths_of` reads the
strengths being learned (one per run and mode or net) from the end-to-end matrix, and the
crossing time is interpolated linearly inside the step where it happens (t = eta x steps).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from optverify.numerics.deep_linear import end_to_end, layer_gradients
from optverify.numerics.validation import require_int, require_positive
from optverify.theorems.saxe_dynamics.dynamics import depth_learning_time_float

LEARNED_FRACTION = 0.5
"""A strength is learned when it reaches s / 2 (the sigmoid's midpoint, as in Eq. (9))."""
CHECK_EVERY = 250
"""GD stops at the first multiple of this many steps at which every strength is learned."""
MAX_TIME_FACTOR = 4.0
"""GD gives up at this multiple of the slowest predicted time (a strength that never learns is a
NaN time, reported as a failure, not fitted)."""


def require_small_start_sweep(strengths, u_init: float, eta: float, runs: int,
                              learned: str) -> None:
    """The checks every random-start sweep shares: positive strengths, u_init and eta, at least 3
    strengths (a power-law fit), at least 2 runs (the intervals' units), and u_init below the
    learned level s/2 of every `learned` (mode or strength)."""
    require_positive("strengths, u_init and eta", (*strengths, u_init, eta))
    if len(strengths) < 3:
        raise ValueError("a power-law fit needs at least 3 strengths")
    require_int("the runs of the intervals over initializations", runs, minimum=2)
    if not u_init < LEARNED_FRACTION * min(strengths):
        raise ValueError(f"u_init must lie below the learned level s/2 of every {learned}")


def depth_flow_times(strengths, u_init: float, depth: int) -> np.ndarray:
    """Per strength, the aligned balanced depth-N flow's time from u_0 = u_init to s/2
    (t = int du / (N u^(2-2/N) (s - u)), Saxe et al. Section 3; tau = 1)."""
    return np.array([depth_learning_time_float(LEARNED_FRACTION * s, s, u_init, depth)
                     for s in strengths])


def gd_crossing_times(factors: list[torch.Tensor], target: torch.Tensor,
                      strengths_of: Callable[[torch.Tensor], torch.Tensor],
                      level: torch.Tensor, eta: float, horizon: float
                      ) -> tuple[torch.Tensor, int]:
    """GD on 1/2 ||W_N ... W_1 - target||_F^2 (W_e formed once per step) until every strength
    has crossed `level` or MAX_TIME_FACTOR * horizon has passed: (times, steps taken), the times
    NaN where a strength never crossed."""
    max_steps = math.ceil(MAX_TIME_FACTOR * horizon / eta)
    product = end_to_end(factors)
    previous, step = strengths_of(product), 0
    times = torch.full_like(previous, math.nan)
    while step < max_steps:
        gradients = layer_gradients(factors, product - target)
        factors = [layer - eta * gradient for layer, gradient in zip(factors, gradients)]
        product = end_to_end(factors)
        step += 1
        current = strengths_of(product)
        crossed = (current >= level) & (previous < level) & times.isnan()
        fraction = (level - previous) / (current - previous)
        times = torch.where(crossed, eta * (step - 1 + fraction), times)
        previous = current
        if step % CHECK_EVERY == 0 and not bool(times.isnan().any()):
            break
    return times, step
