"""Reads on therapy, scoped by who asks: a therapist sees a person only through an active link,
and that person's sessions only while their `therapist_sharing` consent is on; a client sees
what was assigned to them while the therapist is still linked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.models import Consent, User
from accounts.selectors import has_consent
from studies.listening.models import ListeningSession
from studies.listening.selectors import SessionOutcome, sessions_with_outcomes
from therapy.models import (
    Assignment,
    AssignmentOccurrence,
    AssignmentStatus,
    OccurrenceStatus,
    TherapistInvite,
    TherapistLink,
    TherapistNote,
)

# --- links, invites, notes ------------------------------------------------------------------------


def is_linked(*, therapist: User, client: User) -> bool:
    return TherapistLink.objects.filter(therapist=therapist, client=client, ended_at__isnull=True).exists()


def therapist_may_see_sessions(*, therapist: User, client: User) -> bool:
    """The one rule: an active link AND the client's `therapist_sharing` consent."""
    return (
        therapist.is_authenticated
        and therapist.is_therapist
        and is_linked(therapist=therapist, client=client)
        and has_consent(client, "therapist_sharing")
    )


def clients_of(*, therapist: User) -> QuerySet[TherapistLink]:
    """Active links of this therapist (a therapist never sees anyone else), each annotated
    with `sharing`: whether the client's therapist_sharing consent is on (one query)."""
    if not therapist.is_therapist:
        return TherapistLink.objects.none()
    sharing = Exists(
        Consent.objects.filter(user=OuterRef("client"), purpose="therapist_sharing", granted=True)
    )
    return (
        TherapistLink.objects.filter(therapist=therapist, ended_at__isnull=True)
        .select_related("client")
        .annotate(sharing=sharing)
    )


def client_link_for(*, therapist: User, link_id: int) -> TherapistLink | None:
    return clients_of(therapist=therapist).filter(pk=link_id).first()


def client_link_of(*, therapist: User, client: User) -> TherapistLink | None:
    """The therapist's active link with this client, if any."""
    return clients_of(therapist=therapist).filter(client=client).first()


def therapists_of(*, client: User) -> QuerySet[TherapistLink]:
    return TherapistLink.objects.filter(client=client, ended_at__isnull=True).select_related("therapist")


