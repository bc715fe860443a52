"""Seed replicates (`verify --seeds K`): one claim run under master seeds seed, ..., seed + K - 1,
combined into one `ClaimResult` carrying a `Replicates` record.

The claim's verdict is the one every seed agrees on, else `inconclusive` with the split stated.
For each check with a fit, the exponents over the seeds are summarized by their mean, sample
standard deviation, minimum and maximum, and pooled as the 95% Student-t interval of the mean of
the K per-seed estimates (scipy.stats.t, K - 1 degrees of freedom): the seeds are independent
replicates of the same experiment, so their estimates are treated as i.i.d. draws.
`run_replicated` runs them (each claim's seeds one after the other, through `runner.run`, so any
executor applies); the rest are pure functions of the per-seed results.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import scipy.stats

from optverify.claim import Claim
from optverify.config import RunConfig
from optverify.results import ClaimResult, ExponentSpread, Replicates, RunResult, Verdict
from optverify.verify.runner import run

POOLED_LEVEL = 0.95


def replicate_seeds(seed: int, count: int) -> tuple[int, ...]:
    """The master seeds of a K-seed run: seed, seed + 1, ..., seed + K - 1."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"the number of seeds must be an integer >= 1, got {count!r}")
    return tuple(range(seed, seed + count))


def verdict_split(verdicts: Sequence[Verdict]) -> str:
    """The verdict counts in words, most frequent first: "consistent 2/3, violated 1/3"."""
    counts = Counter(verdict.value for verdict in verdicts)
    order = sorted(counts, key=lambda value: (-counts[value], value))
    return ", ".join(f"{value} {counts[value]}/{len(verdicts)}" for value in order)


def agreed_verdict(verdicts: Sequence[Verdict]) -> Verdict:
    """The verdict all seeds agree on, else inconclusive."""
    distinct = set(verdicts)
    return distinct.pop() if len(distinct) == 1 else Verdict.INCONCLUSIVE


def exponent_spread(check: str, seeds: Sequence[int], exponents: Sequence[float],
                    verdicts: Sequence[Verdict], level: float = POOLED_LEVEL) -> ExponentSpread:
    """Mean, sd, min, max and the pooled Student-t interval of one check's per-seed exponents."""
    values = np.asarray(exponents, dtype=float)
    count = len(values)
    mean = float(values.mean())
    if count < 2:
        sd = low = high = None
    else:
        sd = float(values.std(ddof=1))
        half = float(scipy.stats.t.ppf(0.5 + level / 2, count - 1)) * sd / math.sqrt(count)
        low, high = mean - half, mean + half
    return ExponentSpread(check, tuple(seeds), tuple(float(v) for v in values), tuple(verdicts),
                          mean, sd, float(values.min()), float(values.max()), low, high, level)


def _spreads(results: Sequence[ClaimResult]) -> tuple[ExponentSpread, ...]:
    """Every fitted check, in the first seed's order, over the seeds where it has a finite fit."""
    names = [check.name for check in results[0].checks if check.fit is not None]
    spreads = []
    for name in names:
        fitted = [(result.environment.seed, check) for result in results
                  for check in result.checks
                  if check.name == name and check.fit is not None
                  and math.isfinite(check.fit.exponent)]
        if fitted:
            spreads.append(exponent_spread(name, [seed for seed, _ in fitted],
                                           [check.fit.exponent for _, check in fitted],
                                           [check.verdict for _, check in fitted]))
    return tuple(spreads)


def combine_replicates(results: Sequence[ClaimResult]) -> ClaimResult:
    """One claim's per-seed results (seed order) as one result: the first seed's layers, the
    agreed verdict (else inconclusive), the `Replicates` record, and the environment of the first
    seed with the wall time of all seeds."""
    if not results:
        raise ValueError("no replicate to combine")
    if len({result.claim for result in results}) != 1:
        raise ValueError("replicates of different claims")
    verdicts = tuple(result.verdict for result in results)
    record = Replicates(
        seeds=tuple(result.environment.seed for result in results),
        verdicts=verdicts,
        split=verdict_split(verdicts),
        exponents=_spreads(results),
    )
    environment = replace(results[0].environment,
                          wall_s=sum(result.environment.wall_s for result in results))
    return replace(results[0], verdict=agreed_verdict(verdicts), environment=environment,
                   replicates=record)


def run_replicated(claims: Sequence[Claim], config: RunConfig, count: int,
                   on_claim_done: Callable[[ClaimResult], None] | None = None,
                   **run_options) -> RunResult:
    """Each claim under master seeds config.seed .. config.seed + count - 1, combined; a claim's
    result goes to `on_claim_done` once all its seeds are done. `run_options` go to `runner.run`."""
    start = time.perf_counter()
    seeds = replicate_seeds(config.seed, count)
    results = []
    for claim in claims:
        per_seed = [run([claim], replace(config, seed=seed), **run_options).claims[0]
                    for seed in seeds]
        result = combine_replicates(per_seed)
        if on_claim_done is not None:
            on_claim_done(result)
        results.append(result)
    return RunResult(config, tuple(results), time.perf_counter() - start)
