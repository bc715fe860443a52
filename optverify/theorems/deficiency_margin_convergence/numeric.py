"""High-precision checks of Theorem 1 and Theorem 2 of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281.

Theorem 1 (mpmath at the session's precision): on instances that meet its hypotheses exactly
(deficiency margin c, delta <= c^2 / (256 N^3 ||Phi||_F^{2(N-1)/N}), eta at the 6144 bound), every
gradient-descent step obeys the lemma l(t+1) <= (1 - eta sigma_min(W_e(t))^{2(N-1)/N}) l(t), the
iterates keep sigma_min(W_e(t)) >= c, and l(t) <= l(0) (1 - eta c^{2(N-1)/N})^t. The step size is
tiny (about 1e-5 .. 1e-8), so the exact matrix trajectories cover only their first steps from the
initialization; the lemma along whole runs to l(T) <= 1e-6 l(0) (the main check here) is decided
on exact steps from checkpoints of the float64 long runs (`long_runs`), which also confirm the
float64 run step by step. A scalar instance (d_0 = d_N = 1) is run for the theorem's full
T(c, eta, N, eps) to a target eps = l(0) e^{-kappa} (kappa = 1 quick, 6 full).
Every decisive check carries its false alternatives: a run that stops at the initialization, a run
at half the guaranteed decrease, a sublinear convergence, instances that are not delta-balanced,
the probability of the wrong event.

Theorem 2 (d_N = 1): for W_e(0) = A ~ N(0, s^2 I) (Procedure 1 makes W_e(0) = A exactly), the
probability that A has a deficiency margin, exactly by a one-dimensional mpmath quadrature, against
a Monte-Carlo estimate over balanced initializations with a Clopper-Pearson interval (scipy.stats).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from fractions import Fraction

import mpmath
import numpy as np
import torch
from mpmath import mp

from optverify.kit import (
    Figure,
    Judgement,
    Panel,
    RealRange,
    Series,
    Session,
    Table,
    Verdict,
)
from optverify.numerics.deep_linear import (
    balanced_factors,
    balancedness_gaps_mp,
    end_to_end,
    end_to_end_mp,
    layer_gradients_mp,
)
from optverify.numerics import alternatives
from optverify.numerics.mp_linalg import frobenius_norm, svd, to_mp
from optverify.numerics.proportions import binomial_proportion
from optverify.numerics.validation import require_depth, require_non_negative
from optverify.theorems.deficiency_margin_convergence import long_runs
from optverify.theorems.deficiency_margin_convergence.conditions import (
    STEP_SIZE_CONSTANT,
    balance_bound,
    deficiency_margin,
    step_size_bound,
)
from optverify.theorems.deficiency_margin_convergence.instances import (
    target_with_spectrum,
    theorem_instance,
)


@dataclass(frozen=True)
class InstanceSpec:
    """A Theorem 1 instance: Phi's shape and singular values, hidden widths, designed margin."""

    rows: int
    cols: int
    singular_values: tuple[float, ...]
    hidden_widths: tuple[int, ...]
    design_margin: float

    @property
    def depth(self) -> int:
        return len(self.hidden_widths) + 1

    def label(self) -> str:
        return f"N={self.depth}, Phi {self.rows}x{self.cols}"


@dataclass(frozen=True)
class NumericConfig:
    """Sizes of the mpmath runs; `quick` and `full` presets."""

    instances: tuple[InstanceSpec, ...]
    steps: int
    scalar_margin: float
    scalar_kappa: float
    probability_inputs: tuple[int, ...]
    probability_scales: tuple[float, ...]
    probability_samples: int

    @classmethod
    def quick(cls) -> NumericConfig:
        return cls(
            instances=(
                InstanceSpec(2, 2, (1.0, 0.6), (3,), 0.3),
                InstanceSpec(2, 3, (1.2, 0.8), (2, 3), 0.4),
            ),
            steps=60,
            scalar_margin=0.9,
            scalar_kappa=1.0,
            probability_inputs=(20, 100),
            probability_scales=(0.1, 0.5, 1.0),
            probability_samples=2000,
        )

    @classmethod
    def full(cls) -> NumericConfig:
        return cls(
            instances=(
                InstanceSpec(2, 2, (1.0, 0.6), (3,), 0.3),
                InstanceSpec(2, 3, (1.2, 0.8), (2, 3), 0.4),
                InstanceSpec(3, 2, (1.5, 1.0), (2, 4, 2), 0.5),
                InstanceSpec(3, 3, (2.0, 1.5, 1.0), (3, 3, 3, 3), 0.6),
            ),
            steps=400,
            scalar_margin=0.9,
            scalar_kappa=6.0,
            probability_inputs=(20, 100, 400),
            probability_scales=(0.05, 0.2, 0.5, 1.0, 2.0),
            probability_samples=10000,
        )


def gram_sigma_min_mp(matrix: mpmath.matrix) -> mpmath.mpf:
    """sigma_min of a matrix from the smallest eigenvalue of its smaller Gram matrix."""
    gram = matrix * matrix.T if matrix.rows <= matrix.cols else matrix.T * matrix
    eigenvalues = mp.eigsy(gram, eigvals_only=True)
    return mp.sqrt(max(min(eigenvalues), mp.zero))


@dataclass(frozen=True)
class LemmaTrajectory:
    """mpmath GD iterates checked against the lemma.

    losses: l(0..steps); sigma_mins: sigma_min(W_e(t)) for t = 0..steps-1;
    worst_lemma_margin: min_t [(1 - eta s_t^p) l(t) - l(t+1)] / l(t) (>= 0 when the lemma holds);
    smallest_decrease_ratio: min_t (l(t) - l(t+1)) / (eta s_t^p l(t)) (>= 1 when the lemma holds).
    """

    losses: tuple[mpmath.mpf, ...]
    sigma_mins: tuple[mpmath.mpf, ...]
    worst_lemma_margin: mpmath.mpf
    smallest_decrease_ratio: mpmath.mpf


