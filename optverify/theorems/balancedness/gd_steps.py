"""Gradient descent on many random deep linear nets at once, and its exact one-step identity.

Source: the balancedness argument in the proof of Theorem 1 of Arora, Cohen, Hazan (2018),
arXiv:1802.06509. Under GD with step eta (and weight decay lambda), C_j = W_{j+1}^T W_{j+1} -
W_j W_j^T obeys C_j(t+1) = (1 - eta lambda)^2 C_j(t) + eta^2 (G_{j+1}^T G_{j+1} - G_j G_j^T) at
every step; the residual of that identity is measured on every step of the sweeps, against the
identities that wrong updates (layer-wise step sizes, a missing term) would satisfy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import Session
from optverify.numerics.deep_linear import balancedness_gaps, end_to_end, layer_gradients
from optverify.numerics.validation import require_depth, require_finite
from optverify.theorems.balancedness.config import ExperimentConfig

IDENTITY_ULPS = 64
"""One-step identity tolerance: its three terms each carry O(d eps ||W||_F^2) rounding for widths
d <= 4 here, so 64 eps times the largest ||W_j||_F^2 (or eta^2 ||G_j||_F^2) covers them."""


@dataclass(frozen=True)
class Instances:
    """A batch of random deep linear nets: factors (instances, d_j, d_{j-1}) and targets."""

    factors: list[torch.Tensor]
    target: torch.Tensor

    def __post_init__(self) -> None:
        require_depth(len(self.factors))
        for layer in self.factors:
            require_finite("a factor", layer)
        require_finite("the target", self.target)

    def grad_loss(self, end_to_end_matrix: torch.Tensor) -> torch.Tensor:
        """grad L^1(W_e) = W_e - Phi for the square loss."""
        return end_to_end_matrix - self.target


def random_instances(config: ExperimentConfig, s: Session) -> Instances:
    """Unbalanced small Gaussian factors and N(0, 1) targets from the session's 'init' stream."""
    options = {"generator": s.generator("init"), "device": s.device, "dtype": s.torch_dtype}
    factors = [
        config.init_scale / cols**0.5 * torch.randn(config.instances, rows, cols, **options)
        for rows, cols in config.shapes
    ]
    target = torch.randn(config.instances, config.widths[-1], config.widths[0], **options)
    return Instances(factors, target)


def frobenius(matrices: torch.Tensor) -> torch.Tensor:
    return torch.linalg.matrix_norm(matrices)


@dataclass(frozen=True)
class GDStep:
    """One GD step on every layer: the stepped `factors` and the layer `gradients` G_j it used."""

    factors: list[torch.Tensor]
    gradients: list[torch.Tensor]


LAYER_WISE_RATES = "layer-wise step sizes eta_j = j eta"
"""The false world of the drift sweeps' negative control: GD whose layer j takes the step j eta,
no longer one gradient step of L^N, so C_j moves at first order in eta."""


def gd_step(factors, instances: Instances, eta, weight_decay: float = 0.0,
            layer_wise: bool = False) -> GDStep:
    """One GD step on every layer at once. The update is
    `optverify.numerics.deep_linear.gradient_descent_step`'s; the gradients are kept too, for the
    one-step identity. layer_wise: the negative control's wrong update, layer j stepping j eta
    (LAYER_WISE_RATES)."""
    gradients = layer_gradients(factors, instances.grad_loss(end_to_end(factors)))
    rates = [eta * (j + 1) if layer_wise else eta for j in range(len(factors))]
    stepped = [w - rate * (weight_decay * w + g) for w, g, rate in zip(factors, gradients, rates)]
    return GDStep(stepped, gradients)


IDENTITY_VARIANTS = {
    "the claim": (2, 2),
    "GD conserves C_j (no eta^2 term)": (2, 0),
    "eta^1 for eta^2": (2, 1),
    "the factor (1 - eta lambda) for its square": (1, 2),
}
"""(decay power, step power) of the one-step prediction (1 - eta lambda)^a C_j + eta^b (...): the
claim's (2, 2) and the negative controls' wrong exponents (step power 0 drops the term)."""


