"""Report files: pinned JSON field names, Markdown and PNG output, atomic replacement."""

import json

import pytest

from optverify.config import RunConfig
from optverify.verify import report
from optverify.verify.runner import run, run_claim
from tests.toy_claims import CONSISTENT, RAISING, VIOLATED

REPORT_FIELDS = {"format_version", "claim", "title", "source", "bound", "origin", "assumptions",
                 "verdict", "main_checks", "checks", "layers", "environment", "replicates"}
CHECK_FIELDS = {"layer", "name", "statement", "verdict", "decisive", "main", "sanity", "rules_out",
                "controls", "detail", "fit", "bound", "residual", "tolerance", "precision_digits",
                "values", "durations"}
FIT_FIELDS = {"exponent", "ci_low", "ci_high", "ci_level", "stderr", "intercept", "x_min", "x_max",
              "n_points", "scale", "r_squared", "local_slopes", "correction", "comparison"}
CORRECTION_FIELDS = {"power", "coefficient", "reference", "size_at_x_min", "size_at_x_max",
                     "straight_exponent", "f_statistic", "p_value", "applied"}
BOUND_FIELDS = {"kind", "variable", "exponent", "expression", "exponential", "text"}
LAYER_FIELDS = {"layer", "wall_s", "error", "notes", "tables", "figures"}
ENVIRONMENT_FIELDS = {"seed", "precision_digits", "device", "dtype", "quick", "versions", "wall_s"}
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
    assert data["format_version"] == 4 and data["main_checks"] == ["square-rate"]
    assert rate["main"] is True and rate["rules_out"] == "exponent 3"
    assert rate["controls"] == [{"alternative": "exponent 3", "verdict": "violated",
                                 "detail": rate["controls"][0]["detail"]}]
    assert set(rate["fit"]["correction"]) == CORRECTION_FIELDS


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
    assert sorted(p.name for p in tmp_path.iterdir()) == [CONSISTENT.id]


def test_missing_output_folder_is_created(tmp_path):
    folder = report.write_claim_report(run_claim(CONSISTENT), str(tmp_path / "a" / "b"))
    assert (folder / "report.json").exists()


def test_rewrite_replaces_the_whole_folder(tmp_path):
    folder, _ = written(tmp_path)
    (folder / "stale.png").write_bytes(b"old")
    report.write_claim_report(run_claim(CONSISTENT, RunConfig(seed=2)), tmp_path)
    assert not (folder / "stale.png").exists()
    assert json.loads((folder / "report.json").read_text())["environment"]["seed"] == 2


def test_unwritable_output_is_a_report_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(report.ReportError, match="cannot write reports"):
        report.ensure_writable(blocker / "out")
