"""Playback events: recording a batch (idempotent on the client's event id), which may trigger
the live re-plan."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from emotion import vocab
from studies.listening import conf
from studies.listening.models import (
    EventKind,
    ListeningSession,
    PlannedTrack,
    PlaybackEvent,
    SessionStatus,
)
from studies.listening.mood import ReplanDecision
from studies.listening.services.common import (
    CLIENT_KINDS,
    DURATION_TOLERANCE_S,
    TRACK_BOUNDARY_KINDS,
    SessionClosed,
    SessionNotFound,
    _own_session,
)
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
    events: list[tuple[PlaybackEvent, bool]]  # (event, created) in the order given
    replan: ReplanDecision | None = None  # set when this batch triggered a re-plan


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
        skew = timedelta(seconds=conf.clock_skew_s())
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
                elapsed = (e.occurred_at - session.started_at).total_seconds() + conf.clock_skew_s()
                if s > elapsed:
                    errors["seconds_played"] = f"{s:g} s played is more time than the session has run."
    elif e.kind == EventKind.PROGRESS:
        errors["seconds_played"] = "A progress event says how many seconds were played."
    payload = e.payload if e.payload is not None else {}
    if not isinstance(payload, dict):
        errors["payload"] = "payload is a JSON object."
    else:
        size = len(json.dumps(payload, separators=(",", ":"), default=str))
        if size > conf.max_payload_bytes():
            errors["payload"] = f"payload is {size} bytes; the limit is {conf.max_payload_bytes()}."
        elif e.kind == EventKind.REACTION and payload.get("gems") not in vocab.GEMS:
            errors["payload"] = f"A reaction names one GEMS emotion in payload.gems: {', '.join(vocab.GEMS)}."
    return errors


def events_record(*, user, session_id, events: Sequence[EventInput]) -> EventsResult:
    """Record a batch of playback events for the user's own active session.

    Idempotent on `event_id`: an id already stored returns the stored event (created=False),
    even after the session completed. Otherwise the whole batch is checked first and nothing
    is written if any event is invalid (ValidationError keyed by the event's index). Raises
    SessionNotFound for someone else's session and SessionClosed for a session that is not active.
    A finished track (skipped/completed) may trigger the live re-plan."""
    if not events:
        raise ValidationError({"events": "Send at least one event."})
    if len(events) > conf.max_batch():
        raise ValidationError({"events": f"At most {conf.max_batch()} events per request."})
    ids = [e.event_id for e in events]
    if any(not isinstance(i, uuid.UUID) for i in ids):
        raise ValidationError({"event_id": "Every event needs a UUID event_id."})
    if len(set(ids)) != len(ids):
        raise ValidationError({"event_id": "The same event_id appears twice in one batch."})

    session, queue, durations = _session_and_queue(user=user, session_id=session_id)

    def stored(wanted) -> dict[uuid.UUID, PlaybackEvent]:
        return {ev.event_id: ev for ev in PlaybackEvent.objects.filter(session_id=session.pk, event_id__in=wanted)}

    # Fast path: no lookup of earlier events unless needed (a closed session, an invalid
    # event that might be a retry of one stored before a re-plan, or a conflicting insert).
    existing: dict[uuid.UUID, PlaybackEvent] = {}
    if session.status != SessionStatus.ACTIVE:
        existing = stored(ids)
        if len(existing) == len(ids):
            return EventsResult(session, [(existing[i], False) for i in ids])
        raise SessionClosed(session)
    now = timezone.now()
    problems_at = {i: _event_errors(e, session, queue, durations, now) for i, e in enumerate(events)}
    if any(problems_at.values()):
        existing = stored(ids)
        errors = {
            f"events[{i}]" if len(events) > 1 else "event": "; ".join(f"{k}: {v}" for k, v in problems.items())
            for i, problems in problems_at.items()
            if problems and events[i].event_id not in existing
        }
        if errors:
            raise ValidationError(errors)
    new = [e for e in events if e.event_id not in existing]
    rows = [
        PlaybackEvent(
            session_id=session.pk,
            event_id=e.event_id,
            kind=e.kind,
            track_id=e.track_id,
            position=e.position,
            seconds_played=float(e.seconds_played) if e.seconds_played is not None else None,
            occurred_at=e.occurred_at,
            payload=e.payload or {},
        )
        for e in new
    ]
    created: dict[uuid.UUID, PlaybackEvent] = {}
    # One row outside a transaction is one statement in autocommit (no BEGIN/COMMIT round trips).
    single = len(rows) == 1 and not connection.in_atomic_block
    try:
        with nullcontext() if single else transaction.atomic():
            if len(rows) == 1:
                rows[0].save(force_insert=True)
            elif rows:
                PlaybackEvent.objects.bulk_create(rows)
        created = {r.event_id: r for r in rows}
    except IntegrityError:
        # Retries (or a concurrent retry) of stored events: insert one by one, keep what is there.
        existing.update(stored([r.event_id for r in rows]))
        for r in rows:
            if r.event_id in existing:
                continue
            try:
                with transaction.atomic():
                    r.pk = None
                    r.save(force_insert=True)
                created[r.event_id] = r
            except IntegrityError:
                existing[r.event_id] = PlaybackEvent.objects.get(session_id=session.pk, event_id=r.event_id)
    result = [(created[i], True) if i in created else (existing[i], False) for i in ids]

    replan = None
    boundaries = [e.position for e in new if e.kind in TRACK_BOUNDARY_KINDS and e.event_id in created]
    if boundaries:
        replan = session_replan_check(session=session, finished_position=max(boundaries))
        if replan is not None:
            session = ListeningSession.objects.get(pk=session.pk)
    return EventsResult(session, result, replan)


def _session_and_queue(*, user, session_id) -> tuple[ListeningSession, dict[int, int], dict[int, float | None]]:
    """The user's own session (SessionNotFound otherwise) with its queue {position: track} and the
    queued tracks' durations, in one query on the usual path. The session object carries the
    fields the event checks need (status, started_at, replan_count); fetch it for more."""
    try:
        pk = int(session_id)
    except (TypeError, ValueError):
        raise SessionNotFound() from None
    rows = list(
        PlannedTrack.objects.filter(session_id=pk, session__user_id=getattr(user, "pk", None)).values_list(
            "position", "track_id", "track__duration_s", "session__status", "session__started_at",
            "session__replan_count",
        )
    )
    if not rows:
        return _own_session(user=user, session_id=pk), {}, {}
    _, _, _, status, started_at, replan_count = rows[0]
    session = ListeningSession(pk=pk, user_id=user.pk, status=status, started_at=started_at, replan_count=replan_count)
    session._state.adding = False
    queue = {position: track_id for position, track_id, *_ in rows}
    durations = {track_id: duration for _, track_id, duration, *_ in rows}
    return session, queue, durations


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
    """One event (see events_record): returns (event, created)."""
    result = events_record(
        user=user,
        session_id=session_id,
        events=[EventInput(event_id, kind, track_id, position, seconds_played, occurred_at, payload or {})],
    )
    return result.events[0]
