"""cluster (design 003) and personal (design 000, second approach) on real arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emotion import vocab
from recommender.engine.clusters import METHODS, cluster_model, cluster_report, fuzzy_cmeans
from recommender.engine.core import build_playlist
from recommender.engine.personal import population_weight
from recommender.engine.types import EngineError, ListenerProfile, PlaylistRequest, State

SAD, HAPPY = State.from_fer("sad"), State.from_fer("happy")
JOY = State.from_gems(vocab.one_hot_gems("joyful_activation"))


class TestClusters:
    def test_three_methods_report_silhouette_and_davies_bouldin(self, index):
        report = cluster_report(index)
        assert set(report) == set(METHODS)
        for r in report.values():
            assert -1 <= r["silhouette"] <= 1 and r["davies_bouldin"] > 0
            assert len(r["clusters"]) == 4 and all(c["name"] for c in r["clusters"])
        assert 0 < report["fcm"]["partition_coefficient"] <= 1

    def test_clusters_are_named_from_centroids(self, index):
        model = cluster_model(index, method="kmeans")
        assert model.features == ("energy", "acousticness", "valence")
        for c in model.clusters:
            words = c.name.split(": ")[1]
            e, a, v = c.centroid
            assert ("high energy" in words) == (e > 0.5) and ("low energy" in words) == (e < -0.5)
            assert ("high valence" in words) == (v > 0.5)
        # numbered by mood: mean label valence rises with the cluster number
        va = np.array([c.va for c in model.clusters])
        assert np.all(np.diff(va[:, 0]) >= 0)

    def test_names_use_at_most_three_features_in_plain_words(self):
        from recommender.engine.clusters import _words

        z = np.array([0.1, -2.0, 0.9, 1.5, -0.7])
        names = ["energy", "desc:rms_mean", "desc:spectral_centroid_mean", "desc:onset_rate", "valence"]
        assert _words(z, names) == "low loudness, high note density, high brightness"
        assert _words(np.zeros(3), ["energy", "valence", "tempo"]) == "middle of the catalog"

    def test_fuzzy_cmeans_finds_separated_blobs(self):
        rng = np.random.default_rng(0)
        x = np.concatenate([rng.normal(-3, 0.3, (100, 2)), rng.normal(3, 0.3, (100, 2))])
        centres, u, fpc = fuzzy_cmeans(x, 2, seed=1)
        assert np.allclose(np.sort(centres[:, 0]), [-3, 3], atol=0.2)
        assert np.allclose(u.sum(axis=1), 1) and fpc > 0.9

    @pytest.mark.parametrize("method", METHODS)
    def test_playlist_moves_from_current_to_target_cluster(self, index, method):
        p = build_playlist(PlaylistRequest("cluster", SAD, HAPPY, n_tracks=20, params={"method": method}), index)
        model = cluster_model(index, method=method)
        labels = model.assignments[index.positions_of(p.track_ids)]
        cur = [c.number for c in model.clusters if c.name == p.diagnostics["current_cluster"]][0]
        tgt = [c.number for c in model.clusters if c.name == p.diagnostics["target_cluster"]][0]
        assert cur != tgt
        assert labels[0] == cur and labels[-1] == tgt
        assert (labels[:7] == cur).mean() > (labels[-7:] == cur).mean()
        assert set(p.diagnostics["scores"]) == set(METHODS)

    def test_sixty_minutes_by_default(self, index):
        p = build_playlist(PlaylistRequest("cluster", SAD, HAPPY), index)
        assert 50 <= p.diagnostics["total_minutes"] <= 70

    def test_taste_steers_the_choice_within_a_cluster(self, index):
        plain = build_playlist(PlaylistRequest("cluster", SAD, HAPPY, n_tracks=10), index)
        liked = tuple(int(x) for x in index.track_ids[np.argsort(index.z[:, 1])[:10]])  # the calmest-sounding tracks
        prof = ListenerProfile(track_ids=np.zeros(0, dtype=np.int64), gems=np.zeros((0, 9)), liked_ids=liked)
        tasted = build_playlist(PlaylistRequest("cluster", SAD, HAPPY, n_tracks=10), index, prof)
        energy = lambda p: index.z[index.positions_of(p.track_ids), 1].mean()  # noqa: E731
        assert energy(tasted) < energy(plain)

    def test_unknown_method_and_feature(self, index):
        with pytest.raises(EngineError, match="cluster method"):
            build_playlist(PlaylistRequest("cluster", SAD, HAPPY, n_tracks=5, params={"method": "dbscan"}), index)
        with pytest.raises(EngineError, match="not in this catalog"):
            build_playlist(PlaylistRequest("cluster", SAD, HAPPY, n_tracks=5, params={"features": ["warmth"]}), index)


def _inverted_listener(index, n, seed=0):
    """A listener who feels the opposite of the population: bright-sounding tracks sadden them."""
    rng = np.random.default_rng(seed)
    pos = rng.choice(len(index), size=n, replace=False)
    flipped = index.va[pos] * np.array([-1.0, 1.0])
    return ListenerProfile(track_ids=index.track_ids[pos], gems=vocab.va_to_gems(np.clip(flipped, -1, 1)))


class TestPersonal:
    def test_population_weight_shrinks_with_more_listener_data(self, index):
        weights = []
        for n in (0, 5, 40, 200):
            prof = _inverted_listener(index, n) if n else None
            p = build_playlist(PlaylistRequest("personal", SAD, JOY, n_tracks=8), index, prof)
            weights.append(p.diagnostics["population_weight"])
            assert math.isclose(p.diagnostics["population_weight"], population_weight(n))
        assert weights[0] == 1.0 and all(a > b for a, b in zip(weights, weights[1:], strict=False))
        assert math.isclose(population_weight(10, 10), 0.5)

    def test_a_listener_with_much_data_gets_their_own_emotions(self, index):
        pop = build_playlist(PlaylistRequest("personal", SAD, JOY, n_tracks=12), index)
        mine = build_playlist(PlaylistRequest("personal", SAD, JOY, n_tracks=12), index, _inverted_listener(index, 400))
        last = lambda p: index.va[index.positions_of(p.track_ids[-4:]), 0].mean()  # noqa: E731
        # toward joy, the inverted listener is given tracks the population hears as darker
        assert last(mine) < last(pop) - 0.3
        assert "w_pop" in mine.steps[-1].reason


def test_persona_card_from_history(index):
    from recommender.engine.clusters import persona

    model = cluster_model(index, method="kmeans")
    one = index.track_ids[model.assignments == 2][:30]
    p = persona(index, one, session_minutes=[20, 40, 35, float("nan")])
    assert p.dominant_cluster == model.clusters[2].name and p.dominant_share == 1.0
    assert p.variety == 0.0 and p.typical_minutes == 35.0 and p.tracks == 30
    mixed = np.concatenate([index.track_ids[model.assignments == c][:10] for c in range(4)])
    assert math.isclose(persona(index, mixed).variety, 1.0)
    assert persona(index, [-1, -2]) is None
