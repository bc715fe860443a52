"""Sphinx extension: the generated pages of the optverify site.

- `_generated/gallery/<claim id>.md`, one per built-in claim (`registry.BUILTIN_IDS`): title,
  source with its arXiv link, the claim folder's docstring (read from its syntax tree: the claims
  are not imported), and, from a quick run's reports (OPTVERIFY_DOCS_REPORTS), the verdict, the
  checks with their roles and outcomes, and the figures (copied beside the page).
- `_generated/tutorial.md`: the tutorial notebook's cells (Markdown as written, code as Python
  blocks), so the notebook that CI executes is the one source of the tutorial's text.
- `_generated/calibration.md`: docs/calibration.md (written by benchmarks/calibrate_judges.py)
  included when present, else a line saying it has not been measured in this checkout.

optverify's docstrings are plain text (formulas such as |H| and x^-q, indented field lists), not
reStructuredText: autodoc shows each one as written, in a literal block.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
from pathlib import Path

from optverify.verify import metadata, registry

REPORTS_VARIABLE = "OPTVERIFY_DOCS_REPORTS"
ROLES = {"main": "main statement", "decisive": "decisive", "reported": "reported, not decisive",
         "sanity": "sanity check"}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _role(check: dict) -> str:
    if check["main"]:
        return ROLES["main"]
    if check["sanity"]:
        return ROLES["sanity"]
    return ROLES["decisive"] if check["decisive"] else ROLES["reported"]


def claim_docstring(claim_id: str) -> str:
    module = Path(registry.__file__).parents[1] / "theorems" / claim_id.replace("-", "_")
    tree = ast.parse((module / "__init__.py").read_text(encoding="utf-8"))
    return ast.get_docstring(tree) or ""


def _report_lines(report: dict, claim_folder: Path, page_folder: Path) -> list[str]:
    environment = report["environment"]
    decisive = [check for check in report["checks"] if check["decisive"]]
    agreeing = sum(check["verdict"] == "consistent" for check in decisive)
    lines = ["## Quick run", "",
             f"Verdict: **{report['verdict']}** ({agreeing}/{len(decisive)} decisive checks "
             f"consistent); seed {environment['seed']}, {environment['precision_digits']} digits, "
             f"{environment['device']}, {environment['dtype']}, quick mode.", "",
             f"Claimed bound: `{report['bound']}`", ""]
    if report["assumptions"]:
        lines += ["Assumptions:", "", *(f"- {_cell(a)}" for a in report["assumptions"]), ""]
    lines += ["| layer | check | verdict | role | outcome |", "|---|---|---|---|---|"]
    lines += [f"| {check['layer']} | `{check['name']}` | {check['verdict']} | {_role(check)} | "
              f"{_cell(check['detail'])} |" for check in report["checks"]]
    lines.append("")
    figures = [figure for layer in report["layers"] for figure in layer["figures"]]
    if figures:
        lines += ["## Figures", ""]
        page_folder.mkdir(parents=True, exist_ok=True)
    for figure in figures:
        shutil.copyfile(claim_folder / figure["file"], page_folder / figure["file"])
        lines += [f"![{_cell(figure['title'])}]({report['claim']}/{figure['file']})", "",
                  f"*{_cell(figure['title'])}*", ""]
    return lines


def gallery_page(card: metadata.ClaimCard, reports: Path | None, folder: Path) -> str:
    source = card.source
    arxiv = f" ([arXiv:{source.arxiv}](https://arxiv.org/abs/{source.arxiv}))" \
        if source.arxiv else ""
    code = f"optverify/theorems/{card.id.replace('-', '_')}/"
    lines = [f"# `{card.id}`", "", f"**{card.title}**", "",
             f"Source: {source.theorem} of {source.paper}{arxiv}", "",
             f"Code: `{code}` · run it: `verify run {card.id}`", "",
             "## Statement", "", claim_docstring(card.id), ""]
    report_file = None if reports is None else reports / card.id / "report.json"
    if report_file is not None and report_file.is_file():
        report = json.loads(report_file.read_text(encoding="utf-8"))
        lines += _report_lines(report, report_file.parent, folder / card.id)
    else:
        lines += ["## Quick run", "", f"No quick-run report was given to this build "
                  f"(set {REPORTS_VARIABLE} to a `verify all --quick` folder).", ""]
    return "\n".join(lines)


def gallery_index(cards: list[metadata.ClaimCard]) -> str:
    lines = ["# Gallery of built-in claims", "",
             "One page per built-in claim: its statement and source, and the checks and figures "
             "of a quick run (`verify all --quick`, seed 0).", "",
             "| claim | title | source |", "|---|---|---|"]
    lines += [f"| [`{card.id}`]({card.id}.md) | {_cell(card.title)} | "
              f"{_cell(card.source.cite())} |" for card in cards]
    lines += ["", "```{toctree}", ":hidden:", "", *(card.id for card in cards), "```", ""]
    return "\n".join(lines)


_RELATIVE_LINK = re.compile(r"\]\((?!https?:|#|/)")
"""A Markdown link to a page beside the notebook, in docs/; the tutorial page sits one folder
deeper (docs/_generated/), so such links get a leading ../"""


def tutorial_page(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    parts = []
    for cell in cells:
        text = _RELATIVE_LINK.sub("](../", "".join(cell["source"]))
        parts.append(text if cell["cell_type"] == "markdown" else f"```python\n{text}\n```")
    note = ("*This page is the tutorial notebook `docs/tutorial.ipynb` (CI executes it); open it "
            "in Jupyter to see the verdict tables and figures it renders.*")
    first, *rest = parts
    return "\n\n".join([first, note, *rest]) + "\n"


def _write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def generate(app) -> None:
    source = Path(app.srcdir)
    generated = source / "_generated"
    reports = os.environ.get(REPORTS_VARIABLE)
    reports_folder = Path(reports) if reports else None
    if reports_folder is not None and not reports_folder.is_dir():
        raise FileNotFoundError(f"{REPORTS_VARIABLE}={reports}: no such folder")
    cards = [metadata.builtin_card(claim_id) for claim_id in registry.BUILTIN_IDS]
    gallery = generated / "gallery"
    for card in cards:
        _write_if_changed(gallery / f"{card.id}.md", gallery_page(card, reports_folder, gallery))
    _write_if_changed(gallery / "index.md", gallery_index(cards))
    _write_if_changed(generated / "tutorial.md", tutorial_page(source / "tutorial.ipynb"))
    _write_if_changed(generated / "calibration.md", calibration_page(source))


def calibration_page(source: Path) -> str:
    if (source / "calibration.md").is_file():
        return "```{include} ../calibration.md\n```\n"
    return ("# Calibration of the judges\n\nNot measured in this checkout: run "
            "`python benchmarks/calibrate_judges.py` to write docs/calibration.md.\n")


def docstring_as_written(app, what, name, obj, options, lines: list[str]) -> None:
    """autodoc: a plain-text docstring shown verbatim (a literal block)."""
    if lines:
        lines[:] = ["::", "", *(f"    {line}" for line in lines), ""]


def setup(app):
    app.connect("builder-inited", generate)
    app.connect("autodoc-process-docstring", docstring_as_written)
    return {"version": "1", "parallel_read_safe": True}
