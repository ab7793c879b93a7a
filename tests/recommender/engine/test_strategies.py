"""Each path strategy's defining property, on a synthetic catalog's real arrays."""

from __future__ import annotations

import numpy as np
import pytest

from emotion import vocab
from recommender.engine.core import build_playlist
from recommender.engine.index import build_index
from recommender.engine.quality import quality
from recommender.engine.strategies import THERAPEUTIC_TARGETS, seed_decision, therapeutic_target
from recommender.engine.types import EngineError, ListenerProfile, PlaylistRequest, State

SAD, HAPPY, ANGRY = State.from_fer("sad"), State.from_fer("happy"), State.from_fer("angry")
CALM = State.from_gems(vocab.one_hot_gems("peacefulness"))


def _req(strategy, start=SAD, target=HAPPY, **kw):
    kw.setdefault("n_tracks", 15)
    return PlaylistRequest(strategy, start, target, **kw)


class TestIso:
    def test_first_waypoint_is_the_current_mood_and_last_the_target(self, index):
        p = build_playlist(_req("iso"), index)
        assert len(p.steps) == 15
        assert np.allclose(p.steps[0].waypoint_va, SAD.to_va(), atol=1e-6)
        assert np.allclose(p.steps[-1].waypoint_va, HAPPY.to_va(), atol=1e-6)

    def test_eased_path_moves_slowly_at_first(self, index):
        lin = build_playlist(_req("iso", params={"easing": "linear"}), index)
        eased = build_playlist(_req("iso", params={"easing": "ease-in"}), index)
        assert np.allclose(eased.steps[0].waypoint_va, lin.steps[0].waypoint_va)
        d_lin = np.linalg.norm(np.subtract(lin.steps[1].waypoint_va, lin.steps[0].waypoint_va))
        d_eased = np.linalg.norm(np.subtract(eased.steps[1].waypoint_va, eased.steps[0].waypoint_va))
        assert d_eased < d_lin / 5

    def test_tracks_follow_their_waypoints(self, index):
        p = build_playlist(_req("iso", start=ANGRY, target=CALM, n_tracks=20), index)
        q = quality(p, index)
        assert q.mean_waypoint_distance < 0.25
        assert len(set(p.track_ids)) == 20

    def test_feature_similarity_changes_the_choice(self, index):
        plain = build_playlist(_req("iso", params={"similarity_weight": 0.0}), index)
        similar = build_playlist(_req("iso", params={"similarity_weight": 5.0}), index)
        assert plain.track_ids != similar.track_ids

        def mean_step(p):
            z = index.z[index.positions_of(p.track_ids)]
            return np.linalg.norm(np.diff(z, axis=0), axis=1).mean()

        assert mean_step(similar) < mean_step(plain)

    def test_needs_a_target(self, index):
        with pytest.raises(EngineError, match="needs a target"):
            build_playlist(_req("iso", target=None), index)


class TestInterpolation:
    def test_imaginary_tracks_lie_on_the_segment_and_no_track_repeats(self, index):
        p = build_playlist(_req("interpolation", n_tracks=18), index)
        pts = np.array(p.diagnostics["imaginary_tracks"])
        a, b = pts[0], pts[-1]
        anchors = p.diagnostics["anchors"]
        pos = index.positions_of([anchors["start"]["track_id"], anchors["target"]["track_id"]])
        assert np.allclose(a, index.z[pos[0]], atol=1e-5) and np.allclose(b, index.z[pos[1]], atol=1e-5)
        t = (pts - a) @ (b - a) / ((b - a) @ (b - a))
        assert np.all((t >= -1e-9) & (t <= 1 + 1e-9)) and np.all(np.diff(t) > 0)
        assert np.allclose(a + t[:, None] * (b - a), pts, atol=1e-5)
        wp = np.array([s.waypoint_va for s in p.steps])
        s_, e_ = SAD.to_va(), HAPPY.to_va()
        cross = (wp[:, 0] - s_[0]) * (e_[1] - s_[1]) - (wp[:, 1] - s_[1]) * (e_[0] - s_[0])
        assert np.allclose(cross, 0, atol=1e-5)
        assert len(set(p.track_ids)) == len(p.track_ids) == 18

    def test_listener_anchor_comes_first(self, index, catalog):
        own = int(catalog.track_ids[42])
        profile = ListenerProfile(track_ids=np.array([own]), gems=vocab.one_hot_gems("sadness")[None, :])
        p = build_playlist(_req("interpolation", start=State.from_gems(vocab.one_hot_gems("sadness"))), index, profile)
        assert p.diagnostics["anchors"]["start"]["track_id"] == own
        assert "own track" in p.diagnostics["anchors"]["start"]["why"]
        assert p.steps[0].track_id == own


