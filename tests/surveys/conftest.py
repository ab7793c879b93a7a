"""Fixtures for the survey tests: a small catalog with features and an open survey."""

from __future__ import annotations

import uuid

import numpy as np
import pytest


@pytest.fixture
def tracks(db):
    from recommender.models import Track

    rng = np.random.default_rng(7)
    out = []
    for i in range(12):
        valence, energy = rng.uniform(0.05, 0.95, size=2)
        out.append(
            Track.objects.create(
                title=f"Song {i}", artist="Tester", genre="ambient" if i % 2 else "folk",
                preview_url=f"https://example.org/{i}.mp3", valence=float(valence), energy=float(energy),
                danceability=float(rng.uniform(0, 1)), acousticness=float(rng.uniform(0, 1)),
                tempo=float(rng.uniform(60, 180)), loudness=float(rng.uniform(-30, -3)),
            )
        )
    return out


@pytest.fixture
def make_survey(db, tracks, researcher):
    from studies.surveys.models import Survey
    from studies.surveys.services.status import survey_open

    def make(n_tracks: int = 6, open_it: bool = True, **fields):
        survey = Survey.objects.create(
            title=fields.pop("title", "Test survey"), created_by=researcher,
            min_listen_seconds=fields.pop("min_listen_seconds", 5), **fields,
        )
        survey.tracks.set(tracks[:n_tracks])
        if open_it:
            survey = survey_open(survey=survey)
        return survey

    return make


@pytest.fixture
def survey(make_survey):
    return make_survey()


@pytest.fixture
def rater(make_user):
    return make_user("participant", research_data=True)


@pytest.fixture
def submit():
    from studies.surveys.services.responses import rating_submit

    def do(user, survey, track, picks=("sadness",), **kw):
        kw.setdefault("liking", 3)
        kw.setdefault("familiarity", 2)
        kw.setdefault("listened_seconds", 12.0)
        kw.setdefault("client_id", uuid.uuid4())
        if survey.response_format == "intensity":
            kw.setdefault("intensities", [0, 0, 1, 2, 0, 0, 0, 0, 4])
            picks = None
        return rating_submit(
            user=user, survey_id=survey.pk, track_id=track.pk if hasattr(track, "pk") else track,
            picks=list(picks) if picks is not None else None, **kw,
        )

    return do


@pytest.fixture
def open_aggregate_gate(settings, monkeypatch):
    """For tests about something other than the publish gate (pooling, consent, transactions):
    aggregation publishes from a single rater and track."""
    settings.ATTUNE_SURVEYS_AGGREGATE_MIN_RATERS = 1
    settings.ATTUNE_SURVEYS_AGGREGATE_MIN_TRACKS = 1


@pytest.fixture
def open_propagation_gate(settings, monkeypatch):
    """Propagation publishes without having to beat a baseline (for the write/roll-back plumbing)."""
    settings.ATTUNE_SURVEYS_PROPAGATION_GATE_BASELINES = ()
    settings.ATTUNE_SURVEYS_PROPAGATION_MIN_LABELLED = 2
