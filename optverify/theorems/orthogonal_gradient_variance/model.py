"""Networks, losses and the gradient variance over the parity targets of Theorem 1.

Theorem 1 of Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950: for targets h in H,
F_h(w) = E_x[l(p_w(x), h(x))] and Var(H, F, w) = E_h ||grad F_h(w) - E_h' grad F_h'(w)||^2.
For x uniform on {-1,+1}^d and H all 2^d parities, the gradient of every loss used here splits as

    grad F_h(w) = E_x[c0(x) g(x)] + E_x[h(x) c1(x) g(x)],      g(x) = d p_w(x) / dw,

square loss 1/2 (p - h)^2: c0 = p, c1 = -1; hinge r(p h) = max(0, 1 - p h) with h in {+-1}:
c0 = (r'(p) - r'(-p)) / 2, c1 = (r'(p) + r'(-p)) / 2 (from r(z h) = (1+h)/2 r(z) + (1-h)/2 r(-z)).
The h-dependent part for all 2^d parities at once is the Walsh-Hadamard transform of c1 g
(`optverify.theorems.orthogonal_gradient_variance.walsh_hadamard`), computed in blocks of parameter rows so memory stays
bounded. `per_target_gradients_naive` is the one-target-at-a-time twin; the mpmath twins live in
`numeric.py`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from optverify.numerics.validation import require, require_int, require_one_of, require_positive
from optverify.theorems.orthogonal_gradient_variance.walsh_hadamard import (
    hypercube_points,
    walsh_hadamard,
)

LOSSES = ("square", "hinge")


@dataclass(frozen=True)
class ReluNetwork:
    """p_w(x) = sum_k a_k relu(u_k . x + b_k) + c, one hidden ReLU layer (width 10d in the paper).

    hidden: (width, d) weights u; bias: (width,) b; output: (width,) a; offset: () c.
    """

    hidden: torch.Tensor
    bias: torch.Tensor
    output: torch.Tensor
    offset: torch.Tensor

    @property
    def parameter_count(self) -> int:
        width, d = self.hidden.shape
        return width * (d + 2) + 1

    @property
    def input_dimension(self) -> int:
        return self.hidden.shape[1]

    def predict(self, points: torch.Tensor) -> torch.Tensor:
        return torch.relu(points @ self.hidden.T + self.bias) @ self.output + self.offset

    def gradient_blocks(self, points: torch.Tensor, rows: int) -> Iterator[torch.Tensor]:
        """Per-example gradients g(x) as (rows, n) blocks: d p / d(a_k, u_k, b_k) per neuron group,
        then d p / dc = 1."""
        width, d = self.hidden.shape
        neurons = max(1, rows // (d + 2))
        for start in range(0, width, neurons):
            stop = min(width, start + neurons)
            pre = points @ self.hidden[start:stop].T + self.bias[start:stop]
            active = (pre > 0).to(points.dtype) * self.output[start:stop]
            d_hidden = (active.T.unsqueeze(1) * points.T.unsqueeze(0)).reshape(-1, len(points))
            yield torch.cat([torch.relu(pre).T, d_hidden, active.T])
        yield points.new_ones(1, len(points))


@dataclass(frozen=True)
class LinearModel:
    """p_w(x) = w . x + c; g(x) = (x, 1)."""

    weight: torch.Tensor
    offset: torch.Tensor

    @property
    def parameter_count(self) -> int:
        return self.weight.shape[0] + 1

    @property
    def input_dimension(self) -> int:
        return self.weight.shape[0]

    def predict(self, points: torch.Tensor) -> torch.Tensor:
        return points @ self.weight + self.offset

    def gradient_blocks(self, points: torch.Tensor, rows: int) -> Iterator[torch.Tensor]:
        yield torch.cat([points.T, points.new_ones(1, len(points))])


Model = ReluNetwork | LinearModel


def relu_network(
    d: int, width: int, scale: float, generator: torch.Generator, dtype=torch.float64, device="cpu"
) -> ReluNetwork:
    """Gaussian weights: u, b ~ N(0, scale^2 / d), a ~ N(0, scale^2 / width), c ~ N(0, scale^2/4)
    (scale 1 is the usual 1/sqrt(fan-in) initialization)."""
    require_int("the input dimension d", d, minimum=1)
    require_int("the width", width, minimum=1)
    require_positive("the weight scale", scale)

    def normal(*shape, std):
        return std * torch.randn(*shape, generator=generator, dtype=dtype, device=device)

    return ReluNetwork(
        hidden=normal(width, d, std=scale / math.sqrt(d)),
        bias=normal(width, std=scale / math.sqrt(d)),
        output=normal(width, std=scale / math.sqrt(width)),
        offset=normal((), std=scale / 2),
    )


def linear_model(d: int, scale: float, generator: torch.Generator, dtype=torch.float64,
                 device="cpu") -> LinearModel:
    require_int("the input dimension d", d, minimum=1)
    require_positive("the weight scale", scale)
    draw = torch.randn(d + 1, generator=generator, dtype=dtype, device=device) * scale
    return LinearModel(weight=draw[:d] / math.sqrt(d), offset=draw[d])


def hinge_slope(z: torch.Tensor) -> torch.Tensor:
    """r'(z) for r(z) = max(0, 1 - z): -1 where z < 1, else 0."""
    return -(z < 1).to(z.dtype)


