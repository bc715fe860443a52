"""Binomial proportions: the one home of the exact (Clopper-Pearson) interval.

Shaped like scipy's result objects: `binomial_proportion(k, n)` returns a frozen
`BinomialProportion` whose `proportion_ci(level)` gives the shared `ConfidenceInterval`, as
`scipy.stats.binomtest(k, n).proportion_ci(level, method="exact")` does (Clopper and Pearson 1934:
the interval inverts two one-sided binomial tests at (1 - level) / 2 each, so it covers the true
proportion with probability at least `level` for every n). The numbers are scipy's own, so every
claim that computed them through `binomtest` keeps them to the last digit.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats

from optverify.numerics.fit import JUDGING_LEVEL, ConfidenceInterval

PROPORTION_LEVEL = JUDGING_LEVEL
"""The default confidence level of a proportion's interval: the kit's judging level."""


@dataclass(frozen=True)
class BinomialProportion:
    """`successes` out of `trials` independent Bernoulli trials (0 <= successes <= trials)."""

    successes: int
    trials: int

    @property
    def proportion(self) -> float:
        return self.successes / self.trials

    def proportion_ci(self, level: float = PROPORTION_LEVEL) -> ConfidenceInterval:
        """The two-sided Clopper-Pearson interval of the proportion at confidence `level`."""
        if not 0 < level < 1:
            raise ValueError(f"a confidence level lies in (0, 1), got {level!r}")
        interval = stats.binomtest(self.successes, self.trials).proportion_ci(level,
                                                                              method="exact")
        return ConfidenceInterval(float(interval.low), float(interval.high), level)


def binomial_proportion(successes: int, trials: int) -> BinomialProportion:
    """`successes` / `trials` as a `BinomialProportion`; a ValueError for counts that are not
    integers with 0 <= successes <= trials and trials >= 1."""
    counts = (successes, trials)
    if any(isinstance(count, bool) or int(count) != count for count in counts):
        raise ValueError(f"a proportion needs integer counts, got {successes!r} / {trials!r}")
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"a proportion needs 0 <= successes <= trials and trials >= 1, got "
                         f"{successes} / {trials}")
    return BinomialProportion(int(successes), int(trials))


def clopper_pearson(successes: int, trials: int,
                    level: float = PROPORTION_LEVEL) -> ConfidenceInterval:
    """The exact (Clopper-Pearson) `level` interval of successes / trials."""
    return binomial_proportion(successes, trials).proportion_ci(level)
