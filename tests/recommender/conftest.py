"""Fixtures for the recommender (catalog, import, playlist API) tests."""

from __future__ import annotations

import numpy as np
import pytest

from emotion.vocab import one_hot_gems, va_to_gems


@pytest.fixture
def make_track(db):
    from recommender.models import Track

    counter = {"n": 0}

    def make(**fields):
        counter["n"] += 1
        n = counter["n"]
        defaults = {
            "title": f"Track {n}",
            "artist": f"Artist {n % 7}",
            "genre": "classical",
            "duration_s": 120.0,
            "external_id": f"ext-{n}",
        }
        defaults.update(fields)
        return Track.objects.create(**defaults)

    return make


@pytest.fixture
def labelled_catalog(db):
    """60 tracks spread over the valence-arousal plane, features tied to their labels."""
    from recommender.models import Track
    from recommender.services.labels import track_labels_bulk_set

    rng = np.random.default_rng(0)
    va = rng.uniform(-0.9, 0.9, size=(60, 2))
    Track.objects.bulk_create(
        [
            Track(
                title=f"Piece {i}",
                artist=f"Composer {i % 12}",
                genre=("classical", "folk", "jazz")[i % 3],
                duration_s=120.0,
                external_id=f"cat-{i}",
                valence=float((v + 1) / 2),
                energy=float((a + 1) / 2),
                acousticness=float(rng.uniform(0, 1)),
                danceability=float(rng.uniform(0, 1)),
                tempo=float(80 + 60 * (a + 1) / 2),
                loudness=float(-20 + 10 * (a + 1) / 2),
                mode=int(v > 0),
                explicit=(i % 10 == 0),
            )
            for i, (v, a) in enumerate(va)
        ]
    )
    tracks = list(Track.objects.filter(external_id__startswith="cat-").order_by("id"))
    track_labels_bulk_set(track_ids=[t.pk for t in tracks], source="survey", gems=va_to_gems(va))
    return tracks


@pytest.fixture
def gems_of():
    return one_hot_gems


@pytest.fixture(autouse=True)
def _fresh_index_cache(settings, tmp_path):
    """Each test starts without a cached index or GAN; the GAN file lives in tmp_path."""
    from recommender import conf, index_cache

    index_cache.clear()
    old = conf.GAN_MODEL_PATH
    conf.GAN_MODEL_PATH = tmp_path / "models" / "playlist_gan.npz"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    yield
    conf.GAN_MODEL_PATH = old
    index_cache.clear()


@pytest.fixture
def quick_user(db):
    """Users without a password hash (PBKDF2 is slow and these tests log in with force_login)."""
    from accounts.models import User
    from accounts.services import user_set_role

    counter = {"n": 0}

    def make(role: str = "participant"):
        counter["n"] += 1
        user = User.objects.create(username=f"quick-{role}-{counter['n']}")
        return user_set_role(user=user, role=role)

    return make


@pytest.fixture
def api(client, quick_user):
    user = quick_user()
    client.force_login(user)
    client.user = user
    return client
