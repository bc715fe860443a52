"""The gd-quadratic example has one source, examples/gd_quadratic.py: docs/your-own-claim.md
includes its code (literalinclude), and the two places that cannot include it carry copies pinned
here, so that a copy that drifts fails: the tutorial notebook's code cells and `verify new`'s
template (whose functions add teaching docstrings and comments, nothing else)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from optverify.verify.scaffold import claim_file_text

REPOSITORY = Path(__file__).resolve().parents[1]
EXAMPLE = REPOSITORY / "examples" / "gd_quadratic.py"
TUTORIAL = REPOSITORY / "docs" / "tutorial.ipynb"
GUIDE = REPOSITORY / "docs" / "your-own-claim.md"


def definitions(source: str) -> dict[str, str]:
    """Each top-level function and constant assignment of `source`, as an AST dump with
    docstrings removed (comments and formatting do not count; code does)."""
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                node.body = body[1:]
            found[node.name] = ast.dump(node)
        elif isinstance(node, ast.Assign) and all(isinstance(t, (ast.Name, ast.Tuple))
                                                    for t in node.targets):
            name = ast.unparse(node.targets[0])
            if name != "CLAIM":
                found[name] = ast.dump(node)
    return found


def notebook_code() -> str:
    cells = json.loads(TUTORIAL.read_text())["cells"]
    return "\n\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")


def test_the_notebooks_measurement_is_the_examples():
    example, notebook = definitions(EXAMPLE.read_text()), definitions(notebook_code())
    shared = {"(EPS, DIM)", "iterations", "experiment"}
    assert shared <= set(notebook)
    assert {name: notebook[name] for name in shared} == {name: example[name] for name in shared}


def test_the_new_claim_template_is_the_example_with_comments():
    example, template = definitions(EXAMPLE.read_text()), definitions(claim_file_text("my-claim"))
    assert template == example


def test_the_guide_includes_the_example_instead_of_copying_it():
    guide = GUIDE.read_text()
    included = re.findall(r"```\{literalinclude\} \.\./examples/gd_quadratic\.py\n(.*?)```",
                          guide, re.S)
    objects = {line.split(":", 2)[2].strip() for block in included for line in block.splitlines()
               if line.startswith(":pyobject:")}
    assert objects == {"symbolic", "numeric", "iterations", "experiment"}
    code_lines = {line.strip() for line in EXAMPLE.read_text().splitlines()
                  if len(line.strip()) > 30 and not line.strip().startswith(("#", '"""', "def "))}
    copied = [line for block in re.findall(r"```python\n(.*?)```", guide, re.S)
              for line in block.splitlines() if line.strip() in code_lines]
    assert not copied
