"""Request validation, the table of strategies and build_playlist, the engine's one entry point."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .clusters import run_cluster
from .context import DEFAULT_TRACKS, SAME_STATE_TOLERANCE, Context
from .gan import run_gan
from .index import CatalogIndex
from .personal import run_personal
from .strategies import run_interpolation, run_iso, run_mapping, run_random, run_seed_track
from .types import (
    MAX_MINUTES,
    MAX_TRACKS,
    STRATEGIES,
    EngineError,
    ListenerProfile,
    Playlist,
    PlaylistRequest,
    _check_state,
)

# Every strategy by the name a request gives (types.STRATEGIES lists the same names).
STRATEGY_RUNNERS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "iso": run_iso,
    "interpolation": run_interpolation,
    "mapping": run_mapping,
    "seed_track": run_seed_track,
    "random": run_random,
    "cluster": run_cluster,
    "personal": run_personal,
    "gan": run_gan,
}
if set(STRATEGY_RUNNERS) != set(STRATEGIES):
    raise ImportError(f"strategies without a runner: {sorted(set(STRATEGIES) ^ set(STRATEGY_RUNNERS))}")


def _resolve_length(request: PlaylistRequest, index: CatalogIndex, eligible: np.ndarray, default_minutes: float | None
) -> tuple[int, list[str]]:
    notes: list[str] = []
    if request.n_tracks is not None and request.minutes is not None:
        raise EngineError("Give the length as a number of tracks or as minutes, not both")
    if request.n_tracks is not None:
        if isinstance(request.n_tracks, bool) or not isinstance(request.n_tracks, int | np.integer):
            raise EngineError("n_tracks must be a whole number")
        n = int(request.n_tracks)
        if n < 1 or n > MAX_TRACKS:
            raise EngineError(f"n_tracks must be between 1 and {MAX_TRACKS}")
    else:
        minutes = request.minutes if request.minutes is not None else default_minutes
        if minutes is None:
            n = DEFAULT_TRACKS
        else:
            try:
                m = float(minutes)
            except (TypeError, ValueError):
                raise EngineError("minutes must be a number") from None
            if not math.isfinite(m) or m <= 0 or m > MAX_MINUTES:
                raise EngineError(f"minutes must be a number in (0, {MAX_MINUTES:g}]")
            mean_s = float(index.durations_s[eligible].mean())
            n = max(1, min(MAX_TRACKS, int(round(m * 60.0 / mean_s))))
            if request.minutes is None:
                notes.append(f"No length given: {m:g} minutes (about {n} tracks)")
    available = int(eligible.sum())
    if n > available:
        notes.append(f"Asked for {n} tracks but only {available} are eligible; the playlist has what exists")
        n = available
    return n, notes


def _validate(request: PlaylistRequest) -> None:
    if not isinstance(request, PlaylistRequest):
        raise EngineError("build_playlist needs a PlaylistRequest")
    if request.strategy not in STRATEGIES:
        raise EngineError(f"Unknown strategy {request.strategy!r}; expected one of {', '.join(STRATEGIES)}")
    _check_state(request.start, "start")
    if request.target is not None:
        _check_state(request.target, "target")
        if np.linalg.norm(request.start.to_va() - request.target.to_va()) < SAME_STATE_TOLERANCE:
            raise EngineError("The start and target states are the same: choose a different target mood")
    if isinstance(request.seed, bool) or not isinstance(request.seed, int | np.integer):
        raise EngineError("seed must be a whole number")
    if not isinstance(request.params, Mapping):
        raise EngineError("params must be a mapping")


def build_playlist(
    request: PlaylistRequest,
    index: CatalogIndex,
    profile: ListenerProfile | None = None,
    models: Mapping[str, Any] | None = None,
) -> Playlist:
    """Build one playlist. Same request (including seed), same index: same playlist."""
    _validate(request)
    if not isinstance(index, CatalogIndex):
        raise EngineError("build_playlist needs a CatalogIndex")
    if profile is not None:
        profile = profile.validated()
    extra = tuple(profile.disliked_ids) if profile is not None else ()
    eligible, notes = index.eligible(request.constraints, extra_excluded=extra)
    if extra:
        notes.append(f"{len(extra)} track(s) the listener disliked are left out")
    default_minutes = 60.0 if request.strategy == "cluster" else None
    n, length_notes = _resolve_length(request, index, eligible, default_minutes)
    notes.extend(length_notes)
    run = STRATEGY_RUNNERS[request.strategy]
    cap_s = None if request.constraints.max_minutes is None else float(request.constraints.max_minutes) * 60.0

    n_asked = n
    for _attempt in range(6):
        ctx = Context(
            request, index, profile, models or {}, eligible, n, list(notes), np.random.default_rng(int(request.seed))
        )
        diagnostics = run(ctx) or {}
        total = float(index.durations_s[index.positions_of([s.track_id for s in ctx.steps])].sum())
        if cap_s is None or total <= cap_s or len(ctx.steps) <= 1:
            break
        n = max(1, min(len(ctx.steps) - 1, int(math.floor(len(ctx.steps) * cap_s / total))))
    steps = ctx.steps
    if cap_s is not None:
        durs = list(index.durations_s[index.positions_of([s.track_id for s in steps])])
        while len(steps) > 1 and sum(durs) > cap_s:
            steps = steps[:-1]
            durs = durs[:-1]
        if n < n_asked or len(steps) < len(ctx.steps):
            ctx.notes.append(
                f"Shortened to {len(steps)} tracks to stay within {request.constraints.max_minutes:g} minutes"
            )
    total_s = float(sum(index.durations_s[index.positions_of([s.track_id for s in steps])])) if steps else 0.0
    diagnostics = dict(diagnostics)
    diagnostics.setdefault("eligible_tracks", int(eligible.sum()))
    diagnostics["total_minutes"] = round(total_s / 60.0, 3)
    return Playlist(strategy=request.strategy, steps=list(steps), notes=ctx.notes, diagnostics=diagnostics)

