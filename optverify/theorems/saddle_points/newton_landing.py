"""Newton at a quadratic saddle (Dauphin et al. 2014, arXiv:1406.2572, Sections 4-5): the Newton
step -H^-1 g jumps to the critical point of a random non-degenerate quadratic in one step (it is
attracted to the saddle), against saddle-free Newton's step -|H|^-1 g on the same quadratics.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from optverify.kit import Judgement, Session, Verdict, machine_epsilon
from optverify.numerics.haar import haar_orthogonal
from optverify.theorems.saddle_points.config import ExperimentConfig
from optverify.theorems.saddle_points.landscape import newton_step, saddle_free_newton_step
from optverify.theorems.saddle_points.quadratic_escape import ROUNDING_ULPS

NEWTON_STEP_ALTERNATIVE = "saddle-free Newton's step -|H|^-1 g on the same quadratics"


@dataclass(frozen=True)
class NewtonLanding:
    """Newton's one step on random quadratics: how many of `total` starts landed within the
    rounding bound 16 eps cond(H) |x_0| of the saddle, and the worst ratio |x_1| / bound."""

    landed: int
    total: int
    worst_ratio: float

    @property
    def fraction(self) -> float:
        return self.landed / self.total


def random_quadratic_newton(config: ExperimentConfig, s: Session,
                            step=newton_step) -> NewtonLanding:
    """Newton's one step (or `step`'s, same signature) on random quadratics Q diag(lambda) Q^T
    (Q Haar-random) with random eigenvalue signs, at least one of each; the quadratics and starts
    are drawn from the session's "newton" stream, so every step sees the same instances."""
    generator = s.generator("newton")
    options = {"dtype": s.torch_dtype, "device": s.device}
    worst, landed, total = 0.0, 0, 0
    for d in config.newton_dimensions:
        count = config.newton_starts
        signs = torch.where(torch.rand(count, d, generator=generator, **options) < 0.5, -1.0, 1.0)
        magnitudes = 10 ** torch.empty(count, d, **options).uniform_(-1, 1, generator=generator)
        eigenvalues = signs.to(options["dtype"]) * magnitudes
        eigenvalues[:, 0] = -magnitudes[:, 0]
        eigenvalues[:, 1] = magnitudes[:, 1]
        rotation = haar_orthogonal(d, generator, batch=(count,), **options)
        hessian = rotation @ torch.diag_embed(eigenvalues) @ rotation.mT
        start = torch.randn(count, d, generator=generator, **options)
        gradient = (hessian @ start.unsqueeze(-1)).squeeze(-1)
        after = step(start, gradient, hessian)
        condition = magnitudes.max(-1).values / magnitudes.min(-1).values
        # a solve carries a relative error of about cond(H) eps (ROUNDING_ULPS of headroom)
        allowed = ROUNDING_ULPS * machine_epsilon(s.dtype) * condition * start.norm(dim=-1)
        ratio = after.norm(dim=-1) / allowed
        worst = max(worst, float(ratio.max()))
        landed += int((ratio <= 1).sum())
        total += count
    return NewtonLanding(landed, total, worst)


def judge_landing(landing: NewtonLanding) -> Judgement:
    """Consistent when every start lands within the rounding bound of the saddle."""
    verdict = Verdict.CONSISTENT if landing.landed == landing.total else Verdict.VIOLATED
    return Judgement(verdict, f"{landing.landed} / {landing.total} starts end at the saddle "
                     f"(fraction {landing.fraction:.4g}; worst |x_1| / bound "
                     f"{landing.worst_ratio:.3g}): {verdict.value}",
                     {"fraction_at_saddle": landing.fraction,
                      "worst_ratio_to_rounding_bound": landing.worst_ratio})


def record_newton(s: Session, config: ExperimentConfig) -> None:
    """Newton's one step lands on the saddle of random quadratics."""
    landing = random_quadratic_newton(config, s)
    saddle_free = random_quadratic_newton(config, s, saddle_free_newton_step)
    s.decide(
        "newton-lands-on-saddle",
        "Newton from random starts on random quadratics x^T H x / 2 with H = Q diag(lambda) Q^T, "
        "eigenvalues of both signs (a saddle at 0): one step lands on the saddle for every start "
        "(|x_1| <= 16 eps cond(H) |x_0|)", judge_landing, landing,
        rules_out="a step that is not attracted to the saddle",
        controls={NEWTON_STEP_ALTERNATIVE: saddle_free})
