"""What checking and storing a playback event needs from its session, read in one statement,
kept per process between a listener's requests, and never trusted without the database's word.

Why (issue 16): a player posts an event every second or two, and every one was checked against
its session's queue: a read of the session, its planned tracks and their durations before the
INSERT. The plan (owner, start time, queue, durations) changes only when the session is
re-planned (`replan_count` goes up, in the same transaction as the new queue), and whether the
session still takes events is its `status`. So the plan is kept in a small per-process cache
and the INSERT carries the condition under which the plan is still right:

    INSERT .. SELECT .. WHERE EXISTS (the session, this owner, active, this replan_count)
    ON CONFLICT (session, event_id) DO NOTHING RETURNING ..

If the session was completed, re-planned (by any process) or deleted since the plan was read,
that statement stores nothing, and the caller starts again from a fresh read (see
events.events_record). A kept plan never refuses an event either: any event that looks wrong
under it is checked again against a fresh read. What it can still allow is a `seconds_played`
measured against a track duration edited less than PLAN_CACHE_SECONDS ago.
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from config.prepared import PreparedStatement
from recommender.models import Track
from studies.listening import conf
from studies.listening.models import ListeningSession, PlannedTrack, PlaybackEvent, SessionStatus
from studies.listening.services.common import SessionNotFound


@dataclass(frozen=True)
class SessionPlan:
    session_pk: int
    user_id: int
    status: str
    started_at: datetime
    replan_count: int
    queue: dict[int, int]  # position -> track id
    durations: dict[int, float | None]  # track id -> seconds
    read_at: float  # time.monotonic() of the read

    def session(self) -> ListeningSession:
        """A ListeningSession carrying the fields the event checks and the re-plan check read."""
        session = ListeningSession(
            pk=self.session_pk, user_id=self.user_id, status=self.status,
            started_at=self.started_at, replan_count=self.replan_count,
        )
        session._state.adding = False
        return session


@functools.cache
def _plan_statement(vendor: str) -> PreparedStatement:
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
    return PreparedStatement(f"attune_listening_plan_read_{vendor}", sql)


def plan_read(*, user, session_id) -> SessionPlan:
    """The user's own session (SessionNotFound otherwise, also for someone else's) with its queue
    and the queued tracks' durations, in one SQL statement (the ORM's compilation of the same
    join cost ten times the query's own time on this path)."""
    try:
        pk = int(session_id)
    except (TypeError, ValueError):
        raise SessionNotFound() from None
    if not 0 <= pk < 2**63:
        raise SessionNotFound()
    with connection.cursor() as cursor:
        _plan_statement(connection.vendor).execute(cursor, [pk])
        rows = cursor.fetchall()
    if not rows or rows[0][0] != getattr(user, "pk", None):
        raise SessionNotFound()
    _, status, started_at, replan_count = rows[0][:4]
    convert = getattr(connection.ops, "convert_datetimefield_value", None)  # SQLite returns text
    if convert is not None:
        started_at = convert(started_at, None, connection)
    return SessionPlan(
        session_pk=pk,
        user_id=user.pk,
        status=status,
        started_at=started_at,
        replan_count=replan_count,
        queue={position: track_id for *_, position, track_id, _ in rows if position is not None},
        durations={track_id: duration for *_, track_id, duration in rows if track_id is not None},
        read_at=time.monotonic(),
    )


class PlanCache:
    """Active sessions' plans, per process: at most conf.PLAN_CACHE_SESSIONS, least recently
    used first out, each for at most conf.PLAN_CACHE_SECONDS. Holds ids, times and durations,
    nothing that names a person. Thread-safe (the web server's pool threads share it)."""

    def __init__(self) -> None:
        self._plans: OrderedDict[int, SessionPlan] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_pk: int, user_id: int | None) -> SessionPlan | None:
        with self._lock:
            plan = self._plans.get(session_pk)
            if plan is None:
                return None
            if plan.user_id != user_id or time.monotonic() - plan.read_at > conf.PLAN_CACHE_SECONDS:
                del self._plans[session_pk]
                return None
            self._plans.move_to_end(session_pk)
            return plan

    def put(self, plan: SessionPlan) -> None:
        limit = conf.PLAN_CACHE_SESSIONS
        if limit <= 0 or plan.status != SessionStatus.ACTIVE:
            return
        with self._lock:
            self._plans[plan.session_pk] = plan
            self._plans.move_to_end(plan.session_pk)
            while len(self._plans) > limit:
                self._plans.popitem(last=False)

    def forget(self, session_pk: int) -> None:
        with self._lock:
            self._plans.pop(session_pk, None)

    def clear(self) -> None:
        with self._lock:
            self._plans.clear()


