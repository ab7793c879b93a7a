"""The live re-plan: re-plan the rest of the queue from the webcam trace after a finished track."""

from __future__ import annotations

import uuid

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from recommender.engine.types import State
from studies.listening import conf
from studies.listening.models import (
    EmotionTraceSecond,
    EventKind,
    ListeningSession,
    PlannedTrack,
    PlaybackEvent,
    SessionStatus,
)
from studies.listening.mood import ReplanDecision, replan_decision
from studies.listening.services.playlists import _playlist_build, _queue_write

# --- live re-plan ---------------------------------------------------------------------------


def _trace_window(session: ListeningSession, *, first: bool, after_t: int = 0) -> np.ndarray:
    """The first or the latest window of per-second webcam readings with a face, from `after_t`."""
    qs = EmotionTraceSecond.objects.filter(session=session, valence__isnull=False, arousal__isnull=False, t__gte=after_t)
    qs = qs.order_by("t" if first else "-t").values_list("valence", "arousal")
    return np.asarray(list(qs[: conf.REPLAN_WINDOW_S]), dtype=np.float64).reshape(-1, 2)


def session_replan_check(*, session: ListeningSession, finished_position: int) -> ReplanDecision | None:
    """After a finished track: with the webcam trace on, re-plan the rest of the queue if the
    stable emotion has not moved toward the target after the configured number of tracks, or
    moved away (studies.listening.mood.replan_decision). Returns the decision when it re-planned."""
    if session.replan_count >= conf.MAX_REPLANS or not EmotionTraceSecond.objects.filter(session=session).exists():
        return None  # no webcam trace (the usual case): nothing to decide, no lock taken
    with transaction.atomic():
        session = ListeningSession.objects.select_for_update().get(pk=session.pk)
        if session.status != SessionStatus.ACTIVE or session.replan_count >= conf.MAX_REPLANS:
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
            after_tracks=conf.REPLAN_AFTER_TRACKS,
            min_progress=conf.REPLAN_MIN_PROGRESS,
            away_margin=conf.REPLAN_AWAY_MARGIN,
            min_seconds=conf.REPLAN_MIN_SECONDS,
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
