from __future__ import annotations

import numpy as np
import pytest

from emotion import vocab
from recommender.engine.core import build_playlist
from recommender.engine.index import build_index
from recommender.engine.types import Constraints, EngineError, ListenerProfile, PlaylistRequest, State


class TestState:
    def test_from_gems_uses_the_vocab_table(self):
        dist = np.array([0, 0, 0, 0, 1.0, 0, 0, 0, 0])
        s = State.from_gems(dist * 3)
        assert np.allclose(s.to_va(), vocab.GEMS_VA[vocab.gems_index("peacefulness")])
        assert np.allclose(s.to_gems(), dist)
        assert s.label == "peacefulness"

    def test_from_fer_and_from_va(self):
        s = State.from_fer("sad")
        assert np.allclose(s.to_va(), vocab.FER_VA[vocab.fer_index("sad")])
        assert s.to_gems().argmax() == vocab.gems_index("sadness")
        v = State.from_va(0.3, -0.2)
        assert np.isclose(v.to_gems().sum(), 1.0)

    @pytest.mark.parametrize(
        "make, message",
        [
            (lambda: State.from_va(float("nan"), 0.0), "finite"),
            (lambda: State.from_va(1.5, 0.0), r"\[-1, 1\]"),
            (lambda: State.from_fer("bored"), "Unknown expression"),
            (lambda: State.from_gems([1, 2, 3]), "9 values"),
            (lambda: State.from_gems([0] * 9), "all zeros"),
            (lambda: State.from_gems([-1] + [1] * 8), "non-negative"),
        ],
    )
    def test_bad_states_raise_engine_error(self, make, message):
        with pytest.raises(EngineError, match=message):
            make()

    def test_engine_error_is_a_value_error(self):
        assert issubclass(EngineError, ValueError)


class TestCatalogIndex:
    def test_standardizes_and_imputes_missing_values(self, catalog, index):
        j = index.feature_column("liveness")
        raw = catalog.features[:, j]
        missing = np.isnan(raw)
        assert missing.any()
        assert np.all(index.z[missing, j] == 0.0)
        z = index.z[~missing, j]
        assert abs(z.mean()) < 1e-4 and abs(z.std() - 1.0) < 1e-3
        assert np.all(np.isfinite(index.z))

    def test_label_va_from_vocab(self, catalog, index):
        assert np.allclose(index.va, catalog.labels @ vocab.GEMS_VA)

    def test_tree_is_built_once_and_cached(self, index):
        t1 = index.spaces["va"].tree()
        build_playlist(PlaylistRequest("iso", State.from_fer("sad"), State.from_fer("happy"), n_tracks=5), index)
        assert index.spaces["va"].tree() is t1

    @pytest.mark.parametrize("strategy", ["iso", "interpolation", "mapping", "seed_track", "cluster", "personal"])
    def test_kdtree_and_brute_force_agree(self, index, brute_index, strategy):
        target = None if strategy in ("mapping", "seed_track") else State.from_fer("happy")
        req = PlaylistRequest(
            strategy, State.from_fer("angry"), target, n_tracks=12, seed=4, seed_track_id=int(index.track_ids[9])
        )
        prof = ListenerProfile(
            track_ids=index.track_ids[:30], gems=index.labels[::-1][:30], liked_ids=(int(index.track_ids[3]),)
        )
        assert build_playlist(req, index, prof).track_ids == build_playlist(req, brute_index, prof).track_ids

    def test_positions_of(self, catalog, index):
        ids = catalog.track_ids[[5, 0, 17]]
        assert np.array_equal(index.track_ids[index.positions_of(ids)], ids)
        with pytest.raises(EngineError, match="not in the catalog"):
            index.positions_of([-1], strict=True)

    @pytest.mark.parametrize(
        "change, message",
        [
            ({"track_ids": np.zeros(4, dtype=np.int64)}, "unique"),
            ({"labels": np.zeros((4, 9))}, "not all zeros"),
            ({"features": np.full((4, 2), np.inf)}, "infinity"),
            ({"durations_s": np.array([1.0, 2.0, -3.0, 4.0])}, "durations"),
            ({"feature_names": ("a",)}, "feature names"),
            ({"search": "annoy"}, "search mode"),
        ],
    )
    def test_build_rejects_bad_arrays(self, change, message):
        kwargs = dict(
            track_ids=np.arange(4),
            features=np.random.default_rng(0).random((4, 2)),
            feature_names=("a", "b"),
            labels=np.full((4, 9), 1 / 9),
            artists=np.array(["x", "y", "z", "w"]),
            genres=np.array(["pop"] * 4),
            explicit=np.zeros(4, dtype=bool),
            durations_s=np.full(4, 200.0),
        )
        kwargs.update(change)
        with pytest.raises(EngineError, match=message):
            build_index(**kwargs)

    def test_all_missing_column_is_reported_and_neutral(self):
        feats = np.random.default_rng(1).random((6, 2))
        feats[:, 1] = np.nan
        idx = build_index(
            track_ids=np.arange(6),
            features=feats,
            feature_names=("a", "b"),
            labels=np.full((6, 9), 1 / 9),
            artists=np.arange(6),
            genres=np.array(["g"] * 6),
            explicit=np.zeros(6, bool),
            durations_s=np.full(6, 100.0),
        )
        assert np.all(idx.z[:, 1] == 0) and any("b" in n for n in idx.notes)


def test_constraints_validation():
    with pytest.raises(EngineError, match="max_per_artist"):
        Constraints(max_per_artist=0).validate()
    with pytest.raises(EngineError, match="max_minutes"):
        Constraints(max_minutes=float("nan")).validate()