@dataclass(frozen=True)
class LossSplit:
    """The loss slope split as l'(p, h) = common + h target for h in {+-1} (see module docstring):
    common = c0(x), target = c1(x), so grad F_h = E[c0 g] + E[h c1 g]."""

    common: torch.Tensor
    target: torch.Tensor


def split_weights(loss: str, predictions: torch.Tensor) -> LossSplit:
    """c0 and c1 at each prediction."""
    require_one_of("loss", loss, LOSSES)
    if loss == "square":
        return LossSplit(predictions, -torch.ones_like(predictions))
    plus, minus = hinge_slope(predictions), hinge_slope(-predictions)
    return LossSplit((plus - minus) / 2, (plus + minus) / 2)


def loss_slope(loss: str, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """d l(p, y) / dp at each example, straight from the loss (the twin of `split_weights`)."""
    require_one_of("loss", loss, LOSSES)
    if loss == "square":
        return predictions - targets
    return hinge_slope(predictions * targets) * targets


@dataclass(frozen=True)
class GradientVariance:
    """Var(H, F, w) over all 2^d parities and the bound of Theorem 1.

    variance: E_h ||grad F_h - mean||^2 (centred, from the per-target gradients).
    gradient_bound: G(w)^2 = E_x ||g(x)||^2.  bound: G^2 / 2^d.
    second_moment: E_h ||grad F_h||^2.
    one_pass_variance: second_moment - ||E_h grad F_h||^2 (the cancellation-prone formula), with
        E_h grad F_h = E_x[c0 g] + c1(x_0) g(x_0) / 2^d, since the mean of all parities is the
        indicator of x_0 = (1, ..., 1) times 2^d.
    weighted_norm: E_x ||c1(x) g(x)||^2 <= G^2 (|c1| <= 1 for both losses).
    corner_norm: ||c1(x_0) g(x_0)||^2 at x_0 = (1, ..., 1); Parseval gives
        variance = weighted_norm / 2^d - corner_norm / 4^d for the complete parity class.
    """

    d: int
    variance: float
    gradient_bound: float
    second_moment: float
    one_pass_variance: float
    weighted_norm: float
    corner_norm: float

    @property
    def bound(self) -> float:
        return self.gradient_bound / 2**self.d

    @property
    def ratio(self) -> float:
        return self.variance / self.bound

    @property
    def parseval_variance(self) -> float:
        return self.weighted_norm / 2**self.d - self.corner_norm / 4**self.d


def gradient_variance(model: Model, loss: str, d: int, *, dtype=None,
                      rows_per_block: int = 64) -> GradientVariance:
    """Theorem 1's Var and G^2 / |H| for all 2^d parities, by the chunked Walsh-Hadamard transform.

    dtype: the floating type of the computation (default: the model's); memory is about
    3 * rows_per_block * 2^d numbers.
    """
    require_one_of("loss", loss, LOSSES)
    require(d == model.input_dimension,
            f"the model takes inputs of dimension {model.input_dimension}, got d={d}")
    reference = model.offset
    dtype = dtype or reference.dtype
    points = hypercube_points(d, dtype, reference.device)
    predictions = model.predict(points.to(reference.dtype)).to(dtype)
    split = split_weights(loss, predictions)
    size = 2**d
    totals = {"variance": 0.0, "gradient_bound": 0.0, "second_moment": 0.0,
              "weighted_norm": 0.0, "corner_norm": 0.0}
    mean_norm = torch.zeros((), dtype=dtype, device=reference.device)
    for block in model.gradient_blocks(points.to(reference.dtype), rows_per_block):
        block = block.to(dtype)
        weighted = split.target * block
        per_target = walsh_hadamard(weighted).div_(size)
        common = (split.common * block).mean(dim=-1, keepdim=True)
        totals["variance"] += float(torch.var(per_target, dim=-1, correction=0).sum())
        totals["second_moment"] += float(per_target.add_(common).square_().mean(dim=-1).sum())
        mean_norm += ((common + weighted[:, 0:1] / size) ** 2).sum()
        totals["gradient_bound"] += float(block.square().sum() / size)
        totals["weighted_norm"] += float(weighted.square().sum() / size)
        totals["corner_norm"] += float(weighted[:, 0].square().sum())
    second_moment = torch.tensor(totals["second_moment"], dtype=dtype)
    one_pass = float(second_moment - mean_norm.cpu())
    return GradientVariance(d=d, one_pass_variance=one_pass, **totals)


def per_target_gradients_naive(model: Model, loss: str, d: int) -> torch.Tensor:
    """(2^d, P) matrix of grad F_{h_S}(w), one target at a time, from d l / dp directly."""
    require_one_of("loss", loss, LOSSES)
    require(d == model.input_dimension,
            f"the model takes inputs of dimension {model.input_dimension}, got d={d}")
    points = hypercube_points(d, model.offset.dtype, model.offset.device)
    predictions = model.predict(points)
    gradient = torch.cat(list(model.gradient_blocks(points, 2**30)))
    rows = []
    for s in range(2**d):
        members = [i for i in range(d) if s >> i & 1]
        target = points[:, members].prod(dim=1) if members else torch.ones_like(predictions)
        rows.append((loss_slope(loss, predictions, target) * gradient).mean(dim=-1))
    return torch.stack(rows)


def variance_of(gradients: torch.Tensor) -> float:
    """E_h ||grad F_h - E_h' grad F_h'||^2 from a (targets, P) matrix."""
    return float(((gradients - gradients.mean(dim=0)) ** 2).sum(dim=1).mean())
