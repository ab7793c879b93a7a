"""Reads on listening sessions, scoped by who asks, and the outcomes read model that
studies.experiments analyses (`session_outcomes`; its shape is a contract, keep it)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db.models import Count, Prefetch, Q, QuerySet

from recommender.models import PlaylistItem
from recommender.selectors import HistoryItem
from studies.listening.models import (
    EmotionTraceSecond,
    EventKind,
    ListeningSession,
    PlannedTrack,
    PlaybackEvent,
    SessionStatus,
)
from studies.listening.mood import va_distance

PLAYED_KINDS = (EventKind.STARTED, EventKind.PROGRESS, EventKind.COMPLETED, EventKind.SKIPPED)


@dataclass(frozen=True)
class SessionOutcome:
    session_id: int
    participant_code: str
    assignment_ref: str | None
    created_at: datetime
    completed: bool
    tracks_played: int
    skips: int
    skip_rate: float | None
    pre_distance: float | None
    post_distance: float | None
    shift_toward_target: float | None
    valence_change: float | None
    reflection_rating: int | None
    pre_valence: float | None
    pre_arousal: float | None


def _with_play_counts(qs: QuerySet[ListeningSession]) -> QuerySet[ListeningSession]:
    """tracks_played: distinct playlist positions with any play event (started, progress,
    completed or skipped); skips: distinct positions with a skipped event."""
    return qs.annotate(
        n_played=Count("events__position", filter=Q(events__kind__in=PLAYED_KINDS), distinct=True),
        n_skipped=Count("events__position", filter=Q(events__kind=EventKind.SKIPPED), distinct=True),
    )


def outcome_of(session: ListeningSession, *, tracks_played: int, skips: int) -> SessionOutcome:
    pre = (session.pre_valence, session.pre_arousal)
    target = (session.target_valence, session.target_arousal)
    post = (session.post_valence, session.post_arousal) if session.post_valence is not None else None
    pre_d = va_distance(pre, target)
    post_d = va_distance(post, target)
    return SessionOutcome(
        session_id=session.pk,
        participant_code=session.user.participant_code,
        assignment_ref=session.assignment_ref,
        created_at=session.created_at,
        completed=session.status == SessionStatus.COMPLETED,
        tracks_played=int(tracks_played),
        skips=int(skips),
        skip_rate=(skips / tracks_played) if tracks_played else None,
        pre_distance=pre_d,
        post_distance=post_d,
        shift_toward_target=(pre_d - post_d) if pre_d is not None and post_d is not None else None,
        valence_change=(session.post_valence - session.pre_valence)
        if session.post_valence is not None and session.pre_valence is not None
        else None,
        reflection_rating=session.reflection_rating,
        pre_valence=session.pre_valence,
        pre_arousal=session.pre_arousal,
    )


def session_outcomes(*, session_ids: Iterable[int] | None = None, since: datetime | None = None) -> list[SessionOutcome]:
    """One outcome per session (oldest first), for analysis. Keyed by participant code only."""
    qs = ListeningSession.objects.select_related("user")
    if session_ids is not None:
        qs = qs.filter(pk__in=list(session_ids))
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    qs = _with_play_counts(qs).order_by("created_at", "id")
    return [outcome_of(s, tracks_played=s.n_played, skips=s.n_skipped) for s in qs]


def sessions_with_outcomes(*, user) -> list[tuple[ListeningSession, SessionOutcome]]:
    """Every session of this person with its outcome, oldest first. No access check: callers
    decide who may read them (therapy.selectors.client_outcomes checks link and consent)."""
    qs = _with_play_counts(ListeningSession.objects.filter(user=user).select_related("user")).order_by("created_at", "id")
    return [(s, outcome_of(s, tracks_played=s.n_played, skips=s.n_skipped)) for s in qs]


# --- the person's own sessions -----------------------------------------------------------


def sessions_of(*, viewer) -> QuerySet[ListeningSession]:
    """The viewer's own sessions (nobody else's: therapists and researchers read elsewhere)."""
    if viewer is None or not viewer.is_authenticated:
        return ListeningSession.objects.none()
    return ListeningSession.objects.filter(user=viewer)


def session_get(*, viewer, session_id) -> ListeningSession | None:
    """The viewer's own session with its playlist items, or None (also for someone else's)."""
    try:
        pk = int(session_id)
    except (TypeError, ValueError):
        return None
    items = Prefetch("playlist__items", queryset=PlaylistItem.objects.select_related("track").order_by("position"))
    return sessions_of(viewer=viewer).select_related("playlist").prefetch_related(items).filter(pk=pk).first()


@dataclass(frozen=True)
class SessionSummary:
    session: ListeningSession
    outcome: SessionOutcome
    trace_va: np.ndarray  # (k, 2) per-second webcam valence/arousal, in time order (may be empty)
    replans: int


def session_history(*, viewer, limit: int = 20) -> list[SessionSummary]:
    """The viewer's latest sessions with their outcome and webcam trace, newest first."""
    qs = _with_play_counts(sessions_of(viewer=viewer).select_related("user", "playlist")).order_by("-created_at", "-id")
    sessions = list(qs[:limit])
    traces: dict[int, list[tuple[float, float]]] = {s.pk: [] for s in sessions}
    rows = (
        EmotionTraceSecond.objects.filter(session__in=sessions, valence__isnull=False, arousal__isnull=False)
        .order_by("session_id", "t")
        .values_list("session_id", "valence", "arousal")
    )
    for session_id, v, a in rows:
        traces[session_id].append((v, a))
    return [
        SessionSummary(
            session=s,
            outcome=outcome_of(s, tracks_played=s.n_played, skips=s.n_skipped),
            trace_va=np.asarray(traces[s.pk], dtype=np.float64).reshape(-1, 2),
            replans=s.replan_count,
        )
        for s in sessions
    ]


