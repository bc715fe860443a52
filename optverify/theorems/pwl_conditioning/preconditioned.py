"""The preconditioned learner of Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 4:
with the sampled moment matrix whitening the inputs, the exact expected SGD iterations no longer
grow with n (their spread over n stays below PRECONDITIONED_SPREAD_LIMIT, against the growing
laws of the unpreconditioned learners as controls).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from mpmath import mp

from optverify.kit import Bound, Judgement, Session, Verdict
from optverify.numerics.mp_linalg import psd_power
from optverify.theorems.pwl_conditioning import expected
from optverify.theorems.pwl_conditioning.config import ExperimentConfig
from optverify.theorems.pwl_conditioning.expected_iterations import (
    convolution_expectation,
    exact_moments,
)
from optverify.theorems.pwl_conditioning.sampling import sample_curves_numpy

PRECONDITIONED_SPREAD_LIMIT = 2.0
""""Independent of n" (Section 4.1.3: after preconditioning the condition number is ~1, so
O(log 1/eps) iterations "regardless of n"): the largest iteration count over n = 4..1024 is at
most twice the smallest. Fixed before measuring; a count growing like log n spans a factor
log(1024)/log(4) = 5 over these sizes, like n^0.5 a factor 16."""


ROUNDING_LIMIT = 1.0
"""A size's preconditioned SGD runs in a dtype only where eps(dtype) cond(C_n) <= 1. The window
moments are computed in the run's dtype; their rounding perturbs the whitened moment R C R = I by
up to about eps cond(C_n) (first order), and beyond its smallest eigenvalue, 1, the iteration
need not contract. float64 keeps every size to n = 1024 (eps cond(C_1024) = 3.6e-7); float32
keeps n <= 128 (0.38) and drops 256 (3.0), 512 (24) and 1024 (192). Set in session 8 after the
full float32 run's SGD never reached 1e-6 at n = 512 and 1024 and ran fast at 256 (16.5
iterations against 19.8 at n <= 128): a size past the limit is below the dtype's precision,
reported, not judged."""


@dataclass(frozen=True)
class Preconditioning:
    """Per n: R = C_m^{-1/2} from m sampled curves (sizes, 3, 3), cond(R C R), the sampling
    error ||C^{-1/2} C_m C^{-1/2} - I||_2, the exact expected iterations to the target, and
    cond(C) of the exact window moment."""

    sizes: tuple[int, ...]
    whitening: np.ndarray
    conditions: np.ndarray
    sampling_errors: np.ndarray
    times: np.ndarray
    moment_conditions: np.ndarray

    def resolvable(self, dtype: torch.dtype) -> Preconditioning:
        """The sizes whose SGD the dtype resolves (ROUNDING_LIMIT)."""
        keep = torch.finfo(dtype).eps * self.moment_conditions <= ROUNDING_LIMIT
        return Preconditioning(tuple(np.array(self.sizes)[keep].tolist()), self.whitening[keep],
                               self.conditions[keep], self.sampling_errors[keep],
                               self.times[keep], self.moment_conditions[keep])


def sampled_moment(n: int, samples: int, rng: np.random.Generator, chunk: int = 2000
                   ) -> np.ndarray:
    """C_m = (1/(m n)) sum over m sampled curves and t of w_t w_t^T (uncentered, Section 4.1.3)."""
    total = np.zeros((3, 3))
    for start in range(0, samples, chunk):
        f = sample_curves_numpy(n, min(chunk, samples - start), rng).f
        padded = np.concatenate([np.zeros((f.shape[0], 2)), f], axis=1)
        shifts = (padded[:, :n], padded[:, 1:n + 1], f)
        total += np.array([[np.sum(a * b) for b in shifts] for a in shifts])
    return total / (samples * n)


def preconditioning(sizes, samples: int, factor: float, target: float, horizon: int,
                    rng: np.random.Generator, digits: int = 40) -> Preconditioning:
    moments = exact_moments(sizes, digits)
    whitening, errors = [], []
    with mp.workdps(digits):
        for n, exact in zip(sizes, moments):
            estimate = mp.matrix(sampled_moment(n, samples, rng).tolist())
            whitening.append(np.array(psd_power(estimate, mp.mpf(-1) / 2).tolist(), dtype=float))
            root = psd_power(exact, mp.mpf(-1) / 2)
            relative = root * estimate * root - mp.eye(3)
            errors.append(float(max(abs(v) for v in mp.eigsy(relative, eigvals_only=True))))
    whitening = np.stack(whitening)
    problem = expected.filter_problem(moments, whitening, digits)
    times = expected.filter_hitting_times(problem, factor, target, horizon)
    moment_conditions = np.array([np.linalg.cond(np.array(m.tolist(), dtype=float))
                                  for m in moments])
    return Preconditioning(tuple(sizes), whitening, problem.condition, np.array(errors),
                           times.astype(float), moment_conditions)


def spread(counts) -> float:
    counts = np.asarray(counts, dtype=float)
    return float(counts.max() / counts.min())


def spread_judge(counts) -> Judgement:
    """Bounded in n: max/min of the counts over the sweep <= PRECONDITIONED_SPREAD_LIMIT."""
    ratio = spread(counts)
    verdict = Verdict.CONSISTENT if ratio <= PRECONDITIONED_SPREAD_LIMIT else Verdict.VIOLATED
    return Judgement(verdict, f"max/min of the iteration counts over n = {ratio:.4g} (allowed "
                     f"<= {PRECONDITIONED_SPREAD_LIMIT:g}, fixed before measuring)",
                     {"max_over_min": ratio, "min_count": float(np.min(counts)),
                      "max_count": float(np.max(counts))})


def growing_controls(sizes, counts) -> dict:
    """The false alternatives of "independent of n": the same counts growing like log n and like
    n^0.5 from the smallest size."""
    sizes, counts = np.asarray(sizes, dtype=float), np.asarray(counts, dtype=float)
    return {"counts growing like log n": counts * np.log(sizes) / np.log(sizes[0]),
            "counts growing like n^0.5": counts * np.sqrt(sizes / sizes[0])}


def record_preconditioned(s: Session, config: ExperimentConfig, precondition: Preconditioning,
                          sgd_sizes: tuple[int, ...], crossings: np.ndarray) -> None:
    """The exact expected and the stochastic preconditioned counts bounded over n; `crossings`:
    the seeded SGD crossing times per (size, seed) of the preconditioned twin at `sgd_sizes`
    (the sizes the run's dtype resolves, `Preconditioning.resolvable`)."""
    sizes, target = precondition.sizes, config.preconditioned_target
    span = f"n = {sizes[0]}..{sizes[-1]}"
    unconditioned = convolution_expectation(sizes, config.step_factor, target).times
    exact_count = int(np.floor(np.log(target) / np.log(1 - config.step_factor)) + 1)
    s.decide("expected-preconditioned-bounded",
             "Section 4.1.3: after C_m^{-1/2} preconditioning (C_m from "
             f"m = {config.preconditioning_samples} curves) the exact expected SGD needs a "
             f"number of iterations to relative filter error {target:g} independent of n: "
             f"max/min over {span} <= {PRECONDITIONED_SPREAD_LIMIT:g}", spread_judge,
             precondition.times,
             controls={**growing_controls(sizes, precondition.times),
                       "the convolution without preconditioning": unconditioned},
             values={**{f"iterations_n={n}": int(t) for n, t in zip(sizes, precondition.times)},
                     "iterations_with_exact_C": exact_count})
    means = crossings.mean(axis=1)
    below = [n for n in sizes if n not in sgd_sizes]
    s.decide("sgd-preconditioned-bounded",
             f"the same for stochastic SGD ({config.preconditioned_seeds} seeds per n, seed-mean "
             f"crossing times), n = {sgd_sizes[0]}..{sgd_sizes[-1]}"
             + (f" (n = {', '.join(map(str, below))} below the run's precision: "
                f"eps cond(C_n) > {ROUNDING_LIMIT:g})" if below else ""),
             spread_judge, means, controls=growing_controls(sgd_sizes, means),
             values={f"mean_iterations_n={n}": f"{m:.4g}" for n, m in zip(sgd_sizes, means)})
    s.rate("expected-preconditioned-vs-n",
           f"the exact expected preconditioned counts fitted against n^0, {span} (reported: "
           "integer counts of tens)", sizes, precondition.times, Bound.tight("n", 0),
           decisive=False, values={"cond_RCR_max": float(precondition.conditions.max())})
    s.table("preconditioning",
            f"Preconditioning with C_m from m = {config.preconditioning_samples} curves: "
            "sampling error of C_m, cond(C_m^-1/2 C C_m^-1/2), iterations to relative filter "
            f"error {target:g} (exact expectation; SGD seed mean and sd); with the exact C the "
            f"count is {exact_count} for every n",
            ("n", "||C^-1/2 C_m C^-1/2 - I||_2", "cond(C_m^-1/2 C C_m^-1/2)", "exact expected",
             "SGD mean", "SGD sd"),
            _preconditioning_rows(precondition, sgd_sizes, crossings))


def _preconditioning_rows(precondition: Preconditioning, sgd_sizes: tuple[int, ...],
                          crossings: np.ndarray) -> tuple:
    """The table's rows; SGD columns "below precision" at the sizes the dtype does not resolve."""
    sgd = {n: (f"{row.mean():.4g}", f"{row.std(ddof=1):.3g}")
           for n, row in zip(sgd_sizes, crossings)}
    return tuple((n, f"{e:.3g}", f"{c:.5f}", int(t), *sgd.get(n, ("below precision",) * 2))
                 for n, e, c, t in zip(precondition.sizes, precondition.sampling_errors,
                                       precondition.conditions, precondition.times))


def figure_whitening(n: int, samples: int, rng: np.random.Generator, digits: int = 40
                     ) -> np.ndarray:
    """C_m^{-1/2} at size n from m sampled curves (the Fig. 6 preconditioner)."""
    with mp.workdps(digits):
        estimate = mp.matrix(sampled_moment(n, samples, rng).tolist())
        return np.array(psd_power(estimate, mp.mpf(-1) / 2).tolist(), dtype=float)