def lemma_trajectory_mp(
    factors: Sequence[mpmath.matrix], target: mpmath.matrix, eta, steps: int
) -> LemmaTrajectory:
    """Run `steps` GD steps at the working precision and check the lemma at each one."""
    require_depth(len(factors))
    require_non_negative("the step size eta", eta)
    exponent = mp.mpf(2 * (len(factors) - 1)) / len(factors)
    eta = mp.mpf(eta)
    factors = list(factors)
    residual = end_to_end_mp(factors) - target
    losses = [frobenius_norm(residual) ** 2 / 2]
    sigma_mins = []
    worst_margin, smallest_ratio = mp.inf, mp.inf
    for _ in range(steps):
        sigma = gram_sigma_min_mp(residual + target)
        gradients = layer_gradients_mp(factors, residual)
        factors = [layer - eta * gradient for layer, gradient in zip(factors, gradients)]
        residual = end_to_end_mp(factors) - target
        loss = frobenius_norm(residual) ** 2 / 2
        guaranteed = eta * sigma**exponent * losses[-1]
        worst_margin = min(worst_margin, (losses[-1] - guaranteed - loss) / losses[-1])
        smallest_ratio = min(smallest_ratio, (losses[-1] - loss) / guaranteed)
        sigma_mins.append(sigma)
        losses.append(loss)
    return LemmaTrajectory(tuple(losses), tuple(sigma_mins), worst_margin, smallest_ratio)


@dataclass(frozen=True)
class PreparedInstance:
    """An instance in mpmath with its measured hypotheses."""

    label: str
    depth: int
    factors: tuple[mpmath.matrix, ...]
    target: mpmath.matrix
    margin: mpmath.mpf
    delta: mpmath.mpf
    delta_max: mpmath.mpf
    eta: mpmath.mpf
    eta_max: mpmath.mpf

    @property
    def meets_hypotheses(self) -> bool:
        """margin c > 0, delta <= delta_max(c) and 0 < eta <= eta_max(c), all in mpmath."""
        return bool(self.margin > 0 and self.delta <= self.delta_max and 0 < self.eta <= self.eta_max)


def prepare_instance(spec: InstanceSpec, rng: np.random.Generator,
                     generator: torch.Generator, perturbation_scale: float = 1.0,
                     eta=None) -> PreparedInstance:
    """Build the float64 instance on the CPU (target from `rng`, factors from `generator`), move
    it exactly into mpmath, and measure its hypotheses there. perturbation_scale > 1: the
    false-world instance with a harder balancing perturbation; eta: the step size to keep
    (default: the bound at the measured margin)."""
    target64 = torch.tensor(
        target_with_spectrum(spec.singular_values, spec.rows, spec.cols, rng), dtype=torch.float64
    )
    factors64 = theorem_instance(target64, spec.design_margin, spec.hidden_widths, generator,
                                 perturbation_scale)
    factors = tuple(to_mp(layer.numpy()) for layer in factors64)
    target = to_mp(target64.numpy())
    target_sigma_min = svd(target)[1][-1]
    margin = target_sigma_min - frobenius_norm(end_to_end_mp(factors) - target)
    norm = frobenius_norm(target)
    delta = max(frobenius_norm(gap) for gap in balancedness_gaps_mp(factors))
    return PreparedInstance(
        label=spec.label(),
        depth=spec.depth,
        factors=factors,
        target=target,
        margin=margin,
        delta=delta,
        delta_max=balance_bound(margin, norm, spec.depth) if margin > 0 else mp.zero,
        eta=eta if eta is not None else (step_size_bound(margin, norm, spec.depth) if margin > 0
                                         else mp.zero),
        eta_max=step_size_bound(margin, norm, spec.depth) if margin > 0 else mp.zero,
    )


def envelope_margin(trajectory: LemmaTrajectory, eta, margin, depth: int) -> mpmath.mpf:
    """min_{t >= 1} [l(0) (1 - eta c^p)^t - l(t)] / l(0): Theorem 1's geometric envelope, >= 0 if
    it holds (t = 0 is an equality and is left out)."""
    return envelope_margin_of(trajectory.losses, eta, margin, depth)


def envelope_margin_of(losses: Sequence[mpmath.mpf], eta, margin, depth: int) -> mpmath.mpf:
    factor = 1 - eta * margin ** (mp.mpf(2 * (depth - 1)) / depth)
    start = losses[0]
    return min((start * factor**t - loss) / start for t, loss in enumerate(losses) if t > 0)


def lemma_margin_mp(losses: Sequence[mpmath.mpf], sigma_mins: Sequence[mpmath.mpf], eta,
                    depth: int) -> mpmath.mpf:
    """min_t [(1 - eta s_t^p) l(t) - l(t+1)] / l(t) of a loss curve (the judge of the lemma)."""
    exponent = mp.mpf(2 * (depth - 1)) / depth
    return min((loss - eta * sigma**exponent * loss - following) / loss
               for loss, following, sigma in zip(losses[:-1], losses[1:], sigma_mins))


def stopped_losses(losses: Sequence[mpmath.mpf]) -> tuple[mpmath.mpf, ...]:
    """The alternative 'a run that stops at the initialization': l(t) = l(0)."""
    return alternatives.stopped_run(losses)


def slower_losses(losses: Sequence[mpmath.mpf], sigma_mins: Sequence[mpmath.mpf], eta,
                  depth: int, fraction=mp.mpf(1) / 2) -> tuple[mpmath.mpf, ...]:
    """A run decreasing by `fraction` of the lemma's guarantee: l(t+1) = (1 - f eta s_t^p) l(t)."""
    exponent = mp.mpf(2 * (depth - 1)) / depth
    curve = [losses[0]]
    for sigma in sigma_mins[: len(losses) - 1]:
        curve.append(curve[-1] * (1 - fraction * eta * sigma**exponent))
    return tuple(curve)


