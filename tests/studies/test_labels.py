"""studies/labels.py on small hand-made arrays."""

from __future__ import annotations

import numpy as np
import pytest

from emotion.vocab import GEMS, N_GEMS, gems_index
from studies.labels import (
    INTENSITY,
    PICK,
    AttentionCheck,
    aggregate,
    agreement,
    answer_distributions,
    entropy_bits,
    gold_check_passed,
    js_divergence,
    plain_soft_labels,
    repeat_check_passed,
    validate_answers,
)


def picks(*names):
    row = np.zeros(N_GEMS)
    for n in names:
        row[gems_index(n)] = 1
    return row


class TestValidation:
    def test_accepts_one_to_three_picks(self):
        validate_answers(np.vstack([picks("wonder"), picks("wonder", "power", "tension")]), PICK)

    @pytest.mark.parametrize(
        "row,msg",
        [
            (np.zeros(N_GEMS), "at least one"),
            (picks("wonder", "power", "tension", "sadness"), "at most 3"),
            (np.r_[2, np.zeros(N_GEMS - 1)], "picked"),
            (np.r_[0.5, np.zeros(N_GEMS - 1)], "whole"),
            (np.zeros(N_GEMS - 1), "one value per GEMS"),
        ],
    )
    def test_rejects_bad_picks(self, row, msg):
        with pytest.raises(ValueError, match=msg):
            validate_answers(row, PICK)

    @pytest.mark.parametrize("bad", [5, -1, np.nan])
    def test_rejects_intensities_outside_0_to_4(self, bad):
        row = np.zeros(N_GEMS)
        row[0] = bad
        with pytest.raises(ValueError):
            validate_answers(row, INTENSITY)

    def test_unknown_format(self):
        with pytest.raises(ValueError, match="format"):
            validate_answers(picks("wonder"), "likert")

    def test_all_zero_intensity_is_valid_but_uninformative(self):
        dist, informative = answer_distributions(np.vstack([np.zeros(N_GEMS), np.r_[4, 2, np.zeros(7)]]), INTENSITY)
        assert informative.tolist() == [False, True]
        assert np.allclose(dist[1, :2], [4 / 6, 2 / 6]) and dist[0].sum() == 0


def test_entropy_and_jsd_bounds():
    uniform = np.full(N_GEMS, 1 / N_GEMS)
    assert entropy_bits(uniform) == pytest.approx(np.log2(9))
    assert entropy_bits(np.eye(N_GEMS)[0]) == 0
    assert js_divergence(np.eye(N_GEMS)[0], np.eye(N_GEMS)[1]) == pytest.approx(1.0)
    assert js_divergence(uniform, uniform) == pytest.approx(0.0)


