"""Writes on listening sessions: start, playback events (idempotent on the client's event id),
the live re-plan from the webcam trace, completion, the per-second trace, and erasure.

Playlists come from the recommender's own playlist service (see `_playlist_build`).
"""

from __future__ import annotations

import json
import math
import secrets
import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.services import has_consent
from emotion import vocab
from recommender.engine import Constraints, EngineError, State
from recommender.engine.strategies import therapeutic_target
from recommender.models import Playlist
from studies.listening import conf, hooks
from studies.listening.models import (
    EmotionTraceSecond,
    EventKind,
    ListeningSession,
    PlannedTrack,
    PlaybackEvent,
    SessionMode,
    SessionStatus,
    TargetSource,
)
from studies.listening.mood import MoodError, MoodInput, ReplanDecision, replan_decision

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


# --- playlists ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedStep:
    track_id: int
    waypoint_va: tuple[float, float] | None
    reason: str


@dataclass(frozen=True)
class BuiltPlaylist:
    playlist: Playlist
    steps: list[PlannedStep]
    notes: list[str] = field(default_factory=list)


def _playlist_build(
    *,
    user,
    strategy: str,
    start: State,
    target: State | None,
    n_tracks: int | None,
    minutes: float | None,
    params: dict[str, Any],
    exclude_ids: Sequence[int] = (),
    title: str = "",
) -> BuiltPlaylist:
    """Ask the recommender's playlist service for a saved playlist; EngineError becomes a
    ValidationError with the engine's message."""
    from recommender import services as recommender_services

    try:
        playlist = recommender_services.playlist_create(
            owner=user,
            strategy=strategy,
            start=start,
            target=target,
            n_tracks=n_tracks,
            minutes=minutes,
            constraints=Constraints(exclude_ids=frozenset(int(t) for t in exclude_ids)),
            seed=secrets.randbelow(2**31),
            params=params,
            title=title,
        )
    except EngineError as exc:
        raise ValidationError({"strategy": str(exc)}) from None
    items = list(playlist.items.order_by("position"))
    if not items:
        raise ValidationError({"length": "The catalog has no track that fits this session."})
    steps = [
        PlannedStep(
            track_id=item.track_id,
            waypoint_va=(item.waypoint_valence, item.waypoint_arousal) if item.waypoint_valence is not None else None,
            reason=item.reason,
        )
        for item in items
    ]
    return BuiltPlaylist(playlist=playlist, steps=steps, notes=list(playlist.notes or []))


# --- start ----------------------------------------------------------------------------------


def _check_length(length_tracks, length_minutes) -> tuple[int | None, float | None]:
    if length_tracks is not None and length_minutes is not None:
        raise ValidationError({"length": "Give the length in tracks or in minutes, not both."})
    if length_tracks is None and length_minutes is None:
        return conf.default_tracks(), None
    if length_tracks is not None:
        if isinstance(length_tracks, bool) or not isinstance(length_tracks, int):
            raise ValidationError({"length_tracks": "The number of tracks is a whole number."})
        if not 1 <= length_tracks <= conf.max_tracks():
            raise ValidationError({"length_tracks": f"Choose between 1 and {conf.max_tracks()} tracks."})
        return length_tracks, None
    if isinstance(length_minutes, bool):
        raise ValidationError({"length_minutes": "The length in minutes is a number."})
    try:
        minutes = float(length_minutes)
    except (TypeError, ValueError):
        raise ValidationError({"length_minutes": "The length in minutes is a number."}) from None
    if not math.isfinite(minutes) or not 1.0 <= minutes <= conf.max_minutes():
        raise ValidationError({"length_minutes": f"Choose between 1 and {conf.max_minutes():g} minutes."})
    return None, minutes


