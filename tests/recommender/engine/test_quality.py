from __future__ import annotations

import math

import numpy as np

from recommender.engine import Playlist, Step, quality
from recommender.engine.quality import smoothness


def test_smoothness_is_one_for_a_perfect_follow_and_negative_when_reversed():
    path = np.column_stack([np.linspace(-0.8, 0.8, 10), np.linspace(-0.4, 0.2, 10)])
    assert math.isclose(smoothness(path, path), 1.0)
    assert smoothness(path[::-1], path) < -0.99
    assert math.isnan(smoothness(path, np.zeros((10, 2))))


def test_quality_measures_on_an_index(index):
    pos = np.argsort(index.va[:, 0])[np.linspace(0, len(index) - 1, 8).astype(int)]
    steps = [
        Step(i, (float(index.va[p, 0]), float(index.va[p, 1])), None, int(index.track_ids[p]), 0.0, "")
        for i, p in enumerate(pos)
    ]
    q = quality(Playlist("iso", steps, [], {}), index)
    assert math.isclose(q.smoothness, 1.0) and math.isclose(q.mean_waypoint_distance, 0.0, abs_tol=1e-9)
    sizes = np.linalg.norm(np.diff(index.va[pos], axis=0), axis=1)
    assert math.isclose(q.evenness, float(np.var(sizes)))
    assert math.isclose(q.artist_diversity, np.unique(index.artist_codes[pos]).size / 8)