def geometric_losses(losses: Sequence[mpmath.mpf], eta, margin, depth: int,
                     fraction=mp.mpf(1) / 2) -> tuple[mpmath.mpf, ...]:
    """A linear convergence at `fraction` of the guaranteed rate: l(0) (1 - f eta c^p)^t."""
    decrease = fraction * eta * margin ** (mp.mpf(2 * (depth - 1)) / depth)
    return alternatives.geometric_run(losses[0], decrease, len(losses))


def sublinear_losses(losses: Sequence[mpmath.mpf], eta, margin,
                     depth: int) -> tuple[mpmath.mpf, ...]:
    """A sublinear convergence at the same initial speed: l(0) / (1 + eta c^p t)."""
    rate = eta * margin ** (mp.mpf(2 * (depth - 1)) / depth)
    return alternatives.sublinear_run(losses[0], rate, len(losses))


@dataclass(frozen=True)
class ScalarTheoremRun:
    """Theorem 1 end to end on a scalar instance: T steps, the target eps and the loss l(T).

    relative_margin: (eps - l(T)) / eps (>= 0 when l(T) <= eps); worst_lemma_margin and
    smallest_decrease_ratio: the lemma along the run (see `LemmaTrajectory`); the control margins:
    (eps - l(T)) / eps for a run that stops at the initialization and for a linear convergence at
    half the guaranteed rate.
    """

    steps_T: int
    eta: float
    epsilon: float
    l_T: float
    l_T_over_epsilon: float
    relative_margin: float
    worst_lemma_margin: float
    smallest_decrease_ratio: float
    stopped_margin: float
    half_rate_margin: float

    @property
    def values(self) -> dict[str, float | int]:
        return {field.name: getattr(self, field.name) for field in fields(self)
                if not field.name.endswith("_margin") or field.name in (
                    "relative_margin", "worst_lemma_margin")}


def scalar_gd_mp(layers: Sequence[mpmath.mpf], target, eta, steps: int):
    """GD on scalar layers w_1..w_N for l = 1/2 (w_N ... w_1 - phi)^2 at the working precision:
    (losses l(0..steps), sigma_min = |w_N ... w_1| at t = 0..steps-1). dl/dw_j = r p / w_j."""
    layers = list(layers)
    product = mp.fprod(layers)
    residual = product - target
    losses, sigmas = [residual**2 / 2], []
    for _ in range(steps):
        sigmas.append(abs(product))
        if len(layers) == 2:  # the same roundings as fprod of the one other factor, without lists
            first, second = layers
            layers = [first - eta * residual * second, second - eta * residual * first]
        else:
            layers = [w - eta * residual * mp.fprod(layers[:j] + layers[j + 1:])
                      for j, w in enumerate(layers)]
        product = mp.fprod(layers)
        residual = product - target
        losses.append(residual**2 / 2)
    return losses, sigmas


def theorem_iteration_margin(x, m):
    """(eps - l(T)) / eps of `scalar_theorem_run`, written once for `--rigorous`: N = 2, Phi = 1,
    w1 = w2 = sqrt(c), eta at Theorem 1's bound, T steps, eps = l(0) e^-kappa."""
    root = m.sqrt(x["c"])
    eta = step_size_bound(x["c"], 1, 2)
    first = second = root
    for _ in range(x["T"]):
        residual = first * second - 1
        first, second = first - eta * residual * second, second - eta * residual * first
    epsilon = (root * root - 1) ** 2 / 2 * m.exp(-x["kappa"])
    return (epsilon - (first * second - 1) ** 2 / 2) / epsilon


def scalar_theorem_run(margin: float, kappa: float, digits: int) -> ScalarTheoremRun:
    """Theorem 1 end to end for d_0 = d_N = 1, N = 2, Phi = 1 at `digits` digits: run
    T = log(l(0)/eps)/(eta c) steps with eps = l(0) e^{-kappa} and eta at the bound, and compare
    l(T) with eps (scalar mpmath arithmetic, the same GD as the matrix runs for 1 x 1 factors)."""
    depth = 2
    with mp.workdps(digits):
        root = mp.sqrt(mp.mpf(margin))  # W_e(0) = Phi - (sigma_min(Phi) - c) = c: margin exactly c
        eta = step_size_bound(mp.mpf(margin), mp.one, depth)
        rate = eta * mp.mpf(margin) ** (mp.mpf(2 * (depth - 1)) / depth)
        steps = int(mp.ceil(mp.mpf(kappa) / rate))
        losses, sigmas = scalar_gd_mp([root, root], mp.one, eta, steps)
        epsilon = losses[0] * mp.exp(-mp.mpf(kappa))

        def margin_of(curve) -> float:
            return float((epsilon - curve[-1]) / epsilon)

        power = mp.mpf(2 * (depth - 1)) / depth
        ratio = min((loss - following) / (eta * sigma ** power * loss)
                    for loss, following, sigma in zip(losses[:-1], losses[1:], sigmas))
        return ScalarTheoremRun(
            steps_T=steps,
            eta=float(eta),
            epsilon=float(epsilon),
            l_T=float(losses[-1]),
            l_T_over_epsilon=float(losses[-1] / epsilon),
            relative_margin=margin_of(losses),
            worst_lemma_margin=float(lemma_margin_mp(losses, sigmas, eta, depth)),
            smallest_decrease_ratio=float(ratio),
            stopped_margin=margin_of(stopped_losses(losses)),
            half_rate_margin=float((epsilon - losses[0] * (1 - rate / 2) ** steps) / epsilon),
        )


