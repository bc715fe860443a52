"""`verify rerun`: the comparison rules (pure, on JSON), reading reports, and the command itself."""

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optverify.config import RunConfig
from optverify.results import Duration, SourceFingerprint, Verdict
from optverify.verify import cli, discovery
from optverify.verify import rerun as reruns
from optverify.verify.runner import run_claim
from optverify.verify.serialize import FORMAT_VERSION, claim_to_json
from tests.toy_claims import CONSISTENT, VIOLATED, install_toy_registry

EXACT = reruns.Tolerance(0.0, "exact")


def report_of(claim=CONSISTENT, seed=1) -> dict:
    return claim_to_json(run_claim(claim, RunConfig(seed=seed)))


# -- the comparison rules ------------------------------------------------------------------------


def test_a_report_against_itself_is_reproduced_and_durations_are_counted():
    data = report_of()
    comparison = reruns.compare_reports(data, json.loads(json.dumps(data)), EXACT)
    assert comparison.reproduced
    assert comparison.skipped_durations == 4  # three layers' wall_s and the environment's


def test_same_seed_reproduces_and_another_seed_differs_at_the_fit():
    first, again, other = report_of(seed=5), report_of(seed=5), report_of(seed=6)
    assert reruns.compare_reports(first, again, EXACT).reproduced
    paths = {d.path for d in reruns.compare_reports(first, other, EXACT).differences}
    assert "environment.seed" in paths and "checks[2].fit.exponent" in paths


def test_an_edited_number_is_reported_with_its_path_and_both_values():
    recorded = report_of()
    now = json.loads(json.dumps(recorded))
    recorded["checks"][2]["fit"]["exponent"] = 2.5
    recorded["checks"][1]["values"]["extra"] = 7
    comparison = reruns.compare_reports(recorded, now, EXACT)
    assert reruns.Difference("checks[2].fit.exponent", 2.5,
                             now["checks"][2]["fit"]["exponent"]) in comparison.differences
    assert reruns.Difference("checks[1].values.extra", 7, "<absent>") in comparison.differences
    assert len(comparison.differences) == 2


def test_durations_prose_and_versions_are_not_compared():
    recorded = report_of()
    now = json.loads(json.dumps(recorded))
    now["environment"]["wall_s"] += 10
    now["layers"][0]["wall_s"] += 1
    now["checks"][0]["detail"] = "other words"
    now["environment"]["versions"]["torch"] = "0.0"
    now["new_field_of_a_later_format"] = 1
    now["format_version"] += 1
    assert reruns.compare_reports(recorded, now, EXACT).reproduced


def test_verdicts_and_value_strings_are_compared():
    recorded = report_of()
    now = json.loads(json.dumps(recorded))
    now["checks"][0]["verdict"] = "violated"
    now["layers"][1]["tables"][0]["rows"][0][1] = "below precision"
    paths = [d.path for d in reruns.compare_reports(recorded, now, EXACT).differences]
    assert paths == ["checks[0].verdict", "layers[1].tables[0].rows[0][1]"]


def test_marked_durations_in_values_and_tables_are_skipped_with_the_timed_verdict():
    check = {"name": "fastest", "verdict": "consistent", "values": {"error": 0.1, "seconds": 2.0},
             "durations": ["seconds"]}
    table = {"columns": ["method", "seconds"], "rows": [["a", 1.0], ["b", 2.0]],
             "duration_columns": ["seconds"]}
    recorded = {"checks": [check], "tables": [table]}
    now = {"checks": [{**check, "verdict": "violated", "values": {"error": 0.1, "seconds": 9.0}}],
           "tables": [{**table, "rows": [["a", 5.0], ["b", 6.0]]}]}
    comparison = reruns.compare_reports(recorded, now, EXACT)
    assert comparison.reproduced and comparison.skipped_durations == 3
    assert comparison.skipped_verdicts == ("checks[0]",)
    now["tables"][0]["rows"][1][0] = "c"
    assert [d.path for d in reruns.compare_reports(recorded, now, EXACT).differences] == [
        "tables[0].rows[1][0]"]


def test_a_serialized_duration_is_marked():
    from optverify.results import Check, Layer, Table
    from optverify.verify.serialize import check_to_json, table_to_json

    check = Check(Layer.EXPERIMENT, "timed", "t", Verdict.CONSISTENT,
                  values={"seconds_a": Duration(0.5), "error": 0.25})
    table = Table("t", "c", ("method", "error", "seconds"), (("a", 0.1, Duration(1.0)),))
    assert check_to_json(check)["durations"] == ["seconds_a"]
    assert table_to_json(table)["duration_columns"] == ["seconds"]
    assert json.dumps(check_to_json(check)["values"]) == '{"seconds_a": 0.5, "error": 0.25}'


def test_list_lengths_and_types_must_match():
    assert [d.path for d in reruns.compare_reports({"a": [1, 2]}, {"a": [1]}, EXACT).differences
            ] == ["a (length)"]
    assert not reruns.compare_reports({"a": 1}, {"a": "1"}, EXACT).reproduced
    assert not reruns.compare_reports({"a": True}, {"a": 1}, EXACT).reproduced
    assert not reruns.compare_reports({"a": 1.0}, {"a": "nan"}, EXACT).reproduced


