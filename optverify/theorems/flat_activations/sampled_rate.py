"""The forward-only (GLMtron) rate of Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950,
Section 5, on sampled mini-batches: the test error after T iterations against O(T^(-1/2))
(Kakade, Kalai, Kanade, Shamir 2011), fitted over the horizons past the regime where the
staircase's flips dominate, with its controls (a rate that does not fall, a slower one).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import Bound, Panel, Session, Verdict, rate_panel
from optverify.theorems.flat_activations.model import Staircase

RATE_BOUND = Bound.upper("T", -0.5)
"""The GLMtron guarantee O(T^(-1/2)) on the excess error as T -> infinity: the claim's main bound.
The sampled error falls like T^-1 while ||w - v|| exceeds the step height h (the staircase acts as
a line) and like T^-1/2 once flips at the steps dominate (error ~ h ||w - v||), so the sweep runs
to T = 30000, where the local slopes settle near -1/2 (the bound is tight there)."""


@dataclass(frozen=True)
class SampledConfig:
    """The sampled GLMtron / forward-only runs of the main check: dimension, seeds (independent
    targets and sample streams, batched), horizons T, mini-batch size, step eta = eta0 / sqrt(T)
    (Appendix A.7's eta ~ T^-1/2), test samples per seed (common to all horizons)."""

    dimension: int
    seeds: int
    horizons: tuple[int, ...]
    batch: int = 16
    eta0: float = 0.5
    test_samples: int = 2**15
    stair: Staircase = Staircase(55, 2.0)  # noqa: RUF009

    @classmethod
    def quick(cls) -> SampledConfig:
        return cls(5, 16, tuple(int(h) for h in np.geomspace(10, 30000, 11).round()))

    @classmethod
    def full(cls) -> SampledConfig:
        return cls(5, 32, tuple(int(h) for h in np.geomspace(10, 30000, 11).round()))


SAMPLE_BLOCK = 500
"""Steps of the sampled GLMtron whose mini-batches are drawn (and labelled) in one call."""


SAMPLED_RULES_OUT = (-0.25, 0.0)
"""The false alternatives of the main check: an error that falls only like T^-1/4, or not at all
(a run that stays at its initialization level)."""


def sampled_glmtron(config: SampledConfig, s: Session, purpose: str = "glmtron") -> torch.Tensor:
    """Test error (seeds, horizons) of the AVERAGE iterate of the sampled forward-only update
    w <- w - eta (1/m) sum (u(w^T x + b) - y)(x, 1), fresh x ~ N(0, I_d) each step, from w = 0,
    one run per horizon T with eta = eta0 / sqrt(T); all horizons and seeds batched."""
    generator = s.generator(purpose)
    kwargs = {"dtype": s.torch_dtype, "device": s.device}
    stair, d, seeds = config.stair, config.dimension, config.seeds
    v = torch.randn(seeds, d, generator=generator, **kwargs)
    v = v / v.norm(dim=-1, keepdim=True)
    c = 0.2 * torch.randn(seeds, generator=generator, **kwargs)
    test_x = torch.randn(seeds, config.test_samples, d, generator=generator, **kwargs)
    test_y = stair(torch.einsum("snd,sd->sn", test_x, v) + c[:, None])
    if list(config.horizons) != sorted(config.horizons):
        raise ValueError(f"the horizons must be ascending, got {config.horizons}")
    horizons = torch.tensor(config.horizons, **kwargs)
    # (w, b) as one (d + 1)-vector per run against inputs (x, 1): one product per pass
    step = (config.eta0 / horizons.sqrt() / config.batch)[:, None, None]
    theta = torch.zeros(len(config.horizons), seeds, d + 1, **kwargs)
    total = torch.zeros_like(theta)
    last = max(config.horizons)
    for block_start in range(0, last, SAMPLE_BLOCK):
        # one draw per block: the same numbers, in the same order, as one draw per step
        size = min(SAMPLE_BLOCK, last - block_start)
        xs = torch.randn(size, seeds, config.batch, d, generator=generator, **kwargs)
        ys = stair(torch.einsum("nsmd,sd->nsm", xs, v) + c[:, None])
        inputs = torch.cat([xs, torch.ones_like(xs[..., :1])], dim=-1)
        for index in range(size):
            # the runs still going at this step: the horizons >= step, a suffix
            first = bisect.bisect_left(config.horizons, block_start + index + 1)
            x = inputs[index]
            running = theta[first:]
            residual = stair.residual_(torch.matmul(x, running.unsqueeze(-1)).squeeze(-1),
                                       ys[index])
            running.addcmul_(step[first:], torch.matmul(residual.unsqueeze(-2), x).squeeze(-2),
                             value=-1)
            total[first:] += running
    mean = total / horizons[:, None, None]
    prediction = stair(torch.einsum("snd,hsd->hsn", test_x, mean[..., :d]) + mean[..., d, None])
    return ((prediction - test_y) ** 2).mean(-1).T


def flip_regime(mean_errors: np.ndarray, stair: Staircase) -> np.ndarray:
    """The horizons in the staircase's asymptotic regime: seed-mean error below h^2 (one step
    height squared). Above it ||w - v|| exceeds about h and the staircase acts as a line (error
    ~ ||w - v||^2 ~ T^-1, with the start's plateau before it); below it the error is carried by
    test points whose step flips (error ~ h ||w - v|| ~ T^-1/2), the regime the bound's limit
    T -> infinity is about. The rule comes from that argument; it was stated after the quick run
    (T = 10..30000) showed the three regimes (local slopes -0.56, -0.93, then -0.53 .. -0.50),
    and no other cut was tried."""
    return np.asarray(mean_errors) < stair.height**2


def record_sampled_rate(s: Session) -> Panel | None:
    """The main check: the sampled GLMtron's seed-mean test error against O(T^(-1/2)), fitted
    over the horizons of the flip regime (`flip_regime`; inconclusive with fewer than 3)."""
    config = s.preset(quick=SampledConfig.quick(), full=SampledConfig.full())
    errors = sampled_glmtron(config, s).double().cpu().numpy()
    mean = errors.mean(0)
    spread = errors.std(0, ddof=1) / np.sqrt(config.seeds)
    horizons = np.array(config.horizons, dtype=float)
    local = np.diff(np.log(mean)) / np.diff(np.log(horizons))
    asymptotic = flip_regime(mean, config.stair)
    values = {**{f"mean_error_T{t}": f"{m:.4g} +- {e:.2g}"
                 for t, m, e in zip(config.horizons, mean, spread)},
              "local_slopes": ", ".join(f"{x:.3g}" for x in local),
              "flip_regime_from_T": (int(horizons[asymptotic][0]) if asymptotic.any()
                                     else "not reached")}
    statement = (
        "Main bound: test error of the AVERAGE iterate of the SAMPLED forward-only (GLMtron) "
        f"update, mini-batch {config.batch}, eta = {config.eta0} / sqrt(T), d = "
        f"{config.dimension}, {config.stair.steps}-step staircase, mean of {config.seeds} "
        "independent targets and sample streams (standard error reported; every horizon reuses "
        "each seed's target, test set and sample stream, so the intervals resample the seeds), "
        f"against O(T^(-1/2)) as T -> infinity; swept over T = {config.horizons[0]}.."
        f"{config.horizons[-1]}, fitted where the error is below h^2 = "
        f"{config.stair.height**2:.3g} (the flip regime; the earlier points are the linear "
        "regime, error ~ T^-1, and are reported, not fitted)")
    if asymptotic.sum() < 3:
        s.check("glmtron-sampled-rate", statement, Verdict.INCONCLUSIVE,
                f"only {int(asymptotic.sum())} horizons reach the flip regime", main=True,
                bound=RATE_BOUND, values=values)
        return None
    check = s.rate("glmtron-sampled-rate", statement, horizons[asymptotic], None, RATE_BOUND,
                   main=True, rules_out=SAMPLED_RULES_OUT, units=errors[:, asymptotic],
                   values=values)
    return rate_panel("sampled GLMtron: test error vs T (fitted: the flip regime)",
                      "iterations T", "test error", horizons[asymptotic], mean[asymptotic],
                      check.fit, RATE_BOUND)
