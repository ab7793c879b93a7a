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
def labelled_catalog(make_track):
    """60 tracks spread over the valence-arousal plane, features tied to their labels."""
    from recommender.services import track_labels_bulk_set

    rng = np.random.default_rng(0)
    tracks = []
    va = rng.uniform(-0.9, 0.9, size=(60, 2))
    for i, (v, a) in enumerate(va):
        tracks.append(
            make_track(
                title=f"Piece {i}",
                artist=f"Composer {i % 12}",
                genre=("classical", "folk", "jazz")[i % 3],
                valence=float((v + 1) / 2),
                energy=float((a + 1) / 2),
                acousticness=float(rng.uniform(0, 1)),
                danceability=float(rng.uniform(0, 1)),
                tempo=float(80 + 60 * (a + 1) / 2),
                loudness=float(-20 + 10 * (a + 1) / 2),
                mode=int(v > 0),
                explicit=(i % 10 == 0),
            )
        )
    track_labels_bulk_set(track_ids=[t.pk for t in tracks], source="survey", gems=va_to_gems(va))
    return tracks


@pytest.fixture
def gems_of():
    return one_hot_gems
