"""Spreading survey soft labels to unrated tracks over a k-NN graph of audio features.
Pure: numpy, scipy.sparse and scikit-learn; arrays in, dataclasses out.

1. Graph (`knn_graph`): standardise the audio descriptors, project to at most 32 principal
   components (distances barely change; the search gets cheaper), and find each track's k
   nearest neighbours. Up to `exact_limit` tracks this is exact (scikit-learn brute force).
   Beyond, an inverted-file search (the IVF idea of Jegou et al. 2011, "Product quantization
   for nearest neighbor search", IEEE TPAMI 33(1), without the quantisation): k-means cells
   over a sample, every cell's members compared by BLAS with the members of the `n_probe`
   cells nearest to it. bench/propagation.py reports its recall against exact search.
   Edge weights use self-tuning local scales (Zelnik-Manor & Perona 2004):
   w_ij = exp(-d_ij^2 / (sigma_i sigma_j)), sigma_i = distance to the i-th track's k-th
   neighbour; the graph is symmetrised (W + W^T) / 2.
2. Spreading (`spread`): Zhou, Bousquet, Lal, Weston & Schoelkopf (2004), "Learning with local
   and global consistency", NIPS 16: S = D^-1/2 W D^-1/2, iterate F <- alpha S F + (1 - alpha) Y
   with sparse products, Y holding the survey soft labels (zero rows for unlabelled tracks).
   The soft label of a track is its row of F normalised to sum to one (the population prior
   where no label mass arrives at all: a component without any survey). One extra column, a
   "background" mass `background * labelled_fraction` injected at every track, measures how
   little label mass reaches a track: confidence = label mass / (label + background mass).
   (Mixing that background into the label itself, i.e. shrinking toward the prior, was tried
   and raised held-out JSD on the synthetic catalog, so it only drives the confidence.)
   alpha = 0.8 by default: on the synthetic catalog (studies/crowd.py) with 2-10% labelled,
   held-out JSD was best at 0.5-0.8 and clearly worse at Zhou's 0.99, which over-smooths.
   Labelled tracks keep their survey label with confidence 1: the survey always wins.
3. Evaluation (`evaluate`): k-fold over the labelled tracks (graph built once); each fold's
   labels are hidden, spread from the rest, and compared with the hidden survey labels (mean
   Jensen-Shannon divergence, top-1 agreement) next to three baselines on the same folds: the
   population prior, supervised k-NN on the labelled tracks only, and scikit-learn's
   LabelSpreading(kernel="knn") on the arg-max labels.
4. Tuning, publish gate and uncertainty (`cross_validate`): k and alpha are chosen by k-fold CV
   on the labelled tracks over a small grid, supervised k-NN's k over the same ks. The result may
   be published only if its per-track held-out JSD beats the population prior and the tuned
   k-NN with a paired percentile-bootstrap 95% interval of the mean difference below zero
   (Efron & Tibshirani 1993). Validity: folds are random over labelled tracks (tracks of one
   artist can fall on both sides, which flatters every method alike); the chosen settings are
   scored on the folds that chose them, an optimism both tuned methods share. Each propagated
   label's uncertainty is a *predicted held-out JSD*: least squares of the actual held-out JSD
   on the label's normalised entropy, 1 - spreading confidence and the disagreement with its
   nearest labelled tracks, fitted on the folds; its Spearman correlation with the actual error
   is computed out of fold and reported. Stored confidence = 1 - predicted JSD.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from emotion.vocab import N_GEMS
from studies.labels import js_divergence

Progress = Callable[[float, str], None]


def _no_progress(fraction: float, message: str) -> None:
    return None


# ---------------------------------------------------------------------------- features and graph


def prepare_features(features: ArrayLike, *, max_components: int = 32, seed: int = 0) -> np.ndarray:
    """Standardise columns (constant columns dropped) and project onto at most
    `max_components` principal components (eigenvectors of the correlation matrix, one
    chunked pass over the data); float32."""
    X = np.asarray(features, dtype=np.float32)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError("features must be a non-empty (n_tracks, n_features) matrix")
    if not np.all(np.isfinite(X)):
        raise ValueError("features contain NaN or infinite values")
    mean = X.mean(axis=0, dtype=np.float64).astype(np.float32)
    std = X.std(axis=0, dtype=np.float64).astype(np.float32)
    keep = std > 1e-8
    if not keep.any():
        raise ValueError("every feature is constant: no similarity to build a graph on")
    mean, std = mean[keep], std[keep]
    d = int(keep.sum())
    if d <= max_components or len(X) <= max_components:
        return np.ascontiguousarray((X[:, keep] - mean) / std)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):  # see knn_graph: cheap products, no contention
        cov = np.zeros((d, d))
        for start in range(0, len(X), 100_000):
            Z = (X[start : start + 100_000, keep] - mean) / std
            cov += (Z.T @ Z).astype(np.float64)
        _, vecs = np.linalg.eigh(cov / len(X))
        proj = (vecs[:, ::-1][:, :max_components] / std[:, None]).astype(np.float32)  # standardise + project
        offset = (mean @ proj).astype(np.float32)
        out = np.empty((len(X), max_components), dtype=np.float32)
        for start in range(0, len(X), 100_000):
            out[start : start + 100_000] = X[start : start + 100_000, keep] @ proj - offset
    return out


@dataclass(frozen=True)
class KnnGraph:
    neighbours: np.ndarray  # (n, k) int32 indices, nearest first, never the track itself
    distances: np.ndarray  # (n, k) float32 Euclidean distances
    method: str  # "exact" or "ivf"

    @property
    def n(self) -> int:
        return len(self.neighbours)

    @property
    def k(self) -> int:
        return int(self.neighbours.shape[1])


def _exact_knn(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(X)
    dist, idx = nn.kneighbors(X)
    return _drop_self(idx, dist, k)


def _drop_self(idx: np.ndarray, dist: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(idx)
    is_self = idx == np.arange(n)[:, None]
    # Drop the track itself where found, else the farthest candidate (duplicates can hide self).
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), idx.shape[1] - 1)
    mask = np.ones_like(idx, dtype=bool)
    mask[np.arange(n), drop] = False
    return idx[mask].reshape(n, k).astype(np.int32), dist[mask].reshape(n, k).astype(np.float32)


def _sq_dists(A: np.ndarray, B: np.ndarray, b_norms: np.ndarray) -> np.ndarray:
    d = _ranking_dists(A, B, b_norms)
    d += (A * A).sum(axis=1)[:, None]
    np.maximum(d, 0.0, out=d)
    return d


def _ranking_dists(A: np.ndarray, B: np.ndarray, b_norms: np.ndarray) -> np.ndarray:
    """|a - b|^2 - |a|^2: same order along each row as the squared distance, one pass cheaper."""
    d: np.ndarray = (A * np.float32(-2.0)) @ B.T
    d += b_norms[None, :]
    return d


def _kmeans(X: np.ndarray, n_cells: int, rng: np.random.Generator, iterations: int = 4) -> np.ndarray:
    """A few Lloyd iterations on a sample: cells only need to be compact, not optimal."""
    sample = X[rng.choice(len(X), size=min(len(X), 16 * n_cells), replace=False)]
    centroids = sample[rng.choice(len(sample), size=n_cells, replace=False)].copy()
    for _ in range(iterations):
        near = np.argmin(_sq_dists(sample, centroids, (centroids * centroids).sum(axis=1)), axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, near, sample)
        counts = np.bincount(near, minlength=n_cells)
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled, None]
    return centroids


def _ivf_knn(
    X: np.ndarray, k: int, *, n_cells: int | None, n_probe: int, seed: int, n_jobs: int, progress: Progress
) -> tuple[np.ndarray, np.ndarray]:
    n = len(X)
    rng = np.random.default_rng(seed)
    # Assigning n tracks to C cells costs ~n*C; searching costs ~n*(n/C)*n_probe: balance them.
    n_cells = n_cells or int(np.clip(np.sqrt(n * n_probe), 16, 8192))
    n_cells = min(n_cells, n)
    centroids = _kmeans(X, n_cells, rng)
    c_norms = (centroids * centroids).sum(axis=1)
    assign = np.empty(n, dtype=np.int32)
    for start in range(0, n, 32768):
        block = X[start : start + 32768]
        assign[start : start + len(block)] = np.argmin(_ranking_dists(block, centroids, c_norms), axis=1)
        progress(0.3 * min(1.0, (start + len(block)) / n), "k-NN search: assigning cells")
    order = np.argsort(assign, kind="stable")
    bounds = np.searchsorted(assign[order], np.arange(n_cells + 1))
    cell_near = np.argsort(_sq_dists(centroids, centroids, c_norms), axis=1)[:, : min(n_probe, n_cells)]
    x_norms = (X * X).sum(axis=1)

    idx_out = np.empty((n, k), dtype=np.int32)
    dist_out = np.empty((n, k), dtype=np.float32)

    def search_cell(c: int) -> None:
        members = order[bounds[c] : bounds[c + 1]]
        if len(members) == 0:
            return
        cand = np.concatenate([order[bounds[j] : bounds[j + 1]] for j in cell_near[c]])
        Xc, nc = X[cand], x_norms[cand]
        kk = min(k + 1, len(cand))
        for q0 in range(0, len(members), 2048):  # bound the block size for lopsided cells
            q = members[q0 : q0 + 2048]
            d = _ranking_dists(X[q], Xc, nc)
            part = np.argpartition(d, kk - 1, axis=1)[:, :kk] if kk < len(cand) else np.tile(np.arange(kk), (len(q), 1))
            pd = np.take_along_axis(d, part, axis=1)
            srt = np.argsort(pd, axis=1)
            nb = cand[np.take_along_axis(part, srt, axis=1)]
            pd = np.take_along_axis(pd, srt, axis=1) + x_norms[q][:, None]
            nd = np.sqrt(np.maximum(pd, 0.0))
            if kk < k + 1:  # tiny candidate set: pad by repeating the farthest
                nb = np.pad(nb, ((0, 0), (0, k + 1 - kk)), mode="edge")
                nd = np.pad(nd, ((0, 0), (0, k + 1 - kk)), mode="edge")
            nb, nd = _drop_self_rows(nb, nd, q, k)
            idx_out[q] = nb  # cells are disjoint: no two workers write the same rows
            dist_out[q] = nd

    # numpy releases the GIL in matmul and partitioning, so threads over cells use every core.
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        for done, _ in enumerate(pool.map(search_cell, range(n_cells))):
            if done % 128 == 0:
                progress(0.3 + 0.7 * done / n_cells, f"k-NN search: cell {done} of {n_cells}")
    return idx_out, dist_out


def _drop_self_rows(nb: np.ndarray, nd: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    is_self = nb == rows[:, None]
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), nb.shape[1] - 1)
    mask = np.ones_like(nb, dtype=bool)
    mask[np.arange(len(nb)), drop] = False
    return nb[mask].reshape(len(nb), k), nd[mask].reshape(len(nb), k)


def knn_graph(
    X: np.ndarray,
    *,
    k: int = 10,
    exact_limit: int = 50_000,
    n_cells: int | None = None,
    n_probe: int = 12,
    seed: int = 0,
    n_jobs: int | None = None,
    progress: Progress | None = None,
) -> KnnGraph:
    """k nearest neighbours of every row of a prepared feature matrix (see prepare_features)."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    n = len(X)
    if n < 2:
        raise ValueError("need at least two tracks to build a graph")
    if k < 1:
        raise ValueError("k must be at least 1")
    k = min(k, n - 1)
    progress = progress or _no_progress
    if n <= exact_limit:
        idx, dist = _exact_knn(X, k)
        method = "exact"
    else:
        from threadpoolctl import threadpool_limits

        # Many small products: BLAS threads only add contention (measured 3-6x slower on the
        # shared 2-core machine); parallelism comes from n_jobs threads over cells instead.
        with threadpool_limits(limits=1, user_api="blas"):
            idx, dist = _ivf_knn(
                X,
                k,
                n_cells=n_cells,
                n_probe=n_probe,
                seed=seed,
                n_jobs=n_jobs or os.cpu_count() or 1,
                progress=progress,
            )
        method = "ivf"
    progress(1.0, "k-NN graph built")
    return KnnGraph(neighbours=idx, distances=dist, method=method)


