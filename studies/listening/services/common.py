"""Shared by the listening services: the event kinds and limits, the not-found/closed errors,
the own-session lookup and the mood parsing."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from studies.listening.models import (
    EventKind,
    ListeningSession,
)
from studies.listening.mood import MoodError, MoodInput

# Kinds a client may post; `replanned` is written by the server only.
CLIENT_KINDS = frozenset(
    {EventKind.STARTED, EventKind.PROGRESS, EventKind.SKIPPED, EventKind.COMPLETED, EventKind.REACTION, EventKind.LIKED}
)
TRACK_BOUNDARY_KINDS = frozenset({EventKind.SKIPPED, EventKind.COMPLETED})
DURATION_TOLERANCE_S = 2.0
TRACE_REF_PREFIX = "listening:"


class SessionNotFound(LookupError):
    """No such session of this user (also for someone else's: no existence leak). HTTP 404."""

    def __init__(self, message: str = "No such session."):
        super().__init__(message)


class SessionClosed(Exception):
    """An event or completion for a session that is no longer active (HTTP 409)."""

    def __init__(self, session: ListeningSession):
        self.session = session
        super().__init__(f"Session {session.pk} is {session.status}; it accepts no more events.")


def _own_session(*, user, session_id, lock: bool = False) -> ListeningSession:
    """The user's own session, or SessionNotFound (also for someone else's: no existence leak)."""
    try:
        pk = int(session_id)
    except (TypeError, ValueError):
        raise SessionNotFound() from None
    qs = ListeningSession.objects.filter(pk=pk, user_id=getattr(user, "pk", None))
    if lock:
        qs = qs.select_for_update()
    session = qs.first()
    if session is None:
        raise SessionNotFound()
    return session


def _mood(value, what: str) -> MoodInput:
    if isinstance(value, MoodInput):
        return value
    try:
        return MoodInput.from_dict(value)
    except MoodError as exc:
        raise ValidationError({what: str(exc)}) from None
