"""Numeric layer (mpmath): Theorem 1's Var(H, F, w) and G(w)^2 / |H| exactly, by enumeration.

Theorem 1 of Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950: for the 2^d parities on
{-1,+1}^d (x uniform), Var(H, F, w) <= G(w)^2 / 2^d for the square loss and for r(p h) with r
1-Lipschitz (here the hinge loss). All 2^d inputs and all 2^d parities are enumerated at
`config.precision` digits for a ReLU layer of width 10d (weights at scales 0.3, 1, 3) and a linear
model; the per-target gradients come from the mpmath Walsh-Hadamard butterfly and, at the smallest
d, from the per-target definition E_x[l'(p(x), h(x)) g(x)] one target at a time. Also the closed
form of Theorem 2's cosine objective against quadrature.
"""

from __future__ import annotations

from dataclasses import dataclass

from mpmath import mp

from optverify.claim import Layer, Progress, RunConfig
from optverify.results import LayerResult, Table
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
from optverify.theorems.orthogonal_gradient_variance.walsh_hadamard import (
    parity_correlations_mp,
)
from optverify.verdict import identity_check, inequality_check

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
    def for_run(cls, config: RunConfig) -> NumericConfig:
        if config.quick:
            return cls(dimensions=(2, 3, 4), naive_dimensions=(2, 3))
        return cls(dimensions=(2, 3, 4, 5, 6), naive_dimensions=(2, 3, 4))


@dataclass(frozen=True)
class ExactVariance:
    """Var, G^2 / 2^d and the Parseval form E||c1 g||^2 / 2^d - ||c1 g(x_0)||^2 / 4^d, as mpf."""

    variance: object
    bound: object
    parseval_variance: object


def hypercube_points_mp(d: int) -> list[list[int]]:
    """The points x_b of {-1,+1}^d in the order of `optverify.theorems.orthogonal_gradient_variance.walsh_hadamard`."""
    return [[1 - 2 * (b >> i & 1) for i in range(d)] for b in range(2**d)]


def predictions_and_gradients_mp(model: Model, d: int):
    """(p(x_b) for all b, per-parameter rows [g_j(x_b)]_b) at the working precision."""
    points = hypercube_points_mp(d)
    if isinstance(model, LinearModel):
        weight = [mp.mpf(v) for v in model.weight.tolist()]
        offset = mp.mpf(float(model.offset))
        predictions = [mp.fsum(w * x for w, x in zip(weight, point)) + offset for point in points]
        rows = [[mp.mpf(point[i]) for point in points] for i in range(d)]
        return predictions, rows + [[mp.one] * len(points)]
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
    return predictions, rows


def _hinge_slope(z):
    return -mp.one if z < 1 else mp.zero


def target_weights_mp(loss: str, predictions) -> list:
    """c1(x): -1 for the square loss, (r'(p) + r'(-p)) / 2 for the hinge loss (see model.py)."""
    if loss == "square":
        return [-mp.one] * len(predictions)
    return [(_hinge_slope(p) + _hinge_slope(-p)) / 2 for p in predictions]


def exact_variance(model: Model, loss: str, d: int) -> ExactVariance:
    """Var over all 2^d parities by the mpmath butterfly, with the bound and the Parseval form."""
    predictions, rows = predictions_and_gradients_mp(model, d)
    weights = target_weights_mp(loss, predictions)
    size = 2**d
    variance = gradient_bound = weighted_norm = corner = mp.zero
    for row in rows:
        weighted = [c * g for c, g in zip(weights, row)]
        coefficients = parity_correlations_mp(weighted)
        mean = mp.fsum(coefficients) / size
        variance += mp.fsum((c - mean) ** 2 for c in coefficients) / size
        gradient_bound += mp.fsum(g**2 for g in row) / size
        weighted_norm += mp.fsum(v**2 for v in weighted) / size
        corner += weighted[0] ** 2
    return ExactVariance(variance, gradient_bound / size,
                         weighted_norm / size - corner / size**2)


def loss_slope_mp(loss: str, prediction, target):
    if loss == "square":
        return prediction - target
    return _hinge_slope(prediction * target) * target


