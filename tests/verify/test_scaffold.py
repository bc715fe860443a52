"""`verify new NAME`: the commented claim file runs consistent as written, every decisive check
can say no, and it gets its figure without asking; bad names and existing files are refused."""

import pytest

from optverify.testing import assert_consistent, assert_every_decisive_check_can_say_no
from optverify.verify import cli


def test_the_new_claim_is_consistent_and_every_decisive_check_can_say_no(tmp_path, capsys):
    assert cli.main(["new", "my-claim", "--dir", str(tmp_path)]) == 0
    path = tmp_path / "my_claim.py"
    assert f"wrote {path}" in capsys.readouterr().out
    result = assert_consistent(path)
    assert result.claim == "my-claim"
    assert {check.layer.value for check in result.checks if check.decisive} == {
        "symbolic", "numeric", "experiment"}
    assert_every_decisive_check_can_say_no(result)
    assert [figure.name for figure in result.figures] == ["iterations-vs-kappa"]


@pytest.mark.parametrize("name", ["MyClaim", "my_claim", "x-", "x--y", "9x", ""])
def test_a_name_that_is_not_kebab_case_is_refused(name, tmp_path, capsys):
    assert cli.main(["new", name, "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "kebab-case" in err
    assert not list(tmp_path.iterdir())


def test_an_existing_file_is_not_overwritten(tmp_path, capsys):
    (tmp_path / "mine.py").write_text("KEEP = 1\n")
    assert cli.main(["new", "mine", "--dir", str(tmp_path)]) == 2
    assert "exists" in capsys.readouterr().err
    assert (tmp_path / "mine.py").read_text() == "KEEP = 1\n"


def test_a_missing_folder_is_one_line(tmp_path, capsys):
    assert cli.main(["new", "mine", "--dir", str(tmp_path / "absent")]) == 2
    assert "cannot write" in capsys.readouterr().err
