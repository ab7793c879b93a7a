"""The catalog index: standardized features, label-derived valence/arousal, and cached
nearest-neighbour structures. Built once per process per catalog version, never per request.

Features are standardized column-wise (z-scores from nan-aware mean and standard deviation);
a missing value (NaN) is imputed with the column mean, i.e. 0 after standardization, so a
track that lacks a feature is neutral on it rather than "zero". Columns that are entirely
missing are dropped from the distance computations (all zero) and reported in `notes`.

Neighbour search runs on "spaces" (the label valence/arousal plane, the standardized
feature space, a cluster's members). With `search="kdtree"` each space lazily gets a
scipy cKDTree, built once and cached on the index; `search="brute"` scans every row with
numpy instead, which is the baseline the benchmark measures against.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from emotion import vocab

from .types import Constraints, EngineError

SEARCH_MODES = ("kdtree", "brute")


@dataclass
class Space:
    """Points to search; `positions` maps row i of `data` to a catalog position (None: identity)."""

    name: str
    data: np.ndarray
    positions: np.ndarray | None
    search: str
    _tree: cKDTree | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def tree(self) -> cKDTree:
        if self._tree is None:
            with self._lock:
                if self._tree is None:
                    # Median splits: the tree stays shallow in the sparse corners where imaginary
                    # tracks land, which is where the sliding-midpoint tree was slowest (issue 16).
                    self._tree = cKDTree(self.data, leafsize=32, balanced_tree=True, compact_nodes=True)
        return self._tree

    def warm(self) -> None:
        if self.search == "kdtree":
            self.tree()

    def query(self, point: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest rows to `point`: (distances ascending, catalog positions)."""
        n = len(self)
        k = int(max(1, min(k, n)))
        point = np.asarray(point, dtype=np.float64)
        if self.search == "kdtree":
            d, i = self.tree().query(point, k=k)
            d = np.atleast_1d(d)
            i = np.atleast_1d(i)
        else:
            diff = self.data - point.astype(self.data.dtype)
            d2 = np.einsum("ij,ij->i", diff, diff)
            if k < n:
                part = np.argpartition(d2, k - 1)[:k]
                order = part[np.lexsort((part, d2[part]))]
            else:
                order = np.lexsort((np.arange(n), d2))
            i = order
            d = np.sqrt(np.maximum(d2[order], 0.0)).astype(np.float64)
        if self.positions is not None:
            i = self.positions[i]
        return d, i

    def query_many(self, points: np.ndarray, k: int, *, eps: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """k nearest rows for each of m points: (m, k) distances and catalog positions.
        The KD-tree answers the batch on all cores; brute force scans once per point. eps > 0
        makes the KD-tree search approximate (each neighbour within (1 + eps) of the true k-th
        distance); brute force is always exact."""
        points = np.atleast_2d(np.asarray(points, dtype=np.float64))
        k = int(max(1, min(k, len(self))))
        if self.search == "kdtree":
            d, i = self.tree().query(points, k=k, workers=-1, eps=eps)
            d = d.reshape(points.shape[0], k)
            i = i.reshape(points.shape[0], k)
            if self.positions is not None:
                i = self.positions[i]
            return d, i
        rows = [self.query(p, k) for p in points]
        return np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])


