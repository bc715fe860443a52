"""The one import for claim authors: everything a claim file and its layers need, nothing else.

    from optverify.kit import Bound, Claim, Session, Source

    def experiment(s: Session) -> None:
        kappas = s.preset(quick=[10, 30, 100], full=[10, 30, 100, 300, 1000])
        ...
        s.rate("iterations-vs-kappa", "...", kappas, iterations, main=True)

    CLAIM = Claim(id="gd-quadratic", title="...", source=Source(...),
                  bound=Bound.tight("kappa", 1), experiment=experiment)

Counter-examples: `s.search(name, statement, margin, {"c": RealRange(1, 3), "n": IntegerRange(2,
40)})` hunts for an instance with margin(x, m) < 0 and certifies it in ball arithmetic
(`certify(margin, instance)` alone gives the `Enclosure` at one exact instance).

Judges for a notebook, without a session: `judge_exponent(x, y, bound)` (a rate, as `s.rate`
judges it), `judge_proportion(successes, trials, threshold)`, `judge_residual(residual,
tolerance)`; each returns a result object with `.verdict` and `.detail`. `fit_for_bound(x, y,
bound)` is the fit `s.rate` judges (for `s.fitted_rate` on transformed data); `as_power_law(x, y,
fit)` redraws an exponential fit's points as the best power law through them (a control's data).

The harness a claim's *tests* use (running one layer, `RunConfig`, `Layer`, the assertions) is
`optverify.testing`. Run a claim with `verify run path/to/file.py`, or publish it from a package
under the entry-point group `optverify.claims`. See docs/writing-a-claim.md.
"""

from optverify.bound import Bound
from optverify.claim import Claim, Source
from optverify.controls import as_power_law
from optverify.datasets import DataSet
from optverify.figures import rate_panel
from optverify.numerics.fit import (
    ConfidenceInterval,
    FitScale,
    RateFit,
    fit_exponential_rate,
    fit_power_law,
)
from optverify.numerics.ball import Enclosure, certify
from optverify.numerics.precision import BELOW_PRECISION, Resolved, machine_epsilon, resolve
from optverify.numerics.search import IntegerRange, MatrixRange, RealRange, SearchBudget
from optverify.results import (
    Check,
    Duration,
    Figure,
    Judgement,
    Panel,
    Series,
    Surface,
    Table,
    Verdict,
)
from optverify.session import Progress, Session
from optverify.verdict import judge_exponent, judge_proportion
from optverify.verdict import rate_fit as fit_for_bound
from optverify.verdict import residual_judgement as judge_residual

__all__ = [
    "BELOW_PRECISION",
    "Bound",
    "Check",
    "Claim",
    "ConfidenceInterval",
    "DataSet",
    "Duration",
    "Enclosure",
    "Figure",
    "FitScale",
    "IntegerRange",
    "Judgement",
    "MatrixRange",
    "Panel",
    "Progress",
    "RateFit",
    "RealRange",
    "Resolved",
    "SearchBudget",
    "Series",
    "Session",
    "Source",
    "Surface",
    "Table",
    "Verdict",
    "as_power_law",
    "certify",
    "fit_exponential_rate",
    "fit_for_bound",
    "fit_power_law",
    "judge_exponent",
    "judge_proportion",
    "judge_residual",
    "machine_epsilon",
    "rate_panel",
    "resolve",
]
