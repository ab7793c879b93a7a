"""How well does Attune predict a published data set's labels? (issue 17). Pure: no Django.

The data set is held out as a whole: nothing of it is used for training. Every method learns from
the other human labels only (Attune's surveys, manual labels, other imported data sets) and
predicts the held-out data set's tracks; each is scored against the data set's labels by the mean
Jensen-Shannon divergence in bits (lower is better) and top-1 agreement of the dominant emotion.

Methods, each the same code Attune runs in production:
- label spreading over the catalog's k-NN graph (studies.propagation.propagate);
- music emotion recognition from audio descriptors (emotion.mer.train_mer), on the held-out
  tracks that have descriptors (its own `n`);
- baselines: the population prior (the training labels' mean) and supervised k-NN on the same
  prepared features (studies.propagation's baseline).
A method that does not beat the prior on this held-out set is said to, in words, by `verdict`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emotion import mer
from studies.labels import js_divergence
from studies.propagation.evaluation import PRIOR, PROPAGATION, SUPERVISED_KNN, _supervised_knn
from studies.propagation.graph import prepare_features
from studies.propagation.spreading import propagate

PROPAGATION = PROPAGATION
MER = "music emotion recognition (audio)"
PRIOR = PRIOR
KNN = SUPERVISED_KNN


@dataclass(frozen=True)
class HeldOutScore:
    method: str
    n: int
    mean_jsd: float
    top1: float
    prior_jsd: float  # the prior's JSD on the same tracks, for a like-for-like comparison

    @property
    def beats_prior(self) -> bool:
        return self.mean_jsd < self.prior_jsd


def _score(method: str, pred: np.ndarray, truth: np.ndarray, prior: np.ndarray) -> HeldOutScore:
    jsd = js_divergence(pred, truth)
    prior_jsd = js_divergence(np.broadcast_to(prior, truth.shape), truth)
    top1 = float(np.mean(np.argmax(pred, axis=1) == np.argmax(truth, axis=1))) if len(truth) else float("nan")
    return HeldOutScore(method, int(len(truth)), float(jsd.mean()), top1, float(prior_jsd.mean()))


def evaluate_held_out(
    features: np.ndarray,
    train_idx: np.ndarray,
    train_labels: np.ndarray,
    test_idx: np.ndarray,
    test_labels: np.ndarray,
    *,
    k: int = 10,
    alpha: float = 0.8,
    descriptors: np.ndarray | None = None,
    seed: int = 0,
) -> list[HeldOutScore]:
    """Scores of every method on the held-out tracks. `descriptors` (n, d) with NaN rows where a
    track has none: MER trains on the training tracks that have them and is scored on the
    held-out tracks that have them."""
    train_idx = np.asarray(train_idx, dtype=np.int64)
    test_idx = np.asarray(test_idx, dtype=np.int64)
    if len(train_idx) < 2:
        raise ValueError("at least two labelled tracks outside the held-out data set are needed to learn from")
    if len(test_idx) == 0:
        raise ValueError("the held-out data set has no track in the catalog's feature matrix")
    if np.intersect1d(train_idx, test_idx).size:
        raise ValueError("a held-out track is also a training track")
    train_Y = train_labels / train_labels.sum(axis=1, keepdims=True)
    truth = test_labels / test_labels.sum(axis=1, keepdims=True)
    prior = train_Y.mean(axis=0)
    scores = []
    spread = propagate(features, train_idx, train_Y, k=min(k, len(features) - 1), alpha=alpha, seed=seed)
    scores.append(_score(PROPAGATION, spread.soft_labels[test_idx], truth, prior))
    X = prepare_features(features, seed=seed)
    scores.append(_score(KNN, _supervised_knn(X, train_idx, train_Y, test_idx, k), truth, prior))
    scores.append(_score(PRIOR, np.broadcast_to(prior, truth.shape).copy(), truth, prior))
    if descriptors is not None:
        has = np.all(np.isfinite(descriptors), axis=1)
        tr, te = train_idx[has[train_idx]], np.flatnonzero(has[test_idx])
        if len(tr) >= 2 * mer.MIN_TRACKS_PER_EMOTION and len(te):
            try:
                model = mer.train_mer(descriptors[tr], train_Y[has[train_idx]], seed=seed)
            except ValueError:
                model = None
            if model is not None:
                scores.append(_score(MER, model.predict_soft(descriptors[test_idx[te]]), truth[te], prior))
    return scores


def verdict(score: HeldOutScore) -> str:
    """One sentence for the page."""
    if score.method == PRIOR:
        return "the baseline every method must beat"
    if score.beats_prior:
        return f"better than the prior on these {score.n} tracks ({score.prior_jsd:.3f} bits)"
    return f"no better than the prior on these {score.n} tracks ({score.prior_jsd:.3f} bits): do not rely on it here"