def definition_variance(model: Model, loss: str, d: int):
    """Var from its definition: grad F_{h_S} = E_x[l'(p(x), h_S(x)) g(x)] one target at a time."""
    points = hypercube_points_mp(d)
    predictions, rows = predictions_and_gradients_mp(model, d)
    size = 2**d
    gradients = []
    for s in range(size):
        targets = [mp.mpf((-1) ** sum(1 for i in range(d) if s >> i & 1 and x[i] < 0))
                   for x in points]
        slopes = [loss_slope_mp(loss, p, t) for p, t in zip(predictions, targets)]
        gradients.append([mp.fsum(c * g for c, g in zip(slopes, row)) / size for row in rows])
    means = [mp.fsum(column) / size for column in zip(*gradients)]
    return mp.fsum(mp.fsum((g - m) ** 2 for g, m in zip(gradient, means))
                   for gradient in gradients) / size


def models_for(d: int, settings: NumericConfig, config: RunConfig):
    """The enumerated networks: (label, model) pairs, drawn in float64 and used exactly."""
    import torch

    generator = config.torch_generator(f"numeric-networks-{d}")
    width = settings.width_per_dimension * d
    networks = [(f"ReLU width {width}, scale {scale:g}",
                 relu_network(d, width, scale, generator, torch.float64, config.device))
                for scale in RELU_SCALES]
    return networks + [("linear", linear_model(d, 1.0, generator, torch.float64, config.device))]


def verify(config: RunConfig, progress: Progress) -> LayerResult:
    settings = NumericConfig.for_run(config)
    digits = config.precision
    tolerance = 10.0 ** -(digits - 10)  # relative floor of an mpmath sum at `digits` digits
    rows, margins, parseval, naive = [], [], [], []
    tightness = {}
    with mp.workdps(digits):
        for d in progress(settings.dimensions, "exact enumeration over d"):
            for label, model in models_for(d, settings, config):
                for loss in LOSSES:
                    exact = exact_variance(model, loss, d)
                    ratio = exact.variance / exact.bound
                    margins.append(float(1 - ratio))
                    parseval.append(float(abs(exact.variance - exact.parseval_variance)
                                          / exact.bound))
                    if d in settings.naive_dimensions:
                        naive.append(float(abs(definition_variance(model, loss, d)
                                               - exact.variance) / exact.bound))
                    if loss == "square" and label.endswith("scale 1"):
                        tightness[f"ratio_relu_square_d{d}"] = float(ratio)
                    rows.append((d, label, loss, float(exact.variance), float(exact.bound),
                                 mp.nstr(ratio, 15)))
        quadrature = max(
            float(abs(cosine_objective_quadrature_mp(w, v) - cosine_objective_mp([w], [v])))
            for w, v in settings.quadrature_pairs)
    checks = (
        inequality_check(
            Layer.NUMERIC, "variance-below-bound-exact",
            "Theorem 1: Var(H, F, w) <= G(w)^2 / |H| for all 2^d parities, exact enumeration at "
            f"{digits} digits, d in {list(settings.dimensions)}, ReLU width 10d at scales "
            f"{list(RELU_SCALES)} and a linear model, square and hinge loss; margin = 1 - Var / "
            "bound (worst case)",
            min(margins), tolerance,
            values={"instances": len(margins), "closest_ratio": 1 - min(margins), **tightness}),
        identity_check(
            Layer.NUMERIC, "parseval-closed-form",
            "for the complete parity class Var = E_x||c1 g||^2 / 2^d - ||c1 g(1,...,1)||^2 / 4^d "
            "(Parseval), residual relative to G^2 / |H|, max over instances",
            max(parseval), tolerance, precision_digits=digits),
        identity_check(
            Layer.NUMERIC, "butterfly-equals-per-target-definition",
            "Var from the Walsh-Hadamard butterfly equals Var from grad F_h = E_x[l'(p, h) g] "
            f"computed one target at a time, d in {list(settings.naive_dimensions)} "
            "(relative to G^2 / |H|)",
            max(naive), tolerance, precision_digits=digits),
        identity_check(
            Layer.NUMERIC, "cosine-objective-closed-form",
            "Theorem 2 example: F_v(w) = E[(cos(wx) - cos(vx))^2], x ~ N(0, 1), closed form "
            "1 + (e^{-2w^2} + e^{-2v^2})/2 - e^{-(w-v)^2/2} - e^{-(w+v)^2/2} against Gaussian "
            f"quadrature at (w, v) in {list(settings.quadrature_pairs)}",
            quadrature, tolerance, precision_digits=digits),
    )
    table = Table(
        "exact-variance", "Var(H, F, w) and G^2 / |H| by exact enumeration of all inputs and "
        f"parities ({digits} digits)", ("d", "network", "loss", "Var", "G^2/|H|", "Var/bound"),
        tuple(rows))
    return LayerResult(Layer.NUMERIC, checks=checks, tables=(table,))
