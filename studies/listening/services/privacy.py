"""Privacy sections: erasing a person's sessions, reflections, events and trace."""

from __future__ import annotations

from studies.listening.models import (
    EmotionTraceSecond,
    ListeningSession,
    PlaybackEvent,
)

# --- privacy --------------------------------------------------------------------------------


def sessions_erase(*, user) -> int:
    """Delete the person's sessions with their queue, events and trace. Returns the rows deleted
    (events and trace are usually gone already: their own sections run first)."""
    deleted, _ = ListeningSession.objects.filter(user=user).delete()
    return deleted


def reflections_erase(*, user) -> int:
    """Blank the free-text reflections (kept rows stay keyed by participant code only)."""
    return ListeningSession.objects.filter(user=user).exclude(reflection_text="").update(reflection_text="")


def events_erase(*, user) -> int:
    deleted, _ = PlaybackEvent.objects.filter(session__user=user).delete()
    return deleted


def trace_erase(*, user) -> int:
    deleted, _ = EmotionTraceSecond.objects.filter(session__user=user).delete()
    return deleted