def margin_probability_mp(inputs: int, scale: float, margin: float, target_norm: float = 1.0):
    """P(||A - Phi||_2 <= ||Phi||_2 - c) for A ~ N(0, s^2 I_{d_0}) (d_N = 1), by quadrature.

    With Phi = ||Phi|| e_1 (rotation invariance), ||A - Phi||^2 = (s Z - phi)^2 + s^2 Q with Z normal
    and Q ~ chi^2_{d_0 - 1} independent; the event is |s Z - phi| <= r(Q) = sqrt(R^2 - s^2 Q),
    R = phi - c, so P = int_0^{R^2/s^2} [Phi_N((phi + r)/s) - Phi_N((phi - r)/s)] f_Q(q) dq.
    """
    phi, s = mp.mpf(target_norm), mp.mpf(scale)
    radius = phi - mp.mpf(margin)
    if radius <= 0:
        return mp.zero
    upper = radius**2 / s**2
    dof = inputs - 1

    def integrand(q):
        r = mp.sqrt(max(radius**2 - s**2 * q, mp.zero))
        density = mp.exp((dof / mp.mpf(2) - 1) * mp.log(q) - q / 2 - mp.loggamma(dof / mp.mpf(2))
                         - dof / mp.mpf(2) * mp.log(2))
        return (mp.ncdf((phi + r) / s) - mp.ncdf((phi - r) / s)) * density

    spread = 12 * mp.sqrt(2 * dof)
    points = sorted({mp.zero, max(dof - spread, mp.zero), mp.mpf(dof),
                     min(dof + spread, upper), upper})
    points = [p for p in points if p <= upper]
    return mp.quad(integrand, points)


def reference_margin(scale: float, inputs: int, target_norm: float = 1.0) -> float:
    """c_ref = s^2 d_0 / ||Phi||: the size of ||W_e(0)||^2 / ||Phi|| at this initialization scale."""
    return scale**2 * inputs / target_norm


@dataclass(frozen=True)
class ProbabilityCell:
    """Exact and Monte-Carlo probabilities of a deficiency margin for one (d_0, s d_0 / ||Phi||)."""

    inputs: int
    relative_scale: float
    exact_positive: float
    exact_reference: float
    hits_reference: int
    samples: int
    ci95: tuple[float, float]
    ci999: tuple[float, float]


def probability_cell(inputs: int, relative_scale: float, samples: int,
                     generator: torch.Generator) -> ProbabilityCell:
    """One cell of the Theorem 2 sweep: ||Phi|| = 1, s = relative_scale / d_0, depth 3; the
    Monte-Carlo draws come from `generator` (a CPU generator)."""
    scale = relative_scale / inputs
    c_ref = reference_margin(scale, inputs)
    with mp.workdps(30):  # a probability compared with a Monte-Carlo estimate: 30 digits suffice
        exact_positive = float(margin_probability_mp(inputs, scale, 0.0))
        exact_reference = float(margin_probability_mp(inputs, scale, c_ref))
    target = torch.zeros(1, inputs, dtype=torch.float64)
    target[0, 0] = 1.0
    draws = scale * torch.randn(samples, 1, inputs, generator=generator, dtype=torch.float64)
    factors = balanced_factors(draws, (2, 2))
    margins = deficiency_margin(end_to_end(factors), target)
    hits = int((margins >= c_ref).sum())
    return ProbabilityCell(inputs, relative_scale, exact_positive, exact_reference, hits, samples,
                           *_clopper_pearson_pair(hits, samples))


def _clopper_pearson_pair(hits: int, samples: int) -> tuple[tuple[float, float], ...]:
    """The 95% and 99.9% Clopper-Pearson intervals of hits / samples, as (low, high) pairs."""
    proportion = binomial_proportion(hits, samples)
    return tuple((interval.low, interval.high) for interval in
                 (proportion.proportion_ci(0.95), proportion.proportion_ci(0.999)))


def cpu_generator(s: Session, purpose: str) -> torch.Generator:
    """A CPU torch generator seeded like `s.generator(purpose)`: the mpmath layer builds its
    float64 instances on the CPU whatever the run's device."""
    return torch.Generator().manual_seed(s.config.seed_for(purpose))


@dataclass(frozen=True)
class Theorem1Runs:
    """The prepared instances and their mpmath GD trajectories, with the lemma's measurements, and
    the false-world instances of the hypotheses check (the balancing perturbation
    HARDER_PERTURBATION times larger, at the same eta)."""

    prepared: tuple[PreparedInstance, ...]
    trajectories: tuple[LemmaTrajectory, ...]
    harder: tuple[PreparedInstance, ...] = ()

    @property
    def pairs(self):
        return zip(self.prepared, self.trajectories)

    @property
    def met(self) -> list[bool]:
        return [p.meets_hypotheses for p in self.prepared]

    @property
    def hypotheses(self) -> dict[str, float]:
        return {f"{p.label} {key}": float(value) for p in self.prepared
                for key, value in (("c", p.margin), ("delta", p.delta),
                                   ("delta_max", p.delta_max), ("eta", p.eta))}

    @property
    def worst_lemma_margin(self) -> float:
        return min(float(t.worst_lemma_margin) for t in self.trajectories)

    def lemma_margin_of(self, alternative) -> float:
        """The lemma's judge on `alternative(prepared, trajectory)` loss curves."""
        return min(float(lemma_margin_mp(alternative(p, t), t.sigma_mins, p.eta, p.depth))
                   for p, t in self.pairs)

    def envelope_margin_of(self, alternative) -> float:
        return min(float(envelope_margin_of(alternative(p, t), p.eta, p.margin, p.depth))
                   for p, t in self.pairs)

    @property
    def decrease_ratios(self) -> dict[str, float]:
        return {f"{p.label}: min decrease / guaranteed": float(t.smallest_decrease_ratio)
                for p, t in self.pairs}

    @property
    def steps(self) -> int:
        return len(self.trajectories[0].losses) - 1

    @property
    def sigma_margin(self) -> float:
        """min_t sigma_min(W_e(t)) - c over the instances."""
        return min(float(min(t.sigma_mins) - p.margin) for p, t in self.pairs)

    @property
    def envelope_margin(self) -> float:
        return min(float(envelope_margin(t, p.eta, p.margin, p.depth)) for p, t in self.pairs)

    @property
    def loss_ratios(self) -> dict[str, float]:
        return {f"{p.label}: l(T)/l(0)": float(t.losses[-1] / t.losses[0]) for p, t in self.pairs}


