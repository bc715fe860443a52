"""Appendix C of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281: the necessity claims as the
paper states them, Claim 4 (`claim4`: an unbalanced initialization with a margin diverges) and
Claim 5 (`claim5`: even N, symmetric Phi with a negative eigenvalue -lambda, identity
initialization: l(t) >= lambda^2/2 for every step size), run and recorded with their controls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import Figure, Panel, Series, Session, Verdict, machine_epsilon
from optverify.theorems.deficiency_margin_convergence.claim4 import (
    CLAIM4_MILD,
    Claim4Run,
    claim4_cells,
    claim4_judgement,
    claim4_runs,
)
from optverify.theorems.deficiency_margin_convergence.claim5 import (
    MIRROR_TOLERANCE,
    PERTURBATION,
    Claim5Run,
    claim5_runs,
)
from optverify.theorems.deficiency_margin_convergence.config import ExperimentConfig
from optverify.theorems.deficiency_margin_convergence.gradient_descent import loss_curve_series
from optverify.theorems.deficiency_margin_convergence.instances import target_with_spectrum


@dataclass(frozen=True)
class FailureRuns:
    """Appendix C reproductions: Claim 4 and Claim 5 runs per (depth, step size, init), the
    rounding tolerance of Claim 5's floor (64 eps(dtype) times max(l(0), 1)), and their controls:
    Claim 4 from mildly unbalanced inits (K = CLAIM4_MILD x the balanced scale), Claim 5 on the
    target with the negative eigenvalue made positive (so that the identity init has nothing
    holding it above lambda^2/2)."""

    claim4: tuple[Claim4Run, ...]
    claim5: tuple[Claim5Run, ...]
    claim5_tolerance: float
    claim4_mild: tuple[Claim4Run, ...] = ()
    claim5_psd: tuple[Claim5Run, ...] = ()
    claim5_perturbed: tuple[Claim5Run, ...] = ()

    @property
    def claim4_cells(self) -> dict[tuple[int, float], list[tuple[str, bool]]]:
        return claim4_cells(self.claim4)

    @property
    def claim4_reproduced(self) -> bool:
        """In every (N, eta) cell the balanced init converges and some unbalanced init diverges."""
        return claim4_judgement(self.claim4).verdict is Verdict.CONSISTENT

    @property
    def claim4_values(self) -> dict[str, str]:
        return dict(claim4_judgement(self.claim4).values)

    @property
    def claim5_floor_margin(self) -> float:
        """The worst margin while the runs keep the mirror invariant (Claim 5 as proved)."""
        return min(run.lowest_balanced for run in self.claim5 + self.claim5_perturbed)

    @property
    def claim5_written_margin(self) -> float:
        """The worst margin over every finite step (Claim 5 as written: forever)."""
        return min(run.lowest for run in self.claim5 + self.claim5_perturbed)

    @property
    def claim5_psd_margin(self) -> float:
        return min(run.lowest_balanced for run in self.claim5_psd)

    def claim5_values(self, lam: float) -> dict[str, str]:
        return {f"N={run.depth}, eta={run.eta:g}, init {run.init}": f"balanced to step {run.balanced_steps - 1}: "
                f"min l - lambda^2/2 = {run.lowest_balanced:.3g}; over all steps "
                f"{run.lowest:.3g}, l(T) = {run.final_loss:.3g}, min eig W_e(T) = "
                f"{run.min_eigenvalue:.3g}" for run in self.claim5}


def claim5_target(config: ExperimentConfig, rng: np.random.Generator, dtype, device,
                  sign: float = -1.0) -> torch.Tensor:
    """Phi = R diag(1, -lambda) R^T with a Haar-random rotation R (from `rng`); sign = +1 gives
    the PSD control target R diag(1, lambda) R^T."""
    rotation = torch.tensor(target_with_spectrum((1.0, 1.0), 2, 2, rng), dtype=dtype, device=device)
    spectrum = torch.tensor([1.0, sign * config.negative_eigenvalue], dtype=dtype, device=device)
    return rotation @ torch.diag(spectrum) @ rotation.mT


def claim5_all_depths(config: ExperimentConfig, phi: torch.Tensor, perturbation: float = 0.0,
                      generator: torch.Generator | None = None) -> tuple[Claim5Run, ...]:
    return tuple(run for depth in config.claim5_depths
                 for run in claim5_runs(depth, config.claim5_step_sizes, phi,
                                        config.claim5_steps, config.negative_eigenvalue,
                                        perturbation, generator))


def failure_runs(config: ExperimentConfig, s: Session) -> FailureRuns:
    """Claim 4 and Claim 5 of Appendix C, as the paper states them (even depths only)."""
    dtype, device = s.torch_dtype, s.device
    claim4 = claim4_runs(config, dtype, device)
    phi = claim5_target(config, s.rng("claim5"), dtype, device)
    claim5 = claim5_all_depths(config, phi)
    psd = claim5_target(config, s.rng("claim5"), dtype, device, sign=1.0)
    claim5_psd = claim5_all_depths(config, psd)
    # the minimum is reached below l(0): its rounding is a few ulps of max(l(0), 1)
    scale = max([1.0, *(float(run.curve[0]) for run in claim5)])
    perturbed = claim5_all_depths(config, phi, PERTURBATION,
                                  s.generator("claim5-perturbation", device="cpu"))
    return FailureRuns(claim4, claim5, 64 * machine_epsilon(s.dtype) * scale,
                       claim4_runs(config, dtype, device, mild=True), claim5_psd, perturbed)


def failures_figure(failures: FailureRuns, config: ExperimentConfig) -> Figure:
    claim4 = tuple(loss_curve_series(f"N={run.depth}, eta={run.eta:g}, {run.init}", run.curve)
                   for run in failures.claim4
                   if run.eta == config.claim4_step_sizes[-1]
                   and run.depth == config.claim4_depths[0])
    claim5 = tuple(loss_curve_series(f"N={run.depth}, eta={run.eta:g}", run.curve)
                   for run in failures.claim5 if run.depth == config.claim5_depths[0])
    return Figure(
        "appendix-c-failures", "Appendix C: failure without balancedness or margin",
        (Panel("Claim 4: d = 1, Phi = 1, W_e(0) = 1/2 (margin 1/2)", "step t", "l(t)", claim4,
               xscale="linear"),
         Panel(f"Claim 5: symmetric Phi with eigenvalue -{config.negative_eigenvalue}, "
               "identity init", "step t", "l(t)", claim5 + (_floor_series(config),),
               xscale="linear")),
        columns=2)


def _floor_series(config: ExperimentConfig) -> Series:
    level = config.negative_eigenvalue**2 / 2
    return Series("lambda^2 / 2", (0.0, float(config.claim5_steps)), (level, level), "dashed")


def record_failures(s: Session, failures: FailureRuns, config: ExperimentConfig) -> None:
    s.decide("claim4-unbalanced-diverges",
             "Appendix C Claim 4 (even N, d = 1, Phi = 1, W_e(0) = 1/2 with margin 1/2): for every "
             "step size tried some unbalanced init diverges while the balanced init with the same "
             "W_e(0) does not", claim4_judgement, failures.claim4,
             controls={"balancedness does not matter: the same cells from mildly unbalanced inits "
                       f"(K = {CLAIM4_MILD:g} x the balanced scale)": failures.claim4_mild})
    s.inequality("claim5-stuck-above-floor",
                 f"Appendix C Claim 5 as proved (even N, Phi symmetric with eigenvalue "
                 f"-{config.negative_eigenvalue}, identity init, no margin): l(t) >= lambda^2/2 at "
                 "every step for every step size tried, from I and from I + "
                 f"{PERTURBATION:g} G, while the run keeps the mirror invariant W_(N+1-j) = W_j^T "
                 f"to {MIRROR_TOLERANCE:g} (margin: min of l(t) - lambda^2/2 + lambda N delta_t "
                 "M_t^(N-1) over those steps, the first-order room the step's imbalance delta_t "
                 "leaves; tolerance: the loss's rounding)",
                 failures.claim5_floor_margin, failures.claim5_tolerance,
                 values=failures.claim5_values(config.negative_eigenvalue),
                 controls={f"the same runs on the PSD target with eigenvalue "
                           f"+{config.negative_eigenvalue} (no negative eigenvalue to hold "
                           "them)": failures.claim5_psd_margin})
    runs = failures.claim5 + failures.claim5_perturbed
    escaped = [run for run in runs if not run.keeps_invariant and run.lowest < 0]
    s.inequality("claim5-as-written-in-floating-point",
                 "Appendix C Claim 5 as written ('forever, under any learning rate'), on the "
                 f"{s.dtype} runs over all {config.claim5_steps} steps, from I and from I + "
                 f"{PERTURBATION:g} G. Reported, not decisive: the claim is about exact arithmetic, "
                 "where the invariant holds (symbolic layer). "
                 + (f"{len(escaped)} of {len(runs)} runs lose the invariant and fall below "
                    "lambda^2/2 (" + ", ".join(f"N={run.depth}, eta={run.eta:g} from {run.init}, "
                                               f"balanced to step {run.balanced_steps - 1}"
                                               for run in escaped)
                    + "): GD amplifies a rounding-sized break of the invariant, so the "
                    "non-convergence is not robust to perturbation" if escaped else
                    "No run falls below lambda^2/2."),
                 failures.claim5_written_margin, failures.claim5_tolerance, decisive=False)
