"""Figure descriptions for fitted rates: measured points, fitted line and claimed bound line, and
the local slopes; `rate_figure` is the figure every `s.rate` gets by default.

The lines are computed here, from the fit and the bound, so the plot renderer only draws.
"""

from __future__ import annotations

import numpy as np

from optverify.bound import Bound
from optverify.numerics.fit import FitScale, RateFit
from optverify.results import Figure, Panel, Series


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


def _slope_positions(x, scale: FitScale) -> np.ndarray:
    """Where the fit's local slopes sit: between consecutive distinct sorted x (geometric means on
    a log-log fit), in the order `fit_rate` computes them."""
    x = np.sort(np.asarray(x, dtype=float))
    apart = np.diff(x) > 0
    if scale is FitScale.LOG_LOG:
        return np.sqrt(x[:-1] * x[1:])[apart]
    return ((x[:-1] + x[1:]) / 2)[apart]


def local_slopes_panel(x, fit: RateFit, bound: Bound | None = None) -> Panel | None:
    """The local slopes between consecutive points against x, beside the fitted and the claimed
    exponent: whether the sweep reached the asymptotic range (the slopes settle) or not. None when
    the fit's slopes do not belong to these points (a fit made on other points)."""
    positions = _slope_positions(x, fit.scale)
    if len(positions) != len(fit.local_slopes) or len(positions) == 0:
        return None
    ends = (float(positions[0]), float(positions[-1]))
    series = [Series("local slopes", tuple(float(p) for p in positions), fit.local_slopes),
              Series(f"fitted exponent {fit.exponent:.3g}", ends, (fit.exponent,) * 2, "line")]
    if bound is not None and bound.exponent is not None:
        claimed = float(bound.exponent_value)
        series.append(Series(f"claimed {bound.describe()}", ends, (claimed, claimed), "dashed"))
    xscale = "log" if fit.scale is FitScale.LOG_LOG else "linear"
    return Panel("local slopes", "x (between consecutive points)", "slope", tuple(series),
                 xscale=xscale, yscale="linear")


def rate_figure(name: str, statement: str, x, y, fit: RateFit, bound: Bound | None = None
                ) -> Figure:
    """The default figure of a rate check (`s.rate` in a layer that draws no figure of its own):
    measured points, fitted line and claimed bound, and the local slopes."""
    panels = [rate_panel(statement, "x", "y", x, y, fit, bound)]
    slopes = local_slopes_panel(x, fit, bound)
    if slopes is not None:
        panels.append(slopes)
    return Figure(name, statement, tuple(panels), columns=len(panels))