HARDER_PERTURBATION = 100.0
"""The hypotheses check's false world: the balancing perturbation 100 times larger (delta then
exceeds delta_max(c), which the perturbation meets at delta_max(c/2) = delta_max(c) / 4)."""


def theorem1_runs(s: Session, settings: NumericConfig) -> Theorem1Runs:
    """Prepare every instance and run `settings.steps` mpmath GD steps on it (at the working
    precision; call inside `mp.workdps(s.precision)`)."""
    prepared = tuple(prepare_instance(spec, s.rng(f"theorem1-instance-{i}"),
                                      cpu_generator(s, f"theorem1-factors-{i}"))
                     for i, spec in enumerate(settings.instances))
    harder = tuple(prepare_instance(spec, s.rng(f"theorem1-instance-{i}"),
                                    cpu_generator(s, f"theorem1-factors-{i}"),
                                    HARDER_PERTURBATION, eta=p.eta)
                   for i, (spec, p) in enumerate(zip(settings.instances, prepared)))
    trajectories = tuple(lemma_trajectory_mp(p.factors, p.target, p.eta, settings.steps)
                         for p in s.progress(prepared, "mpmath GD on Theorem 1 instances"))
    return Theorem1Runs(prepared, trajectories, harder)


@dataclass(frozen=True)
class CheckpointSteps:
    """Exact mpmath GD steps from the float64 checkpoints of a long run (every instance).

    lemma, stopped, slower: the lemma's worst relative margin over the checkpoint steps, for the
    exact steps and for the alternatives 'a run that stops' (l(t+1) = l(t)) and 'half the lemma's
    decrease'; twin: max |l_float64(t+1) - l_exact(t+1)| / l_exact(t+1), off_by_one: the same with
    the float64 loss one step later; smallest_ratio: l_exact(t)/l(0) at the last checkpoint.
    """

    run: long_runs.LongRun
    points: int
    lemma: float
    stopped: float
    slower: float
    twin: float
    off_by_one: float
    smallest_ratio: float


def checkpoint_steps(run: long_runs.LongRun) -> CheckpointSteps:
    """One exact GD step at the working precision from each checkpoint's float64 factors (moved
    exactly into mpmath), judged by the lemma and compared with the float64 run's next loss."""
    eta, depth = mp.mpf(run.eta), run.depth
    lemma, stopped, slower, twin, off_by_one, last = [], [], [], [], [], mp.one
    points = 0
    for t, factors in run.checkpoints:
        if t + 2 > run.steps:
            continue
        for b in range(run.losses.shape[1]):
            trajectory = lemma_trajectory_mp([to_mp(layer[b]) for layer in factors],
                                             to_mp(run.targets[b]), eta, 1)
            losses, sigmas = trajectory.losses, trajectory.sigma_mins
            lemma.append(trajectory.worst_lemma_margin)
            stopped.append(lemma_margin_mp(stopped_losses(losses), sigmas, eta, depth))
            slower.append(lemma_margin_mp(slower_losses(losses, sigmas, eta, depth), sigmas, eta,
                                          depth))
            twin.append(abs(mp.mpf(float(run.losses[t + 1, b])) - losses[1]) / losses[1])
            off_by_one.append(abs(mp.mpf(float(run.losses[t + 2, b])) - losses[1]) / losses[1])
            last = min(last, losses[0] / mp.mpf(float(run.losses[0, b])))
            points += 1
    return CheckpointSteps(run, points, float(min(lemma)), float(min(stopped)), float(min(slower)),
                           float(max(twin)), float(max(off_by_one)), float(last))


def theorem2_sweep(s: Session, settings: NumericConfig) -> Theorem2Sweep:
    """Every (d_0, s d_0 / ||Phi||) cell, each with its own CPU Monte-Carlo stream."""
    return Theorem2Sweep(tuple(
        probability_cell(inputs, scale, settings.probability_samples,
                         cpu_generator(s, f"theorem2-{inputs}-{scale}"))
        for inputs in settings.probability_inputs
        for scale in s.progress(settings.probability_scales, f"Theorem 2 probability, d_0={inputs}")))


def _ratio_series(runs: Theorem1Runs) -> tuple[Series, ...]:
    """Per instance: (l(t) - l(t+1)) / (eta sigma_min(W_e(t))^{2(N-1)/N} l(t)) against t."""
    series = []
    for p, traj in runs.pairs:
        exponent = mp.mpf(2 * (p.depth - 1)) / p.depth
        ratios = tuple(float((traj.losses[t] - traj.losses[t + 1])
                             / (p.eta * traj.sigma_mins[t] ** exponent * traj.losses[t]))
                       for t in range(len(traj.losses) - 1))
        series.append(Series(p.label, tuple(float(t) for t in range(1, len(traj.losses))), ratios,
                             "line"))
    return tuple(series)


def hypotheses_judgement(met: Sequence[bool]) -> Judgement:
    verdict = Verdict.CONSISTENT if all(met) else Verdict.VIOLATED
    return Judgement(verdict, f"{sum(met)} of {len(met)} instances meet all three hypotheses")


