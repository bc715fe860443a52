"""Every `s.rate` gets its figure by default (issue 21, item 6): measured points, fitted line,
claimed bound and local slopes, in a layer that draws no figure of its own."""

import numpy as np
import pytest

from optverify.config import RunConfig
from optverify.figures import local_slopes_panel, rate_figure
from optverify.kit import Bound, Claim, Session, Source, rate_panel
from optverify.numerics.fit import fit_rate
from optverify.verify.runner import run_claim

N = np.geomspace(4, 4096, 10)
SQUARE = Bound.tight("n", 2)


def _claim(experiment) -> Claim:
    return Claim(id="toy-figures", title="t", source=Source("P", "T"), bound=SQUARE,
                 experiment=experiment)


def _two_rates(s: Session) -> None:
    s.rate("cost-vs-n", "the cost grows like n^2", N, 3.0 * N**2, main=True)
    s.rate("time-vs-n", "the time grows like n^2", N, N**2 * (1 + 1 / N), SQUARE)


def _own_figure(s: Session) -> None:
    check = s.rate("cost-vs-n", "the cost grows like n^2", N, 3.0 * N**2, main=True)
    s.figure("mine", "my figure", [rate_panel("rate", "n", "cost", N, 3.0 * N**2, check.fit)])


def test_each_rate_gets_its_figure_when_the_layer_draws_none():
    result = run_claim(_claim(_two_rates), RunConfig(quick=True))
    assert [figure.name for figure in result.figures] == ["cost-vs-n", "time-vs-n"]
    measured, fitted, claimed = result.figures[0].panels[0].series
    assert measured.x == tuple(N) and measured.y == pytest.approx(tuple(3.0 * N**2))
    assert "slope 2" in fitted.label and claimed.style == "dashed"


def test_a_layer_with_its_own_figure_keeps_only_it():
    result = run_claim(_claim(_own_figure), RunConfig(quick=True))
    assert [figure.name for figure in result.figures] == ["mine"]


def test_the_local_slopes_panel_sits_between_the_points():
    y = N**2 * (1 + 4 / N)  # slopes rise towards 2 as n grows
    fit = fit_rate(N, y)
    panel = local_slopes_panel(N, fit, SQUARE)
    slopes, fitted, claimed = panel.series
    assert slopes.y == fit.local_slopes and len(slopes.x) == len(N) - 1
    assert N[0] < slopes.x[0] < N[1] and slopes.x[-1] == pytest.approx(np.sqrt(N[-2] * N[-1]))
    assert claimed.y == (2.0, 2.0) and fitted.y == (fit.exponent, fit.exponent)
    assert slopes.y[-1] > slopes.y[0]


def test_slopes_of_other_points_are_not_drawn():
    fit = fit_rate(N, N**2)
    assert local_slopes_panel(N[:5], fit, SQUARE) is None
    assert len(rate_figure("f", "s", N[:5], N[:5] ** 2, fit, SQUARE).panels) == 1
