"""Lemma 2 of Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 4: the exact expected
SGD iterations to learn a piecewise-linear curve, fully connected (claimed Omega(n^3.5), measured
against the tight n^4 of the exact expectation) and convolutional (Theta(n^3)), and the law in the
condition number behind both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy
from mpmath import mp

from optverify.kit import Bound, Session
from optverify.theorems.pwl_conditioning import expected
from optverify.theorems.pwl_conditioning.config import ExperimentConfig
from optverify.theorems.pwl_conditioning.moments import conv_second_moment_symbolic, n_symbol
from optverify.theorems.pwl_conditioning.structured import ramp_spectrum

CLAIMED_FULLY_CONNECTED = Bound.lower("n", 3.5)


TIGHT_FULLY_CONNECTED = Bound.tight("n", 4)


CLAIMED_CONVOLUTION = Bound.tight("n", 3)


CONDITION_LAW = Bound.tight("cond", 1)
"""Iterations of gradient descent on a quadratic grow linearly with the condition number of its
Hessian (Theorem 3: t + 1 <= S_11^2 / (2 S_nn^2) for the fully connected learner)."""


ABSOLUTE_TARGET = 0.5
"""Theorem 3's error level ||U - W^{-1}||_2 < 1/2."""


@dataclass(frozen=True)
class FullyConnectedExpectation:
    """Lemma 2's exact hitting times over the sweep: absolute (error < 1/2), relative
    (error < relative ||W^{-1}||_2), and cond(W^T W) = (s_1 / s_n)^2."""

    sizes: tuple[int, ...]
    absolute: np.ndarray
    relative: np.ndarray
    conditions: np.ndarray


def fully_connected_expectation(sizes, factor: float, relative: float
                                ) -> FullyConnectedExpectation:
    absolute, relative_times, conditions = [], [], []
    for n in sizes:
        target = relative / ramp_spectrum(n).sigma_min            # relative ||W^-1||_2
        cut = max(1 / ABSOLUTE_TARGET, 1 / target) * (1 + 1e-9)
        spectrum = expected.ramp_singular_values_below(n, cut)
        absolute.append(expected.expected_hitting_time(spectrum, factor, ABSOLUTE_TARGET))
        relative_times.append(expected.expected_hitting_time(spectrum, factor, target))
        conditions.append((spectrum.sigma_max / spectrum.sigma_min) ** 2)
    return FullyConnectedExpectation(tuple(sizes), np.array(absolute, dtype=float),
                                     np.array(relative_times, dtype=float), np.array(conditions))


def exact_moments(sizes, digits: int = 40) -> list:
    """C(n) from the closed form (moments.py) at `digits` mpmath digits, one 3x3 matrix per n."""
    evaluate = sympy.lambdify(n_symbol, conv_second_moment_symbolic(), "mpmath")
    with mp.workdps(digits):
        return [evaluate(mp.mpf(n)) for n in sizes]


def record_expected_fully_connected(s: Session, config: ExperimentConfig
                                     ) -> FullyConnectedExpectation:
    sizes, factor = config.fully_connected_sizes, config.step_factor
    result = fully_connected_expectation(sizes, factor, config.relative_target)
    span = f"n = {sizes[0]}..{sizes[-1]}"
    values = {f"iterations_n={n}": int(t) for n, t in zip(sizes, result.absolute)}
    claimed = s.rate("expected-sgd-fully-connected-vs-n",
                     f"Lemma 2's exact expected SGD (c = eta lambda S_11^2 = {factor:g}): "
                     f"iterations until ||E[U_t] - W^-1||_2 < 1/2 grow like "
                     f"{CLAIMED_FULLY_CONNECTED.describe()} (Theorem 3), {span}", sizes,
                     result.absolute, CLAIMED_FULLY_CONNECTED, rules_out=3.0, values=values)
    s.fitted_rate("expected-sgd-fully-connected-tight",
                  f"the same exact hitting times grow like {TIGHT_FULLY_CONNECTED.describe()} "
                  f"(the tight rate), {span}", claimed.fit, TIGHT_FULLY_CONNECTED,
                  rules_out=(3.0, 3.75, 4.25), values=values)
    relative = config.relative_target
    s.rate("expected-sgd-fully-connected-relative-vs-n",
           f"the exact expected iterations until ||E[U_t] - W^-1||_2 < {relative:g} ||W^-1||_2 "
           f"grow like {TIGHT_FULLY_CONNECTED.describe()}, {span}", sizes, result.relative,
           TIGHT_FULLY_CONNECTED, rules_out=(3.0, 3.75, 4.25),
           values={f"iterations_n={n}": int(t) for n, t in zip(sizes, result.relative)})
    s.rate("expected-sgd-fully-connected-vs-condition",
           "the exact expected iterations until error 1/2 grow linearly in cond(W^T W), "
           f"{span}", result.conditions, result.absolute, CONDITION_LAW, rules_out=(0.75, 1.25),
           values=values)
    margins = (result.absolute - (result.conditions / 2 - 1)) / result.conditions
    faster = (result.absolute - (result.conditions**1.5 / 2 - 1)) / result.conditions
    s.inequality("expected-theorem3-bound-at-scale",
                 "Theorem 3 at scale: the first t with ||E[U_t] - W^-1||_2 < 1/2 is at least "
                 f"S_11^2/(2 S_nn^2) - 1 (margin divided by cond(W^T W)), {span}",
                 float(margins.min()),
                 controls={"a faster-growing bound cond^1.5 / 2 - 1": float(faster.min())},
                 values={"iterations_over_cond_min": float((result.absolute
                                                            / result.conditions).min())})
    return result


@dataclass(frozen=True)
class ConvolutionExpectation:
    """The exact expected 3-tap hitting times (relative filter error) and cond(C) per n."""

    sizes: tuple[int, ...]
    times: np.ndarray
    conditions: np.ndarray


def convolution_expectation(sizes, factor: float, target: float) -> ConvolutionExpectation:
    problem = expected.filter_problem(exact_moments(sizes))
    times = expected.filter_hitting_times(problem, factor, target)
    return ConvolutionExpectation(tuple(sizes), times.astype(float), problem.condition)


def record_expected_convolution(s: Session, config: ExperimentConfig) -> ConvolutionExpectation:
    sizes, target = config.convolution_sizes, config.relative_target
    result = convolution_expectation(sizes, config.step_factor, target)
    span = f"n = {sizes[0]}..{sizes[-1]}"
    values = {f"iterations_n={n}": int(t) for n, t in zip(sizes, result.times)}
    s.rate("expected-sgd-convolution-vs-n",
           "the exact expected SGD of the 3-tap convolution (c = 1/2, exact C(n)): iterations "
           f"until ||E[v_t] - v*|| < {target:g} ||v*|| grow like "
           f"{CLAIMED_CONVOLUTION.describe()}, {span}", sizes, result.times, CLAIMED_CONVOLUTION,
           rules_out=(2.5, 2.75, 3.25, 3.5), values=values)
    s.rate("expected-sgd-convolution-vs-condition",
           f"the same iterations grow linearly in cond(C), {span}", result.conditions,
           result.times, CONDITION_LAW, rules_out=(0.75, 1.25), values=values)
    return result
