"""The conditional GAN (design 004): a few real training steps on a tiny catalog."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.engine.core import build_playlist
from recommender.engine.gan import GanModel, train_gan
from recommender.engine.index import build_index
from recommender.engine.synthetic import synthetic_catalog
from recommender.engine.types import Constraints, EngineError, PlaylistRequest, State

SAD, HAPPY = State.from_fer("sad"), State.from_fer("happy")
pytestmark = pytest.mark.slow  # importing TensorFlow takes ~8 s on a quiet machine


@pytest.fixture(scope="module")
def tiny():
    cat = synthetic_catalog(400, seed=5)
    return cat, build_index(**cat.as_kwargs())


@pytest.fixture(scope="module")
def gan(tiny):
    cat, _ = tiny
    return train_gan(cat.features, cat.labels, epochs=3, seed=0, feature_names=cat.feature_names, batch_size=64)


def test_trains_and_returns_a_valid_seeded_playlist(tiny, gan):
    _, idx = tiny
    assert gan.meta["epochs"] == 3 and np.isfinite(gan.meta["d_loss"]) and np.isfinite(gan.meta["g_loss"])
    req = PlaylistRequest("gan", SAD, HAPPY, n_tracks=10, seed=3, constraints=Constraints(max_per_artist=2))
    p = build_playlist(req, idx, models={"gan": gan})
    assert len(p.steps) == 10 and len(set(p.track_ids)) == 10
    assert set(p.track_ids) <= set(idx.track_ids.tolist())
    codes = idx.artist_codes[idx.positions_of(p.track_ids)]
    assert np.bincount(codes).max() <= 2
    assert "discriminator score" in p.steps[0].reason
    assert np.allclose(p.steps[0].waypoint_va, SAD.to_va())
    again = build_playlist(req, idx, models={"gan": gan})
    assert again.steps == p.steps


def test_generator_is_conditioned_and_scores_are_probabilities(gan):
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((5, gan.noise_dim))
    a = gan.generate(np.tile(np.eye(9)[8], (5, 1)), noise)
    b = gan.generate(np.tile(np.eye(9)[6], (5, 1)), noise)
    assert a.shape == (5, 10) and not np.allclose(a, b)
    s = gan.score(a, np.tile(np.eye(9)[8], (5, 1)))
    assert np.all((s > 0) & (s < 1))
    assert np.allclose(gan.predict_gems(a).sum(axis=1), 1)


def test_save_and_load_round_trip(tmp_path, tiny, gan):
    _, idx = tiny
    path = tmp_path / "models" / "gan.npz"
    gan.save(path)
    loaded = GanModel.load(path)
    assert loaded.feature_names == gan.feature_names
    req = PlaylistRequest("gan", SAD, HAPPY, n_tracks=6, seed=1)
    assert build_playlist(req, idx, models={"gan": loaded}).steps == build_playlist(req, idx, models={"gan": gan}).steps
    (tmp_path / "junk.npz").write_bytes(b"not a model")
    with pytest.raises(EngineError, match="Could not load"):
        GanModel.load(tmp_path / "junk.npz")


def test_missing_or_mismatched_model(tiny, gan):
    _, idx = tiny
    req = PlaylistRequest("gan", SAD, HAPPY, n_tracks=4)
    with pytest.raises(EngineError, match="needs a trained GAN"):
        build_playlist(req, idx)
    other = GanModel(("a",) * 10, gan.mean, gan.std, gan.generator, gan.discriminator)
    with pytest.raises(EngineError, match="different feature columns"):
        build_playlist(req, idx, models={"gan": other})
    with pytest.raises(EngineError, match="epochs"):
        train_gan(np.zeros((4, 2)), np.full((4, 9), 1 / 9), epochs=0, seed=0)