@dataclass(eq=False)
class CatalogIndex:
    """Everything the strategies need about a catalog, as arrays indexed by catalog position.
    Made by :func:`build_index`, which validates the inputs."""

    search: str
    track_ids: NDArray[np.int64]
    feature_names: tuple[str, ...]
    feature_mean: NDArray[np.float64]
    feature_std: NDArray[np.float64]
    missing_fraction: NDArray[np.float64]
    z: NDArray[np.float32]
    labels: NDArray[np.float64]
    va: NDArray[np.float64]
    dominant: NDArray[np.int8]
    label_confidence: NDArray[np.float64] | None
    artist_names: NDArray[Any]
    artist_codes: NDArray[np.int32]
    genre_names: NDArray[Any]
    genre_codes: NDArray[np.int32]
    explicit: NDArray[np.bool_]
    durations_s: NDArray[np.float64]
    _sorted_ids: NDArray[np.int64] = field(repr=False)
    _sorted_pos: NDArray[np.intp] = field(repr=False)
    notes: list[str] = field(default_factory=list)
    spaces: dict[Any, Space] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    # ---- sizes and lookups -------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.track_ids.size)

    @property
    def n_features(self) -> int:
        return int(self.z.shape[1])

    def positions_of(self, ids: np.ndarray | Iterable[int], *, strict: bool = False) -> np.ndarray:
        """Catalog positions of track ids; unknown ids are dropped (or raise if strict)."""
        arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64).reshape(-1)
        if arr.size == 0:
            return np.zeros(0, dtype=np.int64)
        j = np.searchsorted(self._sorted_ids, arr)
        j = np.minimum(j, self._sorted_ids.size - 1)
        found = self._sorted_ids[j] == arr
        if strict and not np.all(found):
            missing = arr[~found][:5].tolist()
            raise EngineError(f"Track(s) not in the catalog: {missing}")
        return np.asarray(self._sorted_pos[j[found]])

    def feature_column(self, name: str) -> int | None:
        try:
            return self.feature_names.index(name)
        except ValueError:
            return None

    def space(self, key: Any, factory: Callable[[], Space] | None = None) -> Space:
        sp = self.spaces.get(key)
        if sp is None:
            if factory is None:
                raise KeyError(key)
            with self._lock:
                sp = self.spaces.get(key)
                if sp is None:
                    sp = factory()
                    self.spaces[key] = sp
        return sp

    def cached(self, key: Any, factory: Callable[[], Any]) -> Any:
        """Per-index cache for fitted artefacts (cluster models), built once under a lock."""
        if key in self._cache:
            return self._cache[key]
        with self._lock:
            if key not in self._cache:
                self._cache[key] = factory()
            return self._cache[key]

    def prepare(self, what: Sequence[str] = ("va", "features")) -> None:
        """Build the lazily-built search trees now (e.g. at startup or in a benchmark); the
        cluster models are prepared by clusters.prepare_clusters."""
        for key in what:
            if key not in ("va", "features"):
                raise EngineError(f"Unknown index part {key!r}")
            self.spaces[key].warm()

    # ---- constraints -------------------------------------------------------------------
    def eligible(self, constraints: Constraints, extra_excluded: Iterable[int] = ()) -> tuple[np.ndarray, list[str]]:
        """Boolean mask of tracks a request may use, and notes on what was filtered."""
        constraints.validate()
        n = len(self)
        mask = np.ones(n, dtype=bool)
        notes: list[str] = []
        try:
            excluded = set(int(x) for x in constraints.exclude_ids) | set(int(x) for x in extra_excluded)
        except (TypeError, ValueError):
            raise EngineError("Excluded tracks must be given as track ids (whole numbers)") from None
        if excluded:
            pos = self.positions_of(np.fromiter(excluded, dtype=np.int64, count=len(excluded)))
            mask[pos] = False
        if not constraints.allow_explicit:
            mask &= ~self.explicit
        if constraints.disliked_genres:
            codes = self.genre_code_set(constraints.disliked_genres)
            if codes.size:
                mask &= ~np.isin(self.genre_codes, codes)
        if constraints.max_minutes is not None:
            mask &= self.durations_s <= float(constraints.max_minutes) * 60.0
        unknown = [g for g in constraints.preferred_genres if self.genre_code_set((g,)).size == 0]
        if unknown:
            notes.append(f"Preferred genre(s) not in the catalog: {', '.join(map(str, unknown))}")
        if not mask.any():
            raise EngineError(
                "Every track is excluded by the constraints (exclusions, explicit filter, disliked genres "
                "or a maximum length shorter than any track); loosen them to get a playlist"
            )
        return mask, notes

    def genre_code_set(self, genres: Sequence[str]) -> np.ndarray:
        wanted = np.asarray([str(g) for g in genres])
        j = np.searchsorted(self.genre_names, wanted)
        j = np.minimum(j, max(self.genre_names.size - 1, 0))
        ok = self.genre_names[j] == wanted
        return np.asarray(j[ok])


