"""Playlists for listening sessions: built by the recommender's playlist service (see
`_playlist_build`) and written as the session's queue."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from recommender.engine.types import Constraints, EngineError, State
from recommender.models import Playlist
from recommender.services.playlists import playlist_create
from studies.listening.models import (
    ListeningSession,
    PlannedTrack,
)

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
    try:
        playlist = playlist_create(
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
