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

import torch

from optverify.numerics.deep_linear import end_to_end, layer_gradients

LEARNED_FRACTION = 0.5
"""A strength is learned when it reaches s / 2 (the sigmoid's midpoint, as in Eq. (9))."""
CHECK_EVERY = 250
"""GD stops at the first multiple of this many steps at which every strength is learned."""
MAX_TIME_FACTOR = 4.0
"""GD gives up at this multiple of the slowest predicted time (a strength that never learns is a
NaN time, reported as a failure, not fitted)."""


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
