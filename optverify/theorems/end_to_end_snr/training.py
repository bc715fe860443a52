"""Setting I training (Shalev-Shwartz, Shamir, Shammah 2017, arXiv:1703.07950, Section 3, Fig. 5):
end-to-end vs decomposition on k-tuples of line images, every seed and both approaches of one k
stacked into one torch.func program (vmap over the models' parameters, one shared batch), raced to a
target held-out accuracy: the decomposition until every seed reached it, end-to-end on to a multiple
of the decomposition's time (the race that tells "fails" from "slower": `setting_one`).

A model's loss is the tuple hinge plus `image_weight` times the mean per-image hinge on N1's
scores: image_weight = 1 is the decomposition, 0 the end-to-end objective (the decomposition with
its per-image loss switched off). Adam on fresh batches of tuples; accuracy of sign(N2(N1(x))) on
the tuple label, on a held-out set drawn from its own stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from optverify.theorems.end_to_end_snr import line_images, networks


@dataclass(frozen=True)
class TimeToTarget:
    """When one model first reached the target on the held-out set: `reached` is the first
    evaluated step whose held-out tuple accuracy is at least the target (None: not within the
    model's budget), `before` the evaluated step before it (the crossing lies in (before,
    reached]); `curve` the held-out accuracy at each of `steps`."""

    reached: int | None
    before: int
    steps: tuple[int, ...]
    curve: tuple[float, ...]


@dataclass(frozen=True)
class RaceToTarget:
    """One k: per seed the decomposition's and end-to-end's time to the target accuracy. The
    decomposition trains until every seed reached the target (or `cap` steps); end-to-end goes on
    alone to `budget` = factor x the decomposition's slowest time (factor x cap when a
    decomposition seed did not reach it)."""

    k: int
    target: float
    factor: float
    cap: int
    budget: int
    decomposition: tuple[TimeToTarget, ...]
    end_to_end: tuple[TimeToTarget, ...]


def tuples(n: int, k: int, generator: torch.Generator, dtype: torch.dtype, device="cpu"):
    """n k-tuples: images (n, k, 28, 28) and per-image labels (n, k)."""
    lines = line_images.sample_lines(n * k, generator, device)
    images = line_images.rasterize(lines, dtype).reshape(n, k, 28, 28)
    return images, line_images.image_labels(lines.angles).to(dtype).reshape(n, k)


def model_loss(params: dict, images: torch.Tensor, labels: torch.Tensor,
               image_weight: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of the tuple hinge plus image_weight times the mean per-image hinge."""
    feats = networks.features(params["n1"], images)
    tuple_scores = networks.scores(params["n1"], feats)
    output = networks.n2_output(params["n2"], tuple_scores)
    tuple_part = networks.hinge(labels.prod(dim=-1) * output).mean()
    image_part = networks.hinge(labels * tuple_scores).mean()
    return tuple_part + image_weight * image_part


def _stack(dicts: list[dict]) -> dict:
    return {name: torch.stack([d[name] for d in dicts]) for name in dicts[0]}


def initial_models(k: int, seeds, image_weights, generator_for, dtype, device) -> dict:
    """Parameters stacked over (seed, approach); both approaches of one seed start equal."""
    models = []
    for seed in seeds:
        for _ in image_weights:
            generator = generator_for(seed)
            n1 = networks.init_n1(generator, dtype, device)
            models.append({"n1": n1, "n2": networks.init_n2(k, generator, dtype, device)})
    return {"n1": _stack([m["n1"] for m in models]), "n2": _stack([m["n2"] for m in models])}


