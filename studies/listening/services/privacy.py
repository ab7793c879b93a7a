"""Privacy sections: erasing a person's sessions, reflections, events and trace."""

from __future__ import annotations

from emotion.vocab import GEMS
from studies.listening.models import (
    EmotionTraceSecond,
    EventKind,
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


def event_payloads_scrub(*, user) -> int:
    """Erasure keeps no free text in playback events: what a browser sent in a payload stays
    only where it is a word of the GEMS vocabulary (a reaction); server-written re-plan
    records hold numbers and ids only and are kept. Returns the events changed."""

    changed = []
    events = PlaybackEvent.objects.filter(session__user=user).exclude(kind=EventKind.REPLANNED).exclude(payload={})
    for event in events.only("id", "payload"):
        payload = event.payload if isinstance(event.payload, dict) else {}
        kept = {"gems": payload["gems"]} if payload.get("gems") in GEMS else {}
        if kept != event.payload:
            event.payload = kept
            changed.append(event)
    PlaybackEvent.objects.bulk_update(changed, ["payload"], batch_size=500)
    return len(changed)


def events_erase(*, user) -> int:
    deleted, _ = PlaybackEvent.objects.filter(session__user=user).delete()
    return deleted


def trace_erase(*, user) -> int:
    deleted, _ = EmotionTraceSecond.objects.filter(session__user=user).delete()
    return deleted
