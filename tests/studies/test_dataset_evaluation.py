"""Holding a whole data set out (pure): methods beat the prior where labels follow the features,
and none does where they do not (the degenerate case)."""

from __future__ import annotations

import numpy as np
import pytest

from emotion.vocab import va_to_gems
from studies.dataset_evaluation import KNN, MER, PRIOR, PROPAGATION, evaluate_held_out, verdict


def catalog(n=400, related=True, seed=0):
    rng = np.random.default_rng(seed)
    va = rng.uniform(-0.9, 0.9, size=(n, 2))
    features = np.column_stack([va + rng.normal(0, 0.05, size=(n, 2)), rng.normal(size=(n, 3))])
    labels_va = va if related else rng.uniform(-0.9, 0.9, size=(n, 2))
    labels = va_to_gems(labels_va)
    return features, labels


def split(n, seed=1):
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    return np.sort(order[:120]), np.sort(order[300:])  # training labels, the held-out "data set"


def test_methods_beat_the_prior_when_labels_follow_the_features():
    features, labels = catalog()
    tr, te = split(len(labels))
    scores = {s.method: s for s in evaluate_held_out(features, tr, labels[tr], te, labels[te], descriptors=features)}
    assert set(scores) == {PROPAGATION, KNN, PRIOR, MER}
    for method in (PROPAGATION, KNN, MER):
        assert scores[method].beats_prior and scores[method].mean_jsd < 0.5 * scores[PRIOR].mean_jsd, method
    assert scores[PROPAGATION].n == 100 and "better than the prior" in verdict(scores[PROPAGATION])


def test_no_method_beats_the_prior_when_labels_are_unrelated_to_features():
    features, labels = catalog(related=False)
    tr, te = split(len(labels))
    scores = {s.method: s for s in evaluate_held_out(features, tr, labels[tr], te, labels[te])}
    for method in (PROPAGATION, KNN):
        assert scores[method].mean_jsd > 0.9 * scores[PRIOR].mean_jsd, method
    assert any("do not rely on it" in verdict(scores[m]) for m in (PROPAGATION, KNN))


def test_bad_splits_are_refused():
    features, labels = catalog(n=50)
    with pytest.raises(ValueError, match="also a training track"):
        evaluate_held_out(features, np.arange(10), labels[:10], np.arange(5, 15), labels[5:15])
    with pytest.raises(ValueError, match="at least two"):
        evaluate_held_out(features, np.arange(1), labels[:1], np.arange(5, 15), labels[5:15])
    with pytest.raises(ValueError, match="no track"):
        evaluate_held_out(features, np.arange(10), labels[:10], np.arange(0), labels[:0])