def accuracies(params: dict, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Correct tuple predictions per model (vmap over the stacked models)."""
    from torch.func import vmap

    target = labels.prod(dim=-1)
    predict = vmap(lambda p: networks.tuple_predictions(p["n1"], p["n2"], images))
    return (predict(params) == target).sum(dim=-1)


def _adam_step(params: dict, grads: dict, first: dict, second: dict, step: int,
               learning_rate: float) -> None:
    """One Adam update (betas 0.9, 0.999, eps 1e-8) of every stacked model, in place."""
    for group in params:
        for name, g in grads[group].items():
            first[group][name].mul_(0.9).add_(g, alpha=0.1)
            second[group][name].mul_(0.999).addcmul_(g, g, value=0.001)
            m_hat = first[group][name] / (1 - 0.9 ** (step + 1))
            v_hat = second[group][name] / (1 - 0.999 ** (step + 1))
            params[group][name] = params[group][name] - learning_rate * m_hat / (
                v_hat.sqrt() + 1e-8)


def _keep(tree: dict, index: torch.Tensor) -> dict:
    """The stacked models at `index` of a {group: {name: tensor}} tree."""
    return {group: {name: value[index] for name, value in part.items()}
            for group, part in tree.items()}


class _Clock:
    """Per model: the held-out curve and the first evaluated step at the target."""

    def __init__(self, models: int, target: float):
        self.target = target
        self.steps: list[list[int]] = [[] for _ in range(models)]
        self.curves: list[list[float]] = [[] for _ in range(models)]
        self.reached: list[int | None] = [None] * models

    def record(self, step: int, models: list[int], accuracy: torch.Tensor) -> None:
        for model, value in zip(models, accuracy.tolist()):
            if self.reached[model] is None and value >= self.target:
                self.reached[model] = step
            self.steps[model].append(step)
            self.curves[model].append(value)

    def time(self, model: int) -> TimeToTarget:
        steps, reached = self.steps[model], self.reached[model]
        if reached is None:
            before = steps[-1]
        else:
            at = steps.index(reached)
            before = steps[at - 1] if at > 0 else reached
        return TimeToTarget(reached, before, tuple(steps), tuple(self.curves[model]))


def race_to_target(k: int, seeds, target: float, factor: float, cap: int, evaluate_every: int,
                   late_every: int, batch: int, learning_rate: float, generator_for,
                   data: torch.Generator, held_out: torch.Generator, evaluated: int,
                   dtype: torch.dtype, device="cpu") -> RaceToTarget:
    """Adam on both approaches of every seed, stacked (seed-major, decomposition first), on one
    stream of fresh batches; the held-out tuple accuracy of every training model every
    `evaluate_every` steps. Phase 1 trains all models until every decomposition seed reached
    `target` (or `cap` steps, a multiple of `evaluate_every`); phase 2 trains end-to-end alone,
    evaluated every `late_every` steps (a multiple of `evaluate_every`), up to the budget (factor x
    the decomposition's slowest time, rounded up to a multiple of `late_every`), stopping early when
    every end-to-end seed reached the target."""
    if cap % evaluate_every or late_every % evaluate_every or factor < 1 or not 0 < target < 1:
        raise ValueError("race_to_target needs cap and late_every multiples of evaluate_every, "
                         "factor >= 1 and a target accuracy in (0, 1)")
    from torch.func import grad, vmap

    seeds = tuple(seeds)
    params = initial_models(k, seeds, (1.0, 0.0), generator_for, dtype, device)
    weights = torch.tensor([w for _ in seeds for w in (1.0, 0.0)], dtype=dtype, device=device)
    test_images, test_labels = tuples(evaluated, k, held_out, dtype, device)
    gradient = vmap(grad(model_loss), in_dims=(0, None, None, 0))
    first = {g: {n: torch.zeros_like(v) for n, v in p.items()} for g, p in params.items()}
    second = {g: {n: torch.zeros_like(v) for n, v in p.items()} for g, p in params.items()}
    clock = _Clock(2 * len(seeds), target)
    active = list(range(2 * len(seeds)))
    decomposition = active[0::2]
    budget = None
    step = 0
    while True:
        if step % (evaluate_every if budget is None else late_every) == 0:
            with torch.no_grad():
                correct = accuracies(params, test_images, test_labels)
            clock.record(step, active, correct.to(torch.float64) / evaluated)
        if budget is None:
            times = [clock.reached[m] for m in decomposition]
            if all(t is not None for t in times) or step >= cap:
                slowest = cap if None in times else max(times)
                budget = late_every * math.ceil(max(factor * slowest, cap) / late_every)
                index = torch.tensor([i for i, m in enumerate(active) if m % 2 == 1],
                                     device=device)
                params, first, second = (_keep(tree, index) for tree in (params, first, second))
                weights = weights[index]
                active = [m for m in active if m % 2 == 1]
        if budget is not None and (step >= budget
                                   or all(clock.reached[m] is not None for m in active)):
            break
        images, labels = tuples(batch, k, data, dtype, device)
        grads = gradient(params, images, labels, weights)
        with torch.no_grad():
            _adam_step(params, grads, first, second, step, learning_rate)
        step += 1
    return RaceToTarget(k, target, factor, cap, budget,
                        tuple(clock.time(m) for m in decomposition),
                        tuple(clock.time(m + 1) for m in decomposition))
