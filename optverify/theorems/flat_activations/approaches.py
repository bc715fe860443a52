"""The four approaches of Section 5 of Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950
(Fig. 6), batched over seeds, on a staircase target with flat activations: (1) forward-only
w <- w - eta E[(u(w^T x + b) - y)(x, 1)] on mini-batches (and with the exact expectation of
`model.expected_update` as a noise-free reference); (2) minibatch GD on the squared loss of a
sigmoid-sum smoothing of u; (3) a 4-layer ReLU MLP trained end to end (Adam); (4) softmax
classification over the step index (Adam); their test errors at checkpoints, their work per
iteration in multiply-adds, and plain GD on the true loss, whose gradient is zero.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import Session
from optverify.numerics.validation import require_int
from optverify.theorems.flat_activations.model import Staircase, expected_update

Errors = dict[int, torch.Tensor]
"""Test error per seed at each checkpoint iteration."""


@dataclass(frozen=True)
class ExperimentConfig:
    """dimension d, seeds (batched), iterations of every method, test samples, batch size,
    forward-only step eta, smoothing temperature (in units of the step height), hidden width."""

    dimension: int
    seeds: int
    iterations: int
    test_samples: int
    batch_size: int = 256
    forward_step: float = 1.0
    smoothing: float = 0.25
    hidden: int = 64
    stair: Staircase = Staircase(55, 2.0)  # noqa: RUF009 (a frozen, immutable default)

    def __post_init__(self) -> None:
        for name in ("dimension", "seeds", "iterations", "test_samples", "batch_size"):
            require_int(name, getattr(self, name), minimum=1)

    @classmethod
    def quick(cls) -> ExperimentConfig:
        return cls(dimension=10, seeds=2, iterations=60, test_samples=4096, batch_size=64)

    @classmethod
    def full(cls) -> ExperimentConfig:
        return cls(dimension=20, seeds=4, iterations=400, test_samples=16384)

    @property
    def resolution(self) -> float:
        """h^2 / n_test: the test error of one flipped test step, the Monte-Carlo resolution."""
        return self.stair.height**2 / self.test_samples


def checkpoints(iterations: int) -> list[int]:
    return sorted({round(v) for v in np.geomspace(1, iterations, 16)})


@dataclass(frozen=True)
class Target:
    """Per seed: the target weights v (unit norm, (seeds, d)) and bias c ((seeds,)), and the
    shared test set x ((seeds, n_test, d)) with labels y = u(v^T x + c)."""

    v: torch.Tensor
    c: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


def draw_target(config: ExperimentConfig, s: Session) -> Target:
    generator = s.generator("flat-target")
    kwargs = {"dtype": s.torch_dtype, "device": s.device}
    v = torch.randn(config.seeds, config.dimension, generator=generator, **kwargs)
    v = v / v.norm(dim=-1, keepdim=True)
    c = 0.2 * torch.randn(config.seeds, generator=generator, **kwargs)
    x = torch.randn(config.seeds, config.test_samples, config.dimension,
                    generator=generator, **kwargs)
    return Target(v, c, x, config.stair(torch.einsum("snd,sd->sn", x, v) + c.unsqueeze(-1)))


def forward_only(config: ExperimentConfig, target: Target) -> Errors:
    stair = config.stair
    w = torch.zeros_like(target.v)
    b = torch.zeros_like(target.c)
    errors = {}
    marks = set(checkpoints(config.iterations))
    for step in range(1, config.iterations + 1):
        update = expected_update(w, b, target.v, target.c, stair)
        w, b = w - config.forward_step * update.weights, b - config.forward_step * update.bias
        if step in marks:
            prediction = stair(torch.einsum("snd,sd->sn", target.test_x, w) + b.unsqueeze(-1))
            errors[step] = ((prediction - target.test_y) ** 2).mean(-1)
    return errors


@dataclass(frozen=True)
class Batch:
    x: torch.Tensor
    y: torch.Tensor


def _batch(config: ExperimentConfig, target: Target, generator: torch.Generator) -> Batch:
    v, c = target.v, target.c
    x = torch.randn(config.seeds, config.batch_size, config.dimension, generator=generator,
                    dtype=v.dtype, device=v.device)
    return Batch(x, config.stair(torch.einsum("snd,sd->sn", x, v) + c.unsqueeze(-1)))


def forward_only_sampled(config: ExperimentConfig, target: Target,
                         generator: torch.Generator) -> Errors:
    """The forward-only update on mini-batches: w <- w - eta (1/m) sum (u(w^T x + b) - y)(x, 1),
    the same step eta as the exact version and the same fresh batch per iteration as every
    baseline (so all four see the same number of samples); the last iterate is tested."""
    stair = config.stair
    w = torch.zeros_like(target.v)
    b = torch.zeros_like(target.c)
    errors = {}
    marks = set(checkpoints(config.iterations))
    for step in range(1, config.iterations + 1):
        batch = _batch(config, target, generator)
        residual = stair(torch.einsum("snd,sd->sn", batch.x, w) + b.unsqueeze(-1)) - batch.y
        w = w - config.forward_step * torch.einsum("sn,snd->sd", residual, batch.x) \
            / config.batch_size
        b = b - config.forward_step * residual.mean(-1)
        if step in marks:
            prediction = stair(torch.einsum("snd,sd->sn", target.test_x, w) + b.unsqueeze(-1))
            errors[step] = ((prediction - target.test_y) ** 2).mean(-1)
    return errors


def _train(config: ExperimentConfig, target: Target, loss_fn, predict, optimizer,
           generator: torch.Generator) -> Errors:
    errors = {}
    marks = set(checkpoints(config.iterations))
    for step in range(1, config.iterations + 1):
        batch = _batch(config, target, generator)
        optimizer.zero_grad()
        loss_fn(batch.x, batch.y).backward()
        optimizer.step()
        if step in marks:
            with torch.no_grad():
                errors[step] = ((predict(target.test_x) - target.test_y) ** 2).mean(-1)
    return errors


def smoothed_gd(config: ExperimentConfig, target: Target, generator: torch.Generator) -> Errors:
    stair = config.stair
    temperature = config.smoothing * stair.height
    w = torch.zeros_like(target.v).requires_grad_()
    b = torch.zeros_like(target.c).requires_grad_()

    def linear(x):
        return torch.einsum("snd,sd->sn", x, w) + b.unsqueeze(-1)

    return _train(config, target,
                  lambda x, y: ((stair.smooth(linear(x), temperature) - y) ** 2).mean(-1).sum(),
                  lambda x: stair(linear(x)), torch.optim.SGD((w, b), lr=0.5), generator)


def _layers(sizes, config: ExperimentConfig, v: torch.Tensor, generator: torch.Generator):
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        weight = torch.randn(config.seeds, fan_in, fan_out, generator=generator, dtype=v.dtype,
                             device=v.device) * (2 / fan_in) ** 0.5
        params.append((weight.requires_grad_(),
                       torch.zeros(config.seeds, 1, fan_out, dtype=v.dtype,
                                   device=v.device).requires_grad_()))
    return params


def _network(params, x):
    for index, (weight, bias) in enumerate(params):
        x = torch.baddbmm(bias, x, weight)
        if index < len(params) - 1:
            x = torch.relu(x)
    return x


def relu_mlp(config: ExperimentConfig, target: Target, generator: torch.Generator) -> Errors:
    sizes = (config.dimension, config.hidden, config.hidden, config.hidden, 1)
    params = _layers(sizes, config, target.v, generator)
    flat = [p for pair in params for p in pair]
    return _train(config, target,
                  lambda x, y: ((_network(params, x).squeeze(-1) - y) ** 2).mean(-1).sum(),
                  lambda x: _network(params, x).squeeze(-1), torch.optim.Adam(flat, lr=1e-3),
                  generator)


def bin_classifier(config: ExperimentConfig, target: Target,
                   generator: torch.Generator) -> Errors:
    stair, v = config.stair, target.v
    params = _layers((config.dimension, stair.steps), config, v, generator)
    flat = [p for pair in params for p in pair]
    levels = -stair.half_width + stair.height * torch.arange(stair.steps, dtype=v.dtype,
                                                             device=v.device)

    def loss(x, y):
        labels = stair.bin_index(y)
        logits = _network(params, x)
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten())

    return _train(config, target, loss, lambda x: levels[_network(params, x).argmax(-1)],
                  torch.optim.Adam(flat, lr=1e-2), generator)


@dataclass(frozen=True)
class Displacement:
    """Plain GD on the true staircase loss: max |w_T - w_0| and the largest gradient entry seen."""

    displacement: float
    largest_gradient: float


def plain_gd_displacement(config: ExperimentConfig, target: Target,
                          generator: torch.Generator) -> Displacement:
    """`iterations` minibatch GD steps (lr 1) on the true staircase loss from a random w."""
    v, c = target.v, target.c
    w = torch.randn(v.shape, generator=generator, dtype=v.dtype, device=v.device)
    b = torch.zeros_like(c)
    start = w.clone()
    w.requires_grad_()
    b.requires_grad_()
    largest = 0.0
    for _ in range(config.iterations):
        batch = _batch(config, target, generator)
        loss = ((config.stair(torch.einsum("snd,sd->sn", batch.x, w) + b.unsqueeze(-1))
                 - batch.y) ** 2).mean(-1).sum()
        gw, gb = torch.autograd.grad(loss, (w, b), allow_unused=True, materialize_grads=True)
        largest = max(largest, float(gw.abs().max()), float(gb.abs().max()))
        with torch.no_grad():
            w -= gw
            b -= gb
    return Displacement(float((w.detach() - start).abs().max()), largest)


EXACT_FORWARD_ONLY = "forward-only, exact expectation"
"""The noise-free reference run (the population update in closed form: no samples, so it is not
one of the four compared approaches; the forward-only rate check reads it)."""


SAMPLED_FORWARD_ONLY = "forward-only"


def multiply_adds_per_iteration(config: ExperimentConfig) -> dict[str, int]:
    """Multiply-adds of one iteration of each compared approach on one seed, counted from the
    shapes (forward and backward pass over the m = batch_size samples; parameter updates and
    elementwise nonlinearities not counted, which favours none of them by more than a few d):
    - forward-only: w^T x (d) and the update's sum of residual * x (d), per sample: 2 d m;
    - smoothed GD: w^T x (d), the k - 1 sigmoid terms and their derivatives (2 (k - 1)), the
      gradient (d), per sample: (2 d + 2 (k - 1)) m;
    - ReLU MLP (d, H, H, H, 1): forward F = d H + 2 H^2 + H, backward 2 F (activations and
      weights), per sample: 3 F m;
    - bin classifier (d -> k logits): forward d k, backward 2 d k, per sample: 3 d k m.
    k: the staircase's levels, H: the hidden width."""
    d, m, k, h = config.dimension, config.batch_size, config.stair.steps, config.hidden
    mlp_forward = d * h + 2 * h * h + h
    return {SAMPLED_FORWARD_ONLY: 2 * d * m, "smoothed GD": (2 * d + 2 * (k - 1)) * m,
            "ReLU MLP": 3 * mlp_forward * m, "bin classifier": 3 * d * k * m}


