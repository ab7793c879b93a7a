"""Constraints, determinism, lengths and bad requests, across strategies."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from emotion import vocab
from recommender.engine.core import build_playlist
from recommender.engine.index import build_index
from recommender.engine.types import STRATEGIES, Constraints, EngineError, ListenerProfile, PlaylistRequest, State

SAD, HAPPY = State.from_fer("sad"), State.from_fer("happy")
FAST = [s for s in STRATEGIES if s != "gan"]


def _req(strategy, index, **kw):
    kw.setdefault("n_tracks", 12)
    target = kw.pop("target", None if strategy == "mapping" else HAPPY)
    if strategy == "seed_track":
        kw.setdefault("seed_track_id", int(index.track_ids[min(7, len(index) - 1)]))
    return PlaylistRequest(strategy, kw.pop("start", SAD), target, **kw)


def _profile(index):
    ids = index.track_ids[:40]
    return ListenerProfile(track_ids=ids, gems=index.labels[:40], liked_ids=tuple(int(x) for x in ids[:5]))


@pytest.mark.parametrize("strategy", FAST)
def test_same_seed_same_playlist(index, strategy):
    prof = _profile(index)
    a = build_playlist(_req(strategy, index, seed=5), index, prof)
    b = build_playlist(_req(strategy, index, seed=5), index, prof)
    assert a.steps == b.steps and a.notes == b.notes
    assert len(a.steps) == 12 and len(set(a.track_ids)) == 12
    json.dumps(a.diagnostics, allow_nan=False)  # storable as JSON by the catalog side
    json.dumps([dataclasses.asdict(s) for s in a.steps], allow_nan=False)


@pytest.mark.parametrize("strategy", FAST)
def test_constraints_are_honoured(index, strategy):
    genres = index.genre_names[index.genre_codes]
    disliked = ("pop", "rock")
    first = build_playlist(_req(strategy, index), index, _profile(index))
    exclude = frozenset(first.track_ids[:6])
    c = Constraints(
        exclude_ids=exclude, max_per_artist=1, allow_explicit=False, disliked_genres=disliked, max_minutes=30
    )
    p = build_playlist(_req(strategy, index, constraints=c, n_tracks=10), index, _profile(index))
    pos = index.positions_of(p.track_ids)
    assert p.steps, p.notes
    assert not exclude & set(p.track_ids)
    assert np.unique(index.artist_codes[pos]).size == pos.size
    assert not index.explicit[pos].any()
    assert not np.isin(genres[pos], disliked).any()
    assert index.durations_s[pos].sum() <= 30 * 60


def test_max_minutes_shortens_with_a_note(index):
    p = build_playlist(_req("iso", index, n_tracks=30, constraints=Constraints(max_minutes=20)), index)
    total = index.durations_s[index.positions_of(p.track_ids)].sum()
    assert total <= 20 * 60 and len(p.steps) < 30
    assert any("20 minutes" in n for n in p.notes)


def test_minutes_sets_the_length(index):
    p = build_playlist(_req("iso", index, n_tracks=None, minutes=45), index)
    assert 8 <= len(p.steps) <= 20
    assert 30 <= p.diagnostics["total_minutes"] <= 60


def test_preferred_genres_are_favoured(index):
    genres = index.genre_names[index.genre_codes]
    plain = build_playlist(_req("iso", index, n_tracks=20), index)
    pref = build_playlist(
        _req("iso", index, n_tracks=20, constraints=Constraints(preferred_genres=("jazz", "folk"))), index
    )
    count = lambda p: np.isin(genres[index.positions_of(p.track_ids)], ["jazz", "folk"]).sum()  # noqa: E731
    assert count(pref) > count(plain)


def test_disliked_tracks_of_the_listener_are_left_out(index):
    first = build_playlist(_req("iso", index), index)
    prof = ListenerProfile(
        track_ids=np.zeros(0, dtype=np.int64), gems=np.zeros((0, 9)), disliked_ids=tuple(first.track_ids[:3])
    )
    p = build_playlist(_req("iso", index), index, prof)
    assert not set(first.track_ids[:3]) & set(p.track_ids)


def _tiny(n=6):
    rng = np.random.default_rng(3)
    return build_index(
        track_ids=np.arange(1, n + 1),
        features=rng.random((n, 3)),
        feature_names=("valence", "energy", "acousticness"),
        labels=rng.dirichlet(np.ones(9), n),
        artists=np.arange(n),
        genres=np.array(["pop"] * n),
        explicit=np.zeros(n, bool),
        durations_s=np.full(n, 180.0),
    )


@pytest.mark.parametrize("strategy", FAST)
def test_longer_than_the_catalog_returns_what_exists(strategy):
    idx = _tiny()
    p = build_playlist(_req(strategy, idx, n_tracks=50), idx)
    assert 1 <= len(p.steps) <= 6 and len(set(p.track_ids)) == len(p.steps)
    assert any("only" in n.lower() for n in p.notes)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"strategy": "shuffle"}, "Unknown strategy"),
        ({"target": SAD}, "same"),
        ({"n_tracks": 0}, "n_tracks"),
        ({"n_tracks": 10**6}, "n_tracks"),
        ({"n_tracks": 5, "minutes": 10}, "not both"),
        ({"n_tracks": None, "minutes": float("nan")}, "minutes"),
        ({"seed": "x"}, "seed"),
        ({"params": {"easing": "bounce"}}, "easing"),
        ({"params": {"similarity_weight": "lots"}}, "similarity_weight"),
        ({"constraints": Constraints(exclude_ids=frozenset(range(10, 40000, 10)))}, "Every track is excluded"),
        ({"constraints": Constraints(max_per_artist=-1)}, "max_per_artist"),
        ({"constraints": Constraints(disliked_genres="pop")}, "genre names"),
        ({"constraints": Constraints(exclude_ids=frozenset({"abc"}))}, "track ids"),
        ({"start": State(float("nan"), 0.0, tuple([1 / 9] * 9))}, "start state"),
        ({"target": State(0.2, 3.0, tuple([1 / 9] * 9))}, "target state"),
    ],
)
def test_bad_requests_raise_clear_engine_errors(index, change, message):
    kw = {"strategy": "iso", "start": SAD, "target": HAPPY, "n_tracks": 10}
    kw.update(change)
    strategy = kw.pop("strategy")
    start, target = kw.pop("start"), kw.pop("target")
    with pytest.raises(EngineError, match=message):
        build_playlist(PlaylistRequest(strategy, start, target, **kw), index)


def test_profile_shape_is_checked(index):
    bad = ListenerProfile(track_ids=np.array([10, 20]), gems=np.ones((3, 9)))
    with pytest.raises(EngineError, match="one 9-value GEMS answer per track"):
        build_playlist(_req("iso", index), index, bad)


def test_steps_explain_themselves(index):
    p = build_playlist(_req("iso", index), index)
    assert all(s.reason and s.position == i for i, s in enumerate(p.steps))
    assert all(s.waypoint_gems is not None and np.isclose(sum(s.waypoint_gems), 1, atol=1e-4) for s in p.steps)
    assert p.steps[0].waypoint_gems[vocab.gems_index("sadness")] > 0.3


def test_a_single_eligible_track_is_returned_with_a_note():
    idx = _tiny()
    keep_one = Constraints(exclude_ids=frozenset(range(2, 7)))
    for strategy in ("iso", "interpolation", "random", "mapping", "cluster", "personal"):
        p = build_playlist(_req(strategy, idx, n_tracks=5, constraints=keep_one), idx)
        assert p.track_ids == [1], strategy
        assert any("only 1" in n.lower() for n in p.notes)
