"""Fig. 1 of Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 2: parities learned by
a ReLU layer of width 10d with the hinge loss and plain SGD (learning rate 0.01, batch 128, inputs
in {-1,+1}^d: the settings reported for the authors' `parity.py`, which was not read here).
Reported, not decisive: the failure at large d (test accuracy at chance at the largest d) beside
the success at the smallest d (accuracy >= LEARNED_ACCURACY), which shows the trainer moves at
all; a run stopped at its initialization is the control it rejects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch

from optverify.kit import Judgement, Panel, Series, Session, Verdict
from optverify.numerics.validation import require, require_int, require_positive

LEARNED_ACCURACY = 0.9
"""Fig. 1's small-d success, fixed before measuring: the smallest d reaches test accuracy >= 0.9."""


@dataclass(frozen=True)
class LearningConfig:
    """Fig. 1 set-up: width 10d ReLU layer, hinge loss, plain SGD with fresh batches."""

    dimensions: tuple[int, ...]
    iterations: int
    evaluate_every: int
    learning_rate: float = 0.01
    batch_size: int = 128
    test_size: int = 4096

    def __post_init__(self) -> None:
        require(len(self.dimensions) > 0, "the sweep needs at least one dimension d")
        for d in self.dimensions:
            require_int("the dimension d", d, minimum=1)
        for name in ("iterations", "evaluate_every", "batch_size", "test_size"):
            require_int(name, getattr(self, name), minimum=1)
        require_positive("the learning rate", self.learning_rate)

    @classmethod
    def quick(cls) -> LearningConfig:
        return cls((5, 10, 20), iterations=2000, evaluate_every=100)

    @classmethod
    def full(cls) -> LearningConfig:
        return cls((5, 10, 20, 30), iterations=50_000, evaluate_every=1000)


@dataclass(frozen=True)
class LearningCurve:
    """Test accuracy of one parity learner at each evaluated iteration; subset_size: |S|."""

    d: int
    iterations: list[int]
    accuracies: list[float]
    subset_size: int

    def series(self) -> Series:
        return Series(f"d = {self.d} (|S| = {self.subset_size})",
                      tuple(float(i) for i in self.iterations), tuple(self.accuracies), "line")

    def row(self) -> tuple:
        return (self.d, self.subset_size, self.accuracies[0], max(self.accuracies),
                self.accuracies[-1])


def _random_signs(count: int, d: int, generator: torch.Generator, device) -> torch.Tensor:
    bits = torch.randint(0, 2, (count, d), generator=generator, device=device)
    return (1 - 2 * bits).to(torch.float64)


@dataclass(frozen=True)
class ParityTask:
    """One d of Fig. 1: the parity subset (members, |S|), the learner's own random stream, its
    initial weights (W (d, 10d), b (10d), v (10d), c (1): PyTorch's default uniform init) and the
    test set (points, labels)."""

    d: int
    members: torch.Tensor
    subset_size: int
    generator: torch.Generator
    weights: tuple[torch.Tensor, ...]
    test_points: torch.Tensor
    test_labels: torch.Tensor


def parity_task(d: int, config: LearningConfig, s: Session) -> ParityTask:
    """The subset, initial weights and test set of d, drawn from d's own seeded streams."""
    rng = s.rng(f"parity-subset-{d}")
    subset = rng.integers(0, 2, d)
    while not subset.any():
        subset = rng.integers(0, 2, d)
    members = torch.tensor(np.flatnonzero(subset), device=s.device)
    generator = s.generator(f"parity-learning-{d}")
    width = 10 * d
    bound_in, bound_out = 1 / math.sqrt(d), 1 / math.sqrt(width)

    def uniform(*shape, bound):
        return (2 * torch.rand(*shape, generator=generator, dtype=torch.float64,
                               device=s.device) - 1) * bound

    weights = (uniform(d, width, bound=bound_in), uniform(width, bound=bound_in),
               uniform(width, bound=bound_out), uniform(1, bound=bound_out))
    test_points = _random_signs(config.test_size, d, generator, s.device)
    return ParityTask(d, members, int(subset.sum()), generator, weights, test_points,
                      test_points[:, members].prod(dim=1))


def _hinge_sgd_step(params: list[torch.Tensor], points: torch.Tensor, labels: torch.Tensor,
                    learning_rate: float) -> None:
    """One SGD step on the mean hinge loss max(0, 1 - y f(x)) of f(x) = relu(x W + b) v + c
    (params W (d, H), b (H), v (H), c (1); points (m, d)), in place, with the gradient written
    out as autograd gives it: clamp passes where 1 - y f >= 0, relu where the pre-activation
    is > 0, the mean divides by m."""
    weight, bias, out_weight, out_bias = params
    hidden = torch.addmm(bias, points, weight)
    active = torch.relu(hidden)
    output = active @ out_weight + out_bias
    upstream = torch.where(1 - labels * output >= 0, -labels, 0.0) / labels.shape[0]
    hidden_grad = torch.outer(upstream, out_weight).mul_(hidden > 0)
    gradients = (points.T @ hidden_grad, hidden_grad.sum(0), upstream @ active,
                 upstream.sum(0, keepdim=True))
    for param, gradient in zip(params, gradients):
        param -= learning_rate * gradient


