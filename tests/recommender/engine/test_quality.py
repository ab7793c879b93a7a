from __future__ import annotations

import math

import numpy as np
import pytest

from recommender.engine.quality import path_quality, quality, smoothness
from recommender.engine.types import Playlist, Step

N = 20
START, TARGET = np.array([-0.6, -0.4]), np.array([0.7, 0.5])
PATH = START + np.linspace(0.0, 1.0, N)[:, None] * (TARGET - START)


def test_smoothness_is_one_for_a_perfect_follow_and_negative_when_reversed():
    path = np.column_stack([np.linspace(-0.8, 0.8, 10), np.linspace(-0.4, 0.2, 10)])
    assert math.isclose(smoothness(path, path), 1.0)
    assert smoothness(path[::-1], path) < -0.99
    assert math.isnan(smoothness(path, np.zeros((10, 2))))


def test_a_faithful_playlist_scores_well():
    rng = np.random.default_rng(0)
    q = path_quality(PATH + rng.normal(0, 0.03, PATH.shape), PATH)
    assert q.smoothness > 0.9 and 0.9 < q.coverage < 1.1
    assert q.endpoint_distance < 0.15 and q.mean_waypoint_distance < 0.1 and q.step_cv < 0.6


class TestDegeneratePlaylistsScoreBadly:
    """Each cheat the old measures rewarded (Pearson smoothness, raw variance of steps)."""

    def test_one_jump_from_start_to_target(self):
        jump = np.where(np.arange(N)[:, None] < N // 2, START, TARGET)
        q = path_quality(jump, PATH)
        assert q.coverage == pytest.approx(1.0)  # it does get there ...
        assert q.step_cv > 3.0  # ... in one step among standing ones
        assert q.smoothness < 0.25  # about 0 in the continuum; a faithful playlist scores > 0.9
        assert q.mean_waypoint_distance > 0.3

    def test_standing_still(self):
        q = path_quality(np.tile(START, (N, 1)), PATH)
        assert q.coverage == 0.0 and math.isnan(q.step_cv)  # not "perfectly even"
        assert q.smoothness < -2.0
        assert q.endpoint_distance == pytest.approx(np.linalg.norm(TARGET - START))

    def test_two_percent_of_the_way(self):
        short = START + np.linspace(0.0, 0.02, N)[:, None] * (TARGET - START)
        q = path_quality(short, PATH)
        assert q.coverage == pytest.approx(0.02)
        assert q.smoothness < -2.0  # Pearson said 1.000 here
        assert q.endpoint_distance > 1.5

    def test_a_path_shifted_away_from_the_target(self):
        away = np.array([-(TARGET - START)[1], (TARGET - START)[0]])
        away /= np.linalg.norm(away)
        q = path_quality(PATH + 0.5 * away, PATH)
        faithful = path_quality(PATH, PATH)
        assert q.coverage == pytest.approx(1.0)
        assert q.smoothness < 0.0 < faithful.smoothness  # Pearson scored it 1.000
        assert q.endpoint_distance == pytest.approx(0.5) and q.mean_waypoint_distance == pytest.approx(0.5)

    def test_deviation_in_a_dimension_the_path_does_not_move_in_counts(self):
        flat = np.column_stack([np.linspace(-0.8, 0.8, N), np.zeros(N)])
        wobble = flat.copy()
        wobble[:, 1] = 0.5 * (-1) ** np.arange(N)
        assert smoothness(wobble, flat) < 0.0 < smoothness(flat, flat)


def test_quality_measures_on_an_index(index):
    pos = np.argsort(index.va[:, 0])[np.linspace(0, len(index) - 1, 8).astype(int)]
    steps = [
        Step(i, (float(index.va[p, 0]), float(index.va[p, 1])), None, int(index.track_ids[p]), 0.0, "")
        for i, p in enumerate(pos)
    ]
    q = quality(Playlist("iso", steps, [], {}), index)
    assert math.isclose(q.smoothness, 1.0) and math.isclose(q.mean_waypoint_distance, 0.0, abs_tol=1e-9)
    assert math.isclose(q.coverage, 1.0) and math.isclose(q.endpoint_distance, 0.0, abs_tol=1e-9)
    sizes = np.linalg.norm(np.diff(index.va[pos], axis=0), axis=1)
    assert math.isclose(q.step_cv, float(np.std(sizes) / np.mean(sizes)))
    assert math.isclose(q.artist_diversity, np.unique(index.artist_codes[pos]).size / 8)
    assert q.space.startswith("searched")


def test_quality_in_held_out_labels_uses_them(index):
    pos = np.argsort(index.va[:, 0])[np.linspace(0, len(index) - 1, 8).astype(int)]
    steps = [
        Step(i, (float(index.va[p, 0]), float(index.va[p, 1])), None, int(index.track_ids[p]), 0.0, "")
        for i, p in enumerate(pos)
    ]
    shifted = index.va + np.array([0.0, 0.4])
    q = quality(Playlist("iso", steps, [], {}), index, judge_va=shifted, space="held-out survey labels")
    assert q.space == "held-out survey labels"
    assert q.mean_waypoint_distance == pytest.approx(0.4) and q.smoothness < 1.0
    with pytest.raises(ValueError, match="judge_va"):
        quality(Playlist("iso", steps, [], {}), index, judge_va=shifted[:5])
