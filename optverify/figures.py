"""Figure descriptions for fitted rates: measured points, fitted line and claimed bound line.

The lines are computed here, from the fit and the bound, so the plot renderer only draws.
"""

from __future__ import annotations

import numpy as np

from optverify.bound import Bound
from optverify.numerics.fit import FitScale, RateFit
from optverify.results import Panel, Series


def _grid(fit: RateFit, points: int = 50) -> np.ndarray:
    if fit.scale is FitScale.LOG_LOG:
        return np.geomspace(fit.x_min, fit.x_max, points)
    return np.linspace(fit.x_min, fit.x_max, points)


def fit_series(fit: RateFit, label: str = "least-squares fit") -> Series:
    x = _grid(fit)
    return Series(f"{label} (slope {fit.exponent:.3g})", tuple(x), tuple(fit.predict(x)), "line")


def bound_series(fit: RateFit, bound: Bound) -> Series:
    """The claimed exponent drawn through the fit's centre point, to compare slopes by eye."""
    exponent = bound.exponent_value
    x = _grid(fit)
    centre = float(np.exp(np.mean(np.log(x)))) if fit.scale is FitScale.LOG_LOG else float(x.mean())
    anchor = float(fit.predict(np.array([centre]))[0])
    if fit.scale is FitScale.LOG_LOG:
        y = anchor * (x / centre) ** exponent
    else:
        y = anchor * np.exp(exponent * (x - centre))
    return Series(f"claimed {bound.describe()}", tuple(x), tuple(y), "dashed")


def rate_panel(
    title: str,
    xlabel: str,
    ylabel: str,
    x,
    y,
    fit: RateFit,
    bound: Bound | None = None,
    measured_label: str = "measured",
) -> Panel:
    """A panel with the measured points, the fitted line and (optionally) the claimed bound."""
    series = [
        Series(measured_label, tuple(float(v) for v in x), tuple(float(v) for v in y)),
        fit_series(fit),
    ]
    if bound is not None and bound.exponent is not None:
        series.append(bound_series(fit, bound))
    xscale = "log" if fit.scale is FitScale.LOG_LOG else "linear"
    return Panel(title, xlabel, ylabel, tuple(series), xscale=xscale, yscale="log")
