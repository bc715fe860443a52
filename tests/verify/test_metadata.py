"""Claims' cards read without importing their layers: the same as the imported CLAIM, and
`verify --help`, `--version` and `list` import no torch, scipy or sympy."""

import subprocess
import sys

import pytest

import optverify
from optverify.verify import metadata, registry

HEAVY = ("torch", "scipy", "sympy")


@pytest.mark.parametrize("claim_id", registry.BUILTIN_IDS)
def test_a_builtin_card_is_the_imported_claims_metadata(claim_id):
    """The independent twin: the syntax-tree reading against the imported `CLAIM`."""
    card = metadata.builtin_card(claim_id)
    assert card == metadata.card_of_claim(registry.builtin_claim(claim_id))


def test_a_card_is_read_from_literals_only():
    text = ('from optverify.kit import Claim, Source\n'
            'CLAIM = Claim(id="a-b", title="t" " u", source=Source(paper="P", theorem="T"),\n'
            '              bound=None)\n')
    card = metadata.card_from_source_text(text, "built-in")
    assert (card.id, card.title, card.source.cite()) == ("a-b", "t u", "T of P")


@pytest.mark.parametrize("text", [
    'CLAIM = Claim(id=NAME, title="t", source=Source(paper="P", theorem="T"))',
    'CLAIM = Claim(id="a", title="t", source=SOURCE)',
    'CLAIM = make_claim()',
    'OTHER = Claim(id="a", title="t", source=Source(paper="P", theorem="T"))',
])
def test_a_call_that_is_not_literal_asks_for_the_import(text):
    with pytest.raises(ValueError):
        metadata.card_from_source_text(text, "built-in")


@pytest.mark.parametrize("command", [["--help"], ["--version"], ["list"]])
def test_the_fast_commands_import_no_heavy_library(command):
    probe = ("import sys\nfrom optverify.verify import cli\ncode = 0\n"
             f"try:\n    code = cli.main({command!r})\nexcept SystemExit as done:\n"
             "    code = done.code\n"
             f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), code)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "[] 0", done.stdout + done.stderr


def test_version_is_the_packages():
    done = subprocess.run([sys.executable, "-m", "optverify", "--version"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == f"verify {optverify.__version__}"
