"""The HTML files among the report files, and the permissions every report file and folder gets."""

import json
import os
import stat

import pytest

from optverify.config import RunConfig
from optverify.verify import report
from optverify.verify.runner import run
from tests.toy_claims import CONSISTENT, VIOLATED


@pytest.fixture
def umask():
    """Set the process umask for one test, and restore it afterwards."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


def write_run(out, claims=(CONSISTENT, VIOLATED), seed=1):
    result = run(list(claims), RunConfig(seed=seed))
    for claim in result.claims:
        report.write_claim_report(claim, out)
    report.write_summary(result, out)
    return result


def modes(out):
    """Permission bits of every file and folder under `out` (out itself included)."""
    found = {out: stat.S_IMODE(out.stat().st_mode)}
    for path in out.rglob("*"):
        found[path] = stat.S_IMODE(path.stat().st_mode)
    return found


@pytest.mark.parametrize("mask, file_mode, folder_mode", [
    (0o022, 0o644, 0o755),
    (0o077, 0o600, 0o700),
    (0o002, 0o664, 0o775),
])
def test_report_files_and_folders_follow_the_umask(tmp_path, umask, mask, file_mode, folder_mode):
    umask(mask)
    out = tmp_path / "out"
    write_run(out)
    write_run(out, seed=2)  # a rewrite swaps in new folders and renames new files over old
    found = modes(out)
    suffixes = {path.suffix for path in found if path.is_file()}
    assert suffixes == {".json", ".md", ".png", ".html"}
    assert [path.name for path in found if path.name.startswith(".")] == [report.MANIFEST_NAME]
    for path, mode in found.items():
        assert mode == (folder_mode if path.is_dir() else file_mode), (path, oct(mode))


def test_current_umask_reads_without_changing_it(umask):
    umask(0o027)
    assert report.current_umask() == 0o027
    assert report.file_mode() == 0o640 and report.folder_mode() == 0o750
    assert os.umask(0o027) == 0o027


def test_claim_and_summary_pages_are_written(tmp_path):
    write_run(tmp_path)
    assert (tmp_path / "index.html").read_text().startswith("<!DOCTYPE html>")
    for claim in (CONSISTENT, VIOLATED):
        page = (tmp_path / claim.id / "index.html").read_text()
        assert page.startswith("<!DOCTYPE html>") and 'href="../index.html"' in page


def test_summary_of_a_partial_run_links_earlier_pages_without_restating_them(tmp_path):
    write_run(tmp_path, claims=(CONSISTENT, VIOLATED))
    (tmp_path / VIOLATED.id / "report.json").write_text("{ truncated")  # an earlier, broken report
    write_run(tmp_path, claims=(CONSISTENT,), seed=3)
    index = (tmp_path / "index.html").read_text()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [entry["claim"] for entry in summary["claims"]] == [CONSISTENT.id]
    this_run, earlier = index.split("Other claim pages in this folder")
    assert f'href="{CONSISTENT.id}/index.html"' in this_run and VIOLATED.id not in this_run
    assert f'href="{VIOLATED.id}/index.html"' in earlier
    assert "badge" not in earlier.split("<h2>")[0]  # no verdict restated for an earlier page


def test_a_failing_page_leaves_the_previous_claim_folder_intact(tmp_path, monkeypatch):
    write_run(tmp_path, claims=(CONSISTENT,))
    before = (tmp_path / CONSISTENT.id / "index.html").read_text()

    def broken(result):
        raise RuntimeError("template failed")

    monkeypatch.setattr(report, "claim_html", broken)
    with pytest.raises(RuntimeError):
        write_run(tmp_path, claims=(CONSISTENT,), seed=2)
    assert (tmp_path / CONSISTENT.id / "index.html").read_text() == before
    assert not [path for path in tmp_path.iterdir()
                if path.name.startswith(".") and path.name != report.MANIFEST_NAME]
