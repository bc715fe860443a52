"""Torch thread count for small CPU experiments.

On a shared 2-core machine, torch's threaded kernels on tiny tensors wait on each other: the
experiments that run many small batched steps measured several times to 60x slower with the default
threads than with one. The setting is global in torch, so it is scoped and restored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def intra_op_threads(count: int) -> Iterator[None]:
    """Run a block with `count` torch intra-op threads; restore the previous setting after it."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def single_threaded_on_cpu(device: str) -> Iterator[None]:
    """One torch thread when running on the CPU; the device's default elsewhere."""
    with intra_op_threads(1 if device == "cpu" else torch.get_num_threads()):
        yield
