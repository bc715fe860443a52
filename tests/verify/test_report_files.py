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


# -- nothing of the user's is touched (issue 19, item 3) -----------------------------------------

FIGURE_CLAIM = """
from optverify.kit import Panel
from tests.toy_claims import toy_claim

def experiment(s):
    s.figure({name!r}, "a figure", [Panel("p", "x", "y")])

CLAIM = toy_claim({claim_id!r}).__class__(**{{**toy_claim({claim_id!r}).__dict__,
                                            "experiment": experiment}})
"""


def figure_claim(folder, claim_id, figure_name):
    path = folder / f"{claim_id}.py"
    path.write_text(FIGURE_CLAIM.format(name=figure_name, claim_id=claim_id))
    return str(path)


def files_under(folder):
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file()}


def verify_cli(capsys, *argv):
    from optverify.verify import cli

    code = cli.main([*argv, "--progress", "off", "--device", "cpu"])
    out, err = capsys.readouterr()
    return code, out, err


def test_figure_names_that_leave_the_folder_are_that_claims_error_and_nothing_leaves_out(
        capsys, tmp_path):
    claims = tmp_path / "claims"
    claims.mkdir()
    good = claims / "good.py"
    good.write_text("from tests.toy_claims import toy_claim\nCLAIM = toy_claim('good')\n")
    paths = [figure_claim(claims, "evil-figure", "../../../evil"),
             figure_claim(claims, "slash-figure", "a/b"), str(good)]
    out = tmp_path / "deep" / "er" / "out"
    before = files_under(tmp_path)
    code, printed, err = verify_cli(capsys, "run", *paths, "--out", str(out), "--json")
    summary = json.loads(printed)
    assert code == 3, err
    assert {entry["claim"]: entry["verdict"] for entry in summary["claims"]} == {
        "evil-figure": "error", "slash-figure": "error", "good": "consistent"}
    for claim_id, name in (("evil-figure", "../../../evil"), ("slash-figure", "a/b")):
        data = json.loads((out / claim_id / "report.json").read_text())
        assert data["layers"][2]["error"] == (
            f"ValueError: figure name {name!r} contains a path separator: it names a file in the "
            "claim's report folder, so it must be a plain file name (letters, digits, '-', '_')")
        assert data["layers"][0]["error"] is None and data["layers"][1]["error"] is None
    after = files_under(tmp_path)
    outside = {name for name in after if not name.startswith("deep/er/out/")}
    assert outside == set(before)
    assert not list(tmp_path.rglob("evil.png")) and not list(tmp_path.rglob("b.png"))


def test_a_users_files_survive_a_run_into_the_same_folder(capsys, tmp_path):
    claim_file = tmp_path / "mine.py"
    claim_file.write_text("from tests.toy_claims import toy_claim\nCLAIM = toy_claim('mine')\n")
    out = tmp_path / "out"
    assert verify_cli(capsys, "run", str(claim_file), "--out", str(out))[0] == 0
    (out / "mine" / "notes.txt").write_text("my notes on this claim")
    (out / "README.txt").write_text("what this folder is")
    code, _, err = verify_cli(capsys, "run", str(claim_file), "--out", str(out), "--seed", "5")
    assert code == 0, err
    assert (out / "mine" / "notes.txt").read_text() == "my notes on this claim"
    assert (out / "README.txt").read_text() == "what this folder is"
    assert json.loads((out / "mine" / "report.json").read_text())["environment"]["seed"] == 5
    assert "mine/notes.txt" not in report.read_manifest(out)


def test_a_folder_that_is_not_a_report_folder_is_refused_with_one_line(capsys, tmp_path):
    claim_file = tmp_path / "claims" / "mine.py"
    claim_file.parent.mkdir()
    claim_file.write_text("from tests.toy_claims import toy_claim\nCLAIM = toy_claim('mine')\n")
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "index.html").write_text("my home page")
    code, printed, err = verify_cli(capsys, "run", str(claim_file), "--out", str(out))
    assert code == 2 and printed == ""
    assert err.count("\n") == 1 and "is not an optverify report folder" in err
    assert files_under(out) == {"index.html": b"my home page"}
    assert sorted(path.name for path in out.iterdir()) == ["index.html"]
