"""Reads on the catalog: the one label-resolution rule, playlists scoped by who asks.

Label resolution (the only place it is written): for each track the reader sees the label of
the best-ranked source present, in the order of `models.SOURCE_PRIORITY`:

    manual > survey > dataset > propagated > mer > prior

`manual` ranks first because a researcher writes one only to overrule a label known to be wrong.
A track with no label at all resolves to None (single) or to a row of NaN (bulk) with
source "" — callers decide what to do with unlabelled tracks (the index cache gives them the
catalog's mean label with confidence 0).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext, gettext_noop

from emotion.vocab import N_GEMS
from recommender import conf
from recommender.engine.types import ListenerProfile
from recommender.explain import TrackChoice, listener_reason, strategy_help, strategy_label
from recommender.models import SOURCE_PRIORITY, HistoryPlay, HistoryUpload, Playlist, PlaylistItem, Track, TrackLabel
from recommender.streaming_history import sittings

_RANK = {str(source): rank for rank, source in enumerate(SOURCE_PRIORITY)}


@dataclass(frozen=True)
class ResolvedLabel:
    track_id: int
    source: str
    gems: tuple[float, ...]
    valence: float
    arousal: float
    confidence: float
    rater_count: int


@dataclass(frozen=True)
class ResolvedLabels:
    """Bulk resolution, aligned with the `track_ids` asked for."""

    track_ids: np.ndarray  # (n,) int64
    gems: np.ndarray  # (n, 9), NaN rows where a track has no label
    va: np.ndarray  # (n, 2), NaN where unlabelled
    confidence: np.ndarray  # (n,), NaN where unlabelled
    sources: np.ndarray  # (n,) str, "" where unlabelled

    @property
    def labelled(self) -> np.ndarray:
        return self.sources != ""


def source_rank(source: str) -> int:
    """Lower is better; unknown sources rank last."""
    return _RANK.get(str(source), len(_RANK))


def _ranked_labels() -> QuerySet[TrackLabel]:
    rank = Case(
        *[When(source=str(s), then=Value(r)) for s, r in _RANK.items()],
        default=Value(len(_RANK)),
        output_field=IntegerField(),
    )
    return TrackLabel.objects.annotate(rank=rank)


def resolve_label(track: Track | int) -> ResolvedLabel | None:
    """The label a reader sees for one track, or None if it has none."""
    track_id = track if isinstance(track, int) else track.pk
    label = _ranked_labels().filter(track_id=track_id).order_by("rank").first()
    if label is None:
        return None
    return ResolvedLabel(
        track_id=track_id,
        source=label.source,
        gems=tuple(float(v) for v in label.gems),
        valence=label.valence,
        arousal=label.arousal,
        confidence=label.confidence,
        rater_count=label.rater_count,
    )


def resolve_labels(track_ids: Sequence[int] | np.ndarray | None = None) -> ResolvedLabels:
    """The same rule for many tracks at once: an (n, 9) array aligned with `track_ids`.

    With `track_ids=None` every track in the catalog is resolved, ordered by id.
    """
    if track_ids is None:
        ids = np.fromiter(Track.objects.order_by("id").values_list("id", flat=True), dtype=np.int64)
    else:
        ids = np.asarray(track_ids, dtype=np.int64).reshape(-1)
    n = len(ids)
    gems = np.full((n, N_GEMS), np.nan)
    va = np.full((n, 2), np.nan)
    confidence = np.full(n, np.nan)
    sources = np.full(n, "", dtype=object)
    if n == 0:
        return ResolvedLabels(ids, gems, va, confidence, sources.astype(str))
    position = {int(t): i for i, t in enumerate(ids)}
    best_rank = np.full(n, np.iinfo(np.int32).max)
    rows: Iterable[tuple[Any, ...]] = TrackLabel.objects.values_list(
        "track_id", "source", "gems", "valence", "arousal", "confidence"
    )
    if track_ids is not None and n <= 5000:
        rows = rows.filter(track_id__in=[int(t) for t in ids])
    for track_id, source, label_gems, valence, arousal, label_confidence in rows.iterator(chunk_size=5000):
        i = position.get(track_id)
        if i is None:
            continue
        r = source_rank(source)
        if r < best_rank[i]:
            best_rank[i] = r
            gems[i] = label_gems
            va[i] = (valence, arousal)
            confidence[i] = label_confidence
            sources[i] = source
    return ResolvedLabels(ids, gems, va, confidence, sources.astype(str))


def tracks_without_label() -> QuerySet[Track]:
    return Track.objects.filter(labels__isnull=True)


# --- playlists ---------------------------------------------------------------------------


def playlists_visible_to(*, viewer) -> QuerySet[Playlist]:
    """A person sees their own playlists only (therapist sharing goes through studies)."""
    if viewer is None or not viewer.is_authenticated:
        return Playlist.objects.none()
    return Playlist.objects.filter(owner=viewer)


def playlist_get(*, viewer, playlist_id: int) -> Playlist | None:
    """One of the viewer's playlists with its items and tracks, or None (callers answer 404)."""
    return (
        playlists_visible_to(viewer=viewer)
        .prefetch_related("items__track")
        .filter(pk=playlist_id)
        .first()
    )


