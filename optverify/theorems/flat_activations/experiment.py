"""Experiment layer of `flat-activations` (torch, batched over seeds): the four approaches of
Section 5 compared by test error at equal iterations and equal samples, with their work per
iteration counted in multiply-adds, the forward-only rate against O(T^(-1/2)), and plain gradient
descent on the true loss, which never moves.

Source: Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 5 (Fig. 6); GLMtron
(Kakade, Kalai, Kanade, Shamir 2011): eps-optimal after O(L^2 / eps^2) iterations. Compact
versions of the paper's approaches: (1) forward-only w <- w - eta E[(u(w^T x + b) - y)(x, 1)]
on the same mini-batches as the others (and, as a noise-free reference, with the exact
expectation: the closed form of `model.expected_update`); (2) minibatch GD on the
squared loss of a sigmoid-sum smoothing of u; (3) a 4-layer ReLU MLP trained end to end (Adam);
(4) softmax classification over the step index with a linear model (Adam), predicting the level
of the most likely bin. Errors are squared losses on a fresh test set shared by all methods.
"""

from __future__ import annotations

import numpy as np

from optverify.kit import Panel, Series, Session, Verdict, machine_epsilon, rate_panel
from optverify.theorems.flat_activations.approaches import (
    EXACT_FORWARD_ONLY,
    SAMPLED_FORWARD_ONLY,
    Approaches,
    ExperimentConfig,
    draw_target,
    plain_gd_displacement,
    run_approaches,
)
from optverify.theorems.flat_activations.sampled_rate import RATE_BOUND, record_sampled_rate


def _record_rate(s: Session, config: ExperimentConfig, forward: dict[int, float]
                 ) -> list[Panel]:
    """The main check: the forward-only error against O(T^(-1/2)), on the errors above the
    Monte-Carlo resolution (inconclusive with fewer than 3); returns its panel."""
    stair, resolution = config.stair, config.resolution
    iterations, errors = np.array(list(forward), dtype=float), np.array(list(forward.values()))
    resolved = errors > resolution
    values = {f"forward_error_T{t}": (e if e > resolution else "below Monte-Carlo resolution")
              for t, e in forward.items()}
    check = s.rate(
        "forward-only-rate",
        "reported, not decisive (5 points over T in [1, 7] of a noise-free iteration cannot "
        "tell T^-0.45 from T^-0.5; the main check is glmtron-sampled-rate): test error of the "
        f"forward-only update (eta = {config.forward_step}, "
        f"exact expected step) vs iterations T, d = {config.dimension}, {stair.steps}-step "
        f"staircase, mean of {config.seeds} seeds, against the GLMtron guarantee O(T^(-1/2)); "
        f"points at or below one flipped test step (h^2 / n_test = {resolution:.2g}) dropped",
        iterations, errors, RATE_BOUND, decisive=False, values=values, resolved=resolved)
    if check.fit is None:
        return []
    iterations, errors = iterations[resolved], errors[resolved]
    return [rate_panel("forward-only: test error vs T", "iterations T", "test error", iterations,
                       errors, check.fit, RATE_BOUND)]


def _record_best(s: Session, approaches: Approaches, config: ExperimentConfig) -> None:
    """Fig. 6's comparison at equal iterations and equal samples (each approach `iterations`
    steps on mini-batches of `batch_size` fresh samples), with the work per iteration counted:
    forward-only is best when its final test error is the lowest of the four and its
    multiply-adds per iteration the fewest (then at any equal work budget it has run at least
    as many iterations as each other approach)."""
    final = {name: error for name, error in approaches.final(config.iterations).items()
             if name in approaches.work}
    work = approaches.work
    best_error = min(final, key=final.get)
    cheapest = min(work, key=work.get)
    verdict = Verdict.CONSISTENT if best_error == cheapest == SAMPLED_FORWARD_ONLY \
        else Verdict.VIOLATED
    s.check("forward-only-best",
            "paper (Fig. 6): forward-only reaches the lowest test error among the four approaches "
            f"at equal iterations ({config.iterations}) and equal samples (mini-batches of "
            f"{config.batch_size}), with the fewest multiply-adds per iteration (counted from "
            "the shapes, `multiply_adds_per_iteration`); reported beside the main statement",
            verdict,
            f"lowest final error: {best_error} ({final[best_error]:.3g}); fewest multiply-adds "
            f"per iteration: {cheapest} ({work[cheapest]:,}); ratio of the next-lowest error to "
            f"forward-only's: {_runner_up_ratio(final):.3g}",
            decisive=False,
            values={**{f"final_error_{k}": v for k, v in final.items()},
                    **{f"multiply_adds_per_iteration_{k}": w for k, w in work.items()}})


def _runner_up_ratio(final: dict[str, float]) -> float:
    """The lowest error of the other approaches over forward-only's (inf at a zero error)."""
    others = min(e for name, e in final.items() if name != SAMPLED_FORWARD_ONLY)
    own = final[SAMPLED_FORWARD_ONLY]
    return others / own if own > 0 else float("inf")


def error_panel(approaches: Approaches, resolution: float) -> Panel:
    """Every approach's test error against iterations, floored at the resolution."""
    series = tuple(Series(name, tuple(float(t) for t in curve),
                          tuple(max(e, resolution) for e in curve.values()), "line")
                   for name, curve in approaches.curves.items())
    return Panel("test error vs iterations (floored at h^2 / n_test)", "iterations",
                 "test squared error", series)


def verify(s: Session) -> None:
    config = s.preset(quick=ExperimentConfig.quick(), full=ExperimentConfig.full())
    target = draw_target(config, s)
    approaches = run_approaches(config, target, s)
    panels = [panel for panel in (record_sampled_rate(s),) if panel is not None]
    panels += _record_rate(s, config, approaches.curves[EXACT_FORWARD_ONLY])
    plain = plain_gd_displacement(config, target, s.generator("plain-gd"))
    s.identity("plain-gd-does-not-move",
               f"{config.iterations} minibatch GD steps (lr 1) on the true squared loss with the "
               "staircase (sanity: autograd of torch.floor is 0 by definition): autograd returns 0, the weights stay at their initialization (max "
               f"|w_T - w_0| against eps({s.dtype}) times the unit weight scale)",
               plain.displacement, machine_epsilon(s.dtype), sanity=True,
               values={"largest_gradient_entry": plain.largest_gradient})
    _record_best(s, approaches, config)
    panels.append(error_panel(approaches, config.resolution))
    s.figure("four-approaches", "Flat activations: forward-only vs three baselines", panels,
             columns=len(panels))
    final = approaches.final(config.iterations)
    s.table("four-approaches", f"Final test error after {config.iterations} iterations "
            f"(mini-batches of {config.batch_size} fresh samples; the exact reference uses the "
            f"population update) and multiply-adds per iteration, d = {config.dimension}, "
            f"{config.seeds} seeds",
            ("method", "final test error", "multiply-adds per iteration"),
            ((name, final[name], approaches.work.get(name, "closed form, no samples"))
             for name in approaches.curves))