def _honest_and_spammer():
    """Tracks 0-9 each have a clear emotion; raters 0-3 pick it, rater 4 always picks 'tension'."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, N_GEMS, size=10)
    truth[truth == gems_index("tension")] = 0
    rater, track, answers = [], [], []
    for t in range(10):
        for r in range(4):
            rater.append(r)
            track.append(t)
            answers.append(picks(GEMS[truth[t]]))
        rater.append(4)
        track.append(t)
        answers.append(picks("tension"))
    return np.array(rater), np.array(track), np.array(answers), truth


class TestAggregate:
    def test_spammer_gets_low_reliability_and_little_say(self):
        rater, track, answers, truth = _honest_and_spammer()
        agg = aggregate(rater, track, answers, PICK, rater_codes=["A", "B", "C", "D", "SPAM"])
        rel = [r.reliability for r in agg.raters]
        assert max(rel[:4]) > 0.8 and rel[4] < 0.3
        assert agg.raters[4].code == "SPAM"
        assert any("low estimated reliability" in x for x in agg.raters[4].reasons)
        assert np.all(np.argmax(agg.soft_labels, axis=1) == truth)
        tension = agg.soft_labels[:, gems_index("tension")]
        plain = plain_soft_labels(rater, track, answers, PICK)[:, gems_index("tension")]
        assert np.all(tension < plain / 2)  # vote counting gives the spammer a fifth of every label

    def test_labels_are_smoothed_distributions_with_counts_and_entropy(self):
        rater, track, answers, _ = _honest_and_spammer()
        agg = aggregate(rater, track, answers, PICK, n_tracks=12)
        assert agg.soft_labels.shape == (12, N_GEMS)
        assert np.allclose(agg.soft_labels.sum(axis=1), 1)
        assert np.all(agg.soft_labels > 0)  # Dirichlet smoothing: no hard zeros
        assert agg.n_raters[:10].tolist() == [5] * 10 and agg.n_raters[10:].tolist() == [0, 0]
        assert np.allclose(agg.soft_labels[10], agg.prior)  # unrated: the population prior
        assert np.allclose(agg.entropy_bits, entropy_bits(agg.soft_labels))
        assert agg.track(0).n_raters == 5 and agg.track(0).dominant in GEMS
        assert agg.converged

    def test_more_smoothing_pulls_toward_the_prior(self):
        rater, track, answers, _ = _honest_and_spammer()
        loose = aggregate(rater, track, answers, PICK, kappa=0.1)
        tight = aggregate(rater, track, answers, PICK, kappa=20)
        d_loose = js_divergence(loose.soft_labels, loose.prior).mean()
        d_tight = js_divergence(tight.soft_labels, tight.prior).mean()
        assert d_tight < d_loose

    def test_attention_failures_down_weight_with_reasons(self):
        rater, track, answers, _ = _honest_and_spammer()
        checks = [AttentionCheck(0, True), AttentionCheck(1, False, "gold track 2 answered far from its known label")]
        agg = aggregate(rater, track, answers, PICK, attention=checks, rater_codes=list("ABCDE"))
        a, b = agg.raters[0], agg.raters[1]
        assert (a.attention_checks, a.attention_failures, a.reasons) == (1, 0, ())
        assert (b.attention_checks, b.attention_failures) == (1, 1)
        assert b.reasons == ("gold track 2 answered far from its known label",)
        assert b.weight == pytest.approx(0.5 * b.reliability)
        assert b.weight > 0  # down-weighted, not dropped
        assert agg.rating_weights[rater == 1].max() < agg.rating_weights[rater == 0].min()

    def test_intensity_format_and_uninformative_rows(self):
        rater = np.array([0, 1, 2, 0, 1, 2])
        track = np.array([0, 0, 0, 1, 1, 1])
        ans = np.zeros((6, N_GEMS))
        ans[0:3, gems_index("peacefulness")] = [4, 3, 4]
        ans[0:3, gems_index("tenderness")] = [2, 2, 1]
        ans[3:5, gems_index("power")] = [4, 4]  # rater 2 felt nothing on track 1
        agg = aggregate(rater, track, ans, INTENSITY)
        assert GEMS[np.argmax(agg.soft_labels[0])] == "peacefulness"
        assert GEMS[np.argmax(agg.soft_labels[1])] == "power"
        assert agg.n_raters.tolist() == [3, 2]
        assert agg.rating_weights[5] == 0 and agg.raters[2].n_ratings == 2

    @pytest.mark.parametrize(
        "kwargs,msg",
        [
            ({"n_tracks": 3}, "track index"),
            ({"n_raters": 2}, "rater index"),
            ({"kappa": -1}, "kappa"),
            ({"attention": [AttentionCheck(99, False)]}, "unknown rater"),
            ({"rater_codes": ["A"]}, "code per rater"),
            ({"prior": np.ones(4)}, "prior"),
        ],
    )
    def test_bad_arguments(self, kwargs, msg):
        rater, track, answers, _ = _honest_and_spammer()
        with pytest.raises(ValueError, match=msg):
            aggregate(rater, track, answers, PICK, **kwargs)

    def test_mismatched_lengths(self):
        with pytest.raises(ValueError, match="same length"):
            aggregate([0, 1], [0], np.vstack([picks("wonder")] * 2), PICK)

    def test_no_ratings_at_all(self):
        agg = aggregate(np.zeros(0, dtype=int), np.zeros(0, dtype=int), np.zeros((0, N_GEMS)), PICK, n_tracks=2)
        assert np.allclose(agg.soft_labels, 1 / N_GEMS) and agg.n_raters.tolist() == [0, 0]


class TestAttentionChecks:
    def test_repeat(self):
        assert repeat_check_passed(picks("sadness", "nostalgia"), picks("sadness"), PICK)
        assert not repeat_check_passed(picks("power"), picks("peacefulness"), PICK)

    def test_gold(self):
        gold = np.eye(N_GEMS)[gems_index("sadness")] * 0.6 + np.eye(N_GEMS)[gems_index("nostalgia")] * 0.4
        assert gold_check_passed(picks("nostalgia"), gold, PICK)
        assert not gold_check_passed(picks("joyful_activation"), gold, PICK, top=2)
        assert not gold_check_passed(np.zeros(N_GEMS), gold, INTENSITY)


class TestAgreement:
    def test_perfect_and_random_agreement(self):
        rater, track, answers, _ = _honest_and_spammer()
        honest = rater < 4
        perfect = agreement(rater[honest], track[honest], answers[honest], PICK)
        assert perfect.overall == pytest.approx(1.0)
        assert perfect.level == "nominal" and perfect.n_units == 10
        rng = np.random.default_rng(1)
        noise = np.zeros((400, N_GEMS))
        noise[np.arange(400), rng.integers(0, N_GEMS, 400)] = 1
        rnd = agreement(np.repeat(np.arange(4), 100), np.tile(np.arange(100), 4), noise, PICK)
        assert abs(rnd.overall) < 0.1
        assert set(rnd.per_category) == set(GEMS)

    def test_category_nobody_used_is_nan_not_perfect(self):
        rater, track, answers, _ = _honest_and_spammer()
        agr = agreement(rater, track, answers, PICK)
        unused = [g for g in GEMS if answers[:, gems_index(g)].sum() == 0]
        assert unused and all(np.isnan(agr.per_category[g]) for g in unused)

    def test_single_rater_is_undefined(self):
        agr = agreement([0, 0], [0, 1], np.vstack([picks("wonder"), picks("power")]), PICK)
        assert np.isnan(agr.overall)

    def test_intensity_is_ordinal(self):
        ans = np.array(
            [
                [4, 0, 0, 0, 0, 0, 0, 0, 1],
                [3, 0, 0, 0, 0, 0, 0, 0, 1],
                [0, 4, 0, 0, 0, 0, 0, 0, 0],
                [0, 4, 0, 0, 1, 0, 0, 0, 0],
            ]
        )
        agr = agreement([0, 1, 0, 1], [0, 0, 1, 1], ans, INTENSITY)
        assert agr.level == "ordinal" and agr.overall > 0.7


def test_agreement_scales_with_ratings_not_raters_times_tracks():
    # 5,000 raters x 20,000 tracks would be a 7 GB dense reliability matrix; 40,000 ratings are not.
    rng = np.random.default_rng(3)
    track = np.repeat(np.arange(20_000), 2)
    rater = rng.integers(0, 5_000, size=40_000)
    truth = rng.integers(0, N_GEMS, size=20_000)
    ans = np.zeros((40_000, N_GEMS))
    ans[np.arange(40_000), truth[track]] = 1
    agr = agreement(rater, track, ans, PICK, n_raters=5_000)
    assert agr.overall == pytest.approx(1.0) and agr.n_units == 20_000
