"""Theorem 1 of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281, on a scalar instance (d_0 =
d_N = 1, N = 2, Phi = 1) in exact mpmath GD for the theorem's full T(c, eta, N, eps) to a target
eps = l(0) e^{-kappa}, against a stopped and a half-rate run; and the searches of the scalar
lemma over its whole domain (the margin alone does not give descent; the lemma's step does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import mpmath
from mpmath import mp

from optverify.kit import RealRange, Session
from optverify.theorems.deficiency_margin_convergence.conditions import (
    STEP_SIZE_CONSTANT,
    step_size_bound,
)
from optverify.theorems.deficiency_margin_convergence.mp_alternatives import (
    lemma_margin_mp,
    stopped_losses,
)


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


def scalar_searches(s: Session) -> None:
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
