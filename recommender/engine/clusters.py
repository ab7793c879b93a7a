"""Mood clusters (design 003): k-means, a Gaussian mixture and fuzzy c-means on chosen
features, each scored with the silhouette (Rousseeuw 1987) and Davies-Bouldin (Davies &
Bouldin 1979) indices, clusters named from their centroids; and the `cluster` strategy, a
playlist whose mix shifts from the listener's current mood cluster to the target cluster
over its duration (60 minutes by default), picking inside a cluster by k-nearest
neighbours to the listener's taste.

Models are fitted once per index on a seeded sample of at most FIT_SAMPLE tracks and then
assign every track; silhouette is computed on at most SILHOUETTE_SAMPLE of the fitting rows
(it is quadratic), Davies-Bouldin on all fitting rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial.distance import cdist

from emotion import vocab

from .context import Context, describe_va, fractions, start_target_va
from .index import CatalogIndex, Space
from .types import EngineError

METHODS: tuple[str, ...] = ("kmeans", "gmm", "fcm")
METHOD_LABELS = {"kmeans": "k-means", "gmm": "Gaussian mixture", "fcm": "fuzzy c-means"}
DEFAULT_FEATURES: tuple[str, ...] = ("energy", "acousticness", "valence")
DEFAULT_K = 4
FIT_SAMPLE = 10_000
SILHOUETTE_SAMPLE = 4_000
TASTE_WEIGHT = 0.5  # query point = TASTE_WEIGHT * taste + (1 - TASTE_WEIGHT) * cluster centre


@dataclass(frozen=True)
class Cluster:
    number: int
    name: str
    mood: str
    size: int
    centroid: tuple[float, ...]  # standardized cluster features
    centroid_raw: tuple[float, ...]  # the same in the catalog's own units
    va: tuple[float, float]  # mean label valence/arousal of its members


@dataclass
class ClusterModel:
    method: str
    features: tuple[str, ...]
    k: int
    assignments: np.ndarray  # (n,) cluster number per catalog position
    clusters: tuple[Cluster, ...]
    centres_full: np.ndarray  # (k, d) members' mean in the full standardized feature space
    silhouette: float
    davies_bouldin: float
    fit_rows: int
    extra: dict[str, Any]

    def members(self, c: int) -> np.ndarray:
        return np.flatnonzero(self.assignments == c)

    def summary(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "label": METHOD_LABELS[self.method],
            "silhouette": self.silhouette,
            "davies_bouldin": self.davies_bouldin,
            "fit_rows": self.fit_rows,
            "clusters": [{"number": c.number, "name": c.name, "size": c.size, "va": c.va} for c in self.clusters],
            **self.extra,
        }


def fuzzy_cmeans(x: np.ndarray, k: int, *, m: float = 2.0, max_iter: int = 150, tol: float = 1e-4, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, float]:
    """Fuzzy c-means (Bezdek 1981). Returns (centres (k, d), memberships (n, k), fuzzy
    partition coefficient). Memberships u_ij = 1 / sum_l (d_ij / d_il)^(2/(m-1)); centres
    are the u^m-weighted means."""
    x = np.asarray(x, dtype=np.float64)
    rng = np.random.default_rng(seed)
    u = rng.random((x.shape[0], k))
    u /= u.sum(axis=1, keepdims=True)
    power = 2.0 / (m - 1.0)
    for _ in range(max_iter):
        um = u**m
        centres = (um.T @ x) / um.sum(axis=0)[:, None]
        d = np.maximum(cdist(x, centres), 1e-12)
        inv = d ** (-power)
        new = inv / inv.sum(axis=1, keepdims=True)
        done = np.abs(new - u).max() < tol
        u = new
        if done:
            break
    fpc = float((u**2).sum() / x.shape[0])
    return centres, u, fpc


def resolve_features(index: CatalogIndex, features: Sequence[str] | None) -> tuple[str, ...]:
    if features:
        names = tuple(str(f) for f in features)
        unknown = [f for f in names if index.feature_column(f) is None]
        if unknown:
            raise EngineError(f"Cluster feature(s) not in this catalog: {', '.join(unknown)}")
        return names
    present = tuple(f for f in DEFAULT_FEATURES if index.feature_column(f) is not None)
    if len(present) >= 2:
        return present
    if index.n_features < 2:
        raise EngineError("Clustering needs at least two audio feature columns")
    return index.feature_names


# Plain words for feature columns, so a cluster reads "high loudness, low brightness" rather
# than a column dump; unknown columns fall back to their name without prefix or underscores.
FEATURE_WORDS = {
    "desc:rms_mean": "loudness",
    "desc:spectral_centroid_mean": "brightness",
    "desc:onset_rate": "note density",
    "desc:tempogram_mean": "rhythmic pulse",
    "desc:mode_strength": "major key",  # the same idea as the mode column: named once
    "desc:tempo": "tempo",
    "mode": "major key",
}
MAX_NAME_FEATURES = 3


def feature_word(name: str) -> str:
    if name in FEATURE_WORDS:
        return FEATURE_WORDS[name]
    return name.removeprefix("desc:").removesuffix("_mean").replace("_", " ")


def _words(z: np.ndarray, names: Sequence[str], limit: int = MAX_NAME_FEATURES) -> str:
    """A cluster's name from its most distinctive centroid coordinates (at most `limit`, each
    more than half a standard deviation from the catalog mean). Two columns with the same plain
    word (the `loudness` column and the `rms` descriptor) are named once, by the stronger."""
    z = np.asarray(z, dtype=float)
    parts: list[str] = []
    used: set[str] = set()
    for i in np.argsort(-np.abs(z), kind="stable"):
        word = feature_word(names[i])
        if abs(z[i]) <= 0.5 or len(parts) >= limit:
            break
        if word in used:
            continue
        used.add(word)
        parts.append(f"{'high' if z[i] > 0 else 'low'} {word}")
    return ", ".join(parts) or "middle of the catalog"


def _unique_names(moods: Sequence[str], centres: Sequence[np.ndarray], names: Sequence[str]) -> list[str]:
    """One name per cluster, never shared: clusters whose names collide are described by more
    features, and if they still collide they are numbered ("Peacefulness: low tempo (2)")."""
    labels = [f"{m}: {_words(c, names)}" for m, c in zip(moods, centres, strict=True)]
    for limit in range(MAX_NAME_FEATURES + 1, len(names) + 1):
        clashes = {name for name in labels if labels.count(name) > 1}
        if not clashes:
            break
        labels = [
            f"{m}: {_words(c, names, limit)}" if label in clashes else label
            for m, c, label in zip(moods, centres, labels, strict=True)
        ]
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        if labels.count(label) > 1:
            seen[label] = seen.get(label, 0) + 1
            label = f"{label} ({seen[label]})"
        out.append(label)
    return out


def _fit(index: CatalogIndex, method: str, features: tuple[str, ...], k: int) -> ClusterModel:
    from threadpoolctl import threadpool_limits

    # one BLAS/OpenMP thread: the fits are small, and oversubscribed thread pools on a busy
    # web or worker process are far slower than a single thread
    with threadpool_limits(limits=1):
        return _fit_single_thread(index, method, features, k)


def _fit_single_thread(index: CatalogIndex, method: str, features: tuple[str, ...], k: int) -> ClusterModel:
    from sklearn.metrics import davies_bouldin_score, silhouette_score

    cols = [c for c in (index.feature_column(f) for f in features) if c is not None]  # resolved: all present
    x_all = index.z[:, cols]
    n = len(index)
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(n, size=FIT_SAMPLE, replace=False)) if n > FIT_SAMPLE else np.arange(n)
    xs = x_all[rows].astype(np.float64)
    k = int(min(k, max(1, len(np.unique(xs, axis=0)))))
    extra: dict[str, Any] = {}
    if method == "kmeans":
        from sklearn.cluster import KMeans

        model = KMeans(n_clusters=k, n_init=3, random_state=0).fit(xs)
        fit_labels = model.labels_
        assign = model.predict(x_all.astype(np.float64))
        extra["inertia"] = float(model.inertia_)
    elif method == "gmm":
        from sklearn.mixture import GaussianMixture

        model = GaussianMixture(n_components=k, covariance_type="full", random_state=0, reg_covar=1e-4).fit(xs)
        fit_labels = model.predict(xs)
        assign = model.predict(x_all.astype(np.float64))
        extra["bic"] = float(model.bic(xs))
    elif method == "fcm":
        centres, u, fpc = fuzzy_cmeans(xs, k, seed=0)
        fit_labels = u.argmax(axis=1)
        assign = np.empty(n, dtype=np.int64)
        for lo in range(0, n, 200_000):  # argmax membership == nearest centre
            assign[lo : lo + 200_000] = cdist(x_all[lo : lo + 200_000], centres).argmin(axis=1)
        extra["partition_coefficient"] = fpc
    else:
        raise EngineError(f"Unknown cluster method {method!r}; expected one of {', '.join(METHODS)}")
    if len(np.unique(fit_labels)) >= 2:
        sil = float(silhouette_score(xs, fit_labels, sample_size=min(SILHOUETTE_SAMPLE, xs.shape[0]), random_state=0))
        dbi = float(davies_bouldin_score(xs, fit_labels))
    else:
        sil = dbi = float("nan")
    # Number clusters by mood: mean label valence, then arousal, so names are stable.
    raw_ids = np.unique(assign)
    va = np.array([index.va[assign == c].mean(axis=0) for c in raw_ids])
    order = raw_ids[np.lexsort((va[:, 1], va[:, 0]))]
    remap = np.full(int(assign.max()) + 1, -1, dtype=np.int64)
    remap[order] = np.arange(order.size)
    assign = remap[assign].astype(np.int16)
    mean_raw = index.feature_mean[cols]
    std_raw = index.feature_std[cols]
    clusters = []
    centres_full = np.zeros((order.size, index.n_features))
    members_of = [assign == c for c in range(order.size)]
    centre_rows = [x_all[m].mean(axis=0).astype(np.float64) for m in members_of]
    cvas = [index.va[m].mean(axis=0) for m in members_of]
    moods = [vocab.GEMS_INFO[int(vocab.va_to_gems(np.clip(cva, -1, 1)).argmax())].label for cva in cvas]
    names = _unique_names(moods, centre_rows, features)
    for c in range(order.size):
        members, centre, cva, mood = members_of[c], centre_rows[c], cvas[c], moods[c]
        centres_full[c] = index.z[members].mean(axis=0)
        clusters.append(
            Cluster(
                number=c,
                name=names[c],
                mood=mood,
                size=int(members.sum()),
                centroid=tuple(np.round(centre, 4).tolist()),
                centroid_raw=tuple(np.round(centre * std_raw + mean_raw, 4).tolist()),
                va=(round(float(cva[0]), 4), round(float(cva[1]), 4)),
            )
        )
    return ClusterModel(method, features, k, assign, tuple(clusters), centres_full, sil, dbi, int(rows.size), extra)


def cluster_model(
    index: CatalogIndex, *, method: str = "kmeans", features: Sequence[str] | None = None, k: int = DEFAULT_K
) -> ClusterModel:
    """The fitted model for (method, features, k), built once per index and cached."""
    if method not in METHODS:
        raise EngineError(f"Unknown cluster method {method!r}; expected one of {', '.join(METHODS)}")
    feats = resolve_features(index, features)
    model: ClusterModel = index.cached(("cluster", method, feats, int(k)), lambda: _fit(index, method, feats, int(k)))
    return model


def cluster_report(
    index: CatalogIndex, *, features: Sequence[str] | None = None, k: int = DEFAULT_K
) -> dict[str, dict[str, Any]]:
    """Silhouette, Davies-Bouldin and named clusters for each of the three methods."""
    return {m: cluster_model(index, method=m, features=features, k=k).summary() for m in METHODS}


def _member_space(index: CatalogIndex, model: ClusterModel, c: int) -> Space:
    key = ("cluster-members", model.method, model.features, model.k, c)

    def make() -> Space:
        members = model.members(c)
        return Space(f"cluster {c}", index.z[members], members, index.search)

    return index.space(key, make)


def _taste(ctx: Context) -> np.ndarray | None:
    prof = ctx.profile
    if prof is None:
        return None
    ids = list(prof.liked_ids) + list(prof.history_ids)
    if not ids and prof.track_ids.size:
        ids = prof.track_ids.tolist()
    pos = ctx.index.positions_of(ids) if ids else np.zeros(0, dtype=np.int64)
    if pos.size == 0:
        return np.asarray(None)
    return np.asarray(ctx.index.z[pos].astype(np.float64).mean(axis=0))


def prepare_clusters(index: CatalogIndex) -> None:
    """Fit the three cluster models now (e.g. at startup or in a benchmark) instead of on the
    first cluster request."""
    for method in ("kmeans", "gmm", "fcm"):
        cluster_model(index, method=method)


def run_cluster(ctx: Context) -> dict[str, Any]:
    index = ctx.index
    start, target = start_target_va(ctx)
    method = ctx.param("method", "kmeans", str)
    if method not in METHODS:
        raise EngineError(f"Unknown cluster method {method!r}; expected one of {', '.join(METHODS)}")
    k = ctx.param("k", DEFAULT_K, int, 2, 12)
    features = ctx.params.get("features")
    if features is not None and (isinstance(features, str) or not isinstance(features, Sequence)):
        raise EngineError("Parameter 'features' must be a list of feature names")
    model = cluster_model(index, method=method, features=features, k=k)
    scores = {
        m: {"silhouette": s["silhouette"], "davies_bouldin": s["davies_bouldin"]}
        for m, s in cluster_report(index, features=features, k=k).items()
    }
    usable = [c for c in model.clusters if c.size > 0]
    cva = np.array([c.va for c in usable])
    cur = usable[int(np.argmin(np.linalg.norm(cva - start, axis=1)))]
    tgt = usable[int(np.argmin(np.linalg.norm(cva - target, axis=1)))]
    ctx.notes.append(
        f"Mood clusters by {METHOD_LABELS[method]} on {', '.join(model.features)}: from '{cur.name}' to '{tgt.name}'"
    )
    if cur.number == tgt.number:
        ctx.notes.append("The current and target moods fall in the same cluster; the playlist stays in it")
    taste = _taste(ctx)
    taste_words = "your taste"
    if taste is None:
        ctx.notes.append("No listening history or likes: tracks are picked nearest each cluster's centre")
    elif ctx.profile is not None and ctx.profile.history_imported:
        taste_words = "your taste (from your streaming history)"
        ctx.notes.append("Within each cluster, tracks that sound like your imported streaming history come first")
    t = fractions(ctx.n, ctx.easing())
    draws = ctx.rng.random(ctx.n)
    candidates: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    a_va, b_va = np.array(cur.va), np.array(tgt.va)
    gpath = vocab.va_to_gems(np.clip((1 - t)[:, None] * a_va + t[:, None] * b_va, -1, 1))
    for i in range(ctx.n):
        chosen = tgt if (t[i] >= 1.0 or draws[i] < t[i]) else cur
        order = [chosen, cur if chosen is tgt else tgt]
        got = None
        for c in order:
            centre = model.centres_full[c.number]
            q = centre if taste is None else TASTE_WEIGHT * taste + (1 - TASTE_WEIGHT) * centre
            space = _member_space(index, model, c.number)
            if space.search == "brute":  # the baseline: a full scan of the catalog per waypoint
                saved = ctx.eligible
                ctx.eligible = saved & (model.assignments == c.number)
                got = ctx._scan(index.spaces["features"], q, None)
                ctx.eligible = saved
            else:
                if c.number not in candidates:  # the query point is fixed per cluster: one search serves every step
                    candidates[c.number] = space.query(q, 4 * ctx.n + 16)
                got = ctx.pick_from(space, q, candidates[c.number])
            if got is not None:
                if c is not chosen:
                    ctx.notes.append(f"Cluster '{chosen.name}' ran out of eligible tracks at step {i + 1}")
                chosen = c
                break
        wp = (1 - t[i]) * a_va + t[i] * b_va
        outside = False
        if got is None:
            got = ctx.pick("va", wp, k=16)
            outside = True
        if got is None:
            ctx.ran_out()
            break
        pos, dist = got
        if outside:
            ctx.notes.append(f"Step {i + 1}: neither cluster has an eligible track left; took the nearest by label")
            ctx.take(
                pos, wp, gpath[i], dist, f"Step {i + 1}: outside both clusters, nearest by label to {describe_va(wp)}"
            )
            continue
        reason = (
            f"Step {i + 1}: {t[i]:.0%} into the shift, drawn from cluster '{chosen.name}'; "
            f"nearest unused track to {taste_words if taste is not None else 'the cluster centre'} "
            f"(feature distance {dist:.2f}), labelled {describe_va(index.va[pos])}"
        )
        ctx.take(pos, wp, gpath[i], dist, reason)
    return {
        "method": method,
        "features": list(model.features),
        "k": model.k,
        "scores": scores,
        "clusters": [c.name for c in model.clusters],
        "current_cluster": cur.name,
        "target_cluster": tgt.name,
    }


@dataclass(frozen=True)
class Persona:
    """Design 003's persona card: where a listener's history sits among the mood clusters."""

    dominant_cluster: str
    dominant_share: float  # share of the history in the dominant cluster
    variety: float  # normalised Shannon entropy of the cluster mix: 0 one cluster, 1 evenly spread
    shares: dict[str, float]
    typical_minutes: float | None  # median session length, when session lengths are given
    tracks: int


def persona(
    index: CatalogIndex,
    history_ids: Sequence[int],
    *,
    session_minutes: Sequence[float] | None = None,
    method: str = "kmeans",
) -> Persona | None:
    """The persona card for a listening history (track ids, repeats count), or None if no
    history track is in the catalog."""
    pos = index.positions_of(np.asarray(list(history_ids), dtype=np.int64))
    if pos.size == 0:
        return None
    model = cluster_model(index, method=method)
    counts = np.bincount(model.assignments[pos].astype(np.int64), minlength=len(model.clusters))
    shares = counts / counts.sum()
    nz = shares[shares > 0]
    variety = float(-(nz * np.log(nz)).sum() / np.log(len(shares))) if len(shares) > 1 else 0.0
    top = int(np.argmax(counts))
    minutes = None
    if session_minutes is not None and len(session_minutes):
        arr = np.asarray(session_minutes, dtype=np.float64)
        arr = arr[np.isfinite(arr) & (arr > 0)]
        minutes = float(np.median(arr)) if arr.size else None
    return Persona(
        dominant_cluster=model.clusters[top].name,
        dominant_share=float(shares[top]),
        variety=variety,
        shares={c.name: float(s) for c, s in zip(model.clusters, shares, strict=True)},
        typical_minutes=minutes,
        tracks=int(pos.size),
    )
