"""Real-data classifiers for `linear-interpolation`: MLPs and small CNNs on scikit-learn's 8x8
digits (1797 images, 10 classes, shipped with the package: no network), batched over seeds as
stacked weights, and their cross-entropy along the straight path theta(alpha).

Source: Goodfellow, Vinyals, Saxe (2015), arXiv:1412.6544, Section 2 (classifiers trained on real
images, the training objective along theta(alpha) = (1 - alpha) theta_0 + alpha theta_T); Lucas,
Bae, Zhang, Fort, Zemel, Grosse (ICML 2021), "Analyzing Monotonic Linear Interpolation in Neural
Network Loss Landscapes", Sections 4-5 (Adam, batch normalization and a large distance travelled
are where monotonicity breaks).

Models (every parameter has a leading seed dimension, so S nets train as one tensor program; SGD
and Adam act elementwise, so the summed loss gives each seed its own independent update):
- MLP: 64 -> hidden ReLU -> 10; with `batch_norm`, the hidden pre-activation is normalized by the
  statistics of the samples it sees (the mini-batch in training, the whole training set along the
  path) and scaled by learned (gamma, beta).
- CNN: one 3x3 convolution (valid, `channels` filters) + ReLU on the 8x8 image, 2x2 average
  pooling (6x6 -> 3x3), then a linear layer on the 3x3xC map. The convolution is a matrix product
  with the image's fixed 3x3 patches, the pooling one with a fixed (9, 36) averaging matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from optverify.numerics.validation import require_int, require_one_of, require_positive

CLASSES = 10
IMAGE_SIDE = 8
KERNEL_SIDE = 3
POOL_SIDE = 2
POOLED_SIDE = (IMAGE_SIDE - KERNEL_SIDE + 1) // POOL_SIDE
PIXEL_MAXIMUM = 16.0
"""load_digits' pixels are integers 0..16; inputs are pixel / 16 in [0, 1]."""
BATCH_NORM_EPSILON = 1e-5
"""Added to the variance in batch normalization (torch.nn.BatchNorm1d's default)."""


@dataclass(frozen=True)
class Digits:
    """inputs (n, 64) in [0, 1], labels (n,) int64, patches (n, 36, 10): the 3x3 patches of each
    image in the convolution's output order, each with a trailing 1 (image_patches)."""

    inputs: torch.Tensor
    labels: torch.Tensor
    patches: torch.Tensor


def image_patches(inputs: torch.Tensor) -> torch.Tensor:
    """(n, 64) flattened 8x8 images -> (n, 36, 10): the valid 3x3 patches, each with a trailing
    1 that multiplies the convolution's bias."""
    images = inputs.reshape(-1, 1, IMAGE_SIDE, IMAGE_SIDE)
    patches = torch.nn.functional.unfold(images, KERNEL_SIDE).transpose(1, 2)
    return torch.cat([patches, torch.ones_like(patches[..., :1])], dim=-1)


def load_digits(samples: int, device: str, dtype: torch.dtype) -> Digits:
    """The first `samples` images of sklearn's digits (ValueError outside 1..1797)."""
    from sklearn.datasets import load_digits as sklearn_digits

    data = sklearn_digits()
    require_int("samples", samples, minimum=1, maximum=data.data.shape[0])
    inputs = torch.as_tensor(data.data[:samples], dtype=dtype, device=device) / PIXEL_MAXIMUM
    labels = torch.as_tensor(data.target[:samples], dtype=torch.int64, device=device)
    return Digits(inputs, labels, image_patches(inputs))


@dataclass(frozen=True)
class Architecture:
    """kind "mlp" or "cnn"; width: hidden units (MLP) or filters (CNN); batch_norm (MLP only)."""

    kind: str
    width: int
    batch_norm: bool = False

    def __post_init__(self):
        require_one_of("the architecture", self.kind, ("mlp", "cnn"))
        require_int("the width", self.width, minimum=1)
        if self.batch_norm and self.kind != "mlp":
            raise ValueError("batch normalization is implemented for the MLP only")

    @property
    def features(self) -> int:
        """Inputs of the output layer."""
        if self.kind == "mlp":
            return self.width
        return POOLED_SIDE ** 2 * self.width


