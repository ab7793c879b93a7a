"""Demo data for `manage.py load_demo`: one finished listening session for demo-participant,
made through the same services a person's browser uses, so the history page has a picture."""

from __future__ import annotations

import uuid

from django.utils import timezone

from emotion.vocab import one_hot_gems
from studies.listening import services
from studies.listening.models import ListeningSession, PlannedTrack
from studies.listening.mood import MoodInput

DEMO_USER = "demo-participant"


def demo_step(stdout=None) -> str:
    from accounts.models import User
    from recommender.models import Track

    user = User.objects.filter(username=DEMO_USER).first()
    if user is None:
        return f"listening: no {DEMO_USER} account, nothing to do"
    if ListeningSession.objects.filter(user=user).exists():
        return f"listening: {DEMO_USER} already has sessions"
    if not Track.objects.exists():
        return "listening: the catalog is empty, no demo session"
    session = services.session_start(
        user=user,
        current=MoodInput(gems=tuple(one_hot_gems("tension"))),
        desired=MoodInput(gems=tuple(one_hot_gems("peacefulness"))),
        length_tracks=4,
        length_minutes=None,
        strategy="iso",
    )
    queue = list(PlannedTrack.objects.filter(session=session).order_by("position").values_list("position", "track_id"))
    for position, track_id in queue:
        for kind in ("started", "skipped" if position == 1 else "completed"):
            services.event_record(
                user=user, session_id=session.pk, event_id=uuid.uuid4(), kind=kind, track_id=track_id,
                position=position, seconds_played=None, occurred_at=timezone.now(), payload={},
            )
    services.session_complete(
        user=user,
        session_id=session.pk,
        post=MoodInput(valence=0.3, arousal=-0.3),
        reflection_rating=4,
        reflection_text="Calmer by the end (demo data).",
    )
    return f"listening: a finished demo session of {len(queue)} tracks for {DEMO_USER}"