def _record_theorem1(s: Session, runs: Theorem1Runs) -> None:
    steps = runs.steps
    s.decide("hypotheses-met",
             "the mpmath instances meet Theorem 1's hypotheses exactly: margin c > 0 and "
             "delta <= c^2/(256 N^3 ||Phi||_F^{2(N-1)/N}) measured in mpmath; eta = c^{(4N-2)/N}/"
             "(6144 N^3 ||Phi||_F^{(6N-4)/N}) is set from the measured c (that part holds by "
             "construction)", hypotheses_judgement, runs.met, values=runs.hypotheses,
             controls={f"the same instances with a {HARDER_PERTURBATION:g} times larger balancing "
                       "perturbation (not delta-balanced)": [p.meets_hypotheses
                                                            for p in runs.harder]})
    s.inequality("lemma-every-step",
                 f"the lemma over the first {steps} exact GD steps from the initialization "
                 f"({', '.join(f'{k} = {v:.6f}' for k, v in runs.loss_ratios.items())}; the runs "
                 "to l <= 1e-6 l(0) are long-run-lemma-mpmath-*): l(t+1) <= (1 - eta "
                 "sigma_min(W_e(t))^{2(N-1)/N}) l(t); margin = min_t [(1 - eta s_t^p) l(t) - "
                 "l(t+1)] / l(t)", runs.worst_lemma_margin, s.floor(),
                 values={**runs.decrease_ratios, "steps per instance": steps,
                         "digits": s.precision},
                 controls={"a run that stops at the initialization":
                           runs.lemma_margin_of(lambda p, t: stopped_losses(t.losses)),
                           "a run at half the lemma's decrease": runs.lemma_margin_of(
                               lambda p, t: slower_losses(t.losses, t.sigma_mins, p.eta,
                                                          p.depth))})
    s.inequality("margin-kept",
                 f"the iterates keep the margin over the first {steps} steps: sigma_min(W_e(t)) "
                 ">= c (reported, not decisive: a step of the proof, implied by the monotone loss "
                 "and the margin claim; a stopped or slower run keeps it too)",
                 runs.sigma_margin, s.floor(), decisive=False)
    s.inequality("geometric-envelope",
                 f"Theorem 1's envelope over the first {steps} exact steps: l(t) <= l(0) "
                 "(1 - eta c^{2(N-1)/N})^t at every step computed", runs.envelope_margin,
                 s.floor(), values=runs.loss_ratios,
                 controls={"a run that stops at the initialization":
                           runs.envelope_margin_of(lambda p, t: stopped_losses(t.losses)),
                           "a linear convergence at half the guaranteed rate":
                           runs.envelope_margin_of(lambda p, t: geometric_losses(
                               t.losses, p.eta, p.margin, p.depth)),
                           "a sublinear convergence l(0) / (1 + eta c^p t)":
                           runs.envelope_margin_of(lambda p, t: sublinear_losses(
                               t.losses, p.eta, p.margin, p.depth))})


def _record_checkpoints(s: Session, steps: CheckpointSteps) -> None:
    run = steps.run
    head = (f"{run.spec.label}, the float64 run to l(T)/l(0) <= "
            f"{float(run.final_ratio.max()):.2g} at eta = eta_max(c) ({run.steps} steps): one "
            f"exact GD step at {s.precision} digits from each of {steps.points} float64 "
            f"checkpoints (instances x times, down to l(t)/l(0) = {steps.smallest_ratio:.2g})")
    s.inequality(f"long-run-lemma-mpmath-{run.spec.key}",
                 f"{head}: the lemma l(t+1) <= (1 - eta sigma_min(W_e(t))^{{2(N-1)/N}}) l(t) at "
                 "every checkpoint step (margin relative to l(t))", steps.lemma, s.floor(),
                 main=True, values={"checkpoint steps": steps.points, "digits": s.precision},
                 controls={"a run that stops at the initialization (l(t+1) = l(t))":
                           steps.stopped, "a run at half the lemma's decrease": steps.slower})
    s.identity(f"long-run-float64-twin-{run.spec.key}",
               f"{head}: the float64 run's l(t+1) agrees with the exact step's (max relative "
               "difference; tolerance: the relative rounding of l at the smallest loss, 64 eps "
               "||Phi||_F / ||W_e - Phi||_F), so the float64 run is GD", steps.twin,
               long_runs.rounding_tolerance(run.spec), precision_digits=0,
               controls={"the float64 loss one step later, l(t+2)": steps.off_by_one})


SCALAR_DOMAIN = {"w": RealRange("1/2", 1), "phi": RealRange(1, 2)}
"""Scalar N = 2 instances from the balanced start w1 = w2 = w with target phi: the deficiency
margin c = phi - |w^2 - phi| = w^2 is positive on the whole box (w^2 <= 1 <= phi)."""


def _scalar_loss(w, phi, eta, steps: int):
    """1/2 (w2 w1 - phi)^2 after `steps` GD steps of size eta from w1 = w2 = w (exact for
    Fractions and balls, float64 for floats)."""
    first = second = w
    for _ in range(steps):
        residual = second * first - phi
        first, second = first - eta * second * residual, second - eta * first * residual
    return (second * first - phi) ** 2 / 2


def margin_alone_descent_margin(x, m):
    """l(0) - l(4) at any step size: "a deficiency margin alone keeps the loss from growing"."""
    return (_scalar_loss(x["w"], x["phi"], x["eta"], 0)
            - _scalar_loss(x["w"], x["phi"], x["eta"], 4))


