"""Numeric layer (mpmath): Theorem 1's Var(H, F, w) and G(w)^2 / |H| exactly, by enumeration.

Theorem 1 of Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950: for the 2^d parities on
{-1,+1}^d (x uniform), Var(H, F, w) <= G(w)^2 / 2^d for the square loss and for r(p h) with r
1-Lipschitz (here the hinge loss). All 2^d inputs and all 2^d parities are enumerated at
the session's precision for a ReLU layer of width 10d (weights at scales 0.3, 1, 3) and a linear
model; the per-target gradients come from the mpmath Walsh-Hadamard butterfly and, at the smallest
d, from the per-target definition E_x[l'(p(x), h(x)) g(x)] one target at a time. Also the closed
form of Theorem 2's cosine objective against quadrature.

Negative controls (optverify issue 9), each through the same computation: the bound made twice as
tight (G^2 / (2|H|)), the Parseval form without its corner term, the per-target definition with
the sample variance's 1/(2^d - 1), and the closed form with the characteristic function of
N(0, 2) in place of N(0, 1).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
from mpmath import mp

from optverify.kit import MatrixRange, RealRange, Session
from optverify.theorems.orthogonal_gradient_variance.landscape import (
    cosine_objective_mp,
    cosine_objective_quadrature_mp,
)
from optverify.theorems.orthogonal_gradient_variance.model import (
    LOSSES,
    LinearModel,
    Model,
    linear_model,
    relu_network,
)
from optverify.theorems.orthogonal_gradient_variance.walsh_hadamard import parity_correlations_mp

RELU_SCALES = (0.3, 1.0, 3.0)


@dataclass(frozen=True)
class NumericConfig:
    """dimensions: the d enumerated; naive_dimensions: where the per-target definition also runs;
    width_per_dimension: hidden width / d (10 in the paper); quadrature_pairs: (w, v) in 1-D."""

    dimensions: tuple[int, ...]
    naive_dimensions: tuple[int, ...]
    width_per_dimension: int = 10
    quadrature_pairs: tuple[tuple[float, float], ...] = ((0.3, 2.0), (1.5, -0.7), (3.0, 2.0))

    @classmethod
    def quick(cls) -> NumericConfig:
        return cls(dimensions=(2, 3, 4), naive_dimensions=(2, 3))

    @classmethod
    def full(cls) -> NumericConfig:
        return cls(dimensions=(2, 3, 4, 5, 6), naive_dimensions=(2, 3, 4))


@dataclass(frozen=True)
class ExactVariance:
    """Var, G^2 / 2^d and the Parseval form E||c1 g||^2 / 2^d - ||c1 g(x_0)||^2 / 4^d, as mpf;
    cornerless_variance: the false alternative E||c1 g||^2 / 2^d (the corner term dropped)."""

    variance: object
    bound: object
    parseval_variance: object
    cornerless_variance: object


@dataclass(frozen=True)
class EnumeratedModel:
    """predictions: p(x_b) for all b; rows: per parameter j, [g_j(x_b)]_b (mpf)."""

    predictions: list
    rows: list


@dataclass(frozen=True)
class NamedModel:
    """An enumerated network and its label in the table ("linear", "ReLU width 20, scale 1")."""

    label: str
    model: Model


@dataclass(frozen=True)
class Instance:
    """One (d, network, loss) enumerated exactly at the working precision.

    ratio: Var / (G^2 / |H|) (mpf); margin: 1 - ratio; parseval_residual: |Var - Parseval form| /
    bound; definition_residual: |Var by the per-target definition - Var| / bound, None where the
    definition did not run (d not in naive_dimensions).
    """

    d: int
    network: str
    loss: str
    exact: ExactVariance
    ratio: object
    margin: float
    parseval_residual: float
    definition_residual: float | None
    cornerless_residual: float = 0.0
    sample_variance_residual: float | None = None

    def row(self) -> tuple:
        return (self.d, self.network, self.loss, float(self.exact.variance),
                float(self.exact.bound), mp.nstr(self.ratio, 15))


def hypercube_points_mp(d: int) -> list[list[int]]:
    """The points x_b of {-1,+1}^d in the order of `optverify.theorems.orthogonal_gradient_variance.walsh_hadamard`."""
    return [[1 - 2 * (b >> i & 1) for i in range(d)] for b in range(2**d)]


def predictions_and_gradients_mp(model: Model, d: int) -> EnumeratedModel:
    """p and g at all 2^d points, at the working precision."""
    points = hypercube_points_mp(d)
    if isinstance(model, LinearModel):
        weight = [mp.mpf(v) for v in model.weight.tolist()]
        offset = mp.mpf(float(model.offset))
        predictions = [mp.fsum(w * x for w, x in zip(weight, point)) + offset for point in points]
        rows = [[mp.mpf(point[i]) for point in points] for i in range(d)]
        return EnumeratedModel(predictions, rows + [[mp.one] * len(points)])
    hidden = [[mp.mpf(v) for v in row] for row in model.hidden.tolist()]
    bias = [mp.mpf(v) for v in model.bias.tolist()]
    output = [mp.mpf(v) for v in model.output.tolist()]
    pre = [[mp.fsum(u * x for u, x in zip(row, point)) + b for point in points]
           for row, b in zip(hidden, bias)]
    predictions = [mp.fsum(a * max(z[n], 0) for a, z in zip(output, pre))
                   + mp.mpf(float(model.offset)) for n in range(len(points))]
    rows = []
    for a, z in zip(output, pre):
        active = [a if value > 0 else mp.zero for value in z]
        rows.append([max(value, 0) for value in z])
        rows.extend([active[n] * points[n][i] for n in range(len(points))] for i in range(d))
        rows.append(active)
    rows.append([mp.one] * len(points))
    return EnumeratedModel(predictions, rows)


def _hinge_slope(z):
    return -mp.one if z < 1 else mp.zero


def target_weights_mp(loss: str, predictions) -> list:
    """c1(x): -1 for the square loss, (r'(p) + r'(-p)) / 2 for the hinge loss (see model.py)."""
    if loss == "square":
        return [-mp.one] * len(predictions)
    return [(_hinge_slope(p) + _hinge_slope(-p)) / 2 for p in predictions]


def exact_variance(model: Model, loss: str, d: int) -> ExactVariance:
    """Var over all 2^d parities by the mpmath butterfly, with the bound and the Parseval form."""
    enumerated = predictions_and_gradients_mp(model, d)
    weights = target_weights_mp(loss, enumerated.predictions)
    size = 2**d
    variance = gradient_bound = weighted_norm = corner = mp.zero
    for row in enumerated.rows:
        weighted = [c * g for c, g in zip(weights, row)]
        coefficients = parity_correlations_mp(weighted)
        mean = mp.fsum(coefficients) / size
        variance += mp.fsum((c - mean) ** 2 for c in coefficients) / size
        gradient_bound += mp.fsum(g**2 for g in row) / size
        weighted_norm += mp.fsum(v**2 for v in weighted) / size
        corner += weighted[0] ** 2
    return ExactVariance(variance, gradient_bound / size,
                         weighted_norm / size - corner / size**2, weighted_norm / size)


def loss_slope_mp(loss: str, prediction, target):
    if loss == "square":
        return prediction - target
    return _hinge_slope(prediction * target) * target


def definition_variance(model: Model, loss: str, d: int, targets_less: int = 0):
    """Var from its definition: grad F_{h_S} = E_x[l'(p(x), h_S(x)) g(x)] one target at a time;
    the spread is divided by 2^d - targets_less (1: the sample variance, a false alternative)."""
    points = hypercube_points_mp(d)
    enumerated = predictions_and_gradients_mp(model, d)
    size = 2**d
    gradients = []
    for s in range(size):
        targets = [mp.mpf((-1) ** sum(1 for i in range(d) if s >> i & 1 and x[i] < 0))
                   for x in points]
        slopes = [loss_slope_mp(loss, p, t) for p, t in zip(enumerated.predictions, targets)]
        gradients.append([mp.fsum(c * g for c, g in zip(slopes, row)) / size
                          for row in enumerated.rows])
    means = [mp.fsum(column) / size for column in zip(*gradients)]
    return mp.fsum(mp.fsum((g - m) ** 2 for g, m in zip(gradient, means))
                   for gradient in gradients) / (size - targets_less)


def models_for(d: int, config: NumericConfig, s: Session) -> list[NamedModel]:
    """The enumerated networks, drawn in float64 and used exactly."""
    generator = s.generator(f"numeric-networks-{d}")
    width = config.width_per_dimension * d
    networks = [NamedModel(f"ReLU width {width}, scale {scale:g}",
                           relu_network(d, width, scale, generator, torch.float64, s.device))
                for scale in RELU_SCALES]
    return networks + [NamedModel("linear",
                                  linear_model(d, 1.0, generator, torch.float64, s.device))]


def enumerate_instance(d: int, network: NamedModel, loss: str,
                       config: NumericConfig) -> Instance:
    """Var of one network and loss over all 2^d parities at the working precision."""
    exact = exact_variance(network.model, loss, d)
    ratio = exact.variance / exact.bound
    definition = sample = None
    if d in config.naive_dimensions:
        by_definition = definition_variance(network.model, loss, d)
        definition = float(abs(by_definition - exact.variance) / exact.bound)
        size = 2**d
        sample = float(abs(by_definition * size / (size - 1) - exact.variance) / exact.bound)
    return Instance(d, network.label, loss, exact, ratio, float(1 - ratio),
                    float(abs(exact.variance - exact.parseval_variance) / exact.bound), definition,
                    float(abs(exact.variance - exact.cornerless_variance) / exact.bound), sample)


QUADRATURE_DIGITS = 50
"""The cosine-objective quadrature runs at min(precision, 50) digits: mpmath's tanh-sinh
quadrature of the oscillating Gaussian integrand over the real line grows steeply with the
digits (one (w, v) pair: 1.7 s at 50 digits, 3.3 s at 100, 46 s at 200 on the shared 2-core
machine; the quick layer took 1444 s at 500 digits). Above 50 digits the check is the same
comparison at 50 digits, judged against that precision's floor and reported with its digits."""


def quadrature_residual(pairs: tuple[tuple[float, float], ...], variance=1) -> float:
    """max over (w, v) of |closed-form F_v(w) - Gaussian quadrature| in 1-D, the closed form
    written with E cos(a x) = exp(-variance a^2 / 2) (variance 1: x ~ N(0, 1), the identity;
    variance 2: the false alternative N(0, 2))."""
    return max(float(abs(cosine_objective_quadrature_mp(w, v)
                         - cosine_objective_mp([w], [v], variance)))
               for w, v in pairs)


def bound_values(instances: list[Instance]) -> dict[str, float | int]:
    """The instance count, the closest ratio, and Var / bound of the scale-1 ReLU nets (square)."""
    tightness = {f"ratio_relu_square_d{i.d}": float(i.ratio) for i in instances
                 if i.loss == "square" and i.network.endswith("scale 1")}
    return {"instances": len(instances),
            "closest_ratio": 1 - min(i.margin for i in instances), **tightness}


SEARCH_DIMENSION = 2
"""The search's inputs {-1,+1}^2 (4 points, 4 parities): small enough for a 13-parameter network to
make every ReLU pattern and hinge margin reachable."""

SEARCH_DOMAIN = {"U": MatrixRange(3, SEARCH_DIMENSION, -2, 2), "b": MatrixRange(1, 3, -2, 2),
                 "a": MatrixRange(1, 3, -2, 2), "c": RealRange(-2, 2)}
"""p_w(x) = sum_k a_k relu(U_k . x + b_k) + c with width 3, every weight in [-2, 2]."""


def hinge_variance_margin(x, m):
    """G^2/|H| - Var(H, F, w) for the hinge loss max(0, 1 - p h) over all parities of
    {-1,+1}^d, d = SEARCH_DIMENSION, p_w a width-3 ReLU layer, written once: ReLU and hinge
    slopes as `m.step` (0 at a kink, torch's convention), so the margin is exact at a rational
    instance."""
    d, width = SEARCH_DIMENSION, len(x["U"])
    points = list(itertools.product((-1, 1), repeat=d))
    parities = [subset for size in range(d + 1) for subset in itertools.combinations(range(d), size)]
    gradients, predictions = [], []
    for point in points:
        pre = [sum(x["U"][k][i] * point[i] for i in range(d)) + x["b"][0][k]
               for k in range(width)]
        active = [m.step(z) for z in pre]
        predictions.append(sum(x["a"][0][k] * m.max(0, pre[k]) for k in range(width)) + x["c"])
        gradients.append([x["a"][0][k] * active[k] * point[i]
                          for k in range(width) for i in range(d)]
                         + [x["a"][0][k] * active[k] for k in range(width)]
                         + [m.max(0, pre[k]) for k in range(width)] + [1])
    size = len(points)

    def loss_gradient(subset):
        signs = [math.prod(point[i] for i in subset) for point in points]
        slopes = [-h * m.step(1 - p * h) for h, p in zip(signs, predictions)]
        return [sum(slope * g[j] for slope, g in zip(slopes, gradients)) / size
                for j in range(len(gradients[0]))]

    per_target = [loss_gradient(subset) for subset in parities]
    mean = [sum(column) / len(parities) for column in zip(*per_target)]
    variance = sum(sum((g - mu) ** 2 for g, mu in zip(gradient, mean))
                   for gradient in per_target) / len(parities)
    bound = sum(sum(v ** 2 for v in g) for g in gradients) / size / len(parities)
    return bound - variance


def verify(s: Session) -> None:
    s.search("hinge-variance-search",
             "Theorem 1 for the hinge loss: Var(H, F, w) <= G(w)^2 / |H| over the 4 parities of "
             "{-1,+1}^2 at every weight of a width-3 ReLU layer in [-2, 2]^13 (exact margin)",
             hinge_variance_margin, SEARCH_DOMAIN)
    config = s.preset(quick=NumericConfig.quick(), full=NumericConfig.full())
    digits = s.precision
    instances = [enumerate_instance(d, network, loss, config)
                 for d in s.progress(config.dimensions, "exact enumeration over d")
                 for network in models_for(d, config, s) for loss in LOSSES]
    s.inequality(
        "variance-below-bound-exact",
        "Theorem 1: Var(H, F, w) <= G(w)^2 / |H| for all 2^d parities, exact enumeration at "
        f"{digits} digits, d in {list(config.dimensions)}, ReLU width 10d at scales "
        f"{list(RELU_SCALES)} and a linear model, square and hinge loss; margin = 1 - Var / "
        "bound (worst case)",
        min(i.margin for i in instances), s.floor(), values=bound_values(instances),
        controls={"a bound twice as tight, Var <= G^2 / (2|H|)":
                  min(1 - 2 * i.ratio for i in instances)})
    s.identity(
        "parseval-closed-form",
        "for the complete parity class Var = E_x||c1 g||^2 / 2^d - ||c1 g(1,...,1)||^2 / 4^d "
        "(Parseval), residual relative to G^2 / |H|, max over instances",
        max(i.parseval_residual for i in instances),
        controls={"Var = E_x||c1 g||^2 / 2^d (the corner term dropped)":
                  max(i.cornerless_residual for i in instances)})
    s.identity(
        "butterfly-equals-per-target-definition",
        "Var from the Walsh-Hadamard butterfly equals Var from grad F_h = E_x[l'(p, h) g] "
        f"computed one target at a time, d in {list(config.naive_dimensions)} "
        "(relative to G^2 / |H|)",
        max(i.definition_residual for i in instances if i.definition_residual is not None),
        controls={"the definition with the sample variance's 1/(2^d - 1) over targets":
                  max(i.sample_variance_residual for i in instances
                      if i.sample_variance_residual is not None)})
    quadrature_digits = min(digits, QUADRATURE_DIGITS)
    with mp.workdps(quadrature_digits):
        quadrature = quadrature_residual(config.quadrature_pairs)
        wrong_quadrature = quadrature_residual(config.quadrature_pairs, variance=2)
        quadrature_floor = mp.mpf(10) ** -(quadrature_digits - (digits - s.floor_digits))
    s.identity(
        "cosine-objective-closed-form",
        "Theorem 2 example: F_v(w) = E[(cos(wx) - cos(vx))^2], x ~ N(0, 1), closed form "
        "1 + (e^{-2w^2} + e^{-2v^2})/2 - e^{-(w-v)^2/2} - e^{-(w+v)^2/2} against Gaussian "
        f"quadrature at (w, v) in {list(config.quadrature_pairs)}, at {quadrature_digits} "
        "digits (QUADRATURE_DIGITS caps them)",
        quadrature, quadrature_floor, precision_digits=quadrature_digits,
        controls={"the closed form for x ~ N(0, 2) (e^{-a^2} in place of e^{-a^2/2})":
                  wrong_quadrature})
    s.table("exact-variance", "Var(H, F, w) and G^2 / |H| by exact enumeration of all inputs and "
            f"parities ({digits} digits)", ("d", "network", "loss", "Var", "G^2/|H|", "Var/bound"),
            [i.row() for i in instances])
