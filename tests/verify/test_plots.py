"""The plot renderer draws what it can and never fails on awkward data."""

from optverify.results import Figure, Panel, Series, Surface
from optverify.verify.plots import draw_figure

PNG = b"\x89PNG\r\n\x1a\n"


def test_diverged_and_non_finite_points_are_skipped(tmp_path):
    diverged = Series("diverged", (0.0, 1.0, 2.0, 3.0), (0.125, 6e205, 7e264, float("inf")), "line")
    converged = Series("converged", (0.0, 1.0, 2.0), (0.125, 1e-3, 1.5e-31), "line")
    panel = Panel("runs", "t", "l(t)", (diverged, converged), xscale="linear", yscale="log")
    draw_figure(Figure("runs", "runs", (panel,)), tmp_path / "runs.png")
    assert (tmp_path / "runs.png").read_bytes()[:8] == PNG


def test_surface_and_several_panels(tmp_path):
    surface = Surface("F", (0.0, 1.0, 2.0), (0.0, 1.0), ((0.0, 1.0, 2.0), (1.0, 2.0, 3.0)))
    panels = (Panel("landscape", "w1", "w2", surface=surface, xscale="linear", yscale="linear"),
              Panel("empty log panel", "x", "y", (Series("none", (0.0,), (-1.0,)),)),
              Panel("third", "x", "y", (Series("pts", (1.0, 2.0), (1.0, 4.0)),)))
    draw_figure(Figure("grid", "grid", panels, columns=2), tmp_path / "grid.png")
    assert (tmp_path / "grid.png").read_bytes()[:8] == PNG