def one_step_residuals(before, after, gradients, eta, weight_decay: float,
                       variants: dict[str, tuple[int, int]]) -> dict[str, torch.Tensor]:
    """For each (decay power a, step power b) of `variants`:
    max_j ||C_j(t+1) - (1 - eta lambda)^a C_j(t) - eta^b (G_{j+1}^T G_{j+1} - G_j G_j^T)||_F,
    each instance's residual divided by its largest ||W_j||_F^2 (before or after the step), and the
    worst over the batch (a 0-d tensor). The claim is a = b = 2; b = 0 drops the eta^b term."""
    gaps, g_gaps = balancedness_gaps(before), balancedness_gaps(gradients)
    new_gaps = balancedness_gaps(after)
    scale = torch.stack([frobenius(w) ** 2 for w in before] + [frobenius(w) ** 2 for w in after])
    scale = scale.amax(0)
    residuals = {}
    for variant, (decay_power, step_power) in variants.items():
        factor = (1 - eta * weight_decay) ** decay_power
        term = eta**step_power if step_power else 0 * eta
        residual = torch.stack([frobenius(new - factor * gap - term * g_gap)
                                for new, gap, g_gap in zip(new_gaps, gaps, g_gaps)])
        residuals[variant] = (residual.amax(0) / scale).amax()
    return residuals


def one_step_residual(before, after, gradients, eta, weight_decay: float,
                      decay_power: int = 2, step_power: int = 2):
    """max_j ||C_j(t+1) - (1 - eta lambda)^2 C_j(t) - eta^2 (G_{j+1}^T G_{j+1} - G_j G_j^T)||_F,
    each instance's residual divided by its largest ||W_j||_F^2 (before or after the step), and the
    worst over the batch. decay_power, step_power: the exponents 2 and 2 of the prediction,
    replaced for the negative controls (IDENTITY_VARIANTS)."""
    variants = {"residual": (decay_power, step_power)}
    return one_step_residuals(before, after, gradients, eta, weight_decay, variants)["residual"]


def max_gap_drift(factors, initial_gaps) -> torch.Tensor:
    """max_j ||C_j - C_j(0)||_F per instance (and per leading sweep index)."""
    gaps = balancedness_gaps(factors)
    return torch.stack([frobenius(g - g0) for g, g0 in zip(gaps, initial_gaps)]).amax(0)


class IdentityResiduals:
    """The worst one-step identity residual over a sweep's steps, for the claim's prediction and
    for each wrong one of IDENTITY_VARIANTS (the negative controls), computed together."""

    def __init__(self) -> None:
        self._steps: dict[str, list[torch.Tensor]] = {variant: [] for variant in IDENTITY_VARIANTS}
        self._worst: dict[str, float] | None = None

    def add(self, before, step: GDStep, eta, weight_decay: float) -> None:
        found = one_step_residuals(before, step.factors, step.gradients, eta, weight_decay,
                                   IDENTITY_VARIANTS)
        for variant, value in found.items():
            self._steps[variant].append(value)
        self._worst = None

    @property
    def worst(self) -> dict[str, float]:
        if self._worst is None:
            self._worst = {variant: float(torch.stack(values).max()) if values else 0.0
                           for variant, values in self._steps.items()}
        return self._worst

    def merge(self, other: IdentityResiduals) -> IdentityResiduals:
        merged = IdentityResiduals()
        merged._worst = {key: max(value, other.worst[key]) for key, value in self.worst.items()}
        return merged

    @property
    def claim(self) -> float:
        return self.worst["the claim"]

    @property
    def alternatives(self) -> dict[str, float]:
        return {key: value for key, value in self.worst.items() if key != "the claim"}


def stepped_rows(instances: Instances, etas: np.ndarray, counts: np.ndarray,
                 residuals: IdentityResiduals | None, weight_decay: float = 0.0,
                 layer_wise: bool = False, sample=None,
                 identity_every: int = 1) -> list[torch.Tensor]:
    """GD runs batched as leading rows: row r takes counts[r] steps at learning rate etas[r]
    (counts ascending), all rows one tensor program. At step k only the rows still running (a
    suffix) are stepped, so each row's factors are those of its run alone. residuals: collects
    the one-step identity residual of every step of every row (None: not checked, the wrong
    world's runs). sample(k, factors): called before step k (and after the last) with all
    rows' factors. identity_every: the identity is checked at the steps k divisible by it (1:
    every step). Returns the final factors (rows, instances, d_j, d_{j-1})."""
    if np.any(np.diff(counts) < 0):
        raise ValueError(f"the step counts must be ascending, got {counts}")
    first = instances.factors[0]
    rates = torch.tensor(etas, dtype=first.dtype, device=first.device).view(-1, 1, 1, 1)
    factors = [w.expand(len(counts), *w.shape).clone() for w in instances.factors]
    for k in range(int(counts[-1]) + 1):
        if sample is not None:
            sample(k, factors)
        start = int(np.searchsorted(counts, k, side="right"))
        if start == len(counts):
            break
        running = [w[start:] for w in factors]
        step = gd_step(running, instances, rates[start:], weight_decay, layer_wise)
        if residuals is not None and k % identity_every == 0:
            residuals.add(running, step, rates[start:], weight_decay)
        for w, new in zip(factors, step.factors):
            w[start:] = new
    return factors
