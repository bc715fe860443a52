"""Discovery's three doors: built-in claims, entry points of installed distributions, claim files;
and one clear line for each way a user's claim can be wrong."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from optverify.verify import cli, discovery

EXAMPLES = Path(__file__).parents[2] / "examples"

CLAIM_FILE = textwrap.dedent('''
    import numpy as np
    from optverify.kit import Bound, Claim, Session, Source

    def experiment(s: Session) -> None:
        x = np.geomspace(1, 100, 8)
        y = x ** {exponent} * np.exp(s.rng("noise").normal(0, 0.01, x.size))
        s.rate("rate", "y grows like x^2", x, y, main=True)

    CLAIM = Claim(id="{claim_id}", title="A user's claim", source=Source("Me (2026)", "Lemma 1"),
                  bound=Bound.tight("x", 2), experiment=experiment)
''')


def claim_file(folder: Path, name="mine.py", claim_id="users-square", exponent=2.0) -> Path:
    path = folder / name
    path.write_text(CLAIM_FILE.format(claim_id=claim_id, exponent=exponent))
    return path


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_claim_file_runs_and_records_where_it_came_from(capsys, tmp_path):
    path = claim_file(tmp_path)
    code, out, err = run_cli(capsys, "run", str(path), "--out", str(tmp_path / "r"), "--json")
    assert code == 0, err
    assert '"verdict": "consistent"' in out and f'"origin": "file {path}"' in out


def test_a_wrong_exponent_in_a_claim_file_is_violated(capsys, tmp_path):
    path = claim_file(tmp_path, exponent=3.0)
    code, out, _ = run_cli(capsys, "run", str(path), "--out", str(tmp_path / "r"))
    assert code == 1 and "violated" in out


def test_python_api_takes_ids_paths_and_claim_objects(tmp_path):
    import optverify

    path = claim_file(tmp_path)
    claim = discovery.load_claim_file(path)
    result = optverify.run([path, claim], optverify.RunConfig(quick=True))
    assert [r.claim for r in result.claims] == ["users-square"]
    assert result.claims[0].origin == f"file {path.resolve()}"


@pytest.mark.parametrize("text, message", [
    ("x = 1\n", "defines no CLAIM"),
    ("def broken(:\n", "syntax error at line 1"),
    ("CLAIM = 3\n", "CLAIM is a int, not an optverify Claim"),
    ("raise RuntimeError('no data')\n", "importing it raised RuntimeError: no data"),
])
def test_a_bad_claim_file_is_one_line_and_exit_two(capsys, tmp_path, text, message):
    path = tmp_path / "bad.py"
    path.write_text(text)
    code, _, err = run_cli(capsys, "run", str(path), "--out", str(tmp_path / "r"))
    assert code == 2 and err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_missing_files_and_reused_builtin_ids_are_refused(capsys, tmp_path):
    code, _, err = run_cli(capsys, "run", str(tmp_path / "absent.py"), "--out", str(tmp_path / "r"))
    assert code == 2 and "no claim file" in err
    reused = claim_file(tmp_path, claim_id="balancedness")
    code, _, err = run_cli(capsys, "run", str(reused), "--out", str(tmp_path / "r"))
    assert code == 2 and "is a built-in claim's" in err and not (tmp_path / "r").exists()


def test_a_layer_that_raises_is_an_error_verdict(capsys, tmp_path):
    path = tmp_path / "raising.py"
    path.write_text(CLAIM_FILE.format(claim_id="raising", exponent=2.0).replace(
        "x = np.geomspace", "raise ValueError('diverged')\n    x = np.geomspace"))
    code, out, _ = run_cli(capsys, "run", str(path), "--out", str(tmp_path / "r"), "--json")
    assert code == 3 and '"verdict": "error"' in out


def installed_distribution(site: Path, claim_id="entry-point-square", name="userclaims") -> None:
    """A throw-away distribution `NAME 0.1` on `site`: a package and its dist-info with an
    `optverify.claims` entry point, as pip would install it."""
    package = site / name
    package.mkdir()
    claim_file(package, "__init__.py", claim_id=claim_id)
    dist_info = site / f"{name}-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(f"[optverify.claims]\nsquare = {name}:CLAIM\n")


def test_entry_point_claims_of_an_installed_distribution(tmp_path, monkeypatch):
    installed_distribution(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    claims = discovery.known_claims()
    assert claims["entry-point-square"].origin == "entry point square (userclaims 0.1)"
    assert list(claims)[0] == "balancedness"
    [resolved] = discovery.resolve(["entry-point-square"])
    assert resolved.origin.startswith("entry point square")


def test_entry_point_claims_through_the_command(tmp_path):
    installed_distribution(tmp_path)
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/local/bin:/usr/bin:/bin", "COLUMNS": "250"}
    listed = subprocess.run([sys.executable, "-m", "optverify", "list"], capture_output=True,
                            text=True, env=env, timeout=300)
    assert listed.returncode == 0 and "entry-point-square" in listed.stdout
    ran = subprocess.run([sys.executable, "-m", "optverify", "run", "entry-point-square", "--out",
                          str(tmp_path / "r"), "--progress", "off"], capture_output=True, text=True,
                         env=env, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert "consistent" in ran.stdout


def test_an_entry_point_may_not_reuse_a_builtin_id(tmp_path, monkeypatch):
    installed_distribution(tmp_path, claim_id="saxe-dynamics", name="reusingclaims")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(discovery.DiscoveryError,
                       match="reuses the claim id .saxe-dynamics. of a built-in"):
        discovery.known_claims()


@pytest.mark.parametrize("example, exponent", [("gd_quadratic.py", 1.0), ("heavy_ball.py", 0.5)])
def test_the_tutorial_examples_are_consistent_with_their_exponents(example, exponent):
    import optverify
    from optverify.testing import assert_every_decisive_check_can_say_no

    result = optverify.run([EXAMPLES / example], optverify.RunConfig(quick=True)).claims[0]
    assert result.verdict.value == "consistent"
    assert_every_decisive_check_can_say_no(result)
    [main] = result.main_checks
    assert abs(main.fit.exponent - exponent) < 0.1
    assert len((EXAMPLES / example).read_text().splitlines()) < 60


def test_a_power_law_decay_called_exponential_is_violated(capsys, tmp_path):
    path = tmp_path / "exponential.py"
    path.write_text(textwrap.dedent('''
        import numpy as np
        from optverify.kit import Bound, Claim, Session, Source

        def experiment(s: Session) -> None:
            r = np.linspace(1, 12, 12)
            variance = r ** -1.0 * np.exp(s.rng("noise").normal(0, 0.01, r.size))
            s.rate("decay", "the variance decays like exp(-r/2)", r, variance, main=True)

        CLAIM = Claim(id="exponential-decay", title="A power law called exponential",
                      source=Source("Me (2026)", "Theorem 2"),
                      bound=Bound.upper("r", -0.5, exponential=True), experiment=experiment)
    '''))
    code, out, _ = run_cli(capsys, "run", str(path), "--out", str(tmp_path / "r"), "--json")
    assert code == 1 and '"verdict": "violated"' in out
