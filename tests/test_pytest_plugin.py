"""The pytest plugin against a throw-away project (pytest's own `pytester`): a claim file and a
test calling `assert_consistent` pass under plain pytest, and `pytest --optverify claims/` collects
one item per claim file, passes the consistent one and fails the violated one with its checks."""

import json

import pytest

pytest_plugins = ["pytester"]

CLAIM_FILE = '''
import numpy as np
from optverify.kit import Bound, Claim, Session, Source

EXPONENT = {exponent}

def experiment(s: Session) -> None:
    n = np.geomspace(4, 4096, 10)
    s.rate("cost-vs-n", "the cost grows like n^2", n, 3.0 * n**EXPONENT, main=True)

CLAIM = Claim(id="{claim_id}", title="A cost that grows like n^2",
              source=Source("Nobody (2026)", "Toy theorem 1"), bound=Bound.tight("n", 2),
              experiment=experiment)
'''

USER_TEST = '''
from optverify.testing import assert_consistent, assert_every_decisive_check_can_say_no

def test_the_square_claim_holds():
    result = assert_consistent("claims/square.py")
    assert_every_decisive_check_can_say_no(result)
'''


@pytest.fixture
def project(pytester):
    pytester.mkdir("claims")
    pytester.path.joinpath("claims", "square.py").write_text(
        CLAIM_FILE.format(exponent=2, claim_id="toy-square"))
    pytester.path.joinpath("claims", "helpers.py").write_text("VALUE = 1\n")
    pytester.makepyfile(test_user=USER_TEST)
    return pytester


def test_plain_pytest_runs_the_users_assert_consistent(project):
    outcome = project.runpytest("test_user.py")
    outcome.assert_outcomes(passed=1)


def test_without_the_option_claim_files_are_not_collected(project):
    outcome = project.runpytest("claims")
    assert outcome.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_the_option_collects_one_item_per_claim_file_and_writes_reports(project):
    project.path.joinpath("claims", "cube.py").write_text(
        CLAIM_FILE.format(exponent=3, claim_id="toy-cube"))
    out = project.path / "reports"
    outcome = project.runpytest("--optverify", "claims", "--optverify-out", str(out), "-v")
    outcome.assert_outcomes(passed=1, failed=1)
    outcome.stdout.fnmatch_lines(["*claims/cube.py::cube FAILED*",
                                  "*claims/square.py::square PASSED*",
                                  "*claim 'toy-cube' is violated (seed 0, precision 50 digits*",
                                  "*experiment/cost-vs-n (main statement)*"])
    report = json.loads((out / "toy-square" / "report.json").read_text())
    assert report["verdict"] == "consistent"
    assert (out / "summary.md").is_file() and (out / "index.html").is_file()


def test_a_claim_named_by_id_is_one_item(project, monkeypatch):
    from optverify.verify import discovery
    from tests.toy_claims import CONSISTENT

    monkeypatch.setattr(discovery, "entry_point_claims", lambda: {CONSISTENT.id: CONSISTENT})
    outcome = project.runpytest("--optverify-claim", CONSISTENT.id, "test_user.py")
    outcome.assert_outcomes(passed=2)


def test_an_unknown_id_fails_its_item_with_one_line(project):
    outcome = project.runpytest("--optverify-claim", "no-such-claim", "test_user.py")
    outcome.assert_outcomes(passed=1, failed=1)
    outcome.stdout.fnmatch_lines(["*cannot load the claim: unknown claim 'no-such-claim'*"])


def test_loading_the_plugin_imports_no_heavy_library():
    """The plugin loads in every pytest run where optverify is installed: it must stay light."""
    import subprocess
    import sys

    probe = ("import sys, optverify.pytest_plugin\n"
             "print(sorted(m for m in ('torch', 'scipy', 'sympy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
