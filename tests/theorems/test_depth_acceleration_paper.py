"""depth-acceleration at the paper scale (issue 20): the preset's sizes, the loss target, the
seed counts against the controls they must refute, and the user's UCI Ethanol file
(`--data uci-ethanol=PATH`): read, standardized and recorded, or one clear error."""

import math

import numpy as np
import pytest

from optverify.datasets import STAND_IN, DataSet, file_sha256
from optverify.kit import Verdict
from optverify.testing import Layer, RunConfig, record_layer
from optverify.numerics.equivalence import units_to_separate
from optverify.theorems.depth_acceleration import config, experiment
from optverify.theorems.depth_acceleration.ethanol import UCI_ETHANOL, user_regression_set
from optverify.theorems.depth_acceleration.experiment import ExperimentConfig
from optverify.theorems.depth_acceleration.speedup import (
    MATERIAL_RATIO,
    PAPER_TARGET,
    RELATIVE_TARGET,
    LossTarget,
    judge_faster,
    judge_not_faster,
)
from optverify.verify import cli, plan

ETHANOL_SHAPE = (2565, 129)


def fake_ethanol(tmp_path, rows=ETHANOL_SHAPE[0], columns=ETHANOL_SHAPE[1], name="ethanol.csv"):
    """A numeric table of the Ethanol file's shape: correlated features, a linear target."""
    rng = np.random.default_rng(3)
    features = rng.standard_normal((rows, columns - 1)) @ rng.standard_normal(
        (columns - 1, columns - 1)) * rng.uniform(0.1, 100.0, columns - 1)
    target = features @ rng.standard_normal(columns - 1) + rng.standard_normal(rows) + 50.0
    path = tmp_path / name
    np.savetxt(path, np.column_stack([features, target]), delimiter=",")
    return path


# ---------------------------------------------------------------- the paper preset


