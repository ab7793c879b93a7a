"""Playlists: build one with the engine and save it; delete, privacy erasure and export."""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import ClientProfile
from recommender import conf, index_cache, selectors
from recommender.engine.core import build_playlist
from recommender.engine.quality import quality
from recommender.engine.types import STRATEGIES, Constraints, EngineError, PlaylistRequest
from recommender.models import Playlist, PlaylistItem, Track
from recommender.services.labels import catalog_version

# --- playlists ---------------------------------------------------------------------------

GAN_NOT_TRAINED = "The GAN model has not been trained yet: a researcher starts the ml_train_gan task first."


def _finite(value, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError({what: f"{what} must be a number."}) from None
    if not math.isfinite(number):
        raise ValidationError({what: f"{what} must be a finite number, not NaN or infinity."})
    return number


def playlist_create(
    *,
    owner,
    strategy: str,
    start,
    target=None,
    n_tracks: int | None = None,
    minutes: float | None = None,
    constraints=None,
    seed: int = 0,
    params: dict | None = None,
    seed_track_id: int | None = None,
    title: str = "",
) -> Playlist:
    """Build a playlist with the engine and save it for `owner`, all or nothing.

    `start` and `target` are engine `State`s (GEMS, valence/arousal or FER). Bad requests
    (unknown strategy, start equal to target, every track excluded, no GAN trained, ...) raise
    ValidationError with the engine's message and write nothing. A length longer than the
    eligible catalog is not an error: the playlist holds what exists and its notes say so.
    """

    if strategy not in STRATEGIES:
        raise ValidationError({"strategy": f"Unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}."})
    if n_tracks is None and minutes is None:
        raise ValidationError({"length": "Give the length as a number of tracks or of minutes."})
    if n_tracks is not None and not (1 <= int(n_tracks) <= conf.MAX_PLAYLIST_TRACKS):
        raise ValidationError({"n_tracks": f"A playlist has 1 to {conf.MAX_PLAYLIST_TRACKS} tracks."})
    if minutes is not None:
        minutes = _finite(minutes, "minutes")
        if not 0 < minutes <= conf.MAX_PLAYLIST_MINUTES:
            raise ValidationError({"minutes": f"A playlist lasts more than 0 and at most {conf.MAX_PLAYLIST_MINUTES:g} minutes."})
    if seed_track_id is not None and not Track.objects.filter(pk=seed_track_id).exists():
        raise ValidationError({"seed_track_id": "No track with that id in the catalog."})
    constraints = constraints_with_profile(owner=owner, constraints=constraints or Constraints())
    models = {}
    if strategy == "gan":
        gan = index_cache.get_gan()
        if gan is None:
            raise ValidationError({"strategy": GAN_NOT_TRAINED})
        models["gan"] = gan
    try:
        index = index_cache.get_index()
        request = PlaylistRequest(
            strategy=strategy,
            start=start,
            target=target,
            n_tracks=None if n_tracks is None else int(n_tracks),
            minutes=minutes,
            constraints=constraints,
            seed=int(seed),
            params=dict(params or {}),
            seed_track_id=seed_track_id,
        )
        result = build_playlist(request, index, profile=selectors.listener_profile(user=owner), models=models)
        report = quality(result, index) if len(result.steps) >= 2 else None
    except EngineError as exc:
        raise ValidationError({"detail": str(exc)}) from None
    if not result.steps:
        raise ValidationError({"detail": "No track fits this request; relax the constraints."})
    effective_target = target
    with transaction.atomic():
        playlist = Playlist(
            owner=owner,
            title=(title or "").strip()[:200],
            strategy=strategy,
            start_gems=[float(v) for v in start.gems],
            start_va=[float(start.valence), float(start.arousal)],
            target_gems=None if effective_target is None else [float(v) for v in effective_target.gems],
            target_va=None if effective_target is None else [float(effective_target.valence), float(effective_target.arousal)],
            requested_tracks=n_tracks,
            requested_minutes=minutes,
            constraints={
                "exclude_ids": sorted(int(i) for i in constraints.exclude_ids),
                "max_per_artist": constraints.max_per_artist,
                "allow_explicit": constraints.allow_explicit,
                "preferred_genres": list(constraints.preferred_genres),
                "disliked_genres": list(constraints.disliked_genres),
                "max_minutes": constraints.max_minutes,
            },
            params={k: v for k, v in dict(params or {}).items() if isinstance(v, str | int | float | bool)},
            seed=int(seed),
            notes=[str(n) for n in result.notes],
            diagnostics=_jsonable(result.diagnostics),
            quality={} if report is None else _jsonable(asdict(report)),
            catalog_version=catalog_version(),
        )
        playlist.full_clean()
        playlist.save()
        PlaylistItem.objects.bulk_create(
            [
                PlaylistItem(
                    playlist=playlist,
                    position=i,
                    track_id=int(step.track_id),
                    waypoint_valence=float(step.waypoint_va[0]),
                    waypoint_arousal=float(step.waypoint_va[1]),
                    waypoint_gems=None if step.waypoint_gems is None else [float(v) for v in step.waypoint_gems],
                    distance=float(step.distance),
                    reason=str(step.reason),
                )
                for i, step in enumerate(result.steps, start=1)
            ]
        )
    return playlist


def constraints_with_profile(*, owner, constraints):
    """Merge the listener's ClientProfile (issue 7) into a request's constraints.

    Disliked genres are the union; the profile's preferred genres apply when the request names
    none; the longest listening time is the smaller of the two. A profile can only narrow a
    request, never widen it.
    """
    from dataclasses import replace


    profile = ClientProfile.objects.filter(user_id=getattr(owner, "pk", None)).first()
    if profile is None:
        return constraints
    disliked = tuple(dict.fromkeys([*constraints.disliked_genres, *(str(g) for g in profile.disliked_genres or [])]))
    preferred = constraints.preferred_genres or tuple(str(g) for g in profile.preferred_genres or [])
    limits = [m for m in (constraints.max_minutes, profile.max_listening_minutes) if m]
    return replace(
        constraints,
        disliked_genres=disliked,
        preferred_genres=preferred,
        max_minutes=float(min(limits)) if limits else None,
    )


def _jsonable(value):
    """Engine diagnostics -> JSON: numpy scalars and arrays to numbers and lists, NaN to None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def playlist_delete(*, playlist: Playlist, by) -> None:
    if playlist.owner_id != getattr(by, "pk", None):
        raise PermissionDenied("Only the owner can delete a playlist.")
    playlist.delete()


def playlists_erase(*, user) -> int:
    """Privacy erasure: every playlist of this person (items go with them)."""
    deleted, _ = Playlist.objects.filter(owner=user).delete()
    return deleted


def playlist_titles_erase(*, user) -> int:
    """Privacy erasure whatever the research consent: a title is free text the person typed."""
    return Playlist.objects.filter(owner=user).exclude(title="").update(title="")


def playlists_export(*, user) -> list[dict]:
    """Privacy export: the person's playlists with their tracks and reasons."""
    out = []
    for playlist in Playlist.objects.filter(owner=user).prefetch_related("items__track").order_by("created_at"):
        out.append(
            {
                "id": playlist.pk,
                "title": playlist.title,
                "strategy": playlist.strategy,
                "created_at": playlist.created_at.isoformat(),
                "start_va": playlist.start_va,
                "target_va": playlist.target_va,
                "start_gems": playlist.start_gems,
                "target_gems": playlist.target_gems,
                "requested_tracks": playlist.requested_tracks,
                "requested_minutes": playlist.requested_minutes,
                "constraints": playlist.constraints,
                "notes": playlist.notes,
                "items": [
                    {
                        "position": item.position,
                        "track": {"id": item.track_id, "title": item.track.title, "artist": item.track.artist},
                        "waypoint": [item.waypoint_valence, item.waypoint_arousal],
                        "distance": item.distance,
                        "reason": item.reason,
                    }
                    for item in playlist.items.all()
                ],
            }
        )
    return out