@dataclass(frozen=True)
class Approaches:
    """Per method: the seed-mean test error at each checkpoint iteration (every method at the
    same iterations, on the same number of fresh samples, but the exact reference), and the
    multiply-adds per iteration of the four compared approaches."""

    curves: dict[str, dict[int, float]]
    work: dict[str, int]

    def final(self, iterations: int) -> dict[str, float]:
        return {name: curve[iterations] for name, curve in self.curves.items()}


def run_approaches(config: ExperimentConfig, target: Target, s: Session) -> Approaches:
    """The four approaches of Section 5 and the exact forward-only reference, each on its own
    seeded stream."""
    methods: dict[str, Callable[[], Errors]] = {
        EXACT_FORWARD_ONLY: lambda: forward_only(config, target),
        SAMPLED_FORWARD_ONLY: lambda: forward_only_sampled(config, target,
                                                           s.generator("forward-only")),
        "smoothed GD": lambda: smoothed_gd(config, target, s.generator("smoothed")),
        "ReLU MLP": lambda: relu_mlp(config, target, s.generator("mlp")),
        "bin classifier": lambda: bin_classifier(config, target, s.generator("classifier")),
    }
    curves = {}
    for name in s.progress(list(methods), "four approaches"):
        curves[name] = {step: float(e.mean()) for step, e in methods[name]().items()}
    return Approaches(curves, multiply_adds_per_iteration(config))
