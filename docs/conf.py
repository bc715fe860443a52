"""Sphinx configuration of the optverify documentation site.

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The gallery (one page per built-in claim) and the tutorial page are generated at build time by
`_ext/optverify_docs.py`: the claims from the registry's metadata (no claim is imported to list
them), their checks and figures from the reports of a quick run in the folder named by the
environment variable OPTVERIFY_DOCS_REPORTS (CI points it at `verify all --quick`'s folder, so no
claim runs twice); without it the pages say that no quick-run report was given.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

import optverify  # noqa: E402

project = "optverify"
author = "the optverify authors"
copyright = "2026, the optverify authors"
release = version = optverify.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "optverify_docs"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "tutorial.ipynb", "calibration.md", "**/.ipynb_checkpoints"]
# calibration.md is included by _generated/calibration.md (see _ext/optverify_docs.py)
myst_heading_anchors = 3
autodoc_member_order = "bysource"
autodoc_typehints = "description"
html_theme = "alabaster"
html_title = f"optverify {version}"
html_static_path = []
