"""Demo data for `manage.py load_demo`: a demo client of demo-therapist with shared sessions
and a done assignment, so the therapist's tour starts with something to see. Made through the
same services a person's browser uses."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from accounts.services import consents_set, user_set_role
from emotion.vocab import one_hot_gems
from recommender.models import Track
from studies.listening.demo import play_and_finish
from studies.listening.models import ListeningSession
from studies.listening.mood import MoodInput
from studies.listening.services.sessions import session_start
from therapy import assignments, links
from therapy.assignments import Schedule, TargetMood
from therapy.selectors import is_linked

DEMO_THERAPIST = "demo-therapist"
DEMO_CLIENT = "demo-client"


def demo_step(stdout=None, *, client_name: str = DEMO_CLIENT) -> str:
    """demo-client: linked to demo-therapist with an invite code, sharing switched on, one
    personal session, one assignment done (a therapy session on the assigned playlist) and one
    daily assignment still open. Idempotent: does nothing once demo-client has sessions."""
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
        links.invite_accept(client=client, code=links.invite_create(therapist=therapist).code)
    consents_set(user=client, changes={"research_data": True, "therapist_sharing": True})
    links.note_add(therapist=therapist, client=client, text="Demo note: sleeps badly before exams; prefers piano.")

    # a session of their own, before the first assignment
    personal = session_start(
        user=client, current=MoodInput(gems=tuple(one_hot_gems("sadness"))),
        desired=MoodInput(gems=tuple(one_hot_gems("tenderness"))), length_tracks=3, length_minutes=None, strategy="iso",
    )
    play_and_finish(user=client, session=personal, post=MoodInput(valence=-0.1, arousal=-0.4), rating=3,
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
    session = assignments.assigned_session_start(
        client=client, current=MoodInput(gems=tuple(one_hot_gems("tension"))), occurrence_id=occurrence.pk
    )
    play_and_finish(user=client, session=session, post=MoodInput(valence=0.35, arousal=-0.45), rating=5,
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
