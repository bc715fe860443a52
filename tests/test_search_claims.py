"""Issue 23 through `verify run FILE`: a false inequality in a user's claim file is violated with a
certified, shrunk counter-example; its true reversal is reported, never violated; the example
claim of examples/ is violated with its exact counter-example."""

import json
from pathlib import Path

from optverify.verify import cli

ROOT = Path(__file__).parent.parent


def run_claim(tmp_path, path: Path, claim: str) -> dict:
    code = cli.main(["run", str(path), "--quick", "--out", str(tmp_path), "--progress", "off",
                     "--device", "cpu"])
    report = json.loads((tmp_path / claim / "report.json").read_text())
    return code, report, {check["name"]: check for check in report["checks"]}


def test_a_false_inequality_is_violated_with_a_certified_shrunk_counter_example(tmp_path):
    code, report, checks = run_claim(tmp_path, ROOT / "tests/claim_files/false_jensen.py",
                                     "false-jensen")
    assert code == 1 and report["verdict"] == "violated"
    false = checks["log-convex"]
    assert false["verdict"] == "violated" and false["decisive"]
    # shrunk from the float search's (0.1, 10) to the simplest pair of different integers
    assert false["values"]["counter_example"] in ("a = 1, b = 2", "a = 2, b = 1")
    assert "ball arithmetic" in false["detail"] and false["values"]["enclosure"].startswith("[-")
    true = checks["log-concave"]
    assert true["verdict"] == "consistent" and not true["decisive"]
    assert "a search, not a proof" in true["detail"]
    assert true["values"]["evaluations"] > true["values"]["budget_starts"]


def test_the_example_claim_certifies_the_misquoted_descent_lemma(tmp_path):
    code, report, checks = run_claim(tmp_path, ROOT / "examples/sufficient_decrease.py",
                                     "sufficient-decrease")
    assert code == 1
    assert checks["misquoted-sufficient-decrease"]["values"]["counter_example"] == (
        "L = 1, h = 3/2, x = -1")
    assert checks["misquoted-sufficient-decrease"]["values"]["enclosure"] == "-3/8"
    assert checks["sufficient-decrease-short-steps"]["verdict"] == "consistent"


def test_a_claim_files_margin_travels_by_value_to_a_process_that_never_loaded_it():
    """What a Dask worker gets for s.search's refinements (and any s.map item) of a claim file."""
    import subprocess
    import sys

    import cloudpickle

    from optverify.verify.discovery import load_claim_file

    claim = load_claim_file(ROOT / "examples/sufficient_decrease.py")
    margin = claim.numeric.__globals__["misquoted_margin"]
    program = ("import pickle, sys; from optverify.numerics.ball import FLOAT; "
               "f = pickle.loads(sys.stdin.buffer.read()); "
               "print(f({'L': 1.0, 'h': 1.5, 'x': -1.0}, FLOAT))")
    shipped = subprocess.run([sys.executable, "-c", program], input=cloudpickle.dumps(margin),
                             capture_output=True, check=True)
    assert float(shipped.stdout) == -0.375