def test_tolerance_is_exact_on_cpu_and_relative_on_cuda():
    cpu = reruns.tolerance_for({"device": "cpu", "dtype": "float32"})
    assert cpu.relative == 0 and "exact" in cpu.name
    assert not cpu.equal(1.0, 1.0 + 2**-52)
    cuda = reruns.tolerance_for({"device": "cuda", "dtype": "float64"})
    assert cuda.equal(1.0, 1.0 + 1e-12) and not cuda.equal(1.0, 1.0 + 1e-8)
    assert not cuda.equal(1.0, float("inf")) and cuda.equal(float("inf"), float("inf"))
    assert reruns.tolerance_for({"device": "cuda", "dtype": "float32"}).equal(1.0, 1.00001)


leaves = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                   st.booleans(), st.sampled_from(["consistent", "violated", "below precision"]),
                   st.none())
documents = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(["a", "b", "fit", "exponent", "rows"]), inner, max_size=4)),
    max_leaves=20)


def numeric_paths(document, path=""):
    if isinstance(document, dict):
        for key, value in document.items():
            yield from numeric_paths(value, f"{path}.{key}" if path else key)
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from numeric_paths(value, f"{path}[{index}]")
    elif isinstance(document, (int, float)) and not isinstance(document, bool):
        yield path


def edited(document, target, path=""):
    if isinstance(document, dict):
        return {k: edited(v, target, f"{path}.{k}" if path else k) for k, v in document.items()}
    if isinstance(document, list):
        return [edited(v, target, f"{path}[{i}]") for i, v in enumerate(document)]
    return document * 2 + 1 if path == target else document


@given(st.dictionaries(st.sampled_from(["checks", "values", "x"]), documents, min_size=1),
       st.data())
def test_property_itself_reproduces_and_one_edited_number_is_found_at_its_path(document, data):
    assert reruns.compare_reports(document, json.loads(json.dumps(document)), EXACT).reproduced
    paths = list(numeric_paths(document))
    if paths:
        target = data.draw(st.sampled_from(paths))
        differences = reruns.compare_reports(document, edited(document, target), EXACT).differences
        assert [d.path for d in differences] == [target]


def test_version_differences_name_each_library():
    assert reruns.version_differences({"torch": "1.0", "numpy": "2.0"},
                                      {"torch": "2.0", "numpy": "2.0", "scipy": "1.0"}) == [
        ("torch", "1.0", "2.0"), ("scipy", "not recorded", "1.0")]
    assert reruns.version_differences({"numpy": "2.0"}, {"numpy": "2.0"}) == []


def test_a_changed_claim_source_is_named_with_both_digests_and_never_compared():
    recorded = {"sha256": "a" * 64, "files": ["/x/mine.py"]}
    assert reruns.source_change(recorded, SourceFingerprint("a" * 64, ("/x/mine.py",))) is None
    assert reruns.source_change(recorded, SourceFingerprint("b" * 64, ("/x/mine.py",))) == (
        f"claim file changed since the report: recorded sha256 {'a' * 64}, now {'b' * 64} "
        "(/x/mine.py)")
    assert "now unknown" in reruns.source_change(recorded, None)
    assert reruns.source_change(None, SourceFingerprint("b" * 64, ())) is None  # format <= 4
    document = report_of()
    changed = {**document, "claim_source": {"sha256": "c" * 64, "files": []}}
    assert reruns.compare_reports(changed, document, reruns.tolerance_for(
        document["environment"])).reproduced


# -- reading reports -----------------------------------------------------------------------------


