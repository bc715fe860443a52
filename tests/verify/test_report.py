"""Report files: pinned JSON field names, Markdown and PNG output, atomic replacement."""

import hashlib
import json
from pathlib import Path

import pytest

from optverify.config import RunConfig
from optverify.verify import fingerprint, registry, report
from optverify.verify.runner import run, run_claim
from tests import toy_claims
from tests.toy_claims import CONSISTENT, RAISING, VIOLATED

REPORT_FIELDS = {"format_version", "claim", "title", "source", "bound", "origin", "claim_source",
                 "assumptions", "verdict", "main_checks", "checks", "layers", "environment",
                 "replicates"}
CHECK_FIELDS = {"layer", "name", "statement", "verdict", "decisive", "main", "sanity", "rules_out",
                "controls", "detail", "fit", "bound", "residual", "tolerance", "precision_digits",
                "values", "durations"}
FIT_FIELDS = {"exponent", "ci_low", "ci_high", "ci_level", "stderr", "intercept", "x_min", "x_max",
              "n_points", "scale", "r_squared", "local_slopes", "correction", "comparison", "limit",
              "log_power", "interval", "offset", "models", "tail"}
CORRECTION_FIELDS = {"power", "coefficient", "reference", "size_at_x_min", "size_at_x_max",
                     "straight_exponent", "f_statistic", "p_value", "applied"}
BOUND_FIELDS = {"kind", "variable", "exponent", "expression", "exponential", "limit", "log_power",
                "offset", "margin", "text"}
LAYER_FIELDS = {"layer", "wall_s", "error", "notes", "tables", "figures"}
ENVIRONMENT_FIELDS = {"seed", "precision_digits", "device", "dtype", "quick", "scale", "data",
                      "rigorous", "versions", "wall_s"}
SUMMARY_FIELDS = {"format_version", "exit_code", "config", "counts", "claims", "versions", "wall_s"}


def written(tmp_path, claim=CONSISTENT):
    folder = report.write_claim_report(run_claim(claim, RunConfig(seed=1)), tmp_path)
    return folder, json.loads((folder / "report.json").read_text())


def test_report_json_field_names_are_pinned(tmp_path):
    _, data = written(tmp_path)
    assert set(data) == REPORT_FIELDS
    assert all(set(check) == CHECK_FIELDS for check in data["checks"])
    rate = next(check for check in data["checks"] if check["fit"])
    assert set(rate["fit"]) == FIT_FIELDS and set(rate["bound"]) == BOUND_FIELDS
    assert rate["bound"]["kind"] == "tight" and rate["bound"]["exponent"] == 2.0
    identity = next(check for check in data["checks"] if check["name"] == "sqrt-two")
    assert identity["residual"] is not None and identity["tolerance"] == 1e-12
    assert all(set(layer) == LAYER_FIELDS for layer in data["layers"])
    assert set(data["environment"]) == ENVIRONMENT_FIELDS
    assert data["environment"]["versions"]["torch"]
    assert data["format_version"] == 5 and data["main_checks"] == ["square-rate"]
    assert set(data["claim_source"]) == {"sha256", "files"}
    assert rate["main"] is True and rate["rules_out"] == "exponent 3; exponent 1.75; exponent 2.25"
    assert rate["controls"] == [{"alternative": alternative, "verdict": "violated",
                                 "detail": control["detail"]}
                                for alternative, control in zip(
                                    ["exponent 3", "exponent 1.75", "exponent 2.25"],
                                    rate["controls"])]
    assert set(rate["fit"]["correction"]) == CORRECTION_FIELDS


def test_the_claim_source_digest_is_recorded(tmp_path):
    _, data = written(tmp_path)
    toy_file = Path(toy_claims.__file__).resolve()
    assert data["claim_source"] == {"files": [str(toy_file)],
                                    "sha256": hashlib.sha256(toy_file.read_bytes()).hexdigest()}


def test_a_builtin_claims_digest_covers_its_folder_and_follows_its_files(tmp_path, monkeypatch):
    claim = registry.builtin_claim("saddle-points")
    recorded = fingerprint.fingerprint(claim)
    folder = fingerprint.BUILTIN_ROOT / "theorems" / "saddle_points"
    assert set(recorded.files) == {f"optverify/theorems/saddle_points/{path.name}"
                                   for path in folder.glob("*.py")}
    root = fingerprint.BUILTIN_ROOT.parent
    lines = "".join(f"{hashlib.sha256((root / name).read_bytes()).hexdigest()}  {name}\n"
                    for name in sorted(recorded.files))
    assert recorded.sha256 == hashlib.sha256(lines.encode()).hexdigest()
    copy = tmp_path / "optverify" / "theorems" / "saddle_points"
    copy.mkdir(parents=True)
    for path in folder.glob("*.py"):
        (copy / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(fingerprint, "BUILTIN_ROOT", tmp_path / "optverify")
    assert fingerprint.fingerprint(claim) == recorded
    (copy / "symbolic.py").write_bytes((copy / "symbolic.py").read_bytes() + b"\n")
    assert fingerprint.fingerprint(claim).sha256 != recorded.sha256


def test_markdown_and_figures_are_written(tmp_path):
    folder, data = written(tmp_path)
    markdown = (folder / "report.md").read_text()
    assert "**Verdict: consistent**" in markdown and "![y against x](square.png)" in markdown
    assert "A small table" in markdown and "a note" in markdown
    assert (folder / "square.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert data["layers"][2]["figures"] == [{"name": "square", "title": "y against x",
                                             "file": "square.png"}]


