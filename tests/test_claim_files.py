"""Issue 18's claim files judged through `verify run FILE`, as a user would run them: a slow tail
and an unstated log factor are not consistent, a tight bound with a large vanishing correction is
consistent and tight. The slow tail is inconclusive, not violated: its only surviving model puts
the exponent 0.11 beyond the slope its own curve has over the tail (more than the margin), and
the tail slope's own interval [-0.55, -0.23] does not exclude -1/2 (optverify.verdict, settled
models)."""

import json
from pathlib import Path

import pytest

from optverify.verify import cli

CLAIM_FILES = Path(__file__).parent / "claim_files"


@pytest.mark.parametrize("file, claim, verdict", [
    ("slow_tail.py", "slow-tail", "inconclusive"),
    ("tight_half.py", "tight-half", "consistent"),
    ("unstated_log.py", "unstated-log", "violated"),
])
def test_claim_files_through_verify_run(tmp_path, file, claim, verdict):
    cli.main(["run", str(CLAIM_FILES / file), "--out", str(tmp_path), "--progress", "off",
              "--device", "cpu"])
    report = json.loads((tmp_path / claim / "report.json").read_text())
    check = next(check for check in report["checks"] if check["main"])
    assert report["verdict"] == verdict, check["detail"]
    assert "not tight" not in check["detail"]
    if verdict != "inconclusive":  # an undecided check's controls need not be decided either
        assert all(control["verdict"] == "violated" for control in check["controls"])