def build_index(
    *,
    track_ids: ArrayLike,
    features: ArrayLike,
    feature_names: Sequence[str],
    labels: ArrayLike,
    artists: ArrayLike,
    genres: ArrayLike,
    explicit: ArrayLike,
    durations_s: ArrayLike,
    label_confidence: ArrayLike | None = None,
    search: str = "kdtree",
) -> CatalogIndex:
    """Validate a catalog's arrays and build its index (standardized features, label-derived
    valence/arousal, the two default search spaces). Raises EngineError with a message."""
    if search not in SEARCH_MODES:
        raise EngineError(f"Unknown search mode {search!r}; expected one of {', '.join(SEARCH_MODES)}")
    ids = np.asarray(track_ids, dtype=np.int64).reshape(-1)
    n = ids.size
    if n == 0:
        raise EngineError("The catalog is empty: import tracks before building playlists")
    feats = np.asarray(features, dtype=np.float64)
    if feats.ndim != 2 or feats.shape[0] != n:
        raise EngineError(f"features must be an (n, d) array with n={n}; got {feats.shape}")
    names = tuple(str(x) for x in feature_names)
    if len(names) != feats.shape[1]:
        raise EngineError(f"{feats.shape[1]} feature columns but {len(names)} feature names")
    if len(set(names)) != len(names):
        raise EngineError("Feature names must be unique")
    if np.any(np.isinf(feats)):
        raise EngineError("Features must be finite numbers or NaN (missing), not infinity")
    lab = np.asarray(labels, dtype=np.float64)
    if lab.shape != (n, vocab.N_GEMS):
        raise EngineError(f"labels must be an (n, 9) array of GEMS distributions; got {lab.shape}")
    if not np.all(np.isfinite(lab)) or np.any(lab < 0):
        raise EngineError("GEMS labels must be finite and non-negative")
    sums = lab.sum(axis=1)
    if np.any(sums <= 0):
        raise EngineError("Every track needs a GEMS label that is not all zeros")
    if np.any(np.abs(sums - 1.0) > 1e-6):
        lab = lab / sums[:, None]
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    if n > 1 and np.any(sorted_ids[1:] == sorted_ids[:-1]):
        raise EngineError("Track ids must be unique")
    dur = np.asarray(durations_s, dtype=np.float64).reshape(-1)
    expl = np.asarray(explicit, dtype=bool).reshape(-1)
    art = np.asarray(artists).reshape(-1)
    gen = np.asarray(genres).reshape(-1)
    for what, arr in (("durations_s", dur), ("explicit", expl), ("artists", art), ("genres", gen)):
        if arr.shape[0] != n:
            raise EngineError(f"{what} needs one value per track ({n}); got {arr.shape[0]}")
    if not np.all(np.isfinite(dur)) or np.any(dur <= 0):
        raise EngineError("Track durations must be positive finite seconds")

    notes: list[str] = []
    present = ~np.isnan(feats)
    count = present.sum(axis=0)
    all_missing = count == 0
    safe = np.maximum(count, 1)
    mean = np.where(present, feats, 0.0).sum(axis=0) / safe
    std = np.sqrt(np.where(present, (feats - mean) ** 2, 0.0).sum(axis=0) / safe)
    std = np.where(~np.isfinite(std) | (std < 1e-12), 1.0, std)
    z = ((feats - mean) / std).astype(np.float32)
    np.nan_to_num(z, copy=False, nan=0.0)
    if np.any(all_missing):
        missing = ", ".join(n_ for n_, m in zip(names, all_missing, strict=True) if m)
        notes.append(f"Features missing for every track (ignored): {missing}")
    confidence: NDArray[np.float64] | None = None
    if label_confidence is not None:
        confidence = np.asarray(label_confidence, dtype=np.float64).reshape(-1)
        if confidence.shape[0] != n or not np.all(np.isfinite(confidence)) or np.any((confidence < 0) | (confidence > 1)):
            raise EngineError("label_confidence needs one number in [0, 1] per track")
    artist_names, artist_codes = _codes(art)
    genre_names, genre_codes = _codes(gen.astype(str))
    va = lab @ vocab.GEMS_VA
    return CatalogIndex(
        search=search,
        track_ids=ids,
        feature_names=names,
        feature_mean=mean,
        feature_std=std,
        missing_fraction=np.isnan(feats).mean(axis=0),
        z=z,
        labels=lab,
        va=va,
        dominant=lab.argmax(axis=1).astype(np.int8),
        label_confidence=confidence,
        artist_names=artist_names,
        artist_codes=artist_codes,
        genre_names=genre_names,
        genre_codes=genre_codes,
        explicit=expl,
        durations_s=dur,
        _sorted_ids=sorted_ids,
        _sorted_pos=order,
        notes=notes,
        spaces={"va": Space("va", va, None, search), "features": Space("features", z, None, search)},
    )


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes for a column of artist or genre values (strings or ints)."""
    if values.dtype.kind not in "iuU":
        values = values.astype(str)
    names, inv = np.unique(values, return_inverse=True)
    return names, inv.astype(np.int32)