def test_reports_are_found_in_a_folder_and_bad_files_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "report.json").write_text(json.dumps(report_of()))
    (tmp_path / ".a.staging-x").mkdir()
    (tmp_path / ".a.staging-x" / "report.json").write_text("{")
    assert reruns.report_paths(tmp_path) == [tmp_path / "a" / "report.json"]
    assert reruns.load_report(tmp_path / "a" / "report.json")["claim"] == "toy-consistent"
    (tmp_path / "truncated.json").write_text(json.dumps(report_of())[:100])
    with pytest.raises(reruns.RerunError, match="not valid JSON"):
        reruns.load_report(tmp_path / "truncated.json")
    (tmp_path / "other.json").write_text('{"claim": "x"}')
    with pytest.raises(reruns.RerunError, match="not an optverify claim report"):
        reruns.load_report(tmp_path / "other.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(reruns.RerunError, match="no report.json"):
        reruns.report_paths(tmp_path / "empty")
    with pytest.raises(reruns.RerunError, match="no report"):
        reruns.report_paths(tmp_path / "missing.json")


def test_a_file_claim_is_found_by_its_recorded_path_and_a_missing_one_named(tmp_path):
    claim_file = tmp_path / "mine.py"
    claim_file.write_text("from tests.toy_claims import toy_claim\nCLAIM = toy_claim('mine')\n")
    claim = discovery.load_claim_file(claim_file)
    data = claim_to_json(run_claim(claim))
    assert reruns.find_claim(data).id == "mine"
    claim_file.unlink()
    with pytest.raises(reruns.RerunError, match="the claim file of mine is gone"):
        reruns.find_claim(data)


# -- the command ---------------------------------------------------------------------------------


@pytest.fixture
def toy_registry(monkeypatch):
    return install_toy_registry(monkeypatch, (CONSISTENT, VIOLATED))


def test_rerun_of_fresh_reports_is_reproduced_and_an_edited_number_is_printed(
        toy_registry, capsys, tmp_path):
    assert cli.main(["all", "--out", str(tmp_path), "--progress", "off", "--device", "cpu",
                     "--seed", "4"]) == 1
    capsys.readouterr()
    assert cli.main(["rerun", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "toy-consistent: reproduced (exact: every number equal, on cpu" in out
    assert "toy-violated: reproduced" in out
    path = tmp_path / "toy-consistent" / "report.json"
    data = json.loads(path.read_text())
    data["checks"][2]["fit"]["exponent"] = 1.2345
    data["environment"]["versions"]["torch"] = "0.0.1"
    data["format_version"] = 3
    path.write_text(json.dumps(data))
    assert cli.main(["rerun", str(path)]) == 1
    out = capsys.readouterr().out
    assert "toy-consistent: recorded with other versions: torch 0.0.1 (installed" in out
    assert "NOT reproduced, 1 differences" in out
    assert "checks[2].fit.exponent: recorded 1.2345, now 2.0" in out
    assert out.index("other versions") < out.index("NOT reproduced")
    assert f"toy-consistent: a report of format 3; this optverify writes format {FORMAT_VERSION}" \
        in out


def test_rerun_says_when_the_claim_file_changed_though_the_numbers_did_not(capsys, tmp_path):
    claim_file = tmp_path / "mine.py"
    claim_file.write_text("from tests.toy_claims import toy_claim\nCLAIM = toy_claim('mine')\n")
    out = tmp_path / "out"
    assert cli.main(["run", str(claim_file), "--out", str(out), "--progress", "off",
                     "--device", "cpu"]) == 0
    recorded = json.loads((out / "mine" / "report.json").read_text())["claim_source"]
    assert recorded["files"] == [str(claim_file.resolve())]
    assert recorded["sha256"] == hashlib.sha256(claim_file.read_bytes()).hexdigest()
    capsys.readouterr()
    assert cli.main(["rerun", str(out)]) == 0
    assert "changed" not in capsys.readouterr().out
    claim_file.write_text(claim_file.read_text() + "# an edit that changes no number\n")
    assert cli.main(["rerun", str(out)]) == 0
    printed = capsys.readouterr().out
    now = hashlib.sha256(claim_file.read_bytes()).hexdigest()
    assert (f"mine: claim file changed since the report: recorded sha256 {recorded['sha256']}, "
            f"now {now}") in printed
    assert "mine: reproduced" in printed


def test_rerun_of_a_replicated_report_reruns_every_seed(toy_registry, capsys, tmp_path):
    assert cli.main(["run", "toy-consistent", "--seeds", "2", "--out", str(tmp_path),
                     "--progress", "off", "--device", "cpu"]) == 0
    path = tmp_path / "toy-consistent" / "report.json"
    data = json.loads(path.read_text())
    data["replicates"]["exponents"][0]["exponents"][1] = 9.0
    path.write_text(json.dumps(data))
    capsys.readouterr()
    assert cli.main(["rerun", str(path)]) == 1
    assert "replicates.exponents[0].exponents[1]: recorded 9.0" in capsys.readouterr().out


# -- the schema it reads is serialize's ----------------------------------------------------------


def _keys(data) -> set[str]:
    if isinstance(data, dict):
        return set(data) | {key for value in data.values() for key in _keys(value)}
    if isinstance(data, list):
        return {key for value in data for key in _keys(value)}
    return set()


def test_every_field_the_comparison_names_is_one_serialize_writes():
    from optverify.verify import serialize

    written = _keys(report_of())
    named = (serialize.PROSE_FIELDS | serialize.DURATION_FIELDS
             | serialize.UNCOMPARED_REPORT_FIELDS | set(serialize.CLAIM_REPORT_FIELDS))
    assert named - {"split"} <= written  # "split": the replicates' prose, absent with one seed
    assert set(serialize.CONFIG_FIELDS) <= set(report_of()["environment"])


@settings(max_examples=25)
@given(st.sampled_from(["quick", "full", "paper"]), st.integers(0, 2**31), st.integers(10, 80))
def test_an_environment_reads_back_as_the_config_it_was_written_from(scale, seed, digits):
    from optverify.verify.serialize import config_from_json, environment_to_json
    from optverify.verify.runner import claim_result

    config = RunConfig(precision=digits, seed=seed, scale=scale, dtype="float32")
    environment = claim_result(CONSISTENT, (), config, 0.0).environment
    assert config_from_json(json.loads(json.dumps(environment_to_json(environment)))) == config
