"""Fixtures for the listening-session tests: a small labelled catalog with audio-less tracks
and a factory for sessions built directly (for read-model tests)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from emotion.vocab import va_to_gems


@pytest.fixture
def catalog(db):
    """48 tracks spread over the valence/arousal plane with survey labels and features."""
    from recommender.models import Track
    from recommender.services.labels import track_labels_bulk_set

    rng = np.random.default_rng(0)
    va = rng.uniform(-0.9, 0.9, size=(48, 2))
    tracks = [
        Track.objects.create(
            title=f"Piece {i}",
            artist=f"Composer {i % 12}",
            genre="classical",
            duration_s=120.0,
            external_id=f"test-{i}",
            valence=float((v + 1) / 2),
            energy=float((a + 1) / 2),
            tempo=float(80 + 30 * (a + 1)),
            mode=int(v > 0),
            preview_url=f"https://example.org/{i}.mp3",
        )
        for i, (v, a) in enumerate(va)
    ]
    track_labels_bulk_set(track_ids=[t.pk for t in tracks], source="survey", gems=va_to_gems(va))
    return tracks


@pytest.fixture
def make_session(db):
    """A session row with the given moods and events, without going through the playlist engine."""
    from studies.listening.models import ListeningSession, PlaybackEvent

    def make(user, *, pre=(-0.5, -0.4), target=(0.5, 0.5), post=None, status="active", events=(), **fields):
        now = timezone.now()
        session = ListeningSession.objects.create(
            user=user,
            status=status,
            started_at=now - timedelta(minutes=30),
            completed_at=now if status == "completed" else None,
            pre_valence=pre[0],
            pre_arousal=pre[1],
            target_valence=target[0],
            target_arousal=target[1],
            target_source="stated",
            post_valence=post[0] if post else None,
            post_arousal=post[1] if post else None,
            strategy=fields.pop("strategy", "iso"),
            **fields,
        )
        for kind, position in events:
            PlaybackEvent.objects.create(
                session=session,
                event_id=uuid.uuid4(),
                kind=kind,
                position=position,
                occurred_at=now - timedelta(minutes=10),
            )
        return session

    return make

@pytest.fixture
def client_for():
    def make(user):
        c = APIClient()
        c.force_authenticate(user)
        return c

    return make
