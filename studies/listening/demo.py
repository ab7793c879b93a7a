"""Demo data for `manage.py load_demo`, made through the same services a person's browser uses:
one finished listening session for demo-participant, so the history page has a picture
(therapy.demo adds a client of demo-therapist with the same helper)."""

from __future__ import annotations

import uuid

from django.utils import timezone

from accounts.models import User
from emotion.vocab import one_hot_gems
from recommender.models import Track
from studies.listening.models import ListeningSession, PlannedTrack
from studies.listening.mood import MoodInput
from studies.listening.services.events import event_record
from studies.listening.services.sessions import session_complete, session_start

DEMO_USER = "demo-participant"


def play_and_finish(*, user, session, post: MoodInput, rating: int, text: str, skip: int | None = None) -> int:
    queue = list(PlannedTrack.objects.filter(session=session).order_by("position").values_list("position", "track_id"))
    for position, track_id in queue:
        for kind in ("started", "skipped" if position == skip else "completed"):
            event_record(
                user=user, session_id=session.pk, event_id=uuid.uuid4(), kind=kind, track_id=track_id,
                position=position, seconds_played=None, occurred_at=timezone.now(), payload={},
            )
    session_complete(user=user, session_id=session.pk, post=post, reflection_rating=rating, reflection_text=text)
    return len(queue)


def demo_step(stdout=None) -> str:

    user = User.objects.filter(username=DEMO_USER).first()
    if user is None:
        return f"listening: no {DEMO_USER} account, nothing to do"
    if ListeningSession.objects.filter(user=user).exists():
        return f"listening: {DEMO_USER} already has sessions"
    if not Track.objects.exists():
        return "listening: the catalog is empty, no demo session"
    session = session_start(
        user=user,
        current=MoodInput(gems=tuple(one_hot_gems("tension"))),
        desired=MoodInput(gems=tuple(one_hot_gems("peacefulness"))),
        length_tracks=4,
        length_minutes=None,
        strategy="iso",
    )
    n = play_and_finish(user=user, session=session, post=MoodInput(valence=0.3, arousal=-0.3), rating=4,
                         text="Calmer by the end (demo data).", skip=1)
    return f"listening: a finished demo session of {n} tracks for {DEMO_USER}"
