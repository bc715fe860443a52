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
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np
import torch
from mpmath import mp

from optverify.kit import Judgement, Panel, Series, Session, Verdict
from optverify.numerics.deep_linear import balancedness_gaps_mp, end_to_end_mp, layer_gradients_mp
from optverify.numerics.mp_linalg import frobenius_norm, svd, to_mp
from optverify.numerics.validation import require_depth, require_non_negative
from optverify.theorems.deficiency_margin_convergence import long_runs
from optverify.theorems.deficiency_margin_convergence.conditions import (
    balance_bound,
    step_size_bound,
)
from optverify.theorems.deficiency_margin_convergence.config import InstanceSpec, NumericConfig
from optverify.theorems.deficiency_margin_convergence.instances import (
    cpu_generator,
    target_with_spectrum,
    theorem_instance,
)
from optverify.theorems.deficiency_margin_convergence.mp_alternatives import (
    envelope_margin_of,
    geometric_losses,
    lemma_margin_mp,
    slower_losses,
    stopped_losses,
    sublinear_losses,
)
from optverify.theorems.deficiency_margin_convergence.scalar_theorem import (
    scalar_searches,
    scalar_theorem_run,
    theorem_iteration_margin,
)
from optverify.theorems.deficiency_margin_convergence.theorem2_probability import (
    probability_figure,
    probability_table,
    record_theorem2,
    theorem2_sweep,
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


def theorem1_runs(s: Session, config: NumericConfig) -> Theorem1Runs:
    """Prepare every instance and run `config.steps` mpmath GD steps on it (at the working
    precision; call inside `mp.workdps(s.precision)`)."""
    prepared = tuple(prepare_instance(spec, s.rng(f"theorem1-instance-{i}"),
                                      cpu_generator(s, f"theorem1-factors-{i}"))
                     for i, spec in enumerate(config.instances))
    harder = tuple(prepare_instance(spec, s.rng(f"theorem1-instance-{i}"),
                                    cpu_generator(s, f"theorem1-factors-{i}"),
                                    HARDER_PERTURBATION, eta=p.eta)
                   for i, (spec, p) in enumerate(zip(config.instances, prepared)))
    trajectories = tuple(lemma_trajectory_mp(p.factors, p.target, p.eta, config.steps)
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


def verify(s: Session) -> None:
    """Theorem 1 at the session's precision (the first steps exactly, and exact steps along the
    float64 runs to l <= 1e-6 l(0)) and the Theorem 2 probability sweep."""
    config = s.preset(quick=NumericConfig.quick(), full=NumericConfig.full())
    with mp.workdps(s.precision):
        runs = theorem1_runs(s, config)
        _record_theorem1(s, runs)
        ratio_series = _ratio_series(runs)
        for run in long_runs.session_runs(s):
            _record_checkpoints(s, checkpoint_steps(run))
    scalar = scalar_theorem_run(config.scalar_margin, config.scalar_kappa, s.precision)
    s.inequality("theorem-iteration-count",
                 "Theorem 1's T on a scalar instance (N = 2, Phi = 1, c = 0.9, eta at the bound, "
                 f"exact mpmath GD): after T = log(l(0)/eps) / (eta c^{{2(N-1)/N}}) = "
                 f"{scalar.steps_T} steps, l(T) <= eps = l(0) e^-kappa, kappa = "
                 f"{config.scalar_kappa:g}; margin (eps - l(T)) / eps (the matrix runs to "
                 "kappa = 6 are long-run-iteration-count-*)",
                 scalar.relative_margin, s.floor(),
                 values={**scalar.values, "kappa": config.scalar_kappa},
                 exact=(theorem_iteration_margin,
                        {"c": Fraction(config.scalar_margin),
                         "kappa": Fraction(config.scalar_kappa), "T": scalar.steps_T}),
                 controls={"a run that stops at the initialization": scalar.stopped_margin,
                           "a linear convergence at half the guaranteed rate":
                           scalar.half_rate_margin})
    sweep = theorem2_sweep(s, config)
    record_theorem2(s, sweep)
    scalar_searches(s)
    s.figure("lemma-decrease-ratio", "Lemma of Theorem 1: measured / guaranteed per-step decrease",
             (Panel("(l(t) - l(t+1)) / (eta sigma_min(W_e(t))^{2(N-1)/N} l(t)) at "
                    f"{s.precision} digits (>= 1: the lemma holds)", "step t",
                    "decrease ratio", ratio_series, xscale="linear", yscale="log"),))
    s.figure(probability_figure(sweep.cells))
    s.table(probability_table(sweep.cells))