# --- listener history and profile (filled in by apps above this one) ---------------------


@dataclass(frozen=True)
class HistoryItem:
    """One listening: a track and how many seconds of it were heard."""

    track_id: int
    seconds: float
    session_key: str  # items with the same key were one sitting (a session or a playlist)
    played_at: datetime | None = None  # known for imported streaming history


HistoryProvider = Callable[[Any], list[HistoryItem]]
ProfileProvider = Callable[[Any], Any]

# Filled by config/wiring.py: recommender cannot import the studies apps that know a person's
# played sessions (studies.listening) and own ratings (studies.surveys).
_history_provider: HistoryProvider | None = None
_profile_provider: ProfileProvider | None = None


def install_providers(*, history: HistoryProvider | None, profile: ProfileProvider | None) -> tuple[
        HistoryProvider | None, ProfileProvider | None]:
    """Set the played-sessions history provider and the fn(user) -> engine ListenerProfile | None
    provider. Returns the ones they replace."""
    global _history_provider, _profile_provider
    previous = (_history_provider, _profile_provider)
    _history_provider, _profile_provider = history, profile
    return previous


# A play shorter than this is not counted as listening (Spotify's own threshold for a stream).
MIN_IMPORTED_PLAY_MS = 30_000


def imported_history(*, user) -> list[HistoryItem]:
    """The person's imported streaming history as HistoryItems, oldest first; plays of at least
    30 s only; a sitting ends after 30 minutes without a play."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    rows = list(
        HistoryPlay.objects.filter(user=user, ms_played__gte=MIN_IMPORTED_PLAY_MS)
        .order_by("played_at", "id")
        .values_list("track_id", "ms_played", "played_at")
    )
    numbers = sittings([r[2] for r in rows])
    return [
        HistoryItem(track_id=t, seconds=ms / 1000.0, session_key=f"imported-{n}", played_at=when)
        for (t, ms, when), n in zip(rows, numbers, strict=True)
    ]


def history_summary(*, user) -> dict:
    """What the history page shows: counts of imported plays and tracks, the span, the uploads."""
    plays = HistoryPlay.objects.filter(user=user)
    span = plays.order_by("played_at").values_list("played_at", flat=True)
    return {
        "plays": plays.count(),
        "tracks": plays.values("track_id").distinct().count(),
        "first": span.first(),
        "last": plays.order_by("-played_at").values_list("played_at", flat=True).first(),
        "uploads": list(HistoryUpload.objects.filter(user=user).order_by("-created_at", "-id")[:10]),
    }


def listening_history(*, user) -> tuple[list[HistoryItem], str]:
    """(items, source): played tracks from registered providers (sessions here) and the person's
    imported streaming history; else the person's own playlists. source is "sessions",
    "imported", "sessions+imported" or "playlists"."""
    items: list[HistoryItem] = list(_history_provider(user)) if _history_provider is not None else []
    imported = imported_history(user=user)
    if items or imported:
        source = "+".join(name for name, part in (("sessions", items), ("imported", imported)) if part)
        return items + imported, source
    rows = (
        PlaylistItem.objects.filter(playlist__owner=user)
        .values_list("track_id", "track__duration_s", "playlist_id")
        .order_by("playlist_id", "position")
    )
    return [HistoryItem(t, float(d or 0.0), f"playlist-{p}") for t, d, p in rows], "playlists"


HISTORY_PROFILE_TRACKS = 500  # the most-played imported tracks that shape `cluster` and `personal`


def listener_profile(*, user):
    """The engine ListenerProfile of this person from registered providers, with their imported
    streaming history's most-played tracks as `history_ids`; None when there is neither."""
    profile = _profile_provider(user) if _profile_provider is not None else None
    history: tuple[int, ...] = ()
    if user is not None and getattr(user, "is_authenticated", False):
        history = tuple(
            HistoryPlay.objects.filter(user=user, ms_played__gte=MIN_IMPORTED_PLAY_MS)
            .values("track_id")
            .annotate(n=Count("id"))
            .order_by("-n", "track_id")
            .values_list("track_id", flat=True)[:HISTORY_PROFILE_TRACKS]
        )
    if not history:
        return profile
    if profile is None:
        return ListenerProfile(
            track_ids=np.zeros(0, dtype=np.int64), gems=np.zeros((0, N_GEMS)), history_ids=history, history_imported=True
        )
    return replace(profile, history_ids=tuple(dict.fromkeys((*profile.history_ids, *history))), history_imported=True)


