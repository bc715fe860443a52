"""Notebook views: `_repr_html_` and `__repr__` of a run, a claim's result and a check (the HTML
report's templates, one look for a verdict), and the tutorial notebook executed end to end."""

import html as html_escape
import re
from pathlib import Path

import pytest

import optverify
from optverify.config import RunConfig
from tests.toy_claims import CONSISTENT, VIOLATED

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"


@pytest.fixture(scope="module")
def run_result():
    return optverify.run([CONSISTENT, VIOLATED], RunConfig(quick=True))


def test_a_run_renders_its_verdict_table(run_result):
    page = run_result._repr_html_()
    rows = re.findall(r"<tr><td><code>([a-z-]+)</code>.*?badge v-(\w+)", page, re.S)
    assert rows == [("toy-consistent", "consistent"), ("toy-violated", "violated")]
    assert ".optverify-nb {" in page and ":root" not in page  # styles scoped to the view
    assert page.count("<table>") == 1


def test_a_claim_renders_its_checks_and_figures_inline(run_result):
    claim = run_result.claims[1]
    page = claim._repr_html_()
    assert 'badge v-violated big' in page
    assert "<code>square-rate</code>" in page and "main statement" in page
    assert page.count('src="data:image/png;base64,') == len(claim.figures) == 1


def test_a_check_renders_as_its_report_card(run_result):
    check = run_result.claims[0].main_checks[0]
    page = check._repr_html_()
    assert f'<article class="check c-{check.verdict.value}"' in page
    assert html_escape.escape(check.statement) in page


def test_plain_reprs_are_one_line(run_result):
    assert repr(run_result).startswith("<RunResult 2 claims in ")
    assert repr(run_result.claims[1]) == (
        "<ClaimResult toy-violated: violated (2/3 decisive consistent), quick, seed 0>")
    assert repr(run_result.claims[0].main_checks[0]) == (
        "<Check experiment/square-rate: consistent (main)>")


def test_markup_in_a_title_is_shown_as_text():
    from dataclasses import replace

    claim = replace(CONSISTENT, title="<script>alert(1)</script>")
    page = optverify.run([claim], RunConfig(quick=True))._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_the_tutorial_notebook_runs_without_error(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(TUTORIAL, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.get("outputs", [])]
    shown = "".join(output.get("data", {}).get("text/html", "") for output in outputs)
    assert "badge v-consistent" in shown
    assert 'src="data:image/png;base64,' in shown