def test_the_paper_preset_has_the_papers_sizes():
    paper = ExperimentConfig.paper()
    ethanol = paper.sets[0]
    assert (ethanol.name, ethanol.rows, ethanol.cols) == ("ethanol-like", 2565, 128)
    assert paper.depths == tuple(range(1, 9))
    assert paper.width_hidden == 32
    assert paper.target == LossTarget(1e-5, relative=False)
    assert paper.steps >= 10 * ExperimentConfig.full().steps
    assert (paper.steps // paper.checkpoint_every) <= config.PAPER_CHECKPOINTS


def test_quick_and_full_keep_their_target_and_width():
    for settings in (ExperimentConfig.quick(), ExperimentConfig.full()):
        assert settings.target == RELATIVE_TARGET and settings.width_hidden == 4
        assert settings.checkpoint_every == config.CHECKPOINT_EVERY
        assert settings.steps == config.STEPS


def _at_scatter(count: int, log_scatter: float, mean: float) -> np.ndarray:
    """`count` ratios with geometric mean `mean` and sample log-scatter exactly `log_scatter`."""
    logs = np.random.default_rng(count).standard_normal(count)
    logs = (logs - logs.mean()) / logs.std(ddof=1) * log_scatter
    return np.exp(logs + math.log(mean))


@pytest.mark.parametrize("power", [2, 4])
def test_the_paper_seed_counts_refute_the_hardest_control_and_no_fewer_do(power):
    seeds = config.seeds_for_controls(power)
    paper = ExperimentConfig.paper().sets[0]
    assert paper.seeds_for(power) == seeds
    judge = judge_faster if power == 4 else judge_not_faster
    control = config.HARDEST_CONTROL[power]
    scatter = config.PAPER_LOG_SCATTER
    assert judge(_at_scatter(seeds, scatter, control)).verdict is Verdict.VIOLATED
    assert judge(_at_scatter(seeds - 1, scatter, control)).verdict is Verdict.INCONCLUSIVE
    assert seeds == units_to_separate(scatter, abs(math.log(control / MATERIAL_RATIO)))


def test_the_paper_target_is_absolute_and_the_full_one_relative():
    optimum, start = np.array([0.1, 0.2]), np.array([1.1, 0.7])
    np.testing.assert_allclose(PAPER_TARGET.level(optimum, start), optimum + 1e-5)
    np.testing.assert_allclose(RELATIVE_TARGET.level(optimum, start),
                               optimum + 1e-3 * (start - optimum))
    assert PAPER_TARGET.describe() == "L <= L* + 1e-05"
    with pytest.raises(ValueError, match="positive"):
        LossTarget(0.0, relative=True)


def test_the_plans_estimate_is_the_work_per_iteration_times_the_iterations_ratio():
    line = plan.claim_plan("depth-acceleration")
    paper, full = ExperimentConfig.paper(), ExperimentConfig.full()
    growth = (paper.work() / paper.steps) / (full.work() / full.steps) * 38_505 / 840
    assert growth > 1
    assert line.expected_s == pytest.approx(plan.FULL_RUN_SECONDS["depth-acceleration"] * growth)
    assert "widths 32" in line.sizes and "1e-5" in line.sizes


# ---------------------------------------------------------------- the user's Ethanol file


def test_the_users_table_is_standardized_to_the_stand_ins_scales(tmp_path):
    table = np.loadtxt(fake_ethanol(tmp_path), delimiter=",")
    data = user_regression_set(table, "/somewhere/ethanol.csv", "ab" * 32)
    assert data.shape == (2565, 128) and data.name == "uci-ethanol"
    np.testing.assert_allclose(data.features.mean(axis=0), 0, atol=1e-10)
    gram = data.features.T @ data.features / 2565
    assert np.linalg.eigvalsh(gram)[-1] == pytest.approx(1.0)
    assert np.mean(data.targets**2) == pytest.approx(1.0) and abs(data.targets.mean()) < 1e-10
    assert "ethanol.csv" in data.description and "ab" * 32 in data.description


def test_a_constant_feature_column_is_one_clear_error(tmp_path):
    table = np.loadtxt(fake_ethanol(tmp_path), delimiter=",")
    table[:, 7] = 2.0
    with pytest.raises(ValueError, match=r"column\(s\) \[7\] are constant"):
        user_regression_set(table, "x.csv", "0" * 64)


def test_the_users_file_replaces_the_stand_in_at_full_and_paper_only(tmp_path):
    table = np.loadtxt(fake_ethanol(tmp_path), delimiter=",")
    user = user_regression_set(table, "ethanol.csv", "0" * 64)
    for settings in (ExperimentConfig.full(), ExperimentConfig.paper()):
        ethanol, other = settings.with_data(user).sets
        assert ethanol.name == "uci-ethanol" and ethanol.fixed is user
        assert other == settings.sets[1] and other.fixed is None
        rng = np.random.default_rng(0)
        assert experiment.draw_set(ethanol, rng) is user
    quick = ExperimentConfig.quick()
    assert quick.with_data(user) == quick and quick.with_data(user).sets[0].fixed is None
    assert "not read at this scale" in experiment.data_used(quick, user)
    assert STAND_IN in experiment.data_used(ExperimentConfig.full(), None)


def _read_on_a_session(config: RunConfig):
    """`user_data` on a session of `config`, and the notes it recorded."""
    found = []
    recorded = record_layer(lambda s: found.append(experiment.user_data(s)), Layer.EXPERIMENT,
                         config)
    return found[0], " ".join(recorded.notes)


def test_data_given_on_the_run_is_read_checked_and_recorded(tmp_path):
    path = fake_ethanol(tmp_path)
    user, notes = _read_on_a_session(RunConfig(scale="paper",
                                               data=(("uci-ethanol", str(path)),)))
    assert user is not None and user.shape == (2565, 128)
    note = experiment.data_used(ExperimentConfig.paper().with_data(user), user)
    assert file_sha256(path) in notes and file_sha256(path) in note
    assert "ethanol.csv" in note and "2565 x 128" in note


def test_without_data_the_stand_in_is_recorded():
    user, notes = _read_on_a_session(RunConfig(scale="paper"))
    assert user is None and STAND_IN in notes
    assert "ethanol-like, 2565 x 128" in experiment.data_used(ExperimentConfig.paper(), None)


@pytest.mark.parametrize("shape", [(2565, 128), (2564, 129)])
def test_a_wrong_shape_on_the_command_line_is_one_line_and_exit_two(tmp_path, capsys, shape):
    path = fake_ethanol(tmp_path, *shape)
    out = tmp_path / "out"
    code = cli.main(["run", "depth-acceleration", "--scale", "paper", "--out", str(out),
                     "--data", f"uci-ethanol={path}"])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1, err
    assert f"expected {ETHANOL_SHAPE[0]} x {ETHANOL_SHAPE[1]}" in err and not out.exists()


def test_a_wrong_hash_on_the_command_line_is_one_line_and_exit_two(tmp_path, capsys,
                                                                    monkeypatch):
    pinned = DataSet(UCI_ETHANOL.name, UCI_ETHANOL.description, *ETHANOL_SHAPE, sha256="0" * 64)
    monkeypatch.setattr(plan, "known_datasets", lambda: (pinned,))
    path = fake_ethanol(tmp_path)
    out = tmp_path / "out"
    code = cli.main(["run", "depth-acceleration", "--out", str(out),
                     "--data", f"uci-ethanol={path}"])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1, err
    assert "expected " + "0" * 64 in err and not out.exists()
