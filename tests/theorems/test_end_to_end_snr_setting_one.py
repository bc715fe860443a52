"""Tests of Setting I of the `end-to-end-snr` claim (Shalev-Shwartz, Shamir, Shammah 2017,
arXiv:1703.07950, Section 3): the line images, the CNN's last-layer SNR estimators against their
loop twins, the SNR judges and the race to the target accuracy, with the negative controls of every
decisive check."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from optverify.kit import BELOW_PRECISION, Session, Verdict
from optverify.testing import Layer, RunConfig
from optverify.theorems.end_to_end_snr import (
    CLAIM,
    line_images,
    networks,
    setting_one_race,
    setting_one_snr,
    snr_estimate,
    training,
)


def _lines(angles, lengths, centres):
    as64 = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    return line_images.Lines(as64(angles), as64(lengths), as64(centres))


def test_rasterizer_draws_a_known_horizontal_line():
    image = line_images.rasterize(_lines([0.0], [10.0], [[14.0, 10.0]]))[0]
    assert sorted(map(tuple, image.nonzero().tolist())) == [(i, 10) for i in range(9, 20)]
    assert set(image.unique().tolist()) == {0.0, 1.0}


def test_rasterizer_draws_a_known_vertical_line_and_clips_at_the_border():
    image = line_images.rasterize(_lines([math.pi / 2], [8.0], [[3.0, 1.0]]))[0]
    assert sorted(map(tuple, image.nonzero().tolist())) == [(3, j) for j in range(0, 6)]


def test_rasterizer_diagonal_is_a_connected_staircase():
    image = line_images.rasterize(_lines([math.pi / 4], [20.0], [[13.5, 13.5]]))[0]
    pixels = sorted(map(tuple, image.nonzero().tolist()))
    assert all(abs(a[0] - b[0]) <= 1 and abs(a[1] - b[1]) <= 1 for a, b in zip(pixels, pixels[1:]))
    assert all(abs(i - j) <= 1 for i, j in pixels)


def test_mirror_maps_theta_to_pi_minus_theta_and_flips_labels():
    lines = line_images.sample_lines(64, torch.Generator().manual_seed(0))
    mirrored = line_images.Lines(math.pi - lines.angles, lines.lengths,
                                 torch.stack([27 - lines.centres[:, 0], lines.centres[:, 1]], 1))
    assert torch.equal(line_images.mirror(line_images.rasterize(lines)),
                       line_images.rasterize(mirrored))
    assert torch.equal(line_images.image_labels(mirrored.angles),
                       -line_images.image_labels(lines.angles))


def test_sampled_lines_follow_the_stated_distribution():
    lines = line_images.sample_lines(4000, torch.Generator().manual_seed(1))
    assert float(lines.angles.min()) >= 0 and float(lines.angles.max()) <= math.pi
    assert float(lines.lengths.min()) >= 5 and float(lines.lengths.max()) <= 23
    assert float(lines.centres.min()) >= 0 and float(lines.centres.max()) <= 27
    assert abs(float(line_images.image_labels(lines.angles).mean())) < 0.06


def test_label_rules():
    labels = line_images.image_labels(torch.tensor([0.1, math.pi / 2 - 1e-9, math.pi / 2 + 1e-9,
                                                    3.0], dtype=torch.float64))
    assert labels.tolist() == [1.0, 1.0, -1.0, -1.0]
    tuples = torch.tensor([[1.0, -1.0, -1.0], [1.0, 1.0, -1.0]])
    assert line_images.tuple_labels(tuples).tolist() == [1.0, -1.0]
    with pytest.raises(ValueError):
        line_images.tuple_labels(torch.tensor([[1.0, 0.5]]))


def test_bad_line_input_raises():
    with pytest.raises(ValueError):
        _lines([0.0], [-1.0], [[1.0, 1.0]])
    with pytest.raises(ValueError):
        _lines([float("nan")], [5.0], [[1.0, 1.0]])
    with pytest.raises(ValueError):
        line_images.sample_lines(0, torch.Generator())
    with pytest.raises(ValueError):
        networks.init_n2(0, torch.Generator(), torch.float64)


def _tiny_instance(k=2, n=48, seed=0):
    generator = torch.Generator().manual_seed(seed)
    lines = line_images.sample_lines(n * k, generator)
    images = line_images.rasterize(lines).reshape(n, k, 28, 28)
    labels = line_images.image_labels(lines.angles).reshape(n, k)
    n1 = networks.init_n1(generator, torch.float64)
    n2 = networks.init_n2(k, generator, torch.float64)
    return images, labels, n1, n2


def _loop_gradients(approach, images, labels, n1, n2):
    """The independent twin: one tuple at a time, autograd through the whole network from the
    images, no torch.func."""
    rows = []
    for x, y in zip(images, labels):
        w = n1["score.w"].clone().requires_grad_(True)
        params = {**n1, "score.w": w}
        s = networks.scores(params, networks.features(params, x))
        out = networks.n2_output(n2, s)
        loss = torch.relu(1 - y.prod() * out)
        if approach == "decomposition":
            loss = loss + torch.relu(1 - y * s).mean()
        rows.append(torch.autograd.grad(loss, w)[0].numpy())
    return np.array(rows)


def _numpy_snr(g):
    mean = g.mean(axis=0)
    return float(mean @ mean / ((g - mean) ** 2).sum(axis=1).mean())


@pytest.mark.parametrize("approach", setting_one_snr.APPROACHES)
def test_vmap_gradients_and_snr_match_the_loop_twin(approach):
    images, labels, n1, n2 = _tiny_instance()
    feats = networks.features(n1, images)
    batched = networks.last_layer_gradients(approach, n1, n2, feats, labels)
    twin = _loop_gradients(approach, images, labels, n1, n2)
    np.testing.assert_allclose(batched.numpy(), twin, rtol=1e-10, atol=1e-13)
    twin_snr = _numpy_snr(twin)
    assert abs(snr_estimate.plain_snr(batched) - twin_snr) <= 1e-10 * twin_snr
    # the authors' formula (the square of a squared norm subtracted) is rejected by the twin
    assert abs(snr_estimate.authors_snr(batched) - twin_snr) > 1e-6 * twin_snr


def test_unbiased_signal_matches_a_pairwise_loop():
    g = torch.randn(40, 1, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    estimate = snr_estimate.estimate_snr(g)
    pairs = [float(g[i, 0] @ g[j, 0]) for i in range(40) for j in range(40) if i != j]
    assert estimate.signal == pytest.approx(np.mean(pairs), rel=1e-12, abs=1e-14)
    assert estimate.second_moment == pytest.approx(float((g**2).sum(-1).mean()), rel=1e-12)


def test_unbiased_signal_is_unbiased_where_the_plug_in_is_not():
    """Mean-zero gradients: the U-statistic averages to 0, the plug-in to tr(Cov)/n."""
    generator = torch.Generator().manual_seed(4)
    g = torch.randn(400, 30, 1, 6, generator=generator, dtype=torch.float64)
    signals = [snr_estimate.estimate_snr(g[r]).signal for r in range(400)]
    plug_in = [float(g[r].mean(0)[0] @ g[r].mean(0)[0]) for r in range(400)]
    assert abs(np.mean(signals)) < 4 * np.std(signals) / 20
    assert np.mean(plug_in) == pytest.approx(6 / 30, rel=0.15)


def test_antithetic_patterns_contain_the_plain_tuple():
    images, labels, n1, n2 = _tiny_instance(k=3, n=8)
    pairs = torch.stack([networks.features(n1, images),
                         networks.features(n1, line_images.mirror(images))], dim=2)
    g = snr_estimate.antithetic_gradients("end-to-end", n1, n2, pairs, labels)
    assert g.shape == (8, 8, networks.FEATURES)
    plain = networks.last_layer_gradients("end-to-end", n1, n2, pairs[:, :, 0], labels)
    torch.testing.assert_close(g[:, 0], plain)
    mirrored_all = networks.last_layer_gradients("end-to-end", n1, n2, pairs[:, :, 1], -labels)
    torch.testing.assert_close(g[:, -1], mirrored_all)


@pytest.mark.parametrize("approach", setting_one_snr.APPROACHES)
@pytest.mark.parametrize("k", [1, 3])
def test_closed_form_gradients_match_torch_func(approach, k):
    images, labels, n1, n2 = _tiny_instance(k=k, n=40, seed=k)
    feats = networks.features(n1, images)
    torch.testing.assert_close(
        networks.closed_form_last_layer_gradients(approach, n1, n2, feats, labels),
        networks.last_layer_gradients(approach, n1, n2, feats, labels), rtol=1e-12, atol=1e-15)


def _pool(n=20, k=2, seed=7):
    generator = torch.Generator().manual_seed(seed)
    lines = line_images.sample_lines(n, generator)
    images = line_images.rasterize(lines)
    n1 = networks.init_n1(generator, torch.float64)
    n2 = networks.init_n2(k, generator, torch.float64)
    pairs = torch.stack([networks.features(n1, images),
                         networks.features(n1, line_images.mirror(images))], dim=1)
    return pairs, line_images.image_labels(lines.angles), n1, n2


@pytest.mark.parametrize("approach", setting_one_snr.APPROACHES)
def test_block_of_k_images_is_the_disjoint_tuple_estimator(approach):
    pairs, labels, n1, n2 = _pool(n=21, k=3)
    tuples = pairs[:21].reshape(7, 3, 2, networks.FEATURES)
    plain = snr_estimate.estimate_snr(snr_estimate.antithetic_gradients(
        approach, n1, n2, tuples, labels.reshape(7, 3)))
    blocked = snr_estimate.block_estimate(approach, n1, n2, pairs, labels, 3, 3)
    assert blocked.signal == pytest.approx(plain.signal, rel=1e-10, abs=1e-18)
    assert blocked.second_moment == pytest.approx(plain.second_moment, rel=1e-12)


def test_block_means_average_every_subset_and_pattern():
    """A loop twin: every 2-subset of each block of 5 images, every mirror pattern, autograd."""
    import itertools

    pairs, labels, n1, n2 = _pool(n=10, k=2)
    means = []
    for block in range(2):
        rows = []
        for i, j in itertools.combinations(range(5 * block, 5 * block + 5), 2):
            for a, b in itertools.product((0, 1), repeat=2):
                feats = torch.stack([pairs[i, a], pairs[j, b]])[None]
                y = torch.stack([labels[i] * (1 - 2 * a), labels[j] * (1 - 2 * b)])[None]
                rows.append(networks.last_layer_gradients("end-to-end", n1, n2, feats, y)[0])
        means.append(torch.stack(rows).mean(0))
    signal, _ = snr_estimate.unbiased_signal(torch.stack(means))
    estimate = snr_estimate.block_estimate("end-to-end", n1, n2, pairs, labels, 2, 5)
    assert estimate.signal == pytest.approx(signal, rel=1e-10, abs=1e-20)
    assert estimate.samples == 2


def _active_pair_pool(n=9, seed=3, shrink=0.5):
    """A pool and a k = 2 N2 whose output layer is shrunk so that the hinge is active on every
    pair (max |N2| < 1 over the box of scores)."""
    pairs, labels, n1, n2 = _pool(n=n, k=2, seed=seed)
    return pairs, labels, n1, {**n2, "out.w": shrink * n2["out.w"]}


def test_exact_pair_mean_matches_the_loop_over_every_pair():
    import itertools

    pairs, labels, n1, n2 = _active_pair_pool()
    u = torch.sigmoid(pairs @ n1["score.w"] + n1["score.b"])
    assert networks.pair_output_bound(n2, float(u.min()), float(u.max())) < 1
    rows = []
    for i, j in itertools.permutations(range(9), 2):
        for a, b in itertools.product((0, 1), repeat=2):
            feats = torch.stack([pairs[i, a], pairs[j, b]])[None]
            y = torch.stack([labels[i] * (1 - 2 * a), labels[j] * (1 - 2 * b)])[None]
            rows.append(networks.last_layer_gradients("end-to-end", n1, n2, feats, y)[0])
    twin = torch.stack(rows).mean(0)
    torch.testing.assert_close(snr_estimate.exact_pair_mean(n1, n2, pairs, labels), twin,
                               rtol=1e-10, atol=1e-18)


def test_pair_output_bound_is_the_maximum_over_the_box():
    _, _, _, n2 = _pool(k=2, seed=5)
    grid = torch.linspace(0.3, 0.7, 301, dtype=torch.float64)
    points = torch.cartesian_prod(grid, grid)
    on_grid = float((torch.relu(points @ n2["hidden.w"].T + n2["hidden.b"]) @ n2["out.w"]
                     + n2["out.b"]).abs().max())
    bound = networks.pair_output_bound(n2, 0.3, 0.7)
    assert on_grid <= bound + 1e-15 and bound <= on_grid + 1e-3  # attained within the grid step
    with pytest.raises(ValueError):
        networks.pair_output_bound(networks.init_n2(3, torch.Generator(), torch.float64), 0, 1)


def test_exact_pairs_refuse_an_inactive_hinge():
    pairs, labels, n1, n2 = _active_pair_pool(n=16, shrink=100.0)
    assert snr_estimate.exact_pair_estimate(n1, n2, pairs, labels, 2) is None
    pairs, labels, n1, n2 = _active_pair_pool(n=16)
    estimate = snr_estimate.exact_pair_estimate(n1, n2, pairs, labels, 2)
    assert estimate is not None and estimate.samples == 2


def test_estimate_snr_bad_input_raises():
    with pytest.raises(ValueError):
        snr_estimate.estimate_snr(torch.zeros(1, 1, 3))
    with pytest.raises(ValueError):
        snr_estimate.estimate_snr(torch.full((3, 1, 2), float("nan")))
    with pytest.raises(ValueError):
        setting_one_snr.SnrConfig((2, 3), images=100, inits=2, blocks=(2, 3), decisive=True)
    with pytest.raises(ValueError):
        setting_one_snr.SnrConfig((1, 4), images=4, inits=2, blocks=(1, 4), decisive=True)
    with pytest.raises(ValueError):
        setting_one_snr.SnrConfig((1, 2), images=100, inits=2, blocks=(1,), decisive=True)
    with pytest.raises(ValueError):
        setting_one_snr.SnrConfig((1, 2), images=100, inits=2, blocks=(1, 2), decisive=True,
                              pair_groups=1)
    pairs, labels = torch.zeros(10, 2, 3), torch.ones(10)
    with pytest.raises(ValueError):
        snr_estimate.block_estimate("end-to-end", {}, {}, pairs, labels, 3, 2)
    with pytest.raises(ValueError):
        snr_estimate.block_estimate("end-to-end", {}, {}, pairs, labels, 2, 6)


def _summary(mean, stderr):
    return setting_one_snr.SnrSummary(mean, stderr, 0.0, (mean, mean))


def test_below_precision_is_a_word_never_a_number():
    tiny = _summary(-1e-9, 1e-7)
    assert setting_one_snr.describe(tiny, "float32") == BELOW_PRECISION
    assert setting_one_snr.describe(tiny, "float64").startswith("unresolved (<")
    assert setting_one_snr.describe(_summary(3e-3, 1e-4), "float32") == "0.003"
    resolved_but_tiny = _summary(1e-6, 1e-8)
    assert setting_one_snr.describe(resolved_but_tiny, "float32") == BELOW_PRECISION
    assert setting_one_snr.describe(resolved_but_tiny, "float64") == "1e-06"


E2E = {1: setting_one_snr.SnrSummary(1e-3, 1e-4, 1e-4, (0.9e-3, 1.1e-3)),
       2: _summary(1e-8, 1e-7), 3: _summary(-1e-8, 1e-7), 4: _summary(0.0, 1e-8)}
DEC = {1: _summary(1e-3, 1e-4), 2: _summary(2e-3, 2e-4), 3: _summary(3e-3, 3e-4),
       4: _summary(4e-3, 4e-4)}


def test_setting_one_judges_accept_the_claim_and_reject_their_controls():
    assert setting_one_snr.judge_collapse(E2E).verdict is Verdict.CONSISTENT
    assert setting_one_snr.judge_collapse(DEC).verdict is Verdict.VIOLATED
    slower = setting_one_snr.slower_exponential(E2E)
    assert slower[3].mean == pytest.approx(1e-5)
    assert setting_one_snr.judge_collapse(slower).verdict is Verdict.VIOLATED
    assert setting_one_snr.judge_kept(DEC).verdict is Verdict.CONSISTENT
    assert setting_one_snr.judge_kept(E2E).verdict is Verdict.VIOLATED
    floor = setting_one_snr.resolution_floor("float32")
    late = lambda series: {k: v for k, v in series.items() if k >= 3}  # noqa: E731
    assert setting_one_snr.judge_below_resolution(late(E2E), floor).verdict is Verdict.CONSISTENT
    assert setting_one_snr.judge_below_resolution(late(DEC), floor).verdict is Verdict.VIOLATED


def test_decay_form_below_resolution_reports_the_first_step_bounds():
    judged = setting_one_snr.judge_decay_form(E2E)
    assert judged.verdict is Verdict.INCONCLUSIVE
    assert "below resolution" in judged.detail and "SNR(2) <" in judged.detail
    # the steepest power law the first step allows: SNR(1)'s lower bound over SNR(2)'s upper one
    z = setting_one_snr.STANDARD_ERRORS
    power = math.log2((1e-3 - z * 1e-4) / (1e-8 + z * 1e-7))
    steep = setting_one_snr.steepest_power_law(E2E)
    assert steep[2].mean == pytest.approx(1e-3 * 2**-power)
    assert setting_one_snr.judge_decay_form(steep).verdict is Verdict.VIOLATED


def test_decay_form_with_two_resolved_k_reports_both_laws_at_k3():
    two = {**E2E, 2: setting_one_snr.SnrSummary(2.4e-8, 4.4e-9, 0.0, (2e-8, 2.8e-8))}
    judged = setting_one_snr.judge_decay_form(two)
    assert judged.verdict is Verdict.INCONCLUSIVE
    assert "resolved only at k in [1, 2]" in judged.detail
    assert f"{2.4e-8 ** 2 / 1e-3:.2g}" in judged.detail  # the exponential's prediction at k = 3


def test_bounds_are_one_sided_at_half_a_percent_each():
    from scipy import stats

    assert setting_one_snr.STANDARD_ERRORS == pytest.approx(stats.norm.ppf(0.995))
    assert _summary(1e-3, 1e-4).upper == pytest.approx(1e-3 + setting_one_snr.STANDARD_ERRORS * 1e-4)


def test_decay_form_tells_an_exponential_from_a_power_law():
    ks = (1, 2, 3, 4, 5, 6)
    exponential = {k: setting_one_snr.SnrSummary(10.0 ** -k, 1e-12, 0.0,
                                             (10.0 ** -k * 1.01, 10.0 ** -k / 1.01)) for k in ks}
    power = {k: setting_one_snr.SnrSummary(float(k) ** -3, 1e-12, 0.0,
                                       (k**-3 * 1.01, k**-3 / 1.01)) for k in ks}
    assert setting_one_snr.judge_decay_form(exponential).verdict is Verdict.CONSISTENT
    assert setting_one_snr.judge_decay_form(power).verdict is Verdict.VIOLATED


def test_median_rank_is_the_sign_test_at_one_percent():
    from scipy import stats

    assert setting_one_race.median_rank(6) is None  # 2^-6 > 1%
    assert setting_one_race.median_rank(7) == 1
    for seeds in range(7, 40):
        rank = setting_one_race.median_rank(seeds)
        assert stats.binom.cdf(rank - 1, seeds, 0.5) <= 0.01 < stats.binom.cdf(rank, seeds, 0.5)


def _time(reached, before, last=None):
    steps = (0, before) if reached is None else (0, before, reached)
    return training.TimeToTarget(reached, before, steps, (0.5,) * len(steps))


def _race(decomposition, end_to_end, factor=4.0, cap=400, budget=None):
    budget = budget or max(int(factor * max(r for r, _ in decomposition)), cap)
    return training.RaceToTarget(
        3, 0.7, factor, cap, budget, tuple(_time(r, b) for r, b in decomposition),
        tuple(_time(r, b) for r, b in end_to_end))


DEC_TIMES = [(60, 50), (70, 60), (90, 80), (80, 70), (80, 70), (80, 70), (60, 50)]


def test_fails_judge_tells_failing_from_merely_slower():
    censored = _race(DEC_TIMES, [(None, 400)] * 7)
    assert setting_one_race.judge_fails(censored).verdict is Verdict.CONSISTENT
    for by in (1.0, 2.0):
        slower = setting_one_race.merely_slower(censored, by)
        assert setting_one_race.judge_fails(slower).verdict is Verdict.VIOLATED
    # one seed that learns in time is the sign test's lowest order statistic: undecided
    one_learns = _race(DEC_TIMES, [(100, 90)] + [(None, 400)] * 6)
    assert setting_one_race.judge_fails(one_learns).verdict is Verdict.INCONCLUSIVE
    # six seeds cannot bound a median at 1% per side
    assert setting_one_race.judge_fails(_race(DEC_TIMES[:6], [(None, 400)] * 6)).verdict is (
        Verdict.INCONCLUSIVE)
    # a budget short of factor x the decomposition's time decides nothing
    short = _race(DEC_TIMES, [(None, 300)] * 7, budget=300)
    assert setting_one_race.judge_fails(short).verdict is Verdict.INCONCLUSIVE


def test_ratio_interval_holds_the_grid_and_the_censoring():
    assert setting_one_race.ratio_interval(_time(100, 90), _time(300, 250)) == (2.5, 300 / 90)
    assert setting_one_race.ratio_interval(_time(100, 90), _time(None, 800)) == (8.0, math.inf)
    assert setting_one_race.ratio_interval(_time(None, 400), _time(None, 800)) == (0.0, math.inf)
    assert setting_one_race.ratio_interval(_time(0, 0), _time(10, 0))[1] == math.inf


def test_learns_judge_and_its_control():
    race = _race(DEC_TIMES, [(None, 400)] * 7)
    assert setting_one_race.judge_learns(race).verdict is Verdict.CONSISTENT
    control = setting_one_race._end_to_end_as_decomposition(race)
    assert setting_one_race.judge_learns(control).verdict is Verdict.VIOLATED


def test_per_image_loss_switched_off_is_the_end_to_end_loss():
    images, labels, n1, n2 = _tiny_instance(k=3, n=6)
    params = {"n1": n1, "n2": n2}
    off = training.model_loss(params, images, labels, torch.tensor(0.0, dtype=torch.float64))
    feats = networks.features(n1, images)
    out = networks.n2_output(n2, networks.scores(n1, feats))
    assert float(off) == pytest.approx(float(torch.relu(1 - labels.prod(-1) * out).mean()))
    on = training.model_loss(params, images, labels, torch.tensor(1.0, dtype=torch.float64))
    assert float(on) > float(off)


def test_recorded_race_checks_are_decisive_with_rejected_controls():
    session = Session(RunConfig(quick=False), Layer.EXPERIMENT, claim_bound=CLAIM.bound)
    full = setting_one_race.RaceConfig.full()
    setting_one_race.record_race(session, full, [_race(DEC_TIMES, [(None, 400)] * 7)])
    checks = {c.name: c for c in session.checks}
    for name in ("setting-i-e2e-fails-k3", "setting-i-dec-learns-k3"):
        assert checks[name].decisive and checks[name].verdict is Verdict.CONSISTENT
        assert checks[name].controls and all(c.rejected for c in checks[name].controls)
    assert len(checks["setting-i-e2e-fails-k3"].controls) == 2  # slower by 2, as fast


def test_the_paper_preset_is_fig_4s_budget():
    paper = setting_one_race.RaceConfig.paper()
    assert paper.cap == 2500 and paper.cap * paper.factor == 20_000
    assert paper.sizes == (1, 2, 3, 4) and setting_one_race.median_rank(paper.seeds) == 1


def _tiny_race(target, cap=4, factor=2.0):
    return training.race_to_target(
        2, (0, 1), target, factor, cap, 2, 4, 4, 1e-3,
        lambda seed: torch.Generator().manual_seed(seed), torch.Generator().manual_seed(5),
        torch.Generator().manual_seed(6), 32, torch.float32)


def test_race_trains_end_to_end_on_to_its_budget():
    race = _tiny_race(target=0.999)  # out of reach: every time is censored
    assert race.budget == 8 and all(t.reached is None for t in race.decomposition)
    assert [t.steps for t in race.decomposition] == [(0, 2, 4)] * 2
    assert [t.steps for t in race.end_to_end] == [(0, 2, 4, 8)] * 2
    assert all(t.before == 8 for t in race.end_to_end)
    # both approaches of a seed start from the same initialization
    assert all(d.curve[0] == e.curve[0] for d, e in zip(race.decomposition, race.end_to_end))


def test_race_stops_when_everyone_reached_the_target():
    race = _tiny_race(target=0.01)
    assert all(t.reached == 0 and t.before == 0 for t in race.decomposition + race.end_to_end)
    assert race.budget == 4  # max(factor x 0, cap)


def test_race_bad_input_raises():
    with pytest.raises(ValueError):
        _tiny_race(target=0.7, cap=3)
    with pytest.raises(ValueError):
        _tiny_race(target=1.5)
    with pytest.raises(ValueError):
        _tiny_race(target=0.7, factor=0.5)


SMALL_ONE = setting_one_snr.SnrConfig((1, 2, 3), images=768, inits=2, blocks=(1, 8, 6),
                                  decisive=True)


@pytest.fixture(scope="module")
def setting_one_session():
    session = Session(RunConfig(quick=True, seed=2), Layer.EXPERIMENT, claim_bound=CLAIM.bound)
    setting_one_snr.record_snr(session, setting_one_snr.snr_sweep(session, SMALL_ONE))
    return session


def test_setting_one_snr_checks_and_their_controls(setting_one_session):
    checks = {c.name: c for c in setting_one_session.checks}
    for name in ("setting-i-e2e-snr-collapse-float64", "setting-i-dec-snr-kept-float64",
                 "setting-i-e2e-below-float32"):
        check = checks[name]
        assert check.decisive and check.controls
        assert check.verdict is Verdict.CONSISTENT, check.detail
        assert all(c.rejected for c in check.controls), check.controls
    values = checks["setting-i-e2e-snr-collapse-float64"].values
    assert values["snr_end-to-end_float32_k3"] == BELOW_PRECISION
    assert not checks["setting-i-e2e-decay-form"].decisive
