"""The engine's CatalogIndex, built from the database once per process and reused.

Every catalog or label write bumps `CatalogState.version` (services.catalog_touch). A request
reads that one integer (a primary-key lookup) and rebuilds the index only when it changed, so
the index is built once per process per catalog version, never per request. It lives in the
database rather than the cache so every web and worker process sees the same version whether
or not Redis is configured.

Which feature columns the index uses is configuration (recommender/conf.py INDEX_FEATURES):
Track columns by name, audio descriptors as "desc:<name>". Columns no track has are dropped.
Tracks with no label get the catalog's mean label with confidence 0 (the prior task normally
labels every track, so this is a fallback).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion.vocab import N_GEMS
from recommender import conf
from recommender.engine.gan import GanModel
from recommender.engine.index import CatalogIndex, build_index
from recommender.models import Track
from recommender.selectors import resolve_labels
from recommender.services.labels import catalog_stamp

_lock = threading.Lock()


@dataclass(frozen=True)
class CatalogArrays:
    track_ids: np.ndarray
    features: np.ndarray
    feature_names: tuple[str, ...]
    labels: np.ndarray
    label_confidence: np.ndarray
    artists: np.ndarray
    genres: np.ndarray
    explicit: np.ndarray
    durations_s: np.ndarray


@dataclass
class _Entry:
    version: tuple[int, str]
    index: CatalogIndex
    arrays: CatalogArrays


_entry: _Entry | None = None
_gan: tuple[float, GanModel] | None = None
builds = 0  # how many times this process built an index (read by tests)


def catalog_arrays(feature_names: tuple[str, ...] | None = None) -> CatalogArrays:
    """Everything the engine needs, as arrays aligned by track id."""
    names = tuple(feature_names if feature_names is not None else conf.INDEX_FEATURES)
    columns = [n for n in names if not n.startswith("desc:")]
    descriptor_names = [n.removeprefix("desc:") for n in names if n.startswith("desc:")]
    unknown = [c for c in columns if c not in {f.name for f in Track._meta.concrete_fields}]
    if unknown:
        raise ValueError(f"ATTUNE_RECOMMENDER_INDEX_FEATURES names unknown Track columns: {', '.join(unknown)}")
    fields = ["id", "artist", "genre", "explicit", "duration_s", *columns]
    if descriptor_names:
        fields.append("descriptors")
    rows = list(Track.objects.order_by("id").values_list(*fields))
    n = len(rows)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    features = np.full((n, len(names)), np.nan)
    for i, row in enumerate(rows):
        values = row[5 : 5 + len(columns)]
        desc = row[-1] if descriptor_names else None
        j_col = 0
        for j, name in enumerate(names):
            if name.startswith("desc:"):
                v = desc.get(name[5:]) if desc else None
            else:
                v = values[j_col]
                j_col += 1
            if v is not None:
                features[i, j] = float(v)
    features[~np.isfinite(features)] = np.nan
    present = ~np.all(np.isnan(features), axis=0) if n else np.zeros(len(names), dtype=bool)
    features = features[:, present]
    kept = tuple(name for name, keep in zip(names, present, strict=True) if keep)

    resolved = resolve_labels(ids)
    labels = resolved.gems.copy()
    confidence = np.nan_to_num(resolved.confidence, nan=0.0)
    unlabelled = ~resolved.labelled
    if unlabelled.any():
        fallback = labels[~unlabelled].mean(axis=0) if (~unlabelled).any() else np.full(N_GEMS, 1.0 / N_GEMS)
        labels[unlabelled] = fallback
        confidence[unlabelled] = 0.0
    durations = np.array([r[4] if r[4] else conf.DEFAULT_TRACK_SECONDS for r in rows], dtype=np.float64)
    return CatalogArrays(
        track_ids=ids,
        features=features,
        feature_names=kept,
        labels=labels,
        label_confidence=confidence,
        artists=np.array([r[1] or f"unknown-{r[0]}" for r in rows], dtype=object),
        genres=np.array([r[2] or "" for r in rows], dtype=object),
        explicit=np.array([bool(r[3]) for r in rows], dtype=bool),
        durations_s=durations,
    )


def get_index() -> CatalogIndex:
    """The current catalog's index (raises EngineError if the catalog is empty)."""
    global _entry, builds
    version = catalog_stamp()
    entry = _entry
    if entry is not None and entry.version == version:
        return entry.index
    with _lock:
        if _entry is not None and _entry.version == version:
            return _entry.index
        arrays = catalog_arrays()
        index = build_index(
            track_ids=arrays.track_ids,
            features=arrays.features,
            feature_names=arrays.feature_names,
            labels=arrays.labels,
            artists=arrays.artists,
            genres=arrays.genres,
            explicit=arrays.explicit,
            durations_s=arrays.durations_s,
            label_confidence=arrays.label_confidence,
        )
        _entry = _Entry(version, index, arrays)
        builds += 1
        return index


def current_version() -> tuple[int, str] | None:
    return _entry.version if _entry is not None else None


def clear() -> None:
    global _entry, _gan
    with _lock:
        _entry = None
        _gan = None


def gan_model_path() -> Path:
    return Path(conf.GAN_MODEL_PATH)


def get_gan() -> GanModel | None:
    """The trained GAN if its file exists (reloaded when the file changes), else None."""
    global _gan
    path = gan_model_path()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    if _gan is None or _gan[0] != mtime:
        _gan = (mtime, GanModel.load(path))
    return _gan[1]
