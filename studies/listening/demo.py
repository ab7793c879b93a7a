"""Demo data for `manage.py load_demo`, made through the same services a person's browser uses:
one finished listening session for demo-participant, so the history page has a picture, and a
demo client of demo-therapist with shared sessions and a done assignment, so the therapist's
tour starts with something to see."""

from __future__ import annotations

import uuid

from django.utils import timezone

from emotion.vocab import one_hot_gems
from studies.listening import services
from studies.listening.models import ListeningSession, PlannedTrack
from studies.listening.mood import MoodInput

DEMO_USER = "demo-participant"


def _play_and_finish(*, user, session, post: MoodInput, rating: int, text: str, skip: int | None = None) -> int:
    queue = list(PlannedTrack.objects.filter(session=session).order_by("position").values_list("position", "track_id"))
    for position, track_id in queue:
        for kind in ("started", "skipped" if position == skip else "completed"):
            services.event_record(
                user=user, session_id=session.pk, event_id=uuid.uuid4(), kind=kind, track_id=track_id,
                position=position, seconds_played=None, occurred_at=timezone.now(), payload={},
            )
    services.session_complete(user=user, session_id=session.pk, post=post, reflection_rating=rating, reflection_text=text)
    return len(queue)


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
    n = _play_and_finish(user=user, session=session, post=MoodInput(valence=0.3, arousal=-0.3), rating=4,
                         text="Calmer by the end (demo data).", skip=1)
    return f"listening: a finished demo session of {n} tracks for {DEMO_USER}"


DEMO_THERAPIST = "demo-therapist"
DEMO_CLIENT = "demo-client"


def therapy_demo_step(stdout=None, *, client_name: str = DEMO_CLIENT) -> str:
    """demo-client: linked to demo-therapist with an invite code, sharing switched on, one
    personal session, one assignment done (a therapy session on the assigned playlist) and one
    daily assignment still open. Idempotent: does nothing once demo-client has sessions."""
    from datetime import timedelta

    from django.conf import settings

    from accounts import therapists
    from accounts.models import User
    from accounts.selectors import is_linked
    from accounts.services import consents_set, user_set_role
    from recommender import assignments
    from recommender.assignments import Schedule, TargetMood
    from recommender.models import Track

    therapist = User.objects.filter(username=DEMO_THERAPIST).first()
    if therapist is None:
        return f"therapy: no {DEMO_THERAPIST} account, nothing to do"
    if not Track.objects.exists():
        return "therapy: the catalog is empty, no demo client"
    client = User.objects.filter(username=client_name).first()
    if client is not None and ListeningSession.objects.filter(user=client).exists():
        return f"therapy: {client_name} already has sessions"
    if client is None:
        client = User.objects.create_user(username=client_name, password=settings.DEMO_USERS_PASSWORD)
        user_set_role(user=client, role="participant")
    if not is_linked(therapist=therapist, client=client):
        therapists.invite_accept(client=client, code=therapists.invite_create(therapist=therapist).code)
    consents_set(user=client, changes={"research_data": True, "therapist_sharing": True})
    therapists.note_add(therapist=therapist, client=client, text="Demo note: sleeps badly before exams; prefers piano.")

    # a session of their own, before the first assignment
    personal = services.session_start(
        user=client, current=MoodInput(gems=tuple(one_hot_gems("sadness"))),
        desired=MoodInput(gems=tuple(one_hot_gems("tenderness"))), length_tracks=3, length_minutes=None, strategy="iso",
    )
    _play_and_finish(user=client, session=personal, post=MoodInput(valence=-0.1, arousal=-0.4), rating=3,
                     text="A little lighter (demo data).", skip=2)

    # an assignment, played and finished: done
    today = timezone.localdate()
    done = assignments.assignment_create_generated(
        therapist=therapist, client=client, strategy="iso", target=TargetMood(gems=tuple(one_hot_gems("peacefulness"))),
        length_tracks=3, length_minutes=None, instructions="Evening wind-down, lying down (demo).",
        schedule=Schedule(repeat="once", due_date=today + timedelta(days=3)),
        start=TargetMood(gems=tuple(one_hot_gems("tension"))),
    )
    occurrence = done.occurrences.get()
    session = services.session_start(
        user=client, current=MoodInput(gems=tuple(one_hot_gems("tension"))), desired=None,
        length_tracks=None, length_minutes=None, strategy=None, occurrence_id=occurrence.pk,
    )
    _play_and_finish(user=client, session=session, post=MoodInput(valence=0.35, arousal=-0.45), rating=5,
                     text="Much calmer; fell asleep soon after (demo data).")

    # one still open: every day for a week
    assignments.assignment_create_generated(
        therapist=therapist, client=client, strategy="mapping", target=None, length_tracks=4, length_minutes=None,
        instructions="A short listening each morning (demo).",
        schedule=Schedule(repeat="daily", start_date=today, days=7),
    )
    return (
        f"therapy: {client_name} (password as the demo users) is linked to {DEMO_THERAPIST}, shares two finished "
        "sessions, one assignment done and one daily assignment open"
    )
