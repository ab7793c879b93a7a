"""Label writes and the catalog version: every write the engine would see bumps it.

Also the `prior` labels computed from audio cues for tracks that have no label yet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from emotion.vocab import N_GEMS, gems_distribution, gems_to_va
from recommender.models import CatalogState, LabelSource, Track, TrackLabel
from recommender.prior import PriorCues, prior_gems


def catalog_touch() -> int:
    """Bump the catalog version; readers (index_cache) rebuild when it changes."""
    state, _ = CatalogState.objects.get_or_create(pk=1)
    CatalogState.objects.filter(pk=1).update(version=F("version") + 1, updated_at=timezone.now())
    state.refresh_from_db(fields=["version"])
    return state.version


def catalog_version() -> int:
    version = CatalogState.objects.filter(pk=1).values_list("version", flat=True).first()
    return int(version or 0)


def catalog_stamp() -> tuple[int, str]:
    """(version, time of the last bump): what the index cache compares, one primary-key read.

    The time guards against a version number being reused after a database restore.
    """
    row = CatalogState.objects.filter(pk=1).values_list("version", "updated_at").first()
    return (0, "") if row is None else (int(row[0]), row[1].isoformat())


def _entropy(p: np.ndarray) -> float:
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


def _clean_gems(gems: Sequence[float]) -> np.ndarray:
    values = list(gems)
    if len(values) != N_GEMS:
        raise ValidationError({"gems": f"A GEMS label is a list of {N_GEMS} numbers."})
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError({"gems": "A GEMS label holds numbers only."}) from None
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValidationError({"gems": "GEMS values must be finite and non-negative."})
    if abs(arr.sum() - 1.0) > 1e-6:
        raise ValidationError({"gems": f"GEMS values must sum to 1 (they sum to {arr.sum():.6f})."})
    return arr


def track_label_set(
    *,
    track: Track,
    source: str,
    gems: Sequence[float],
    confidence: float = 1.0,
    rater_count: int = 0,
    valence: float | None = None,
    arousal: float | None = None,
) -> TrackLabel:
    """Create or replace the label of `track` from `source`.

    `gems` must already be a distribution (nine non-negative numbers summing to 1); valence
    and arousal default to the distribution's expected circumplex position (emotion/vocab.py).
    """
    if source not in LabelSource.values:
        raise ValidationError({"source": f"Unknown label source {source!r}; expected one of {', '.join(LabelSource.values)}."})
    arr = _clean_gems(gems)
    if not (isinstance(confidence, int | float) and math.isfinite(confidence) and 0.0 <= confidence <= 1.0):
        raise ValidationError({"confidence": "Confidence is a number in [0, 1]."})
    if valence is None or arousal is None:
        valence, arousal = (float(v) for v in gems_to_va(arr))
    with transaction.atomic():
        label = TrackLabel.objects.filter(track=track, source=source).first() or TrackLabel(track=track, source=source)
        label.gems = [float(v) for v in arr]
        label.valence = float(valence)
        label.arousal = float(arousal)
        label.confidence = float(confidence)
        label.rater_count = int(rater_count)
        label.entropy = _entropy(arr)
        label.full_clean()
        label.save()
        catalog_touch()
    return label


def track_labels_bulk_set(
    *,
    track_ids: Sequence[int] | np.ndarray,
    source: str,
    gems: np.ndarray,
    confidence: np.ndarray | Sequence[float] | float = 1.0,
    rater_count: int = 0,
    batch_size: int = 2000,
) -> int:
    """Upsert one label per track from `source` in bulk (e.g. propagation, MER, prior).

    `gems` is (n, 9); rows are normalised to sum to 1 after validation. Returns rows written.
    """
    if source not in LabelSource.values:
        raise ValidationError({"source": f"Unknown label source {source!r}."})
    ids = np.asarray(track_ids, dtype=np.int64).reshape(-1)
    try:
        dist = gems_distribution(np.asarray(gems, dtype=np.float64).reshape(len(ids), N_GEMS))
    except ValueError as exc:
        raise ValidationError({"gems": str(exc)}) from None
    conf = np.broadcast_to(np.asarray(confidence, dtype=np.float64), ids.shape)
    if not np.all(np.isfinite(conf)) or np.any((conf < 0) | (conf > 1)):
        raise ValidationError({"confidence": "Confidence values must lie in [0, 1]."})
    va = gems_to_va(dist) if len(ids) else np.zeros((0, 2))
    objs = [
        TrackLabel(
            track_id=int(t),
            source=source,
            gems=[float(v) for v in dist[i]],
            valence=float(np.clip(va[i, 0], -1, 1)),
            arousal=float(np.clip(va[i, 1], -1, 1)),
            confidence=float(conf[i]),
            rater_count=rater_count,
            entropy=_entropy(dist[i]),
        )
        for i, t in enumerate(ids)
    ]
    with transaction.atomic():
        TrackLabel.objects.bulk_create(
            objs,
            batch_size=batch_size,
            update_conflicts=True,
            unique_fields=["track", "source"],
            update_fields=["gems", "valence", "arousal", "confidence", "rater_count", "entropy", "updated_at"],
        )
        if objs:
            catalog_touch()
    return len(objs)


# --- prior labels ------------------------------------------------------------------------


def _cues_for(tracks: list[dict]) -> PriorCues:
    def col(getter) -> np.ndarray:
        return np.array([np.nan if (v := getter(t)) is None else float(v) for t in tracks], dtype=np.float64)

    def desc(name: str):
        return lambda t: (t["descriptors"] or {}).get(name)

    return PriorCues(
        mode=col(lambda t: t["mode"]),
        mode_strength=col(desc("mode_strength")),
        spectral_centroid_hz=col(desc("spectral_centroid_mean")),
        tempo_bpm=col(lambda t: t["tempo"]),
        rms_mean=col(desc("rms_mean")),
        onset_rate=col(desc("onset_rate")),
        spotify_valence=col(lambda t: t["valence"]),
        spotify_energy=col(lambda t: t["energy"]),
    )


def prior_labels_fill(*, recompute: bool = False) -> int:
    """Give every track without a label a `prior` label (recompute=True: refresh existing priors too)."""
    tracks = Track.objects.filter(labels__isnull=True)
    if recompute:
        tracks = Track.objects.filter(labels__isnull=True) | Track.objects.filter(labels__source=LabelSource.PRIOR)
    rows = list(tracks.distinct().values("id", "mode", "tempo", "valence", "energy", "descriptors"))
    if not rows:
        return 0
    gems, _va, confidence = prior_gems(_cues_for(rows))
    return track_labels_bulk_set(
        track_ids=[r["id"] for r in rows], source=LabelSource.PRIOR, gems=gems, confidence=confidence
    )