def mapping_target(current: MoodInput) -> tuple[MoodInput, str]:
    """The `mapping` strategy's therapeutic target for a current mood (design 002's table in
    recommender.engine.strategies), as a GEMS mood, with the reason."""
    start = State.from_fer(current.fer) if current.fer is not None else State.from_va(*current.va())
    _expression, emotion, why = therapeutic_target(start)
    return MoodInput(gems=tuple(vocab.one_hot_gems(emotion))), why


def _state(mood: MoodInput) -> State:
    if mood.gems is not None:
        return State.from_gems(mood.gems)
    if mood.fer is not None:
        return State.from_fer(mood.fer)
    return State.from_va(*mood.va())


def session_start(
    *,
    user,
    current: MoodInput,
    desired: MoodInput | None,
    length_tracks: int | None,
    length_minutes: float | None,
    strategy: str | None,
    mode: str | None = None,
    occurrence_id: int | None = None,
) -> ListeningSession:
    """Start a session: the target is the desired mood, or with none the mapping strategy's
    therapeutic target; a registered strategy chooser (an experiment) decides the strategy
    when it applies, else the person's choice (or the default); the playlist comes from the
    recommender. All in one transaction with the chooser's `on_session_started`.

    With `occurrence_id` (a playlist a therapist assigned, recommender.assignments) the session
    plays that assignment's playlist instead: therapy mode, the assignment's target (else the
    mapping target), the occurrence marked started. Experiments never claim such sessions."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise ValidationError("Log in to start a listening session.")
    current = _mood(current, "current")
    if occurrence_id is not None:
        return _session_start_assigned(user=user, current=current, occurrence_id=occurrence_id)
    desired = _mood(desired, "desired") if desired is not None else None
    n_tracks, minutes = _check_length(length_tracks, length_minutes)
    mode = mode or getattr(user, "mode", SessionMode.PERSONAL)
    if mode not in SessionMode.values:
        raise ValidationError({"mode": f"Mode is one of {', '.join(SessionMode.values)}."})
    if strategy is not None and strategy not in conf.strategies():
        raise ValidationError({"strategy": f"Choose one of: {', '.join(conf.strategies())}."})

    if desired is None:
        target, _why = mapping_target(current)
        target_source = TargetSource.MAPPING
    else:
        target, target_source = desired, TargetSource.STATED
    pre_va, target_va = current.va(), target.va()
    if math.hypot(pre_va[0] - target_va[0], pre_va[1] - target_va[1]) < 1e-3:
        if target_source == TargetSource.MAPPING:
            raise ValidationError({"desired": "Attune's suggestion for this mood is where you are already; say where you would like to be."})
        raise ValidationError({"desired": "The desired mood is where you are already; choose another or let Attune suggest."})

    now = timezone.now()
    with transaction.atomic():
        choice = hooks.choose_strategy(user=user, mode=mode)
        if choice is not None:
            chosen, params, assignment_ref = choice.strategy, dict(choice.params or {}), choice.assignment_ref or None
        else:
            chosen, params, assignment_ref = strategy or conf.default_strategy(), {}, None
        built = _playlist_build(
            user=user,
            strategy=chosen,
            start=_state(current),
            target=_state(target),
            n_tracks=n_tracks,
            minutes=minutes,
            params=params,
            title=f"Listening session {now:%Y-%m-%d %H:%M}",
        )
        session = ListeningSession(
            user=user,
            status=SessionStatus.ACTIVE,
            started_at=now,
            pre_valence=pre_va[0],
            pre_arousal=pre_va[1],
            pre_gems=current.stated_gems(),
            pre_source=current.source,
            target_valence=target_va[0],
            target_arousal=target_va[1],
            target_gems=target.gems_distribution(),
            target_source=target_source,
            strategy=chosen,
            strategy_params=params,
            length_tracks=n_tracks,
            length_minutes=minutes,
            playlist=built.playlist,
            mode=mode,
            assignment_ref=assignment_ref,
        )
        session.full_clean()
        session.save()
        _queue_write(session, built.steps, first_position=0, plan=0)
        if choice is not None and choice.on_session_started is not None:
            choice.on_session_started(session)
    return session


def _session_start_assigned(*, user, current: MoodInput, occurrence_id) -> ListeningSession:
    """A therapy-mode session on an assigned playlist (see session_start)."""
    from recommender import assignments

    try:
        occurrence_pk = int(occurrence_id)
    except (TypeError, ValueError, OverflowError):
        raise ValidationError({"assignment": "No such assignment."}) from None
    now = timezone.now()
    with transaction.atomic():
        occurrence = assignments.occurrence_playable_for(client=user, occurrence_id=occurrence_pk, lock=True)
        if occurrence is None:
            raise ValidationError({"assignment": "This assignment is not yours to play now, or it was already played."})
        assignment = occurrence.assignment
        if assignment.has_target:
            target = MoodInput(valence=assignment.target_valence, arousal=assignment.target_arousal)
            target_gems = assignment.target_gems or target.gems_distribution()
            target_source = TargetSource.STATED
        else:
            target, _why = mapping_target(current)
            target_gems, target_source = target.gems_distribution(), TargetSource.MAPPING
        items = list(assignment.playlist.items.order_by("position"))
        if not items:
            raise ValidationError({"assignment": "The assigned playlist is empty."})
        pre_va, target_va = current.va(), target.va()
        session = ListeningSession(
            user=user,
            status=SessionStatus.ACTIVE,
            started_at=now,
            pre_valence=pre_va[0],
            pre_arousal=pre_va[1],
            pre_gems=current.stated_gems(),
            pre_source=current.source,
            target_valence=target_va[0],
            target_arousal=target_va[1],
            target_gems=target_gems,
            target_source=target_source,
            strategy=assignment.strategy or assignment.playlist.strategy,
            strategy_params={},
            length_tracks=len(items),
            length_minutes=None,
            playlist=assignment.playlist,
            mode=SessionMode.THERAPY,
            assignment_ref=None,  # experiments' field; the occurrence records this session instead
        )
        session.full_clean()
        session.save()
        steps = [
            PlannedStep(
                track_id=item.track_id,
                waypoint_va=(item.waypoint_valence, item.waypoint_arousal) if item.waypoint_valence is not None else None,
                reason=item.reason,
            )
            for item in items
        ]
        _queue_write(session, steps, first_position=0, plan=0)
        assignments.occurrence_start(client=user, occurrence_id=occurrence.pk, session_id=session.pk)
    return session


def _queue_write(session: ListeningSession, steps: Sequence[PlannedStep], *, first_position: int, plan: int) -> None:
    PlannedTrack.objects.bulk_create(
        [
            PlannedTrack(
                session=session,
                position=first_position + i,
                track_id=step.track_id,
                waypoint_valence=step.waypoint_va[0] if step.waypoint_va else None,
                waypoint_arousal=step.waypoint_va[1] if step.waypoint_va else None,
                reason=step.reason[:2000],
                plan=plan,
            )
            for i, step in enumerate(steps)
        ]
    )


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


# --- live re-plan ---------------------------------------------------------------------------


def _trace_window(session: ListeningSession, *, first: bool, after_t: int = 0) -> np.ndarray:
    """The first or the latest window of per-second webcam readings with a face, from `after_t`."""
    qs = EmotionTraceSecond.objects.filter(session=session, valence__isnull=False, arousal__isnull=False, t__gte=after_t)
    qs = qs.order_by("t" if first else "-t").values_list("valence", "arousal")
    return np.asarray(list(qs[: conf.replan_window_s()]), dtype=np.float64).reshape(-1, 2)


def session_replan_check(*, session: ListeningSession, finished_position: int) -> ReplanDecision | None:
    """After a finished track: with the webcam trace on, re-plan the rest of the queue if the
    stable emotion has not moved toward the target after the configured number of tracks, or
    moved away (studies.listening.mood.replan_decision). Returns the decision when it re-planned."""
    if session.replan_count >= conf.max_replans() or not EmotionTraceSecond.objects.filter(session=session).exists():
        return None  # no webcam trace (the usual case): nothing to decide, no lock taken
    with transaction.atomic():
        session = ListeningSession.objects.select_for_update().get(pk=session.pk)
        if session.status != SessionStatus.ACTIVE or session.replan_count >= conf.max_replans():
            return None
        queue = list(PlannedTrack.objects.filter(session=session).order_by("position"))
        remaining = [q for q in queue if q.position > finished_position]
        if not remaining:
            return None
        plan_start, plan_t = 0, 0
        if session.replan_count:
            last = session.events.filter(kind=EventKind.REPLANNED).order_by("-occurred_at").first()
            if last is not None:
                plan_start = last.position or 0
                plan_t = max(0, int((last.occurred_at - session.started_at).total_seconds()))
        tracks_since = finished_position + 1 - plan_start
        then = _trace_window(session, first=True, after_t=plan_t)
        now = _trace_window(session, first=False, after_t=plan_t)
        decision = replan_decision(
            then_va=then,
            now_va=now,
            target_va=(session.target_valence, session.target_arousal),
            tracks_since_plan=tracks_since,
            after_tracks=conf.replan_after_tracks(),
            min_progress=conf.replan_min_progress(),
            away_margin=conf.replan_away_margin(),
            min_seconds=conf.replan_min_seconds(),
        )
        if not decision.replan:
            return None
        current = State.from_va(*decision.current_va)
        target = State.from_va(*decision.new_target_va)
        played = {q.track_id for q in queue if q.position <= finished_position}
        try:
            built = _playlist_build(
                user=session.user,
                strategy=session.strategy,
                start=current,
                target=target,
                n_tracks=len(remaining),
                minutes=None,
                params=dict(session.strategy_params or {}),
                exclude_ids=played,
                title=f"Re-plan {session.replan_count + 1} of session {session.pk}",
            )
        except ValidationError:
            return None  # the catalog cannot serve a re-plan: keep the current queue
        old_ids = [q.track_id for q in remaining]
        PlannedTrack.objects.filter(session=session, position__gt=finished_position).delete()
        session.replan_count += 1
        _queue_write(session, built.steps, first_position=finished_position + 1, plan=session.replan_count)
        session.save(update_fields=["replan_count"])
        PlaybackEvent.objects.create(
            session=session,
            event_id=uuid.uuid4(),
            kind=EventKind.REPLANNED,
            position=finished_position + 1,
            occurred_at=timezone.now(),
            payload={
                "reason": decision.reason,
                "mode": decision.mode,
                "current_va": list(decision.current_va),
                "target_va": list(decision.new_target_va),
                "progress": decision.progress,
                "replaced_track_ids": old_ids,
                "new_track_ids": [s.track_id for s in built.steps],
                "playlist_id": built.playlist.pk,
            },
        )
    return decision


# --- completion -----------------------------------------------------------------------------


def session_complete(
    *, user, session_id, post: MoodInput, reflection_rating: int | None, reflection_text: str = ""
) -> ListeningSession:
    """Close the session with the post mood (the same instruments as at the start) and the
    reflection: a 1-5 rating and free text."""
    post = _mood(post, "post")
    if reflection_rating is not None and (
        isinstance(reflection_rating, bool) or not isinstance(reflection_rating, int) or not 1 <= reflection_rating <= 5
    ):
        raise ValidationError({"reflection_rating": "The rating is a whole number from 1 to 5."})
    text = reflection_text or ""
    if not isinstance(text, str) or len(text) > 4000:
        raise ValidationError({"reflection_text": "The reflection is text of at most 4000 characters."})
    with transaction.atomic():
        session = _own_session(user=user, session_id=session_id, lock=True)
        if session.status != SessionStatus.ACTIVE:
            raise SessionClosed(session)
        v, a = post.va()
        session.post_valence, session.post_arousal = v, a
        session.post_gems = post.stated_gems()
        session.reflection_rating = reflection_rating
        session.reflection_text = text.strip()
        session.status = SessionStatus.COMPLETED
        session.completed_at = timezone.now()
        session.full_clean()
        session.save(
            update_fields=[
                "post_valence", "post_arousal", "post_gems", "reflection_rating", "reflection_text", "status",
                "completed_at",
            ]
        )
        if session.mode == SessionMode.THERAPY:
            from recommender.assignments import occurrence_complete

            occurrence_complete(session_id=session.pk)
    return session


def session_abandon(*, user, session_id) -> ListeningSession:
    with transaction.atomic():
        session = _own_session(user=user, session_id=session_id, lock=True)
        if session.status != SessionStatus.ACTIVE:
            raise SessionClosed(session)
        session.status = SessionStatus.ABANDONED
        session.completed_at = timezone.now()
        session.save(update_fields=["status", "completed_at"])
    return session


# --- webcam trace ---------------------------------------------------------------------------


def session_from_trace_ref(session_ref: str) -> int | None:
    if not isinstance(session_ref, str) or not session_ref.startswith(TRACE_REF_PREFIX):
        return None
    rest = session_ref[len(TRACE_REF_PREFIX) :]
    return int(rest) if rest.isdigit() else None


def _probability(value) -> float | None:
    try:
        p = float(value)
    except (TypeError, ValueError):
        return None
    return p if math.isfinite(p) and 0.0 <= p <= 1.0 else None


def trace_second_store(*, user, session_ref: str, aggregate: dict[str, Any]) -> EmotionTraceSecond | None:
    """Store one per-second webcam aggregate on the user's own active session, only with the
    `emotion_trace` consent. Returns None (and stores nothing) otherwise. Frames never reach here."""
    session_id = session_from_trace_ref(session_ref)
    if session_id is None or not has_consent(user, "emotion_trace"):
        return None
    session = ListeningSession.objects.filter(pk=session_id, user_id=user.pk, status=SessionStatus.ACTIVE).first()
    if session is None or not isinstance(aggregate, dict):
        return None
    try:
        second = int(aggregate["second"])
    except (KeyError, TypeError, ValueError):
        return None
    t = second - int(session.started_at.timestamp())
    if t < 0:
        return None
    probs = aggregate.get("mean_probabilities") or {}
    values = {name: _probability(probs.get(name)) if isinstance(probs, dict) else None for name in vocab.FER}
    valence, arousal = _probability_va(aggregate.get("valence")), _probability_va(aggregate.get("arousal"))
    label = aggregate.get("stable_label")
    row = EmotionTraceSecond(
        session=session,
        t=t,
        second=second,
        frames=max(0, min(int(aggregate.get("frames") or 0), 10_000)),
        frames_with_face=max(0, min(int(aggregate.get("frames_with_face") or 0), 10_000)),
        valence=valence,
        arousal=arousal,
        stable_label=label if label in vocab.FER else "",
        **values,
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        return None  # that second is already stored
    return row


def _probability_va(value) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return float(np.clip(x, -1.0, 1.0)) if math.isfinite(x) else None


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


def sessions_abandon_stale(*, hours: float | None = None) -> int:
    """Active sessions with no event and no start for `hours` become abandoned. Returns how many."""
    from django.db.models import Max
    from django.db.models.functions import Coalesce, Greatest

    limit = timezone.now() - timedelta(hours=hours if hours is not None else conf.stale_hours())
    stale = (
        ListeningSession.objects.filter(status=SessionStatus.ACTIVE)
        .annotate(last=Greatest("started_at", Coalesce(Max("events__received_at"), "started_at")))
        .filter(last__lt=limit)
        .values_list("pk", flat=True)
    )
    return ListeningSession.objects.filter(pk__in=list(stale), status=SessionStatus.ACTIVE).update(
        status=SessionStatus.ABANDONED, completed_at=timezone.now()
    )