def open_invites_of(*, therapist: User) -> QuerySet[TherapistInvite]:
    """Codes not used, not withdrawn and not expired."""
    return TherapistInvite.objects.filter(
        therapist=therapist, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def notes_for(*, therapist: User, client: User) -> QuerySet[TherapistNote]:
    return TherapistNote.objects.filter(therapist=therapist, client=client)


# --- assigned playlists -------------------------------------------------------------------------


def assignments_of(*, therapist, client) -> QuerySet[Assignment]:
    """This therapist's assignments to this client, only while they are linked."""
    if not (getattr(therapist, "is_authenticated", False) and therapist.is_therapist):
        return Assignment.objects.none()
    if not is_linked(therapist=therapist, client=client):
        return Assignment.objects.none()
    return (
        Assignment.objects.filter(therapist=therapist, client=client)
        .select_related("playlist")
        .prefetch_related("occurrences")
    )


def assignment_get(*, therapist, assignment_id: int) -> Assignment | None:
    assignment = Assignment.objects.select_related("client", "playlist").filter(pk=assignment_id, therapist=therapist).first()
    if assignment is None or not is_linked(therapist=therapist, client=assignment.client):
        return None
    return assignment


def _active_link_q() -> Exists:
    return Exists(
        TherapistLink.objects.filter(
            therapist=OuterRef("assignment__therapist"), client=OuterRef("assignment__client"), ended_at__isnull=True
        )
    )


def occurrences_open_for(*, client, today: date | None = None) -> QuerySet[AssignmentOccurrence]:
    """What the client may play now: pending occurrences available today and not overdue,
    from assignments not cancelled, whose therapist is still linked."""
    if not getattr(client, "is_authenticated", False):
        return AssignmentOccurrence.objects.none()
    today = today or timezone.localdate()
    return (
        AssignmentOccurrence.objects.filter(
            assignment__client=client,
            status=OccurrenceStatus.PENDING,
            available_from__lte=today,
            due_date__gte=today,
        )
        .exclude(assignment__status=AssignmentStatus.CANCELLED)
        .filter(_active_link_q())
        .select_related("assignment", "assignment__therapist", "assignment__playlist")
        .order_by("due_date", "id")
    )


def occurrences_upcoming_for(*, client, today: date | None = None) -> QuerySet[AssignmentOccurrence]:
    """Scheduled later (not playable yet), for the client's overview."""
    if not getattr(client, "is_authenticated", False):
        return AssignmentOccurrence.objects.none()
    today = today or timezone.localdate()
    return (
        AssignmentOccurrence.objects.filter(
            assignment__client=client, status=OccurrenceStatus.PENDING, available_from__gt=today
        )
        .exclude(assignment__status=AssignmentStatus.CANCELLED)
        .filter(_active_link_q())
        .select_related("assignment")
        .order_by("available_from", "id")
    )


def occurrence_playable_for(*, client, occurrence_id: int, lock: bool = False) -> AssignmentOccurrence | None:
    qs = occurrences_open_for(client=client)
    if lock:
        qs = qs.select_for_update(of=("self",))
    return qs.filter(pk=occurrence_id).first()


# --- a client's outcomes, for their therapist --------------------------------------------

CLIENT_OUTCOME_COLUMNS = (
    "session_id", "started_at", "mode", "status", "assignment_id", "strategy", "pre_valence", "pre_arousal",
    "target_valence", "target_arousal", "post_valence", "post_arousal", "shift_toward_target", "tracks_played",
    "skips", "skip_rate", "reflection_rating", "reflection_text",
)


@dataclass(frozen=True)
class ClientSessionRow:
    session: ListeningSession
    outcome: SessionOutcome
    assignment_id: int | None

    def csv_row(self) -> list[object]:
        s, o = self.session, self.outcome
        return [
            s.pk, s.created_at.isoformat(), s.mode, s.status, self.assignment_id, s.strategy, s.pre_valence,
            s.pre_arousal, s.target_valence, s.target_arousal, s.post_valence, s.post_arousal,
            o.shift_toward_target, o.tracks_played, o.skips, o.skip_rate, s.reflection_rating, s.reflection_text,
        ]


def client_outcomes(*, therapist, client) -> list[ClientSessionRow] | None:
    """The client's sessions with their outcomes, oldest first, for their therapist — or None
    unless therapist_may_see_sessions (active link AND the client's therapist_sharing
    consent). The check lives here so no page can forget it."""
    if not therapist_may_see_sessions(therapist=therapist, client=client):
        return None
    sessions = sessions_with_outcomes(user=client)
    by_session = dict(
        AssignmentOccurrence.objects.filter(
            session_id__in=[s.pk for s, _ in sessions], assignment__therapist=therapist
        ).values_list("session_id", "assignment_id")
    )
    return [ClientSessionRow(session=s, outcome=outcome, assignment_id=by_session.get(s.pk)) for s, outcome in sessions]


@dataclass(frozen=True)
class OutcomesSummary:
    sessions: int
    completed: int
    mean_shift: float | None
    skip_rate: float | None
    mean_rating: float | None


def outcomes_summary(rows: list[ClientSessionRow]) -> OutcomesSummary:
    shifts = [r.outcome.shift_toward_target for r in rows if r.outcome.shift_toward_target is not None]
    played = sum(r.outcome.tracks_played for r in rows)
    ratings = [r.outcome.reflection_rating for r in rows if r.outcome.reflection_rating is not None]
    return OutcomesSummary(
        sessions=len(rows),
        completed=sum(r.outcome.completed for r in rows),
        mean_shift=float(np.mean(shifts)) if shifts else None,
        skip_rate=(sum(r.outcome.skips for r in rows) / played) if played else None,
        mean_rating=float(np.mean(ratings)) if ratings else None,
    )


def assignment_rows(*, therapist, client) -> list[dict]:
    """The therapist's assignments to this client; with sharing on, how often each was done and
    the average shift toward the target over its completed sessions (None without sharing)."""
    outcomes = client_outcomes(therapist=therapist, client=client)
    shift_by_session = {r.session.pk: r.outcome.shift_toward_target for r in outcomes or []}
    rows = []
    for a in assignments_of(therapist=therapist, client=client).annotate(n_tracks=Count("playlist__items", distinct=True)):
        occurrences = [o for o in a.occurrences.all() if o.status != OccurrenceStatus.CANCELLED]
        done = [o for o in occurrences if o.status == OccurrenceStatus.DONE]
        shifts = [shift_by_session.get(o.session_id) for o in done]
        shifts = [x for x in shifts if x is not None]
        rows.append(
            {
                "assignment": a,
                "n_tracks": a.n_tracks,
                "total": len(occurrences),
                "done": len(done) if outcomes is not None else None,
                "mean_shift": float(np.mean(shifts)) if shifts and outcomes is not None else None,
            }
        )
    return rows