def _accuracy(params: list[torch.Tensor], task: ParityTask) -> float:
    weight, bias, out_weight, out_bias = params
    output = torch.relu(torch.addmm(bias, task.test_points, weight)) @ out_weight + out_bias
    return float((torch.sign(output) == task.test_labels).double().mean())


def train_parity(task: ParityTask, config: LearningConfig) -> LearningCurve:
    """Plain SGD from the task's initial weights, the test accuracy every `evaluate_every`
    iterations. The batches of one evaluation period are one draw from the task's stream (the
    same numbers, in the same order, as one draw per step)."""
    params = [w.clone() for w in task.weights]
    iterations, accuracies, step = [], [], 0
    every, batch = config.evaluate_every, config.batch_size
    while True:
        if step % every == 0:
            iterations.append(step)
            accuracies.append(_accuracy(params, task))
        if step == config.iterations:
            break
        block = min(every - step % every, config.iterations - step)
        points = _random_signs(block * batch, task.d, task.generator, task.test_points.device)
        labels = points[:, task.members].prod(dim=1)
        for index in range(block):
            rows = slice(index * batch, (index + 1) * batch)
            _hinge_sgd_step(params, points[rows], labels[rows], config.learning_rate)
        step += block
    return LearningCurve(task.d, iterations, accuracies, task.subset_size)


def learning_curves(config: LearningConfig, s: Session) -> list[LearningCurve]:
    """Test accuracy of the width-10d ReLU layer trained by SGD on the hinge loss to learn the
    parity of a random non-empty subset, for every d of `settings` (each on its own streams)."""
    return s.map(lambda d: train_parity(parity_task(d, config, s), config),
                 config.dimensions, "parity learning")


def learning_curve(d: int, config: LearningConfig, s: Session) -> LearningCurve:
    """The learning curve of one d alone (`learning_curves` with one dimension)."""
    return learning_curves(replace(config, dimensions=(d,)), s)[0]


def learning_values(curves: list[LearningCurve]) -> dict[str, float]:
    values = {}
    for curve in curves:
        values[f"final_accuracy_d{curve.d}"] = curve.accuracies[-1]
        values[f"best_accuracy_d{curve.d}"] = max(curve.accuracies)
    return values


def chance_band(config: LearningConfig) -> float:
    """3 binomial standard deviations of a test accuracy at chance 1/2."""
    return 3 * math.sqrt(0.25 / config.test_size)


def judge_learning(curves: list[LearningCurve], band: float) -> Judgement:
    """Fig. 1's outcome: the largest d ends within `band` of chance while the smallest d reaches
    LEARNED_ACCURACY (a trainer that does not move fails the second part)."""
    smallest, largest = curves[0], curves[-1]
    stuck = abs(largest.accuracies[-1] - 0.5) <= band
    learned = max(smallest.accuracies) >= LEARNED_ACCURACY
    verdict = Verdict.CONSISTENT if stuck and learned else Verdict.VIOLATED
    detail = (f"d = {largest.d} final accuracy {largest.accuracies[-1]:.3f} "
              f"({'within' if stuck else 'outside'} {band:.3f} of chance); d = {smallest.d} best "
              f"accuracy {max(smallest.accuracies):.3f} ({'>=' if learned else '<'} "
              f"{LEARNED_ACCURACY:g}); final accuracies: "
              + ", ".join(f"d={c.d}: {c.accuracies[-1]:.3f}" for c in curves))
    return Judgement(verdict, detail, {})


def stopped_at_initialization(curves: list[LearningCurve]) -> list[LearningCurve]:
    """The control: the same curves cut at iteration 0 (a run whose weights never moved)."""
    return [LearningCurve(c.d, c.iterations[:1], c.accuracies[:1], c.subset_size)
            for c in curves]


def record_learning(s: Session, config: LearningConfig) -> None:
    curves = learning_curves(config, s)
    band = chance_band(config)
    s.decide(
        "parity-learning-largest-d",
        f"Fig. 1 (reported, not decisive): after {config.iterations} SGD iterations (lr "
        f"{config.learning_rate}, batch {config.batch_size}, hinge loss, ReLU width 10d) the "
        f"test accuracy at the largest d = {curves[-1].d} is within 3 binomial standard "
        f"deviations ({band:.3f}) of chance 0.5, while the same trainer reaches >= "
        f"{LEARNED_ACCURACY:g} at the smallest d = {curves[0].d}",
        lambda observed: judge_learning(observed, band), curves, decisive=False,
        controls={"a run stopped at its initialization": stopped_at_initialization(curves)},
        values=learning_values(curves))
    s.figure("parity-learning", "Fig. 1: learning parities with SGD (hinge loss)", (
        Panel("test accuracy vs iterations", "iteration", "test accuracy",
              tuple(c.series() for c in curves), xscale="linear", yscale="linear"),))
    s.table("parity-learning", f"Parity learning: {config.test_size} fresh test points, "
            f"{config.iterations} iterations",
            ("d", "subset size", "initial accuracy", "best accuracy", "final accuracy"),
            [c.row() for c in curves])