def normalized_affinity(graph: KnnGraph) -> sp.csr_matrix:
    """S = D^-1/2 W D^-1/2 of the symmetrised self-tuning Gaussian affinity (float32 CSR)."""
    n, k = graph.n, graph.k
    sigma = np.maximum(graph.distances[:, -1], 1e-6)
    rows = np.repeat(np.arange(n, dtype=np.int32), k)
    cols = graph.neighbours.ravel()
    d2 = graph.distances.ravel().astype(np.float32) ** 2
    w = np.exp(-d2 / (sigma[rows] * sigma[cols])).astype(np.float32)
    W = sp.csr_matrix((w, (rows, cols)), shape=(n, n), dtype=np.float32)
    W = (W + W.T) * np.float32(0.5)
    deg = np.asarray(W.sum(axis=1)).ravel()
    inv_sqrt = np.where(deg > 0, 1.0 / np.sqrt(np.maximum(deg, 1e-30)), 0.0).astype(np.float32)
    D = sp.diags(inv_sqrt)
    return (D @ W @ D).tocsr().astype(np.float32)


# ---------------------------------------------------------------------------- spreading


@dataclass(frozen=True)
class Propagation:
    soft_labels: np.ndarray  # (n, 9) rows sum to 1
    confidence: np.ndarray  # (n,) in [0, 1]; 1 for survey-labelled tracks
    labelled: np.ndarray  # (n,) bool: the survey label was kept
    iterations: int
    converged: bool
    prior: np.ndarray = field(repr=False)


