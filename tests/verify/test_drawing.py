"""The drawing helper and the run's report writer: figures drawn aside (in a helper process)
give the same files as figures drawn here; a helper that dies, a write that fails and an
interrupt behave as when everything is drawn here."""

import errno
import os
from pathlib import Path

import pytest

from optverify.config import RunConfig
from optverify.verify import drawing, report
from optverify.verify.plots import figure_png
from optverify.verify.runner import run_claim
from tests.toy_claims import CONSISTENT, VIOLATED


@pytest.fixture(scope="module")
def results():
    return [run_claim(claim, RunConfig(seed=3)) for claim in (CONSISTENT, VIOLATED)]


def files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_reports_drawn_aside_equal_reports_drawn_here(tmp_path, results):
    for aside in (False, True):
        with report.ClaimReports(tmp_path / str(aside), draw_aside=aside) as reports:
            for result in results:
                reports.add(result)
            reports.finish()
    here, aside = files(tmp_path / "False"), files(tmp_path / "True")
    assert here == aside
    assert sum(name.endswith(".png") for name in here) == sum(len(r.figures) for r in results) > 0


def test_reports_are_written_in_the_order_the_claims_finished(tmp_path, results):
    with report.ClaimReports(tmp_path, draw_aside=True) as reports:
        reports.add(results[0])
        reports.add(results[1])
        assert not (tmp_path / results[1].claim).exists() or (tmp_path / results[0].claim).exists()
        reports.finish()
    written = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert written == sorted(r.claim for r in results)  # besides the manifest


def test_a_helper_that_dies_leaves_the_figure_to_be_drawn_here(results):
    figure = results[0].figures[0]
    future = drawing.submit(figure)
    future.result()  # the helper is up
    for process in list(drawing._pool()._processes.values()):
        process.kill()
        process.join()
    dead = drawing.submit(figure)  # accepted or refused by the broken pool: drawn either way
    assert drawing.png_of(figure, dead) == figure_png(figure)
    assert drawing.png_of(figure, drawing.submit(figure)) == figure_png(figure)  # a new helper


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_failed_write_of_a_report_drawn_aside_is_a_report_error_and_drops_the_rest(
        tmp_path, results, monkeypatch):
    monkeypatch.setattr(Path, "write_text", _enospc)
    with pytest.raises(report.ReportError, match="No space left on device"):
        with report.ClaimReports(tmp_path, draw_aside=True) as reports:
            for result in results:
                reports.add(result)
            reports.finish()
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_drops_the_reports_not_yet_written(tmp_path, results):
    with pytest.raises(KeyboardInterrupt):
        with report.ClaimReports(tmp_path, draw_aside=True) as reports:
            reports.add(results[0])
            reports.finish()
            reports.add(results[1])
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == \
        [results[0].claim]
    assert drawing._helper is None


def test_spare_core_follows_the_affinity(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert not drawing.spare_core()
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert drawing.spare_core()
