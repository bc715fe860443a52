"""Draw `Figure` descriptions to PNG with matplotlib (headless Agg backend; draws, never computes)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen before pyplot loads)

from optverify.results import Figure, Panel, Series  # noqa: E402

_STYLE = {
    "points": {"linestyle": "none", "marker": "o", "markersize": 4},
    "line": {"linestyle": "-", "linewidth": 1.5},
    "dashed": {"linestyle": "--", "linewidth": 1.2, "color": "black"},
}


_LOG_AXIS_RANGE = (1e-250, 1e250)
"""matplotlib's log tick locator overflows near the float64 limits; points outside are counted
as not drawable (a diverged run at 1e264 is shown by its last drawable point and the count)."""


def _fits_axis(value: float, scale: str) -> bool:
    value = float(value)  # numpy float32 would overflow when compared with the range
    if not math.isfinite(value):
        return False
    return scale != "log" or _LOG_AXIS_RANGE[0] <= value <= _LOG_AXIS_RANGE[1]


def _drawable(series: Series, panel: Panel) -> tuple[list[float], list[float]]:
    """The points the panel's axes can show: finite, and inside the log range on a log axis."""
    kept = [
        (x, y) for x, y in zip(series.x, series.y)
        if _fits_axis(x, panel.xscale) and _fits_axis(y, panel.yscale)
    ]
    return [x for x, _ in kept], [y for _, y in kept]


def _draw_panel(axes, panel: Panel) -> None:
    if panel.surface is not None:
        surface = panel.surface
        filled = axes.contourf(surface.x, surface.y, surface.z, levels=30, cmap="viridis")
        axes.figure.colorbar(filled, ax=axes, label=surface.label)
    drawn = False
    for series in panel.series:
        xs, ys = _drawable(series, panel)
        if len(xs) < len(series.x):
            label = f"{series.label} ({len(series.x) - len(xs)} points not drawable)"
        else:
            label = series.label
        axes.plot(xs, ys, label=label, **_STYLE[series.style])
        drawn = drawn or bool(xs)
    if drawn and panel.xscale == "log":
        axes.set_xscale("log")
    if drawn and panel.yscale == "log":
        axes.set_yscale("log")
    axes.set_title(panel.title, fontsize=10)
    axes.set_xlabel(panel.xlabel)
    axes.set_ylabel(panel.ylabel)
    if panel.series:
        axes.legend(fontsize=7)
    axes.grid(True, which="both", alpha=0.3)


def draw_figure(figure: Figure, path: Path) -> None:
    """Save `figure` as a PNG at `path`."""
    path.write_bytes(figure_png(figure))


def figure_png(figure: Figure) -> bytes:
    """`figure` drawn as PNG bytes."""
    columns = max(1, min(figure.columns, len(figure.panels)))
    rows = math.ceil(len(figure.panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 4.2 * rows), squeeze=False)
    for index, panel in enumerate(figure.panels):
        _draw_panel(axes[index // columns][index % columns], panel)
    for index in range(len(figure.panels), rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    fig.suptitle(figure.title)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.06 / rows))  # room for the suptitle
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110)
    plt.close(fig)
    return png.getvalue()
