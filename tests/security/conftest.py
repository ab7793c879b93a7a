"""Fixtures for the attack suites: a small labelled catalog and a person with data everywhere."""

from __future__ import annotations

import numpy as np
import pytest

from emotion.vocab import va_to_gems


@pytest.fixture
def catalog(db):
    """24 labelled tracks spread over the valence/arousal plane (no audio files)."""
    from recommender.models import Track
    from recommender.services.labels import track_labels_bulk_set

    rng = np.random.default_rng(0)
    va = rng.uniform(-0.9, 0.9, size=(24, 2))
    tracks = [
        Track.objects.create(
            title=f"Piece {i}", artist=f"Composer {i % 6}", genre="classical", duration_s=120.0,
            external_id=f"sec-{i}", valence=float((v + 1) / 2), energy=float((a + 1) / 2),
            tempo=float(80 + 30 * (a + 1)), mode=int(v > 0),
        )
        for i, (v, a) in enumerate(va)
    ]
    track_labels_bulk_set(track_ids=[t.pk for t in tracks], source="survey", gems=va_to_gems(va))
    return tracks


@pytest.fixture
def world(db, catalog, make_user, researcher):
    """A participant with an open survey and an active listening session: every JSON write
    endpoint has something to write to. Returns the logged-in API client and the ids."""
    from rest_framework.test import APIClient

    from studies.listening.mood import MoodInput
    from studies.listening.services.sessions import session_start
    from studies.surveys.models import Survey
    from studies.surveys.services.status import survey_open

    person = make_user(username="battery-person", research_data=True)
    survey = Survey.objects.create(title="Battery survey", created_by=researcher, min_listen_seconds=0)
    survey.tracks.set(catalog[:6])
    survey = survey_open(survey=survey)
    session = session_start(
        user=person, current=MoodInput.from_dict({"valence": -0.5, "arousal": -0.3}),
        desired=MoodInput.from_dict({"valence": 0.6, "arousal": 0.4}), length_tracks=4, length_minutes=None,
        strategy="iso",
    )
    client = APIClient()
    client.force_login(person)
    return {"client": client, "user": person, "survey": survey, "session": session, "tracks": catalog}
