"""The summary says what decides (issue 21, item 7): a reported (not decisive) finding that is
violated is named apart from the decisive verdict, in Markdown, HTML and the terminal."""

import numpy as np
import pytest
from rich.console import Console

from optverify.config import RunConfig
from optverify.kit import Bound, Claim, Session, Source
from optverify.verify import cli, html, markdown
from optverify.verify.runner import run


def _experiment(s: Session) -> None:
    n = np.geomspace(4, 4096, 10)
    s.rate("cost-vs-n", "the cost grows like n^2", n, 3.0 * n**2, main=True)
    s.rate("as-written", "the paper's n^1 as written", n, 3.0 * n**2, Bound.tight("n", 1),
           decisive=False)


FINDING = Claim(id="toy-finding", title="A consistent claim with a violated reported finding",
                source=Source("Nobody (2026)", "Toy theorem 3"), bound=Bound.tight("n", 2),
                experiment=_experiment)


@pytest.fixture(scope="module")
def result():
    return run([FINDING], RunConfig(quick=True))


def test_the_finding_is_reported_not_decisive(result):
    [claim] = result.claims
    assert claim.verdict.value == "consistent"
    assert [(check.name, check.verdict.value) for check in claim.reported_findings] == [
        ("as-written", "violated")]


def test_markdown_layer_cells_hold_decisive_verdicts_and_name_the_finding(result):
    row = next(line for line in markdown.summary_markdown(result).splitlines()
               if line.startswith("| [toy-finding]"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1:6] == ["consistent", "-", "-", "consistent",
                          "1 reported; violated: `as-written`"]


def test_html_summary_names_the_finding_with_a_link_to_its_card(result):
    page = html.summary_html(result)
    assert '<a href="toy-finding/index.html#check-experiment-as-written"><code>as-written</code>' \
        in page
    assert 'id="check-experiment-as-written"' in html.claim_html(result.claims[0])


def test_terminal_summary_counts_the_findings_and_names_them_below(result):
    console = Console(width=80, record=True, color_system=None)
    console.print(cli._summary_table(result))
    text = console.export_text()
    assert "reported" in text and "1, 1 not consistent" in text
    assert cli._findings_lines(result) == ["  toy-finding: 1 reported; violated: as-written"]


def test_the_command_prints_the_findings_under_the_table(tmp_path, capsys, monkeypatch):
    from optverify.verify import discovery, registry

    monkeypatch.setattr(registry, "BUILTIN_IDS", ())
    monkeypatch.setattr(discovery, "entry_point_claims", lambda: {FINDING.id: FINDING})
    assert cli.main(["run", FINDING.id, "--quick", "--progress", "off", "--out",
                     str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "reported findings, not decisive" in out
    assert "toy-finding: 1 reported; violated: as-written" in out


def test_consistent_findings_are_counted_not_named():
    from dataclasses import replace

    from optverify.results import Verdict

    [claim] = run([FINDING], RunConfig(quick=True)).claims
    layers = tuple(replace(layer, checks=tuple(
        replace(check, verdict=Verdict.CONSISTENT) for check in layer.checks))
        for layer in claim.layers)
    calm = replace(claim, layers=layers)
    assert markdown.findings_text(calm) == "1 reported, all consistent"
    assert html.summary_row(calm).reported == () and html.summary_row(calm).reported_count == 1
