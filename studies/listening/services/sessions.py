"""The session lifecycle: start (chosen or assigned playlist), completion, abandon, and
abandoning stale sessions."""

from __future__ import annotations

import math
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from emotion import vocab
from recommender.engine.strategies import therapeutic_target
from recommender.engine.types import State
from studies.listening import conf, hooks
from studies.listening.models import (
    ListeningSession,
    SessionMode,
    SessionStatus,
    TargetSource,
)
from studies.listening.mood import MoodInput
from studies.listening.services.common import SessionClosed, _mood, _own_session
from studies.listening.services.playlists import PlannedStep, _playlist_build, _queue_write

# --- start ----------------------------------------------------------------------------------


def _check_length(length_tracks, length_minutes) -> tuple[int | None, float | None]:
    if length_tracks is not None and length_minutes is not None:
        raise ValidationError({"length": "Give the length in tracks or in minutes, not both."})
    if length_tracks is None and length_minutes is None:
        return conf.DEFAULT_TRACKS, None
    if length_tracks is not None:
        if isinstance(length_tracks, bool) or not isinstance(length_tracks, int):
            raise ValidationError({"length_tracks": "The number of tracks is a whole number."})
        if not 1 <= length_tracks <= conf.MAX_TRACKS:
            raise ValidationError({"length_tracks": f"Choose between 1 and {conf.MAX_TRACKS} tracks."})
        return length_tracks, None
    if isinstance(length_minutes, bool):
        raise ValidationError({"length_minutes": "The length in minutes is a number."})
    try:
        minutes = float(length_minutes)
    except (TypeError, ValueError):
        raise ValidationError({"length_minutes": "The length in minutes is a number."}) from None
    if not math.isfinite(minutes) or not 1.0 <= minutes <= conf.MAX_MINUTES:
        raise ValidationError({"length_minutes": f"Choose between 1 and {conf.MAX_MINUTES:g} minutes."})
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
) -> ListeningSession:
    """Start a session: the target is the desired mood, or with none the mapping strategy's
    therapeutic target; a registered strategy chooser (an experiment) decides the strategy
    when it applies, else the person's choice (or the default); the playlist comes from the
    recommender. All in one transaction with the chooser's `on_session_started`.
    (A playlist someone else chose is played through session_start_on_playlist.)"""
    if user is None or not getattr(user, "is_authenticated", False):
        raise ValidationError("Log in to start a listening session.")
    current = _mood(current, "current")
    desired = _mood(desired, "desired") if desired is not None else None
    n_tracks, minutes = _check_length(length_tracks, length_minutes)
    mode = mode or getattr(user, "mode", SessionMode.PERSONAL)
    if mode not in SessionMode.values:
        raise ValidationError({"mode": f"Mode is one of {', '.join(SessionMode.values)}."})
    if strategy is not None and strategy not in conf.STRATEGIES:
        raise ValidationError({"strategy": f"Choose one of: {', '.join(conf.STRATEGIES)}."})

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
            chosen, params, assignment_ref = strategy or conf.DEFAULT_STRATEGY, {}, None
        built = _playlist_build(
            user=user,
            strategy=chosen,
            start=_state(current),
            target=_state(target),
            n_tracks=n_tracks,
            minutes=minutes,
            params=params,
            title="",  # shown in the reader's language by recommender.explain.playlist_title
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


def session_start_on_playlist(
    *, user, current: MoodInput, playlist, target: MoodInput | None, target_gems: list[float] | None, strategy: str
) -> ListeningSession:
    """A therapy-mode session that plays a playlist as it is (therapy.assignments: a playlist
    a therapist assigned): `target` (else the mapping target for the current mood), the
    playlist's tracks in order. Experiments never claim such sessions."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise ValidationError("Log in to start a listening session.")
    current = _mood(current, "current")
    now = timezone.now()
    with transaction.atomic():
        if target is not None:
            target_gems = target_gems or target.gems_distribution()
            target_source = TargetSource.STATED
        else:
            target, _why = mapping_target(current)
            target_gems, target_source = target.gems_distribution(), TargetSource.MAPPING
        items = list(playlist.items.order_by("position"))
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
            strategy=strategy,
            strategy_params={},
            length_tracks=len(items),
            length_minutes=None,
            playlist=playlist,
            mode=SessionMode.THERAPY,
            assignment_ref=None,  # experiments' field: no experiment claims this session
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
    return session


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
        hooks.session_completed(session)
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


def sessions_abandon_stale(*, hours: float | None = None) -> int:
    """Active sessions with no event and no start for `hours` become abandoned. Returns how many."""
    from django.db.models import Max
    from django.db.models.functions import Coalesce, Greatest

    limit = timezone.now() - timedelta(hours=hours if hours is not None else conf.STALE_HOURS)
    stale = (
        ListeningSession.objects.filter(status=SessionStatus.ACTIVE)
        .annotate(last=Greatest("started_at", Coalesce(Max("events__received_at"), "started_at")))
        .filter(last__lt=limit)
        .values_list("pk", flat=True)
    )
    return ListeningSession.objects.filter(pk__in=list(stale), status=SessionStatus.ACTIVE).update(
        status=SessionStatus.ABANDONED, completed_at=timezone.now()
    )
