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
from django.db import connection
from django.utils import timezone

from emotion import vocab
from recommender.models import Track
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

    Hot path (bench/events.py): on the usual request it costs two statements, one read of the
    session with its queue and one INSERT .. ON CONFLICT DO NOTHING that is the idempotency
    check too; earlier events are looked up only for conflicts, refused events or a closed session.
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

    session, queue, durations = _session_and_queue(user=user, session_id=session_id)

    existing: dict[uuid.UUID, PlaybackEvent] = {}
    if session.status != SessionStatus.ACTIVE:
        existing = _stored(session.pk, ids)
        if len(existing) == len(ids):
            return EventsResult(session, [(existing[i], False) for i in ids])
        raise SessionClosed(session)
    now = timezone.now()
    problems_at = {i: _event_errors(e, session, queue, durations, now) for i, e in enumerate(events)}
    refused: dict[int, dict[str, str]] = {}
    if any(problems_at.values()):
        # An invalid event may be the retry of one stored before a re-plan changed its track.
        existing = _stored(session.pk, ids)
        refused = {i: p for i, p in problems_at.items() if p and events[i].event_id not in existing}
    new = [e for i, e in enumerate(events) if i not in refused and e.event_id not in existing]
    created = _insert_new(session.pk, new, now)
    if len(created) < len(new):  # conflicts: retries (or a concurrent retry) of stored events
        existing.update(_stored(session.pk, [e.event_id for e in new if e.event_id not in created]))
    result = [
        (created[i], True) if i in created else (existing[i], False) for k, i in enumerate(ids) if k not in refused
    ]

    replan = None
    boundaries = [e.position for e in new if e.kind in TRACK_BOUNDARY_KINDS and e.event_id in created]
    if boundaries:
        replan = session_replan_check(session=session, finished_position=max(boundaries))
        if replan is not None:
            session = ListeningSession.objects.get(pk=session.pk)
    return EventsResult(session, result, replan, refused)


def _stored(session_pk: int, event_ids) -> dict[uuid.UUID, PlaybackEvent]:
    return {ev.event_id: ev for ev in PlaybackEvent.objects.filter(session_id=session_pk, event_id__in=event_ids)}


_INSERT_COLUMNS = (
    "session",
    "event_id",
    "kind",
    "track",
    "position",
    "seconds_played",
    "occurred_at",
    "received_at",
    "payload",
)


def _insert_new(session_pk: int, new: list[EventInput], now: datetime) -> dict[uuid.UUID, PlaybackEvent]:
    """INSERT the events in one statement, skipping ids the session already has; returns the
    rows it created (by event id). One statement: atomic on its own, no transaction needed."""
    if not new:
        return {}
    rows = [
        PlaybackEvent(
            session_id=session_pk,
            event_id=e.event_id,
            kind=e.kind,
            track_id=e.track_id,
            position=e.position,
            seconds_played=float(e.seconds_played) if e.seconds_played is not None else None,
            occurred_at=e.occurred_at,
            received_at=now,
            payload=e.payload or {},
        )
        for e in new
    ]
    meta = PlaybackEvent._meta
    fields = [meta.get_field(name) for name in _INSERT_COLUMNS]
    qn = connection.ops.quote_name
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608 (names from the model; values are parameters)
        f"VALUES {', '.join([placeholders] * len(rows))} "
        f"ON CONFLICT ({qn(meta.get_field('session').column)}, {qn(meta.get_field('event_id').column)}) DO NOTHING "
        f"RETURNING {qn(meta.pk.column)}, {qn(meta.get_field('event_id').column)}"
    )
    params = [f.get_db_prep_save(getattr(row, f.attname), connection) for row in rows for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    by_id = {row.event_id: row for row in rows}
    created: dict[uuid.UUID, PlaybackEvent] = {}
    for pk, event_id in returned:
        row = by_id[event_id if isinstance(event_id, uuid.UUID) else uuid.UUID(str(event_id))]
        row.pk = pk
        row._state.adding = False
        created[row.event_id] = row
    return created


def _session_and_queue(*, user, session_id) -> tuple[ListeningSession, dict[int, int], dict[int, float | None]]:
    """The user's own session (SessionNotFound otherwise, also for someone else's) with its
    queue {position: track} and the queued tracks' durations, in one SQL statement (the ORM's
    compilation of the same join cost ten times the query's own time on this path). The
    session object carries the fields the event checks need (status, started_at, replan_count)."""
    try:
        pk = int(session_id)
    except (TypeError, ValueError):
        raise SessionNotFound() from None
    qn = connection.ops.quote_name
    s_meta, q_meta, t_meta = ListeningSession._meta, PlannedTrack._meta, Track._meta
    sql = (
        f"SELECT s.{qn(s_meta.get_field('user').column)}, s.{qn('status')}, s.{qn('started_at')}, "  # noqa: S608 (names from the model)
        f"s.{qn('replan_count')}, q.{qn('position')}, q.{qn(q_meta.get_field('track').column)}, t.{qn('duration_s')} "
        f"FROM {qn(s_meta.db_table)} s "
        f"LEFT JOIN {qn(q_meta.db_table)} q ON q.{qn(q_meta.get_field('session').column)} = s.{qn(s_meta.pk.column)} "
        f"LEFT JOIN {qn(t_meta.db_table)} t ON t.{qn(t_meta.pk.column)} = q.{qn(q_meta.get_field('track').column)} "
        f"WHERE s.{qn(s_meta.pk.column)} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        rows = cursor.fetchall()
    if not rows or rows[0][0] != getattr(user, "pk", None):
        raise SessionNotFound()
    _, status, started_at, replan_count = rows[0][:4]
    convert = getattr(connection.ops, "convert_datetimefield_value", None)  # SQLite returns text
    if convert is not None:
        started_at = convert(started_at, None, connection)
    session = ListeningSession(pk=pk, user_id=user.pk, status=status, started_at=started_at, replan_count=replan_count)
    session._state.adding = False
    queue = {position: track_id for *_, position, track_id, _ in rows if position is not None}
    durations = {track_id: duration for *_, track_id, duration in rows if track_id is not None}
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