def init_parameters(architecture: Architecture, seeds: int, generator: torch.Generator,
                    options: dict) -> tuple[torch.Tensor, ...]:
    """He-normal first layer (fan-in 64 or 9), N(0, 1/fan-in) output layer, zero biases; with
    batch norm, gamma = 1 and beta = 0 appended."""
    fan_in = IMAGE_SIDE * IMAGE_SIDE if architecture.kind == "mlp" else KERNEL_SIDE ** 2
    width, features = architecture.width, architecture.features
    first = torch.randn((seeds, width, fan_in), generator=generator, **options) * math.sqrt(
        2 / fan_in)
    output = torch.randn((seeds, CLASSES, features), generator=generator, **options) / math.sqrt(
        features)
    parameters = (first, torch.zeros((seeds, width), **options), output,
                  torch.zeros((seeds, CLASSES), **options))
    if architecture.batch_norm:
        parameters += (torch.ones((seeds, width), **options),
                       torch.zeros((seeds, width), **options))
    return parameters


def batch_normalize(pre: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """(..., n, h) normalized over the n samples, then gamma * . + beta ((..., h) each)."""
    mean = pre.mean(dim=-2, keepdim=True)
    variance = pre.var(dim=-2, unbiased=False, keepdim=True)
    normalized = (pre - mean) / torch.sqrt(variance + BATCH_NORM_EPSILON)
    return normalized * gamma.unsqueeze(-2) + beta.unsqueeze(-2)


def pooling_matrix(dtype: torch.dtype, device) -> torch.Tensor:
    """(9, 36): row b averages the four positions of the 2x2 block b of the 6x6 map (row-major)."""
    side = IMAGE_SIDE - KERNEL_SIDE + 1
    rows, columns = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    block = (rows // POOL_SIDE) * POOLED_SIDE + columns // POOL_SIDE
    one_hot = torch.nn.functional.one_hot(block.flatten(), POOLED_SIDE ** 2).T
    return one_hot.to(dtype=dtype, device=device) / POOL_SIDE ** 2


def pooled_features(patches: torch.Tensor, kernels: torch.Tensor,
                    biases: torch.Tensor) -> torch.Tensor:
    """(..., n, 9 c) position-major pooled ReLU maps of kernels (..., c, 9) with biases (..., c),
    on patches with a trailing 1 (Digits.patches). Per-net patches (..., n, 36, 10) go through a
    batched product; patches (n, 36, 10) shared by every net through one product with all nets'
    kernels side by side, pooled before the nets are moved to the front (so no per-net copy of the
    6x6 maps is made)."""
    channels, size = kernels.shape[-2], patches.shape[-1]
    with_bias = torch.cat([kernels, biases.unsqueeze(-1)], dim=-1)
    pooling = pooling_matrix(patches.dtype, patches.device)
    if patches.ndim > 3:
        maps = torch.relu(patches @ with_bias.transpose(-1, -2).unsqueeze(-3))
        return (pooling @ maps).flatten(-2)
    lead, samples = kernels.shape[:-2], patches.shape[0]
    side_by_side = with_bias.reshape(-1, channels, size).permute(2, 0, 1).reshape(size, -1)
    pooled = pooling @ (patches @ side_by_side).relu_()
    pooled = pooled.reshape(samples, POOLED_SIDE ** 2, -1, channels).permute(2, 0, 1, 3)
    return pooled.reshape(lead + (samples, POOLED_SIDE ** 2 * channels))


def logits(architecture: Architecture, parameters: tuple[torch.Tensor, ...],
           inputs: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
    """(..., n, 10) for parameters with leading dims (...); inputs (n, 64) / patches (n, 36, 10)
    shared, or (..., n, 64) / (..., n, 36, 10) per net."""
    first, first_bias, output, output_bias = parameters[:4]
    if architecture.kind == "mlp":
        pre = inputs @ first.transpose(-1, -2)
        if architecture.batch_norm:
            hidden = torch.relu(batch_normalize(pre, *parameters[4:]))
        else:
            hidden = torch.relu(pre + first_bias.unsqueeze(-2))
    else:
        hidden = pooled_features(patches, first, first_bias)
    return hidden @ output.transpose(-1, -2) + output_bias.unsqueeze(-2)


def cross_entropy(architecture: Architecture, parameters: tuple[torch.Tensor, ...],
                  inputs: torch.Tensor, patches: torch.Tensor,
                  labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the samples, per net (leading dims of the parameters)."""
    log_probabilities = torch.log_softmax(logits(architecture, parameters, inputs, patches), -1)
    shape = log_probabilities.shape[:-1] + (1,)
    chosen = torch.take_along_dim(log_probabilities, labels.unsqueeze(-1).expand(shape), dim=-1)
    return -chosen.squeeze(-1).mean(dim=-1)


@dataclass(frozen=True)
class Training:
    """optimizer "sgd" or "adam", its learning rate, steps and mini-batch size."""

    optimizer: str
    learning_rate: float
    steps: int
    batch_size: int

    def __post_init__(self):
        require_one_of("the optimizer", self.optimizer, ("sgd", "adam"))
        require_positive("the learning rate", self.learning_rate)
        require_int("steps", self.steps, minimum=1)
        require_int("the batch size", self.batch_size, minimum=1)


@dataclass(frozen=True)
class TrainedNets:
    """S nets of one architecture: their initial and final parameters (seed dimension first)."""

    architecture: Architecture
    start: tuple[torch.Tensor, ...]
    end: tuple[torch.Tensor, ...]

    def distance_travelled(self) -> torch.Tensor:
        """||theta_T - theta_0|| / ||theta_0|| per seed (S,)."""
        gap = sum((b - a).flatten(1).square().sum(1) for a, b in zip(self.start, self.end))
        size = sum(a.flatten(1).square().sum(1) for a in self.start)
        return torch.sqrt(gap / size)


def between_solutions(nets: TrainedNets) -> TrainedNets:
    """Straight paths from each seed's solution to the next seed's (seed i -> seed i + 1 mod S):
    two independent minima, whose path is expected to cross a barrier, so the monotonicity test
    must flag it (the detector's control)."""
    return TrainedNets(nets.architecture, nets.end,
                       tuple(torch.roll(t, 1, dims=0) for t in nets.end))


def train(architecture: Architecture, training: Training, data: Digits, seeds: int,
          generator: torch.Generator) -> TrainedNets:
    """Each seed draws its own initialization and its own mini-batches (sampled with
    replacement); all seeds step together."""
    options = {"device": data.inputs.device, "dtype": data.inputs.dtype}
    start = init_parameters(architecture, seeds, generator, options)
    parameters = [t.clone().requires_grad_(True) for t in start]
    optimizer_class = torch.optim.SGD if training.optimizer == "sgd" else torch.optim.Adam
    optimizer = optimizer_class(parameters, lr=training.learning_rate)
    samples = data.inputs.shape[0]
    for _ in range(training.steps):
        batch = torch.randint(0, samples, (seeds, training.batch_size), generator=generator,
                              device=data.inputs.device)
        optimizer.zero_grad()
        cross_entropy(architecture, tuple(parameters), data.inputs[batch], data.patches[batch],
                      data.labels[batch]).sum().backward()
        optimizer.step()
    return TrainedNets(architecture, start, tuple(p.detach() for p in parameters))


def path_loss(nets: TrainedNets, data: Digits, alphas: torch.Tensor) -> torch.Tensor:
    """Training-set cross-entropy (S, A) along each straight path, one alpha at a time (all seeds
    batched), so memory stays at one net per seed."""
    columns = []
    with torch.no_grad():
        for alpha in alphas:
            point = tuple(a + alpha * (b - a) for a, b in zip(nets.start, nets.end))
            columns.append(cross_entropy(nets.architecture, point, data.inputs, data.patches,
                                         data.labels))
    return torch.stack(columns, dim=1)


def accuracy(nets: TrainedNets, data: Digits) -> torch.Tensor:
    """Training accuracy of the final nets per seed (S,)."""
    with torch.no_grad():
        predicted = logits(nets.architecture, nets.end, data.inputs, data.patches).argmax(-1)
    return (predicted == data.labels).to(data.inputs.dtype).mean(dim=-1)
