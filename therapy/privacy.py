"""Therapy's part of a person's data export and erasure (registered in TherapyConfig.ready()).

Links, notes and assignments are personal whatever the research consent: erasure ends every
link on either side, deletes notes written by or about the person, and deletes assignments
given or received. Invites stay (a used one only names the code), exported to both sides."""

from __future__ import annotations

from django.db.models import Q

from accounts.models import User
from therapy.models import Assignment, TherapistInvite, TherapistLink, TherapistNote


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def links_export(user: User) -> list[dict]:
    links = TherapistLink.objects.filter(Q(client=user) | Q(therapist=user)).select_related("therapist", "client")
    return [
        {
            "therapist": link.therapist.username,
            "client": link.client.username,
            "since": link.created_at.isoformat(),
            "ended": _iso(link.ended_at),
        }
        for link in links.order_by("created_at", "id")
    ]


def notes_export(user: User) -> list[dict]:
    """A therapist's own notes are theirs; notes about a client stay private to the therapist."""
    return [
        {"client": n.client.username, "text": n.text, "at": n.created_at.isoformat()}
        for n in TherapistNote.objects.filter(therapist=user).select_related("client")
    ]


def invites_created_export(user: User) -> list[dict]:
    return [
        {
            "code": i.code,
            "created_at": i.created_at.isoformat(),
            "expires_at": i.expires_at.isoformat(),
            "used": i.used_by_id is not None,
            "used_at": _iso(i.used_at),
            "revoked_at": _iso(i.revoked_at),
        }
        for i in TherapistInvite.objects.filter(therapist=user).order_by("created_at", "id")
    ]


def invites_used_export(user: User) -> list[dict]:
    return [
        {"therapist": i.therapist.username, "code": i.code, "used_at": _iso(i.used_at)}
        for i in TherapistInvite.objects.filter(used_by=user).select_related("therapist").order_by("used_at", "id")
    ]


def assignments_export(user: User) -> list[dict]:
    """The person's assignments (as client or as therapist) for their data export."""
    rows = Assignment.objects.filter(Q(client=user) | Q(therapist=user)).prefetch_related("occurrences")
    return [
        {
            "role": "client" if a.client_id == user.pk else "therapist",
            "kind": a.kind,
            "playlist_id": a.playlist_id,
            "instructions": a.instructions,
            "repeat": a.repeat,
            "status": a.status,
            "created_at": a.created_at.isoformat(),
            "occurrences": [
                {"due_date": o.due_date.isoformat(), "status": o.status, "session_id": o.session_id}
                for o in a.occurrences.all()
            ],
        }
        for a in rows
    ]


def assignments_erase(user: User) -> int:
    """Erasure: the person's assignments, as client or as therapist (instructions are personal)."""
    deleted, _ = Assignment.objects.filter(Q(client=user) | Q(therapist=user)).delete()
    return deleted