def test_error_layer_is_reported_with_its_message(tmp_path):
    _, data = written(tmp_path, RAISING)
    assert data["verdict"] == "error"
    assert data["layers"][2]["error"] == "RuntimeError: the experiment broke"


def test_summary_field_names_are_pinned(tmp_path):
    result = run([CONSISTENT, VIOLATED])
    report.write_summary(result, tmp_path)
    data = json.loads((tmp_path / "summary.json").read_text())
    assert set(data) == SUMMARY_FIELDS
    assert data["exit_code"] == 1 and data["counts"]["violated"] == 1
    assert "toy-violated" in (tmp_path / "summary.md").read_text()


def test_interrupted_write_leaves_the_previous_report_intact(tmp_path, monkeypatch):
    folder, before = written(tmp_path)
    old_json = (folder / "report.json").read_text()

    def broken(figure, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "draw_figure", broken)
    with pytest.raises(KeyboardInterrupt):
        report.write_claim_report(run_claim(CONSISTENT, RunConfig(seed=2)), tmp_path)
    assert (folder / "report.json").read_text() == old_json
    assert sorted(p.name for p in tmp_path.iterdir()) == [report.MANIFEST_NAME, CONSISTENT.id]
    assert report.read_manifest(tmp_path) == {f"{CONSISTENT.id}/{name}" for name in (
        "report.json", "report.md", "index.html", "square.png")}


def test_missing_output_folder_is_created(tmp_path):
    folder = report.write_claim_report(run_claim(CONSISTENT), str(tmp_path / "a" / "b"))
    assert (folder / "report.json").exists()


def test_rewrite_drops_optverify_files_and_keeps_the_users(tmp_path):
    folder, _ = written(tmp_path)
    report.write_manifest(tmp_path, report.read_manifest(tmp_path) | {f"{CONSISTENT.id}/old.png"})
    (folder / "old.png").write_bytes(b"a figure an earlier run wrote")
    (folder / "notes.txt").write_text("mine")
    (folder / "drafts").mkdir()
    (folder / "drafts" / "a.txt").write_text("also mine")
    report.write_claim_report(run_claim(CONSISTENT, RunConfig(seed=2)), tmp_path)
    assert not (folder / "old.png").exists()
    assert (folder / "notes.txt").read_text() == "mine"
    assert (folder / "drafts" / "a.txt").read_text() == "also mine"
    assert json.loads((folder / "report.json").read_text())["environment"]["seed"] == 2
    assert f"{CONSISTENT.id}/notes.txt" not in report.read_manifest(tmp_path)
    assert f"{CONSISTENT.id}/old.png" not in report.read_manifest(tmp_path)


def test_a_users_file_named_like_a_report_file_is_never_replaced(tmp_path):
    folder = tmp_path / CONSISTENT.id
    folder.mkdir()
    (folder / "report.md").write_text("my own report")
    with pytest.raises(report.ReportError, match="not written by optverify"):
        report.write_claim_report(run_claim(CONSISTENT), tmp_path)
    assert (folder / "report.md").read_text() == "my own report"
    assert sorted(p.name for p in folder.iterdir()) == ["report.md"]
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name]


@pytest.mark.parametrize("kind", ["file", "symlink"])
def test_a_claim_folder_that_is_not_a_folder_is_refused(tmp_path, kind):
    target = tmp_path / CONSISTENT.id
    if kind == "file":
        target.write_text("mine")
    else:
        (tmp_path / "elsewhere").mkdir()
        target.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(report.ReportError, match="not a folder optverify wrote"):
        report.write_claim_report(run_claim(CONSISTENT), tmp_path)
    assert target.is_symlink() if kind == "symlink" else target.read_text() == "mine"


def test_a_users_summary_page_is_never_replaced(tmp_path):
    written(tmp_path)
    (tmp_path / "index.html").write_text("my home page")
    with pytest.raises(report.ReportError, match="index.html was not written by optverify"):
        report.write_summary(run([CONSISTENT]), tmp_path)
    assert (tmp_path / "index.html").read_text() == "my home page"
    assert not (tmp_path / "summary.json").exists()


def test_ensure_writable_claims_only_empty_or_report_folders(tmp_path):
    report.ensure_writable(tmp_path / "new")
    assert report.read_manifest(tmp_path / "new") == frozenset()
    report.ensure_writable(tmp_path / "new")  # a report folder: accepted again
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(report.ReportError, match="not an optverify report folder.*notes.txt"):
        report.ensure_writable(tmp_path / "mine")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("text", ["{ truncated", '{"files": "all"}', "[]"])
def test_an_unreadable_manifest_is_a_report_error(tmp_path, text):
    (tmp_path / report.MANIFEST_NAME).write_text(text)
    with pytest.raises(report.ReportError, match="optverify's is unknown"):
        report.write_claim_report(run_claim(CONSISTENT), tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [report.MANIFEST_NAME]


def test_unwritable_output_is_a_report_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(report.ReportError, match="cannot write reports"):
        report.ensure_writable(blocker / "out")