# --- strategies as a person chooses them ---------------------------------------------------

GAN_NOT_READY = gettext_noop(
    "Not available yet: its generative model has not been trained on this catalog "
    "(a researcher trains it with manage.py train_playlist_gan)."
)


def strategies_not_ready() -> dict[str, str]:
    """Strategies that cannot build a playlist on this installation yet, each with the reason a
    person reads. Today only `gan`, until its model file exists."""
    return {} if conf.GAN_MODEL_PATH.exists() else {"gan": gettext(GAN_NOT_READY)}


@dataclass(frozen=True)
class StrategyOption:
    name: str
    label: str
    help: str
    not_ready: str  # "" when the strategy can be chosen


def strategy_options(names: Sequence[str]) -> list[StrategyOption]:
    """The strategies `names` as choices for a form: a listener's name, what it does, and why
    it cannot be chosen yet (a strategy that is not ready is shown disabled with its reason)."""

    blocked = strategies_not_ready()
    return [StrategyOption(n, strategy_label(n), strategy_help(n), blocked.get(n, "")) for n in names]


def listener_reasons(
    *,
    strategy: str,
    start_va: Sequence[float] | None,
    target_va: Sequence[float] | None,
    steps: Sequence[tuple[int, tuple[float, float] | None]],
) -> list[str]:
    """'Why this piece' for a listener, for each (track id, waypoint) of a playlist in order
    (the engine's technical reason stays stored beside it for researchers)."""

    labels = resolve_labels([track_id for track_id, _ in steps])
    start = None if start_va is None else (float(start_va[0]), float(start_va[1]))
    target = None if target_va is None else (float(target_va[0]), float(target_va[1]))
    out = []
    for k, (_, waypoint) in enumerate(steps):
        track_va = (float(labels.va[k, 0]), float(labels.va[k, 1])) if labels.labelled[k] else None
        out.append(listener_reason(TrackChoice(k, len(steps), strategy, waypoint, track_va, start, target)))
    return out


MAX_SEARCH_RESULTS = 30


def tracks_search(*, query: str, limit: int = MAX_SEARCH_RESULTS) -> list[Track]:
    """Catalog search for curating: title, artist, album or genre containing every word."""
    words = [w for w in (query or "").split() if w][:6]
    if not words or len(query or "") > 200:
        return []
    qs = Track.objects.all()
    for w in words:
        qs = qs.filter(Q(title__icontains=w) | Q(artist__icontains=w) | Q(album__icontains=w) | Q(genre__icontains=w))
    return list(qs.order_by("artist", "title", "id")[: max(1, min(int(limit), MAX_SEARCH_RESULTS))])