class TestMapping:
    @pytest.mark.parametrize("fer", ["sad", "angry", "fear", "happy", "neutral"])
    def test_target_comes_from_the_table(self, index, fer):
        p = build_playlist(_req("mapping", start=State.from_fer(fer), target=None), index)
        emotion = THERAPEUTIC_TARGETS[fer][0]
        assert p.diagnostics["target_emotion"] == emotion
        assert np.allclose(p.steps[-1].waypoint_va, vocab.GEMS_VA[vocab.gems_index(emotion)], atol=1e-6)
        assert "design 002" in " ".join(p.notes)

    def test_sad_is_lifted_and_stress_is_calmed(self):
        assert therapeutic_target(State.from_fer("sad"))[1] == "joyful_activation"
        tense = State.from_gems(vocab.one_hot_gems("tension"))
        read_as, target, _ = therapeutic_target(tense)
        assert read_as == "angry" and target == "peacefulness"

    def test_given_target_wins(self, index):
        p = build_playlist(_req("mapping", target=CALM), index)
        assert p.diagnostics["target_source"] == "given"
        assert np.allclose(p.steps[-1].waypoint_va, CALM.to_va(), atol=1e-6)


class TestSeedTrack:
    def test_decisions_on_constructed_cases(self):
        sad = vocab.FER_VA[vocab.fer_index("sad")]
        joyful = vocab.GEMS_VA[vocab.gems_index("joyful_activation")]
        happy = vocab.FER_VA[vocab.fer_index("happy")]
        assert seed_decision(sad, joyful)[0] == "enhance"  # bright favourite, sad face (design 001)
        assert seed_decision(happy, joyful)[0] == "modulate"  # same kind of emotion
        mode, target, why = seed_decision(happy, sad)  # dark favourite, happy face
        assert mode == "modulate" and np.linalg.norm(target - happy) < 0.3 and "rather than" in why

    def test_playlist_explains_the_decision(self, index):
        bright = int(np.argmax(index.va[:, 0] + index.va[:, 1]))
        p = build_playlist(_req("seed_track", target=None, seed_track_id=int(index.track_ids[bright])), index)
        assert p.diagnostics["mode"] == "enhance"
        assert "enhance" in p.steps[3].reason and any("enhance" in n for n in p.notes)
        assert int(index.track_ids[bright]) not in p.track_ids
        assert np.allclose(p.steps[-1].waypoint_va, index.va[bright], atol=1e-6)

    def test_unknown_or_missing_seed(self, index):
        with pytest.raises(EngineError, match="seed_track_id"):
            build_playlist(_req("seed_track", target=None), index)
        with pytest.raises(EngineError, match="not in the catalog"):
            build_playlist(_req("seed_track", target=None, seed_track_id=-5), index)


class TestRandom:
    def test_seeded_and_constrained(self, index):
        a = build_playlist(_req("random", seed=1), index)
        b = build_playlist(_req("random", seed=2), index)
        assert a.track_ids != b.track_ids
        assert len(set(a.track_ids)) == 15

    def test_works_without_a_target(self, index):
        assert len(build_playlist(_req("random", target=None), index).steps) == 15


@pytest.mark.parametrize("strategy", ["iso", "interpolation"])
def test_path_strategies_are_far_smoother_than_random(index, strategy):
    pairs = [(SAD, HAPPY), (ANGRY, CALM), (CALM, State.from_fer("angry"))]
    smooth, floor = [], []
    for seed, (a, b) in enumerate(pairs):
        smooth.append(quality(build_playlist(_req(strategy, a, b, n_tracks=20, seed=seed), index), index).smoothness)
        floor.append(quality(build_playlist(_req("random", a, b, n_tracks=20, seed=seed), index), index).smoothness)
    assert np.mean(smooth) > 0.6
    assert np.mean(smooth) > np.mean(floor) + 0.5


def test_iso_prefers_confident_labels(catalog):

    base = build_index(**catalog.as_kwargs())
    req = _req("iso", params={"similarity_weight": 0.0})
    plain = build_playlist(req, base)
    conf = np.ones(len(base))
    conf[base.positions_of(plain.track_ids)] = 0.0  # the labels of every track it chose are guesses
    unsure = build_index(**catalog.as_kwargs(), label_confidence=conf)
    again = build_playlist(req, unsure)
    assert not set(again.track_ids) & set(plain.track_ids)
    assert quality(again, unsure).mean_waypoint_distance < 0.35
    with pytest.raises(EngineError, match="label_confidence"):
        build_index(**catalog.as_kwargs(), label_confidence=conf * 3)
