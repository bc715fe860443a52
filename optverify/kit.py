"""The one import for claim authors: everything a claim file and its layers need.

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
tolerance)`; each returns a result object with `.verdict` and `.detail`.

Run it with `verify run path/to/file.py`, or publish it from a package under the entry-point group
`optverify.claims`. See docs/your-own-claim.md.
"""

from optverify.bound import Bound, BoundKind
from optverify.claim import Claim, Source
from optverify.config import RunConfig
from optverify.figures import rate_panel
from optverify.numerics.fit import (
    ConfidenceInterval,
    FitScale,
    RateFit,
    fit_exponential_rate,
    fit_power_law,
    fit_rate,
)
from optverify.numerics.ball import Enclosure, certify
from optverify.numerics.precision import BELOW_PRECISION, Resolved, machine_epsilon, resolve
from optverify.numerics.search import IntegerRange, MatrixRange, RealRange, SearchBudget
from optverify.results import (
    Check,
    Control,
    Duration,
    Figure,
    Judgement,
    Layer,
    LayerResult,
    Panel,
    Series,
    Surface,
    Table,
    Verdict,
)
from optverify.session import Progress, Session, run_layer
from optverify.verdict import ExponentJudgement, judge_exponent, judge_proportion
from optverify.verdict import residual_judgement as judge_residual

__all__ = [
    "BELOW_PRECISION",
    "Bound",
    "BoundKind",
    "Check",
    "Claim",
    "ConfidenceInterval",
    "Control",
    "Duration",
    "Enclosure",
    "ExponentJudgement",
    "Figure",
    "FitScale",
    "IntegerRange",
    "Judgement",
    "Layer",
    "LayerResult",
    "MatrixRange",
    "Panel",
    "Progress",
    "RateFit",
    "RealRange",
    "Resolved",
    "RunConfig",
    "SearchBudget",
    "Series",
    "Session",
    "Source",
    "Surface",
    "Table",
    "Verdict",
    "certify",
    "fit_exponential_rate",
    "fit_power_law",
    "fit_rate",
    "judge_exponent",
    "judge_proportion",
    "judge_residual",
    "machine_epsilon",
    "rate_panel",
    "resolve",
    "run_layer",
]
