"""Playback events: recording a batch (idempotent on the client's event id), which may trigger
the live re-plan."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from emotion import vocab
from studies.listening import conf
from studies.listening.models import EventKind, ListeningSession, PlaybackEvent, SessionStatus
from studies.listening.mood import ReplanDecision
from studies.listening.services.common import (
    CLIENT_KINDS,
    DURATION_TOLERANCE_S,
    TRACK_BOUNDARY_KINDS,
    SessionClosed,
    SessionNotFound,
)
from studies.listening.services.event_plans import PLANS, SessionPlan, insert_events, plan_read
from studies.listening.services.replan import session_replan_check

# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventInput:
    event_id: uuid.UUID
    kind: str
    track_id: int | None
    position: int | None
    seconds_played: float | None
    occurred_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EventsResult:
    session: ListeningSession
    events: list[tuple[PlaybackEvent, bool]]  # the accepted events (event, created), in the order given
    replan: ReplanDecision | None = None  # set when this batch triggered a re-plan
    refused: dict[int, dict[str, str]] = field(default_factory=dict)  # index in the batch -> {field: why}


def _event_errors(
    e: EventInput, session: ListeningSession, queue: dict[int, int], durations: dict[int, float | None], now: datetime
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if e.kind not in CLIENT_KINDS:
        errors["kind"] = f"Unknown event kind {str(e.kind)[:20]!r}; expected one of {', '.join(sorted(CLIENT_KINDS))}."
        return errors
    if not isinstance(e.position, int) or isinstance(e.position, bool) or e.position < 0:
        errors["position"] = "position is the track's place in the playlist (0, 1, 2, ...)."
    elif e.position not in queue:
        errors["position"] = f"The playlist has no position {e.position}."
    elif e.track_id != queue[e.position]:
        errors["track"] = f"Track {e.track_id} is not the track at position {e.position} of this playlist."
    if not isinstance(e.occurred_at, datetime) or timezone.is_naive(e.occurred_at):
        errors["occurred_at"] = "occurred_at is a date-time with a time zone."
    else:
        skew = timedelta(seconds=conf.CLOCK_SKEW_S)
        if e.occurred_at < session.started_at - skew:
            errors["occurred_at"] = "The event is dated before the session started."
        elif e.occurred_at > now + skew:
            errors["occurred_at"] = "The event is dated in the future."
    if e.seconds_played is not None:
        s = e.seconds_played
        if isinstance(s, bool) or not isinstance(s, int | float) or not math.isfinite(s) or s < 0:
            errors["seconds_played"] = "seconds_played is a number of seconds, at least 0."
        else:
            duration = durations.get(e.track_id) if e.track_id is not None else None
            if duration is not None and s > duration + DURATION_TOLERANCE_S:
                errors["seconds_played"] = f"{s:g} s played is longer than the track ({duration:g} s)."
            elif "occurred_at" not in errors and isinstance(e.occurred_at, datetime):
                elapsed = (e.occurred_at - session.started_at).total_seconds() + conf.CLOCK_SKEW_S
                if s > elapsed:
                    errors["seconds_played"] = f"{s:g} s played is more time than the session has run."
    elif e.kind == EventKind.PROGRESS:
        errors["seconds_played"] = "A progress event says how many seconds were played."
    payload = e.payload if e.payload is not None else {}
    if not isinstance(payload, dict):
        errors["payload"] = "payload is a JSON object."
    else:
        size = len(json.dumps(payload, separators=(",", ":"), default=str))
        if size > conf.MAX_PAYLOAD_BYTES:
            errors["payload"] = f"payload is {size} bytes; the limit is {conf.MAX_PAYLOAD_BYTES}."
        elif e.kind == EventKind.REACTION and payload.get("gems") not in vocab.GEMS:
            errors["payload"] = f"A reaction names one GEMS emotion in payload.gems: {', '.join(vocab.GEMS)}."
    return errors


def events_record(*, user, session_id, events: Sequence[EventInput]) -> EventsResult:
    """Record a batch of playback events for the user's own active session.

    Idempotent on `event_id`: an id already stored returns the stored event (created=False),
    even after the session completed. Each event is checked on its own: the valid ones are
    stored, the invalid ones are refused and named in `refused` (index -> field messages) and
    nothing of them is written; a refused event that turns out to be a retry of a stored one
    answers as a retry. Raises ValidationError for the batch as a whole (empty, over the size
    limit, an id missing or given twice), SessionNotFound for someone else's session and
    SessionClosed for a session that is not active (unless every event is already stored).
    A finished track (skipped/completed) may trigger the live re-plan.

    Hot path (bench/events.py): with the session's plan kept from an earlier request
    (event_plans.PLANS), one statement: the INSERT .. ON CONFLICT DO NOTHING, which is the
    idempotency check and also checks that the plan still holds. Otherwise, or when that
    statement stores nothing, or when an event looks wrong under the kept plan: a fresh read of
    the session with its queue, then the same INSERT. Earlier events are looked up only for
    conflicts, refused events or a closed session.
    """
    if not events:
        raise ValidationError({"events": "Send at least one event."})
    if len(events) > conf.MAX_BATCH:
        raise ValidationError({"events": f"At most {conf.MAX_BATCH} events per request."})
    ids = [e.event_id for e in events]
    if any(not isinstance(i, uuid.UUID) for i in ids):
        raise ValidationError({"event_id": "Every event needs a UUID event_id."})
    if len(set(ids)) != len(ids):
        raise ValidationError({"event_id": "The same event_id appears twice in one batch."})
    try:
        session_pk = int(session_id)
    except (TypeError, ValueError):
        raise SessionNotFound() from None

    kept = PLANS.get(session_pk, getattr(user, "pk", None))
    if kept is not None:
        result = _record_under_kept_plan(kept, events)
        if result is not None:
            return result
        PLANS.forget(session_pk)  # re-planned, closed or deleted since: read it again
    plan = plan_read(user=user, session_id=session_pk)
    PLANS.put(plan)
    return _record(plan, events, ids)


def _record_under_kept_plan(plan: SessionPlan, events: Sequence[EventInput]) -> EventsResult | None:
    """The hot path: None when the kept plan cannot decide (an event looks wrong under it, or
    the guarded INSERT stored nothing: the plan is stale, or every event was a retry)."""
    session, now = plan.session(), timezone.now()
    if any(_event_errors(e, session, plan.queue, plan.durations, now) for e in events):
        return None
    created = insert_events(plan, _rows(plan, events, now), guarded=True)
    if not created:
        return None
    existing: dict[uuid.UUID, PlaybackEvent] = {}
    if len(created) < len(events):  # the plan held (rows were stored): the rest are retries
        existing = _stored(plan.session_pk, [e.event_id for e in events if e.event_id not in created])
    return _finish(plan, session, [(e.event_id, e) for e in events], created, existing, {})


def _record(plan: SessionPlan, events: Sequence[EventInput], ids: list[uuid.UUID]) -> EventsResult:
    session = plan.session()
    existing: dict[uuid.UUID, PlaybackEvent] = {}
    if session.status != SessionStatus.ACTIVE:
        existing = _stored(session.pk, ids)
        if len(existing) == len(ids):
            return EventsResult(session, [(existing[i], False) for i in ids])
        raise SessionClosed(session)
    now = timezone.now()
    problems_at = {i: _event_errors(e, session, plan.queue, plan.durations, now) for i, e in enumerate(events)}
    refused: dict[int, dict[str, str]] = {}
    if any(problems_at.values()):
        # An invalid event may be the retry of one stored before a re-plan changed its track.
        existing = _stored(session.pk, ids)
        refused = {i: p for i, p in problems_at.items() if p and events[i].event_id not in existing}
    new = [e for i, e in enumerate(events) if i not in refused and e.event_id not in existing]
    created = insert_events(plan, _rows(plan, new, now), guarded=False)
    if len(created) < len(new):  # conflicts: retries (or a concurrent retry) of stored events
        existing.update(_stored(session.pk, [e.event_id for e in new if e.event_id not in created]))
    accepted = [(e.event_id, e) for k, e in enumerate(events) if k not in refused]
    return _finish(plan, session, accepted, created, existing, refused)


def _finish(
    plan: SessionPlan,
    session: ListeningSession,
    accepted: list[tuple[uuid.UUID, EventInput]],
    created: dict[uuid.UUID, PlaybackEvent],
    existing: dict[uuid.UUID, PlaybackEvent],
    refused: dict[int, dict[str, str]],
) -> EventsResult:
    result = [(created[i], True) if i in created else (existing[i], False) for i, _ in accepted]
    replan = None
    boundaries = [e.position for i, e in accepted if e.kind in TRACK_BOUNDARY_KINDS and i in created]
    if boundaries:
        replan = session_replan_check(session=session, finished_position=max(boundaries))
        if replan is not None:
            PLANS.forget(plan.session_pk)
            session = ListeningSession.objects.get(pk=session.pk)
    return EventsResult(session, result, replan, refused)


def _rows(plan: SessionPlan, events: Sequence[EventInput], now: datetime) -> list[PlaybackEvent]:
    return [
        PlaybackEvent(
            session_id=plan.session_pk,
            event_id=e.event_id,
            kind=e.kind,
            track_id=e.track_id,
            position=e.position,
            seconds_played=float(e.seconds_played) if e.seconds_played is not None else None,
            occurred_at=e.occurred_at,
            received_at=now,
            payload=e.payload or {},
        )
        for e in events
    ]


def _stored(session_pk: int, event_ids) -> dict[uuid.UUID, PlaybackEvent]:
    return {ev.event_id: ev for ev in PlaybackEvent.objects.filter(session_id=session_pk, event_id__in=event_ids)}


def event_record(
    *,
    user,
    session_id,
    event_id: uuid.UUID,
    kind: str,
    track_id: int | None,
    position: int | None,
    seconds_played: float | None,
    occurred_at: datetime,
    payload: dict[str, Any] | None,
) -> tuple[PlaybackEvent, bool]:
    """One event (see events_record): returns (event, created); ValidationError if it is refused."""
    result = events_record(
        user=user,
        session_id=session_id,
        events=[EventInput(event_id, kind, track_id, position, seconds_played, occurred_at, payload or {})],
    )
    if result.refused:
        raise ValidationError({"event": refusal_message(result.refused[0])})
    return result.events[0]


def refusal_message(problems: dict[str, str]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in problems.items())