PLANS = PlanCache()


_INSERT_COLUMNS = ("session", "event_id", "kind", "track", "position", "seconds_played", "occurred_at", "received_at", "payload")


@functools.cache
def _insert_fields() -> tuple:
    return tuple(PlaybackEvent._meta.get_field(name) for name in _INSERT_COLUMNS)


@functools.cache
def _insert_statement(vendor: str, n_rows: int, guarded: bool) -> PreparedStatement:
    """The INSERT for n_rows events, written once per shape (building it cost as much as running
    it) and prepared once per connection on PostgreSQL (at most 2 x MAX_BATCH shapes)."""
    kind = "guarded" if guarded else "plain"
    return PreparedStatement(f"attune_playbackevent_insert_{kind}_{n_rows}_{vendor}", _insert_sql(vendor, n_rows, guarded))


def _insert_sql(vendor: str, n_rows: int, guarded: bool) -> str:
    meta, s_meta = PlaybackEvent._meta, ListeningSession._meta
    fields = _insert_fields()
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in fields)
    conflict = (
        f"ON CONFLICT ({qn(meta.get_field('session').column)}, {qn(meta.get_field('event_id').column)}) DO NOTHING "
        f"RETURNING {qn(meta.pk.column)}, {qn(meta.get_field('event_id').column)}"
    )
    if not guarded:
        row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
        return f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES {', '.join([row_sql] * n_rows)} {conflict}"  # noqa: S608 (names from the model)
    # PostgreSQL types a VALUES list from its literals, so each placeholder says its type.
    cast = vendor == "postgresql"
    row_sql = "(" + ", ".join(f"CAST(%s AS {f.db_type(connection)})" if cast else "%s" for f in fields) + ")"
    return (
        f"INSERT INTO {qn(meta.db_table)} ({columns}) "  # noqa: S608 (names from the model; values are parameters)
        f"SELECT * FROM (VALUES {', '.join([row_sql] * n_rows)}) AS v "
        f"WHERE EXISTS (SELECT 1 FROM {qn(s_meta.db_table)} s WHERE s.{qn(s_meta.pk.column)} = %s "
        f"AND s.{qn(s_meta.get_field('user').column)} = %s AND s.{qn('status')} = %s AND s.{qn('replan_count')} = %s) "
        f"{conflict}"
    )


def insert_events(
    plan: SessionPlan, events: Sequence[PlaybackEvent], *, guarded: bool
) -> dict[uuid.UUID, PlaybackEvent]:
    """INSERT the (unsaved) events in one statement, skipping ids the session already has;
    returns the rows it created (by event id), with their ids set. One statement: atomic on its
    own, no transaction needed.

    guarded: store only while the session is still this owner's, active and at the plan's
    replan_count (checked by the same statement); otherwise nothing is stored."""
    if not events:
        return {}
    fields = _insert_fields()
    params = [f.get_db_prep_save(getattr(row, f.attname), connection) for row in events for f in fields]
    statement = _insert_statement(connection.vendor, len(events), guarded)
    if guarded:
        params += [plan.session_pk, plan.user_id, SessionStatus.ACTIVE.value, plan.replan_count]
    with connection.cursor() as cursor:
        statement.execute(cursor, params)
        returned = cursor.fetchall()
    by_id = {row.event_id: row for row in events}
    created: dict[uuid.UUID, PlaybackEvent] = {}
    for pk, event_id in returned:
        row = by_id[event_id if isinstance(event_id, uuid.UUID) else uuid.UUID(str(event_id))]
        row.pk = pk
        row._state.adding = False
        created[row.event_id] = row
    return created