def session_events(*, viewer, session_id) -> QuerySet[PlaybackEvent]:
    return PlaybackEvent.objects.filter(session__user=viewer, session_id=session_id).order_by("occurred_at", "id")


# --- data export (accounts.privacy) -------------------------------------------------------


def _iso(dt) -> str | None:
    return dt.isoformat() if dt else None


def sessions_export(user) -> list[dict]:
    fields = (
        "id", "status", "created_at", "started_at", "completed_at", "pre_valence", "pre_arousal", "pre_gems",
        "pre_source", "target_valence", "target_arousal", "target_gems", "target_source", "post_valence",
        "post_arousal", "post_gems", "strategy", "strategy_params", "length_tracks", "length_minutes", "playlist_id",
        "reflection_rating", "reflection_text", "mode", "assignment_ref", "replan_count",
    )
    rows = []
    for row in ListeningSession.objects.filter(user=user).order_by("created_at").values(*fields):
        for key in ("created_at", "started_at", "completed_at"):
            row[key] = _iso(row[key])
        rows.append(row)
    return rows


def events_export(user) -> list[dict]:
    qs = PlaybackEvent.objects.filter(session__user=user).order_by("session_id", "occurred_at", "id")
    return [
        {
            "session_id": e["session_id"], "event_id": str(e["event_id"]), "kind": e["kind"],
            "track_id": e["track_id"], "position": e["position"], "seconds_played": e["seconds_played"],
            "occurred_at": _iso(e["occurred_at"]), "received_at": _iso(e["received_at"]), "payload": e["payload"],
        }
        for e in qs.values(
            "session_id", "event_id", "kind", "track_id", "position", "seconds_played", "occurred_at", "received_at",
            "payload",
        )
    ]


def trace_export(user) -> list[dict]:
    fields = ("session_id", "t", "second", "frames", "frames_with_face", "angry", "disgust", "fear", "happy", "sad",
              "surprise", "neutral", "valence", "arousal", "stable_label")
    return list(EmotionTraceSecond.objects.filter(session__user=user).order_by("session_id", "t").values(*fields))


def session_queue(*, session: ListeningSession):
    """The session's current queue with its tracks, in position order."""
    return PlannedTrack.objects.filter(session=session).select_related("track").order_by("position")


def planned_tracks_export(user) -> list[dict]:
    """Each session's queue as it was planned (and re-planned), for the person's data export."""
    qs = PlannedTrack.objects.filter(session__user=user).order_by("session_id", "position")
    return list(qs.values("session_id", "position", "track_id", "waypoint_valence", "waypoint_arousal", "reason", "plan"))


def reflections_export(user) -> list[dict]:
    qs = ListeningSession.objects.filter(user=user).exclude(reflection_text="").order_by("created_at")
    return [{"session_id": pk, "reflection_text": text} for pk, text in qs.values_list("id", "reflection_text")]


# --- the persona card's history (recommender.selectors.register_history_provider) -----------


def history_items(user) -> list:
    """The person's listening from playback events: one HistoryItem per played queue position
    (the most seconds heard there), sessions as sittings, oldest first."""
    from django.db.models import Max


    if user is None or not getattr(user, "is_authenticated", False):
        return []
    rows = (
        PlaybackEvent.objects.filter(session__user=user, kind__in=PLAYED_KINDS, track__isnull=False)
        .values("session_id", "position", "track_id")
        .annotate(seconds=Max("seconds_played"))
        .order_by("session_id", "position")
    )
    return [
        HistoryItem(track_id=int(r["track_id"]), seconds=float(r["seconds"] or 0.0), session_key=f"session-{r['session_id']}")
        for r in rows
    ]
