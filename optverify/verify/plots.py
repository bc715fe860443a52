"""Draw `Figure` descriptions to PNG with matplotlib (headless Agg backend; draws, never computes)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen before pyplot loads)

from optverify.results import Figure, Panel  # noqa: E402

_STYLE = {
    "points": {"linestyle": "none", "marker": "o", "markersize": 4},
    "line": {"linestyle": "-", "linewidth": 1.5},
    "dashed": {"linestyle": "--", "linewidth": 1.2, "color": "black"},
}


def _positive(values) -> bool:
    return all(v > 0 for v in values if isinstance(v, (int, float)) and math.isfinite(v))


def _draw_panel(axes, panel: Panel) -> None:
    if panel.surface is not None:
        surface = panel.surface
        filled = axes.contourf(surface.x, surface.y, surface.z, levels=30, cmap="viridis")
        axes.figure.colorbar(filled, ax=axes, label=surface.label)
    for series in panel.series:
        axes.plot(series.x, series.y, label=series.label, **_STYLE[series.style])
    xs = [v for s in panel.series for v in s.x]
    ys = [v for s in panel.series for v in s.y]
    if panel.xscale == "log" and xs and _positive(xs):
        axes.set_xscale("log")
    if panel.yscale == "log" and ys and _positive(ys):
        axes.set_yscale("log")
    axes.set_title(panel.title, fontsize=10)
    axes.set_xlabel(panel.xlabel)
    axes.set_ylabel(panel.ylabel)
    if panel.series:
        axes.legend(fontsize=7)
    axes.grid(True, which="both", alpha=0.3)


def draw_figure(figure: Figure, path: Path) -> None:
    """Save `figure` as a PNG at `path`."""
    columns = max(1, min(figure.columns, len(figure.panels)))
    rows = math.ceil(len(figure.panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 4.2 * rows), squeeze=False)
    for index, panel in enumerate(figure.panels):
        _draw_panel(axes[index // columns][index % columns], panel)
    for index in range(len(figure.panels), rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    fig.suptitle(figure.title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
