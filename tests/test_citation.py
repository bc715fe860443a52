"""CITATION.cff: valid CFF 1.2.0, the package's version, and every built-in claim's paper."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import optverify
from optverify.verify import metadata, registry

CITATION = Path(__file__).resolve().parents[1] / "CITATION.cff"


def test_the_citation_carries_the_package_version():
    assert f'version: "{optverify.__version__}"' in CITATION.read_text().splitlines()


@pytest.mark.parametrize("claim_id", registry.BUILTIN_IDS)
def test_every_builtin_claims_paper_is_cited_and_names_the_claim(claim_id):
    text = CITATION.read_text()
    arxiv = metadata.builtin_card(claim_id).source.arxiv
    reference = re.search(rf'value: "arXiv:{re.escape(arxiv)}"\n\s+notes: "([^"]*)"', text)
    assert reference is not None, arxiv
    assert claim_id in reference.group(1).split(": ")[1].split(", ")


def test_the_citation_validates():
    if shutil.which("cffconvert") is None:
        pytest.skip("cffconvert is not installed (the docs extra installs it)")
    done = subprocess.run(["cffconvert", "--validate", "-i", str(CITATION)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
