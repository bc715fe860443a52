"""Setting I training (Shalev-Shwartz, Shamir, Shammah 2017, arXiv:1703.07950, Section 3, Fig. 5):
end-to-end vs decomposition on k-tuples of line images, every seed and both approaches of one k
stacked into one torch.func program (vmap over the models' parameters, one shared batch).

A model's loss is the tuple hinge plus `image_weight` times the mean per-image hinge on N1's
scores: image_weight = 1 is the decomposition, 0 the end-to-end objective (the decomposition with
its per-image loss switched off). Adam on fresh batches of tuples; accuracy of sign(N2(N1(x))) on
the tuple label, on a held-out set drawn from its own stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from optverify.theorems.end_to_end_snr import line_images, networks


@dataclass(frozen=True)
class TrainingRun:
    """One k: per model (seed-major, approach-minor) the held-out accuracy curve at `steps` (the
    last point on all `evaluated` tuples), and the final counts of correct tuples."""

    k: int
    image_weights: tuple[float, ...]
    seeds: tuple[int, ...]
    steps: tuple[int, ...]
    accuracies: tuple[tuple[float, ...], ...]
    correct: tuple[int, ...]
    evaluated: int


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


def train(k: int, seeds, image_weights, iterations: int, batch: int, learning_rate: float,
          evaluate_at, generator_for, data: torch.Generator, held_out: torch.Generator,
          evaluated: int, dtype: torch.dtype, device="cpu", curve_evaluated: int = 250
          ) -> TrainingRun:
    """Adam (betas 0.9, 0.999) on every stacked model for `iterations` steps; the curve at
    `evaluate_at` on the first `curve_evaluated` held-out tuples, the final counts on all."""
    from torch.func import grad, vmap

    params = initial_models(k, seeds, image_weights, generator_for, dtype, device)
    weights = torch.tensor([w for _ in seeds for w in image_weights], dtype=dtype, device=device)
    test_images, test_labels = tuples(evaluated, k, held_out, dtype, device)
    gradient = vmap(grad(model_loss), in_dims=(0, None, None, 0))
    first = {group: {n: torch.zeros_like(v) for n, v in p.items()} for group, p in params.items()}
    second = {group: {n: torch.zeros_like(v) for n, v in p.items()}
              for group, p in params.items()}
    curves, steps = [], []
    for step in range(iterations + 1):
        if step in evaluate_at or step == iterations:
            with torch.no_grad():
                part = slice(None) if step == iterations else slice(0, curve_evaluated)
                correct = accuracies(params, test_images[part], test_labels[part])
            steps.append(step)
            curves.append(correct.to(torch.float64) / len(test_labels[part]))
        if step == iterations:
            break
        images, labels = tuples(batch, k, data, dtype, device)
        grads = gradient(params, images, labels, weights)
        with torch.no_grad():
            for group in params:
                for name, g in grads[group].items():
                    first[group][name].mul_(0.9).add_(g, alpha=0.1)
                    second[group][name].mul_(0.999).addcmul_(g, g, value=0.001)
                    m_hat = first[group][name] / (1 - 0.9 ** (step + 1))
                    v_hat = second[group][name] / (1 - 0.999 ** (step + 1))
                    params[group][name] = params[group][name] - learning_rate * m_hat / (
                        v_hat.sqrt() + 1e-8)
    table = torch.stack(curves, dim=1)
    return TrainingRun(k, tuple(image_weights), tuple(seeds), tuple(steps),
                       tuple(tuple(float(a) for a in row) for row in table),
                       tuple(int(round(float(c) * evaluated)) for c in curves[-1]), evaluated)