def _check_labels(labelled_index: ArrayLike, labels: ArrayLike, n: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.asarray(labelled_index)
    Y = np.asarray(labels, dtype=np.float64)
    if idx.ndim != 1 or (len(idx) and not np.issubdtype(idx.dtype, np.integer)):
        raise ValueError("labelled_index is a 1-D array of track indices")
    if Y.shape != (len(idx), N_GEMS):
        raise ValueError(f"labels must be (n_labelled, {N_GEMS}), got {Y.shape}")
    if len(idx) == 0:
        raise ValueError("at least one labelled track is needed to propagate")
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError("a labelled track index is out of range")
    if len(np.unique(idx)) != len(idx):
        raise ValueError("a track is labelled twice")
    if not np.all(np.isfinite(Y)) or np.any(Y < 0) or np.any(Y.sum(axis=1) <= 0):
        raise ValueError("labels must be non-negative distributions")
    return idx.astype(np.int64), Y / Y.sum(axis=1, keepdims=True)


def spread(
    S: sp.csr_matrix,
    labelled_index: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: float = 0.8,
    background: float = 0.1,
    prior: ArrayLike | None = None,
    max_iter: int = 100,
    tol: float = 1e-4,
    reorder_min: int = 20_000,
    progress: Progress | None = None,
) -> Propagation:
    """Label spreading of soft labels over a normalised affinity S (see module docstring)."""
    n = S.shape[0]
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    if background < 0:
        raise ValueError("background must be non-negative")
    idx, Y_l = _check_labels(labelled_index, labels, n)
    progress = progress or _no_progress
    fallback = Y_l.mean(axis=0) if prior is None else np.asarray(prior, dtype=np.float64) / np.sum(prior)

    Y = np.zeros((n, N_GEMS + 1), dtype=np.float32)
    Y[idx, :N_GEMS] = Y_l
    Y[:, N_GEMS] = background * len(idx) / n
    perm = None
    if n >= reorder_min:
        # Reverse Cuthill-McKee puts graph neighbours next to each other in memory: the sparse
        # products below then hit the cache (5x less CPU per iteration measured at 300k tracks).
        from scipy.sparse.csgraph import reverse_cuthill_mckee

        perm = reverse_cuthill_mckee(S, symmetric_mode=True)
        S = S[perm][:, perm].tocsr()
        Y = Y[perm]
    base = (1.0 - alpha) * Y
    F = Y.copy()
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - reported
        F_new = S @ F
        F_new *= np.float32(alpha)
        F_new += base
        delta = float(np.max(np.abs(F_new - F))) / max(float(np.max(np.abs(F_new))), 1e-30)
        F = F_new
        if it % 5 == 0:
            progress(it / max_iter, f"label spreading: iteration {it}")
        if delta < tol:
            converged = True
            break

    if perm is not None:
        unpermuted = np.empty_like(F)
        unpermuted[perm] = F
        F = unpermuted
    label_mass = F[:, :N_GEMS].sum(axis=1).astype(np.float64)
    bg_mass = F[:, N_GEMS].astype(np.float64)
    total = label_mass + bg_mass
    confidence = np.where(total > 0, label_mass / np.where(total > 0, total, 1.0), 0.0)
    soft = F[:, :N_GEMS].astype(np.float64)
    reached = label_mass > 1e-12
    soft[reached] /= label_mass[reached, None]
    soft[~reached] = fallback  # no path to any survey label: the population prior
    soft[idx] = Y_l  # the survey always wins
    confidence[idx] = 1.0
    labelled = np.zeros(n, dtype=bool)
    labelled[idx] = True
    progress(1.0, "label spreading done")
    return Propagation(
        soft_labels=soft, confidence=confidence, labelled=labelled, iterations=it, converged=converged, prior=fallback
    )


def propagate(
    features: ArrayLike,
    labelled_index: ArrayLike,
    labels: ArrayLike,
    *,
    k: int = 10,
    alpha: float = 0.8,
    background: float = 0.1,
    progress: Progress | None = None,
    seed: int = 0,
) -> Propagation:
    """Features (n, d) of every track + survey soft labels of some -> soft labels of all."""
    progress = progress or _no_progress
    X = prepare_features(features, seed=seed)
    _check_labels(labelled_index, labels, len(X))
    graph = knn_graph(X, k=k, seed=seed, progress=lambda f, m: progress(0.7 * f, m))
    S = normalized_affinity(graph)
    return spread(
        S, labelled_index, labels, alpha=alpha, background=background, progress=lambda f, m: progress(0.7 + 0.3 * f, m)
    )


# ---------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class MethodScore:
    method: str
    mean_jsd: float  # bits, lower is better
    top1: float  # share of held-out tracks whose dominant emotion matches the survey's
    seconds: float


@dataclass(frozen=True)
class Evaluation:
    folds: int
    n_tracks: int
    n_labelled: int
    scores: tuple[MethodScore, ...]  # propagation first, then the baselines
    skipped: tuple[str, ...] = ()  # baselines not run, with the reason, e.g. for the admin

    def score(self, method: str) -> MethodScore:
        for s in self.scores:
            if s.method == method:
                return s
        raise KeyError(method)


PROPAGATION = "label spreading (soft, ours)"
PRIOR = "population prior"
SUPERVISED_KNN = "supervised k-NN (labelled only)"
SKLEARN_SPREADING = "sklearn LabelSpreading (arg-max)"


def _sklearn_label_spreading(
    X: np.ndarray, train_idx: np.ndarray, train_labels: np.ndarray, test_idx: np.ndarray, k: int, alpha: float,
    max_iter: int,
) -> np.ndarray:
    from sklearn.semi_supervised import LabelSpreading

    y = np.full(len(X), -1, dtype=np.int64)
    y[train_idx] = np.argmax(train_labels, axis=1)
    model = LabelSpreading(kernel="knn", n_neighbors=k, alpha=alpha, max_iter=max_iter, tol=1e-4)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: we report whatever it reached
        model.fit(X, y)
    out = np.zeros((len(test_idx), N_GEMS))
    proba = model.label_distributions_[test_idx]
    out[:, model.classes_] = np.nan_to_num(proba)
    empty = out.sum(axis=1) <= 0
    out[empty] = 1.0 / N_GEMS
    return np.asarray(out / out.sum(axis=1, keepdims=True), dtype=np.float64)


def _supervised_knn(
    X: np.ndarray, train_idx: np.ndarray, train_labels: np.ndarray, test_idx: np.ndarray, k: int
) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    kk = min(k, len(train_idx))
    nn = NearestNeighbors(n_neighbors=kk).fit(X[train_idx])
    _, nb = nn.kneighbors(X[test_idx])
    return np.asarray(train_labels[nb].mean(axis=1), dtype=np.float64)


def evaluate(
    features: ArrayLike,
    labelled_index: ArrayLike,
    labels: ArrayLike,
    *,
    folds: int = 5,
    k: int = 10,
    alpha: float = 0.8,
    background: float = 0.1,
    sklearn_limit: int = 50_000,
    seed: int = 0,
    progress: Progress | None = None,
) -> Evaluation:
    """k-fold held-out comparison of propagation with three baselines (module docstring).
    scikit-learn's LabelSpreading is skipped above `sklearn_limit` tracks (it rebuilds an exact
    k-NN graph per fold; minutes at 100k) and listed in `skipped` instead."""
    import time

    progress = progress or _no_progress
    X = prepare_features(features, seed=seed)
    idx, Y = _check_labels(labelled_index, labels, len(X))
    if folds < 2 or folds > len(idx):
        raise ValueError("folds must be between 2 and the number of labelled tracks")
    graph = knn_graph(X, k=k, seed=seed, progress=lambda f, m: progress(0.3 * f, m))
    S = normalized_affinity(graph)
    perm = np.random.default_rng(seed).permutation(len(idx))
    fold_of = np.empty(len(idx), dtype=np.int64)
    fold_of[perm] = np.arange(len(idx)) % folds
    methods = [PROPAGATION, PRIOR, SUPERVISED_KNN] + ([SKLEARN_SPREADING] if len(X) <= sklearn_limit else [])
    jsd: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    hit: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    secs = dict.fromkeys(methods, 0.0)
    for f in range(folds):
        train, test = fold_of != f, fold_of == f
        truth = Y[test]
        preds: dict[str, np.ndarray] = {}
        t0 = time.perf_counter()
        preds[PROPAGATION] = spread(S, idx[train], Y[train], alpha=alpha, background=background).soft_labels[idx[test]]
        secs[PROPAGATION] += time.perf_counter() - t0
        t0 = time.perf_counter()
        preds[PRIOR] = np.broadcast_to(Y[train].mean(axis=0), truth.shape)
        secs[PRIOR] += time.perf_counter() - t0
        t0 = time.perf_counter()
        preds[SUPERVISED_KNN] = _supervised_knn(X, idx[train], Y[train], idx[test], k)
        secs[SUPERVISED_KNN] += time.perf_counter() - t0
        if SKLEARN_SPREADING in methods:
            t0 = time.perf_counter()
            preds[SKLEARN_SPREADING] = _sklearn_label_spreading(X, idx[train], Y[train], idx[test], k, alpha, 100)
            secs[SKLEARN_SPREADING] += time.perf_counter() - t0
        for m, p in preds.items():
            jsd[m].append(js_divergence(p, truth))
            hit[m].append(np.argmax(p, axis=1) == np.argmax(truth, axis=1))
        progress(0.3 + 0.7 * (f + 1) / folds, f"evaluation fold {f + 1} of {folds}")
    scores = tuple(
        MethodScore(m, float(np.concatenate(jsd[m]).mean()), float(np.concatenate(hit[m]).mean()), secs[m])
        for m in methods
    )
    skipped = (
        ()
        if SKLEARN_SPREADING in methods
        else (
            f"{SKLEARN_SPREADING}: not run above {sklearn_limit:,} tracks (see bench/propagation.py for its scaling)",
        )
    )
    return Evaluation(folds=folds, n_tracks=len(X), n_labelled=len(idx), scores=scores, skipped=skipped)


def uncertainty(soft_labels: ArrayLike, confidence: ArrayLike) -> np.ndarray:
    """How much one more survey answer would teach about each track, in [0, 1], for the
    active-learning next-track choice: the mean of the label's normalised entropy (a split
    label) and one minus the propagation confidence (little survey evidence nearby).
    Survey-labelled tracks have confidence 1, so only their entropy counts."""
    from studies.labels import entropy_bits

    p = np.asarray(soft_labels, dtype=np.float64)
    c = np.asarray(confidence, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != N_GEMS or c.shape != (len(p),):
        raise ValueError("soft_labels (n, 9) and confidence (n,) are needed")
    return np.asarray(0.5 * entropy_bits(p) / np.log2(N_GEMS) + 0.5 * (1.0 - np.clip(c, 0.0, 1.0)), dtype=np.float64)


# ---------------------------------------------------------------------------- tuning, gate and calibrated uncertainty


@dataclass(frozen=True)
class GateDecision:
    """Whether a candidate beats its baselines on held-out data, with the figures behind it."""

    passed: bool
    reasons: tuple[str, ...]  # why not (empty when passed), in words for the admin page
    figures: dict[str, Any]


def bootstrap_mean_diff(diff: ArrayLike, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): percentile bootstrap interval of the mean of paired differences
    (Efron & Tibshirani 1993, ch. 13), resampling tracks."""
    d = np.asarray(diff, dtype=np.float64)
    if d.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    return float(d.mean()), float(np.quantile(means, tail)), float(np.quantile(means, 1.0 - tail))


def beats(
    candidate_jsd: ArrayLike, baseline_jsd: ArrayLike, *, name: str, baseline: str, n_boot: int = 2000, seed: int = 0
) -> tuple[bool, dict[str, Any], str]:
    """Candidate beats baseline when the whole 95% bootstrap interval of the paired held-out
    JSD difference (candidate - baseline) lies below zero."""
    mean, low, high = bootstrap_mean_diff(np.asarray(candidate_jsd) - np.asarray(baseline_jsd), n_boot=n_boot, seed=seed)
    ok = bool(np.isfinite(high) and high < 0.0)
    fig = {"baseline": baseline, "mean_diff": mean, "ci_low": low, "ci_high": high, "beats": ok}
    why = "" if ok else (
        f"{name} does not beat the {baseline}: held-out JSD difference {mean:+.3f} bits, "
        f"95% bootstrap interval [{low:+.3f}, {high:+.3f}] does not lie below zero"
    )
    return ok, fig, why


def spearman(a: ArrayLike, b: ArrayLike) -> float:
    from scipy.stats import spearmanr

    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def _uncertainty_design(soft: ArrayLike, confidence: ArrayLike, disagreement: ArrayLike) -> np.ndarray:
    from studies.labels import entropy_bits

    p = np.asarray(soft, dtype=np.float64)
    return np.column_stack(
        [
            np.ones(len(p)),
            entropy_bits(p) / np.log2(N_GEMS),
            1.0 - np.asarray(confidence, dtype=np.float64),
            np.asarray(disagreement, dtype=np.float64),
        ]
    )


def neighbour_disagreement(
    X: np.ndarray, train_idx: np.ndarray, train_labels: ArrayLike, query_idx: np.ndarray, predicted: ArrayLike, k: int
) -> np.ndarray:
    """Mean JSD (bits) between each query track's predicted label and the labels of its k nearest
    labelled tracks: how much the survey evidence around a track disagrees with what it was given."""
    from sklearn.neighbors import NearestNeighbors

    kk = min(k, len(train_idx))
    _, nb = NearestNeighbors(n_neighbors=kk).fit(X[train_idx]).kneighbors(X[query_idx])
    return np.asarray(js_divergence(np.asarray(predicted)[:, None, :], np.asarray(train_labels)[nb]).mean(axis=1))


@dataclass(frozen=True)
class UncertaintyModel:
    """Predicted held-out JSD (bits) of a propagated label from its normalised entropy and its
    propagation confidence: least squares fitted on the cross-validation folds' held-out tracks.
    `spearman` is the rank correlation between the out-of-fold prediction and the actual held-out
    JSD (each fold's rows predicted by a fit on the other folds), i.e. how well it ranks errors.
    Inputs: normalised entropy of the label, 1 - propagation confidence, and the disagreement
    with the nearest labelled tracks (`neighbour_disagreement`)."""

    coef: tuple[float, ...]
    spearman: float
    n: int

    def predict(self, soft: ArrayLike, confidence: ArrayLike, disagreement: ArrayLike) -> np.ndarray:
        return np.asarray(np.clip(_uncertainty_design(soft, confidence, disagreement) @ np.asarray(self.coef), 0.0, 1.0))


def fit_uncertainty(
    soft: ArrayLike, confidence: ArrayLike, disagreement: ArrayLike, actual_jsd: ArrayLike, fold_of: ArrayLike
) -> UncertaintyModel:
    A = _uncertainty_design(soft, confidence, disagreement)
    y = np.asarray(actual_jsd, dtype=np.float64)
    fold_of = np.asarray(fold_of)
    oof = np.empty_like(y)
    for f in np.unique(fold_of):
        tr = fold_of != f
        coef, *_ = np.linalg.lstsq(A[tr], y[tr], rcond=None)
        oof[~tr] = A[~tr] @ coef
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    return UncertaintyModel(coef=tuple(float(c) for c in coef), spearman=spearman(oof, y), n=int(len(y)))


@dataclass(frozen=True)
class PropagationCV:
    """Cross-validated tuning of k and alpha, the publish gate and the uncertainty model."""

    k: int
    alpha: float
    knn_k: int
    folds: int
    n_labelled: int
    grid: tuple[dict[str, Any], ...]  # {"k", "alpha", "mean_jsd"} per propagation setting tried
    knn_grid: tuple[dict[str, Any], ...]  # {"k", "mean_jsd"} per supervised k-NN setting tried
    jsd: dict[str, np.ndarray]  # method -> per-labelled-track held-out JSD (the chosen settings)
    gate: GateDecision
    uncertainty: UncertaintyModel


def cross_validate(
    features: ArrayLike,
    labelled_index: ArrayLike,
    labels: ArrayLike,
    *,
    ks: tuple[int, ...] = (5, 10, 20),
    alphas: tuple[float, ...] = (0.5, 0.8, 0.95),
    folds: int = 5,
    min_labelled: int = 10,
    background: float = 0.1,
    n_boot: int = 2000,
    baselines: tuple[str, ...] = ("prior", "knn"),
    seed: int = 0,
    progress: Progress | None = None,
) -> PropagationCV:
    """Tune k and alpha (and supervised k-NN's k, over the same ks) by k-fold CV on the labelled
    tracks, then gate: publish only if the chosen propagation's held-out JSD beats both the
    population prior and the tuned supervised k-NN, each with a paired bootstrap interval
    that excludes zero. Both competitors are tuned on the same folds, so the selection
    optimism is shared; the prior is not tuned (it has nothing to tune). Fewer than
    `min_labelled` labelled tracks never publish."""
    progress = progress or _no_progress
    X = prepare_features(features, seed=seed)
    idx, Y = _check_labels(labelled_index, labels, len(X))
    n_l = len(idx)
    folds = int(min(folds, n_l))
    if folds < 2:
        raise ValueError("cross-validation needs at least two labelled tracks")
    perm = np.random.default_rng(seed).permutation(n_l)
    fold_of = np.empty(n_l, dtype=np.int64)
    fold_of[perm] = np.arange(n_l) % folds
    ks = tuple(sorted({int(min(k, len(X) - 1)) for k in ks if k >= 1}))
    grid, knn_grid = [], []
    oof: dict[tuple[int, float], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    knn_oof: dict[int, np.ndarray] = {}
    prior_jsd = np.empty(n_l)
    steps = len(ks) * (len(alphas) + 1)
    done = 0
    for k in ks:
        S = normalized_affinity(knn_graph(X, k=k, seed=seed))
        for a in alphas:
            jsd, soft, conf = np.empty(n_l), np.empty((n_l, N_GEMS)), np.empty(n_l)
            for f in range(folds):
                tr, te = fold_of != f, fold_of == f
                res = spread(S, idx[tr], Y[tr], alpha=a, background=background)
                soft[te], conf[te] = res.soft_labels[idx[te]], res.confidence[idx[te]]
                jsd[te] = js_divergence(soft[te], Y[te])
            oof[(k, a)] = (jsd, soft, conf)
            grid.append({"k": k, "alpha": a, "mean_jsd": float(jsd.mean())})
            done += 1
            progress(done / steps, f"cross-validating k={k}, alpha={a}")
        jsd = np.empty(n_l)
        for f in range(folds):
            tr, te = fold_of != f, fold_of == f
            jsd[te] = js_divergence(_supervised_knn(X, idx[tr], Y[tr], idx[te], k), Y[te])
            prior_jsd[te] = js_divergence(np.broadcast_to(Y[tr].mean(axis=0), Y[te].shape), Y[te])
        knn_oof[k] = jsd
        knn_grid.append({"k": k, "mean_jsd": float(jsd.mean())})
        done += 1
    best_k, best_a = min(oof, key=lambda key: oof[key][0].mean())
    knn_k = min(knn_oof, key=lambda k: knn_oof[k].mean())
    prop_jsd, soft, conf = oof[(best_k, best_a)]
    disagree = np.empty(n_l)
    for f in range(folds):
        tr, te = fold_of != f, fold_of == f
        disagree[te] = neighbour_disagreement(X, idx[tr], Y[tr], idx[te], soft[te], knn_k)
    unc = fit_uncertainty(soft, conf, disagree, prop_jsd, fold_of)
    ok_prior, fig_prior, why_prior = beats(prop_jsd, prior_jsd, name="Propagation", baseline="population prior", n_boot=n_boot, seed=seed)
    ok_knn, fig_knn, why_knn = beats(prop_jsd, knn_oof[knn_k], name="Propagation", baseline="supervised k-NN", n_boot=n_boot, seed=seed + 1)
    reasons = [r for r, b in ((why_prior, "prior"), (why_knn, "knn")) if r and b in baselines]
    if n_l < min_labelled:
        reasons.insert(0, f"only {n_l} survey-labelled tracks (the gate needs at least {min_labelled})")
    figures = {
        "folds": folds,
        "n_labelled": n_l,
        "k": best_k,
        "alpha": best_a,
        "knn_k": knn_k,
        "mean_jsd": {"propagation": float(prop_jsd.mean()), "prior": float(prior_jsd.mean()), "knn": float(knn_oof[knn_k].mean())},
        "vs_prior": fig_prior,
        "vs_knn": fig_knn,
        "uncertainty_spearman": unc.spearman,
        # for comparison: how well the raw propagation confidence and the label entropy rank the errors
        "confidence_spearman": spearman(1.0 - conf, prop_jsd),
        "entropy_spearman": spearman(_uncertainty_design(soft, conf, disagree)[:, 1], prop_jsd),
        "min_labelled": min_labelled,
        "baselines": list(baselines),
    }
    return PropagationCV(
        k=best_k, alpha=best_a, knn_k=knn_k, folds=folds, n_labelled=n_l, grid=tuple(grid), knn_grid=tuple(knn_grid),
        jsd={"propagation": prop_jsd, "prior": prior_jsd, "knn": knn_oof[knn_k]},
        gate=GateDecision(passed=not reasons, reasons=tuple(reasons), figures=figures), uncertainty=unc,
    )
