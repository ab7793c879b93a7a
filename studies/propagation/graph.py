"""The k-NN graph label spreading runs on: prepared features (PCA-whitened), exact or
inverted-file nearest neighbours, and the normalised affinity. Pure: numpy, scipy, scikit-learn."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

Progress = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
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
    progress = progress or no_progress
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