def lemma_step_margin(x, m):
    """(1 - eta sigma_min(W_e)^{2(N-1)/N}) l(0) - l(1) with N = 2, sigma_min(W_e) = w^2 and eta =
    h times Theorem 1's bound c^{(4N-2)/N} / (6144 N^3 ||Phi||^{(6N-4)/N}) = h w^6 / (49152 phi^4)."""
    w, phi = x["w"], x["phi"]
    eta = x["h"] * w ** 6 / (STEP_SIZE_CONSTANT * 8 * phi ** 4)
    return (1 - eta * w * w) * _scalar_loss(w, phi, eta, 0) - _scalar_loss(w, phi, eta, 1)


def _scalar_searches(s: Session) -> None:
    """The step-size condition cannot be dropped (a certified diverging instance), and the lemma's
    per-step inequality under it (a search that reports its smallest margin)."""
    s.search("step-size-condition-search",
             "without Theorem 1's step-size condition a deficiency margin alone keeps GD's loss "
             "from growing: l(4) <= l(0) (scalar N = 2, balanced start w1 = w2 = w in [1/2, 1], "
             "target phi in [1, 2], so c = w^2 > 0; any eta in [0, 4])",
             margin_alone_descent_margin, {**SCALAR_DOMAIN, "eta": RealRange(0, 4)},
             decisive=False)
    s.search("lemma-step-search",
             "the lemma of Theorem 1 under its step-size condition: l(1) <= (1 - eta "
             "sigma_min(W_e)) l(0) (scalar N = 2, same box, eta = h w^6 / (49152 phi^4), h in "
             "[0, 1])", lemma_step_margin, {**SCALAR_DOMAIN, "h": RealRange(0, 1)},
             decisive=False)


def verify(s: Session) -> None:
    """Theorem 1 at the session's precision (the first steps exactly, and exact steps along the
    float64 runs to l <= 1e-6 l(0)) and the Theorem 2 probability sweep."""
    settings = s.preset(quick=NumericConfig.quick(), full=NumericConfig.full())
    with mp.workdps(s.precision):
        runs = theorem1_runs(s, settings)
        _record_theorem1(s, runs)
        ratio_series = _ratio_series(runs)
        for run in long_runs.session_runs(s):
            _record_checkpoints(s, checkpoint_steps(run))
    scalar = scalar_theorem_run(settings.scalar_margin, settings.scalar_kappa, s.precision)
    s.inequality("theorem-iteration-count",
                 "Theorem 1's T on a scalar instance (N = 2, Phi = 1, c = 0.9, eta at the bound, "
                 f"exact mpmath GD): after T = log(l(0)/eps) / (eta c^{{2(N-1)/N}}) = "
                 f"{scalar.steps_T} steps, l(T) <= eps = l(0) e^-kappa, kappa = "
                 f"{settings.scalar_kappa:g}; margin (eps - l(T)) / eps (the matrix runs to "
                 "kappa = 6 are long-run-iteration-count-*)",
                 scalar.relative_margin, s.floor(),
                 values={**scalar.values, "kappa": settings.scalar_kappa},
                 exact=(theorem_iteration_margin,
                        {"c": Fraction(settings.scalar_margin),
                         "kappa": Fraction(settings.scalar_kappa), "T": scalar.steps_T}),
                 controls={"a run that stops at the initialization": scalar.stopped_margin,
                           "a linear convergence at half the guaranteed rate":
                           scalar.half_rate_margin})
    sweep = theorem2_sweep(s, settings)
    _record_theorem2(s, sweep)
    _scalar_searches(s)
    s.figure("lemma-decrease-ratio", "Lemma of Theorem 1: measured / guaranteed per-step decrease",
             (Panel("(l(t) - l(t+1)) / (eta sigma_min(W_e(t))^{2(N-1)/N} l(t)) at "
                    f"{s.precision} digits (>= 1: the lemma holds)", "step t",
                    "decrease ratio", ratio_series, xscale="linear", yscale="log"),))
    s.figure(_probability_figure(sweep.cells))
    s.table(_probability_table(sweep.cells))


@dataclass(frozen=True)
class Theorem2Sweep:
    """The probability cells of the Theorem 2 sweep, judged two ways."""

    cells: tuple[ProbabilityCell, ...]

    @property
    def outside(self) -> list[ProbabilityCell]:
        """Cells whose exact probability falls outside the Monte-Carlo 99.9% interval."""
        return [c for c in self.cells if not c.ci999[0] <= c.exact_reference <= c.ci999[1]]

    def twin_pairs(self, positive: bool = False) -> list[tuple[str, float, tuple[float, float]]]:
        """(cell, exact probability, Monte-Carlo 99.9% interval of P(margin >= c_ref)); with
        `positive` the exact P(margin > 0) instead (the control's wrong event)."""
        return [(f"d0={c.inputs}, s d0={c.relative_scale}",
                 c.exact_positive if positive else c.exact_reference, c.ci999) for c in self.cells]

    @property
    def agreement_values(self) -> dict[str, str]:
        return {f"d0={c.inputs}, s d0={c.relative_scale}": f"exact {c.exact_reference:.4f}, MC "
                f"{c.hits_reference / c.samples:.4f} [{c.ci95[0]:.4f}, {c.ci95[1]:.4f}]"
                for c in self.cells}

    @property
    def lowest_near_zero(self) -> ProbabilityCell | None:
        """Among cells near zero (s d_0 <= 0.2) with d_0 >= 100, the lowest 95% CI lower end."""
        near_zero = [c for c in self.cells if c.inputs >= 100 and c.relative_scale <= 0.2]
        return min(near_zero, key=lambda c: c.ci95[0]) if near_zero else None

    @property
    def farthest_from_zero(self) -> ProbabilityCell | None:
        """Among cells with d_0 >= 100, the one at the largest s d_0 (the control's false world:
        c_ref = s^2 d_0 grows and the probability falls)."""
        far = [c for c in self.cells if c.inputs >= 100]
        return max(far, key=lambda c: (c.relative_scale, c.inputs)) if far else None

    @property
    def positive_values(self) -> dict[str, float]:
        return {f"d0={c.inputs}, s d0={c.relative_scale}: P(margin > 0)": round(c.exact_positive, 5)
                for c in self.cells}


