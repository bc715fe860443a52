"""Second-order steps near saddles and the random landscapes of `saddle-points`, batched in torch.

Source: Dauphin, Pascanu, Gulcehre, Cho, Ganguli, Bengio (2014), arXiv:1406.2572: Section 4
(Newton's step -H^{-1} g rescales each eigendirection by 1/lambda_i and so moves towards a saddle
along its negative-curvature directions; gradient descent moves away from it at rate |lambda_i|),
Section 5 (the saddle-free Newton step -|H|^{-1} g, |H| the Hessian with its eigenvalues replaced
by their absolute values) and Section 3 (Bray and Dean: critical points of a Gaussian random field
with higher loss have a larger index, the fraction of negative Hessian eigenvalues).

All step functions take points (..., d), gradients (..., d) and Hessians (..., d, d) with any
leading batch dimensions. The quadratic saddle is f(x) = sum_i lambda_i x_i^2 / 2 (diagonal
Hessian diag(lambda)); its closed-form GD iterate is x_i(t) = (1 - eta lambda_i)^t x_i(0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import permutations

import torch

from optverify.numerics.validation import require_finite, require_int, require_positive


def newton_step(point: torch.Tensor, gradient: torch.Tensor, hessian: torch.Tensor) -> torch.Tensor:
    """x - H^{-1} g (Dauphin et al., Section 4): attracted to every non-degenerate critical point."""
    for name, values in (("the point", point), ("the gradient", gradient),
                         ("the Hessian", hessian)):
        require_finite(name, values)
    return point - torch.linalg.solve(hessian, gradient.unsqueeze(-1)).squeeze(-1)


def saddle_free_newton_step(
    point: torch.Tensor, gradient: torch.Tensor, hessian: torch.Tensor
) -> torch.Tensor:
    """x - |H|^{-1} g with |H| = V |Lambda| V^T (Dauphin et al., Section 5, Eq. (11))."""
    for name, values in (("the point", point), ("the gradient", gradient),
                         ("the Hessian", hessian)):
        require_finite(name, values)
    eigenvalues, vectors = torch.linalg.eigh(hessian)
    coordinates = (vectors.mT @ gradient.unsqueeze(-1)).squeeze(-1) / eigenvalues.abs()
    return point - (vectors @ coordinates.unsqueeze(-1)).squeeze(-1)


def quadratic_gradient(point: torch.Tensor, eigenvalues: torch.Tensor) -> torch.Tensor:
    """grad f = diag(lambda) x for f(x) = sum_i lambda_i x_i^2 / 2 (d >= 2: a saddle needs two
    directions)."""
    require_int("the dimension d of a saddle", eigenvalues.shape[-1], minimum=2)
    require_finite("the point", point)
    return eigenvalues * point


def quadratic_hessian(eigenvalues: torch.Tensor, batch_shape: torch.Size) -> torch.Tensor:
    return torch.diag_embed(eigenvalues).expand(*batch_shape, -1, -1)


def gd_escape_steps_closed_form(distance, eta, curvature, radius):
    """Steps for GD to take |y_t| = (1 + eta b)^t |y_0| from |y_0| = distance past `radius`:
    ceil(log(R / |y_0|) / log(1 + eta b)) (the escape time ~ log(1/eps) / (eta |lambda_-|))."""
    for name, value in (("the distance eps", distance), ("the step size eta", eta),
                        ("the curvature b", curvature), ("the radius R", radius)):
        require_positive(name, value)
    return torch.ceil(torch.log(radius / distance) / torch.log1p(eta * curvature))


@dataclass(frozen=True)
class GaussianFieldQuartic:
    """A batch of random functions f(x) = |x|^4 / 4 + sigma V(x), V an isotropic Gaussian
    polynomial field.

    V(x) = sum_{k=1}^{3} <T_k, x^{(x)k}> / sqrt(k!) with T_k symmetrized iid N(0, 1) tensors, so
    E V(x) V(y) = sum_k (x.y)^k / k! (a truncated exp(x.y) kernel, isotropic); the deterministic
    |x|^4 / 4 confines the critical points to a ball of radius ~ sigma (the Bray-Dean setting of a
    Gaussian field in a confining potential). linear (F, d), quadratic (F, d, d), cubic
    (F, d, d, d): the tensors of F functions, each already multiplied by sigma.
    """

    linear: torch.Tensor
    quadratic: torch.Tensor
    cubic: torch.Tensor

    @property
    def dimension(self) -> int:
        return self.linear.shape[-1]

    def value(self, x: torch.Tensor) -> torch.Tensor:
        """f at points x (F, S, d) -> (F, S)."""
        cubic = torch.einsum("fijk,fsi,fsj,fsk->fs", self.cubic, x, x, x) / math.sqrt(6)
        quadratic = torch.einsum("fij,fsi,fsj->fs", self.quadratic, x, x) / math.sqrt(2)
        linear = torch.einsum("fi,fsi->fs", self.linear, x)
        return (x * x).sum(-1) ** 2 / 4 + cubic + quadratic + linear

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        cubic = 3 * torch.einsum("fijk,fsj,fsk->fsi", self.cubic, x, x) / math.sqrt(6)
        quadratic = 2 * torch.einsum("fij,fsj->fsi", self.quadratic, x) / math.sqrt(2)
        confining = (x * x).sum(-1, keepdim=True) * x
        return confining + cubic + quadratic + self.linear.unsqueeze(1)

    def hessian(self, x: torch.Tensor) -> torch.Tensor:
        cubic = 6 * torch.einsum("fijk,fsk->fsij", self.cubic, x) / math.sqrt(6)
        quadratic = 2 * self.quadratic.unsqueeze(1) / math.sqrt(2)
        eye = torch.eye(self.dimension, dtype=x.dtype, device=x.device)
        confining = (x * x).sum(-1)[..., None, None] * eye + 2 * x.unsqueeze(-1) * x.unsqueeze(-2)
        return confining + cubic + quadratic


def symmetrized(tensor: torch.Tensor, order: int) -> torch.Tensor:
    """The average of a (F, d, ..., d) tensor over all permutations of its last `order` axes."""
    lead = tensor.dim() - order
    perms = list(permutations(range(lead, lead + order)))
    return sum(tensor.permute(*range(lead), *p) for p in perms) / len(perms)


def random_quartic_fields(
    functions: int, dimension: int, generator: torch.Generator, dtype, device,
    field_scale: float = 1.0,
) -> GaussianFieldQuartic:
    """`functions` independent draws of `GaussianFieldQuartic` (sigma = field_scale) in d >= 2."""
    require_int("the dimension d of a saddle", dimension, minimum=2)
    require_positive("the field scale", field_scale)
    options = {"generator": generator, "dtype": dtype, "device": device}
    d = dimension
    return GaussianFieldQuartic(
        linear=field_scale * torch.randn(functions, d, **options),
        quadratic=field_scale * symmetrized(torch.randn(functions, d, d, **options), 2),
        cubic=field_scale * symmetrized(torch.randn(functions, d, d, d, **options), 3),
    )


@dataclass(frozen=True)
class CoupledSaddle:
    """A batch of non-quadratic strict saddles in d = 1 + m dimensions, z = (x, y), y in R^m:

        f(x, y) = b (x^4/4 - x^2/2 + x^2 |y|^2 / 2) + sum_j (a_j y_j^2 / 2 + c y_j^3 / 3).

    The origin is a strict saddle with Hessian diag(-b, a_1, ..., a_m) (lambda_- = -b). f is even
    in x, so grad_x f = b x (x^2 - 1 + |y|^2) vanishes on x = 0: the hyperplane x = 0 is invariant
    and, for |y_j| < a_j / c, it is the saddle's stable manifold, so a start (eps, y_0) lies eps
    off it. The quartic, the coupling x^2 |y|^2 and the cubic in y make the iterates nonlinear:
    GD's escape time has no closed form. The coupling is scaled by b so that the x-curvature
    b (3x^2 - 1 + |y|^2) stays negative while |y|^2 < 1 - 3x^2 (the escape direction stays one of
    negative curvature, for saddle-free Newton too), and the minima lie at x = +-1 for every b.

    curvature: b (...,); stable: a (..., m); cubic: c.
    """

    curvature: torch.Tensor
    stable: torch.Tensor
    cubic: float = 0.3

    def __post_init__(self) -> None:
        require_positive("the curvature b of a strict saddle", self.curvature)
        require_positive("the stable curvatures a_j of a strict saddle", self.stable)

    def gradient(self, point: torch.Tensor) -> torch.Tensor:
        """grad f at points (..., 1 + m)."""
        require_finite("the point", point)
        x, y = point[..., :1], point[..., 1:]
        b = self.curvature.unsqueeze(-1)
        radial = (y * y).sum(-1, keepdim=True)
        g_x = b * x * (x * x - 1 + radial)
        g_y = self.stable * y + self.cubic * y * y + b * x * x * y
        return torch.cat([g_x, g_y], -1)

    def hessian(self, point: torch.Tensor) -> torch.Tensor:
        """The Hessian at points (..., 1 + m) -> (..., 1 + m, 1 + m)."""
        x, y = point[..., :1], point[..., 1:]
        b = self.curvature.unsqueeze(-1)
        radial = (y * y).sum(-1, keepdim=True)
        h_xx = b * (3 * x * x - 1 + radial)
        h_xy = 2 * b * x * y
        h_yy = torch.diag_embed(self.stable + 2 * self.cubic * y + b * x * x)
        top = torch.cat([h_xx.unsqueeze(-1), h_xy.unsqueeze(-2)], -1)
        bottom = torch.cat([h_xy.unsqueeze(-1), h_yy], -1)
        return torch.cat([top, bottom], -2)

    def value(self, point: torch.Tensor) -> torch.Tensor:
        x, y = point[..., 0], point[..., 1:]
        radial = (y * y).sum(-1)
        return (self.curvature * (x**4 / 4 - x**2 / 2 + x**2 * radial / 2)
                + (self.stable * y * y / 2 + self.cubic * y**3 / 3).sum(-1))
