"""Held-out evaluation of propagation against the prior, supervised k-NN and scikit-learn, its
publish gate (paired bootstrap), cross-validated tuning and calibrated uncertainty. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from emotion.vocab import N_GEMS
from studies.labels import entropy_bits, js_divergence
from studies.propagation.graph import Progress, knn_graph, no_progress, normalized_affinity, prepare_features
from studies.propagation.spreading import check_labels, spread

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

    progress = progress or no_progress
    X = prepare_features(features, seed=seed)
    idx, Y = check_labels(labelled_index, labels, len(X))
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
    progress = progress or no_progress
    X = prepare_features(features, seed=seed)
    idx, Y = check_labels(labelled_index, labels, len(X))
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