def twin_judgement(pairs: Sequence[tuple[str, float, tuple[float, float]]]) -> Judgement:
    """Consistent when every exact probability lies in its cell's 99.9% Monte-Carlo interval."""
    outside = [label for label, exact, (low, high) in pairs if not low <= exact <= high]
    verdict = Verdict.CONSISTENT if not outside else Verdict.VIOLATED
    detail = f"{len(pairs) - len(outside)} of {len(pairs)} cells agree"
    return Judgement(verdict, detail + (f" (outside: {', '.join(outside)})" if outside else ""))


CONSTANT_PROBABILITY = 0.25
"""Theorem 2's constant: near zero a balanced init has a margin with probability above 1/4 (the
check's threshold, fixed before measuring; the exact value tends to 1/2 as s -> 0)."""


def constant_judgement(cell: ProbabilityCell | None) -> Judgement:
    """Consistent when both the exact probability and the 95% CI lower end exceed 1/4."""
    if cell is None:
        return Judgement(Verdict.INCONCLUSIVE, "no cell with d_0 >= 100 and s d_0 <= 0.2 in this "
                         "mode")
    holds = min(cell.ci95[0], cell.exact_reference) > CONSTANT_PROBABILITY
    return Judgement(
        Verdict.CONSISTENT if holds else Verdict.VIOLATED,
        f"cell d_0={cell.inputs}, s d_0={cell.relative_scale}: exact {cell.exact_reference:.4f}, "
        f"measured {cell.hits_reference / cell.samples:.4f} (95% CI [{cell.ci95[0]:.4f}, "
        f"{cell.ci95[1]:.4f}], n = {cell.samples}); P(any margin) exact "
        f"{cell.exact_positive:.4f} (tends to 1/2 as s -> 0)")


def cell_at_probability(cell: ProbabilityCell, probability: float) -> ProbabilityCell:
    """The control 'a true probability p': the cell's sample size with the expected count."""
    hits = round(probability * cell.samples)
    return ProbabilityCell(cell.inputs, cell.relative_scale, probability, probability, hits,
                           cell.samples, *_clopper_pearson_pair(hits, cell.samples))


def _record_theorem2(s: Session, sweep: Theorem2Sweep) -> None:
    s.decide("theorem2-probability-twin",
             "Theorem 2 set-up (d_N = 1, W_e(0) = A ~ N(0, s^2 I) through Procedure 1): the exact "
             "P(margin >= c_ref = s^2 d_0/||Phi||) by mpmath quadrature lies in the 99.9% "
             "Clopper-Pearson interval of the Monte-Carlo estimate over balanced initializations, "
             "in every cell", twin_judgement, sweep.twin_pairs(), values=sweep.agreement_values,
             controls={"the exact probability of the wrong event, P(margin > 0) for P(margin >= "
                       "c_ref)": sweep.twin_pairs(positive=True)})
    lowest = sweep.lowest_near_zero
    controls = {}
    if lowest is not None:
        controls["a true probability 0.2 (a constant below 1/4) at the same n"] = \
            cell_at_probability(lowest, 0.2)
    far = sweep.farthest_from_zero
    if far is not None:
        controls[f"the cell far from zero (d_0 = {far.inputs}, s d_0 = {far.relative_scale:g}), "
                 "measured the same way"] = far
    s.decide("theorem2-constant-probability",
             "Theorem 2's constant probability: near zero (s d_0/||Phi|| <= 0.2) and d_0 >= 100, a "
             "balanced init has a deficiency margin >= c_ref with probability > 0.25 (95% CI lower "
             "end and exact value, lowest such cell)", constant_judgement, lowest,
             values=sweep.positive_values, controls=controls)


def _probability_table(cells: Sequence[ProbabilityCell]) -> Table:
    return Table(
        "theorem2-probability",
        "Theorem 2 (d_N = 1, ||Phi|| = 1, A ~ N(0, s^2 I), balanced init): probability of a deficiency "
        "margin, exact (mpmath quadrature) and Monte-Carlo with Clopper-Pearson 95% CI",
        ("d_0", "s d_0", "c_ref = s^2 d_0", "P(margin > 0) exact", "P(margin >= c_ref) exact",
         "MC estimate", "95% CI low", "95% CI high", "samples"),
        tuple((c.inputs, c.relative_scale, reference_margin(c.relative_scale / c.inputs, c.inputs),
               round(c.exact_positive, 5), round(c.exact_reference, 5),
               round(c.hits_reference / c.samples, 5), round(c.ci95[0], 5), round(c.ci95[1], 5),
               c.samples) for c in cells),
    )


def _probability_figure(cells: Sequence[ProbabilityCell]) -> Figure:
    series = []
    for inputs in sorted({c.inputs for c in cells}):
        row = [c for c in cells if c.inputs == inputs]
        x = tuple(c.relative_scale for c in row)
        series.append(Series(f"exact, d_0={inputs}", x, tuple(c.exact_reference for c in row), "line"))
        series.append(Series(f"Monte Carlo, d_0={inputs}", x,
                             tuple(max(c.hits_reference / c.samples, 1e-6) for c in row)))
    scales = tuple(sorted({c.relative_scale for c in cells}))
    series.append(Series("0.25 (Theorem 2)", scales, (0.25,) * len(scales), "dashed"))
    return Figure(
        "theorem2-probability", "Theorem 2: probability of a deficiency margin at a balanced init",
        (Panel("P(||W_e(0) - Phi|| <= ||Phi|| - s^2 d_0 / ||Phi||), d_N = 1", "s d_0 / ||Phi||",
               "probability", tuple(series)),),
    )
