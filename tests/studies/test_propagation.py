"""studies/propagation.py on synthetic clustered catalogs (studies/crowd.py)."""

from __future__ import annotations

import numpy as np
import pytest

from emotion.vocab import N_GEMS
from studies.crowd import simulated_feature_catalog
from studies.propagation.evaluation import PRIOR, PROPAGATION, SKLEARN_SPREADING, SUPERVISED_KNN, evaluate, uncertainty
from studies.propagation.graph import knn_graph, normalized_affinity, prepare_features
from studies.propagation.spreading import propagate, spread


@pytest.fixture(scope="module")
def catalog():
    X, labels = simulated_feature_catalog(1500, n_features=20, seed=3)
    labelled = np.random.default_rng(0).choice(1500, 200, replace=False)
    return X, labels, labelled


def test_propagation_beats_the_prior_on_held_out_tracks(catalog):
    X, labels, labelled = catalog
    ev = evaluate(X, labelled, labels[labelled], folds=3)
    ours, prior = ev.score(PROPAGATION), ev.score(PRIOR)
    assert [s.method for s in ev.scores] == [PROPAGATION, PRIOR, SUPERVISED_KNN, SKLEARN_SPREADING]
    assert ours.mean_jsd < 0.5 * prior.mean_jsd
    assert ours.top1 > prior.top1 + 0.2
    # Soft spreading is not worse than spreading arg-max labels (the information it keeps).
    assert ours.mean_jsd < ev.score(SKLEARN_SPREADING).mean_jsd
    assert ev.n_labelled == 200 and ev.folds == 3 and ev.skipped == ()
    supervised = ev.score(SUPERVISED_KNN)
    assert supervised.mean_jsd < prior.mean_jsd  # the baselines are real, not strawmen


def test_sklearn_baseline_skip_is_reported(catalog):
    X, labels, labelled = catalog
    ev = evaluate(X[:600], labelled[labelled < 600], labels[labelled[labelled < 600]], folds=2, sklearn_limit=100)
    assert SKLEARN_SPREADING not in [s.method for s in ev.scores]
    assert len(ev.skipped) == 1 and "not run above 100 tracks" in ev.skipped[0]
    with pytest.raises(KeyError):
        ev.score(SKLEARN_SPREADING)


def test_unlabelled_tracks_get_labels_close_to_the_truth(catalog):
    X, labels, labelled = catalog
    calls = []
    result = propagate(X, labelled, labels[labelled], progress=lambda f, m: calls.append((f, m)))
    assert result.soft_labels.shape == (1500, N_GEMS)
    assert np.allclose(result.soft_labels.sum(axis=1), 1)
    unl = ~result.labelled
    from studies.labels import js_divergence

    assert (
        js_divergence(result.soft_labels[unl], labels[unl]).mean()
        < 0.5 * js_divergence(result.prior, labels[unl]).mean()
    )
    assert calls and calls[-1][0] == pytest.approx(1.0)
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and all(isinstance(m, str) and m for _, m in calls)
    assert result.converged


def test_survey_labels_always_win(catalog):
    X, labels, labelled = catalog
    odd = np.zeros((len(labelled), N_GEMS))
    odd[:, 0] = 1.0  # every survey says 'wonder', whatever the neighbours say
    result = propagate(X, labelled, odd)
    assert np.array_equal(result.soft_labels[labelled], odd)
    assert np.all(result.confidence[labelled] == 1.0) and result.labelled[labelled].all()
    assert result.labelled.sum() == len(labelled)


def test_confidence_falls_away_from_labelled_tracks():
    rng = np.random.default_rng(1)
    near = rng.normal(0, 1, size=(300, 5))
    far = rng.normal(0, 1, size=(300, 5)) + 50.0  # a separate island nobody has rated
    X = np.vstack([near, far])
    labelled = np.arange(0, 300, 10)
    soft = np.tile(np.eye(N_GEMS)[3], (len(labelled), 1))
    result = propagate(X, labelled, soft)
    unl_near = np.setdiff1d(np.arange(300), labelled)
    assert result.confidence[unl_near].mean() > 0.5
    assert result.confidence[300:].max() < 0.05
    assert np.allclose(result.soft_labels[300:], result.prior)  # no path to a survey: the prior
    assert np.all(np.argmax(result.soft_labels[unl_near], axis=1) == 3)


def test_approximate_search_finds_most_true_neighbours(catalog):
    X = prepare_features(catalog[0])
    exact = knn_graph(X, k=10)
    approx = knn_graph(X, k=10, exact_limit=0, n_probe=8)
    assert exact.method == "exact" and approx.method == "ivf"
    assert approx.neighbours.shape == (1500, 10)
    assert not np.any(approx.neighbours == np.arange(1500)[:, None])
    assert np.all(np.diff(approx.distances, axis=1) >= -1e-5)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact.neighbours, approx.neighbours, strict=True)])
    assert recall > 0.8


def test_normalised_affinity_is_symmetric_with_bounded_spectrum(catalog):
    X = prepare_features(catalog[0][:500])
    S = normalized_affinity(knn_graph(X, k=8))
    assert abs(S - S.T).max() < 1e-6
    v = np.random.default_rng(0).random(500)
    assert np.linalg.norm(S @ v) <= np.linalg.norm(v) * (1 + 1e-4)  # eigenvalues within [-1, 1]


def test_prepare_features_drops_constant_columns_and_reduces():
    rng = np.random.default_rng(0)
    X = np.hstack([rng.normal(size=(200, 50)), np.ones((200, 1))])
    P = prepare_features(X)
    assert P.shape == (200, 32) and P.dtype == np.float32


@pytest.mark.parametrize(
    "mutate,msg",
    [
        (lambda X, i, y: (X, i, y[:, :5]), "labels must be"),
        (lambda X, i, y: (X, np.r_[i[:-1], i[0]], y), "labelled twice"),
        (lambda X, i, y: (X, np.r_[i[:-1], 10**6], y), "out of range"),
        (lambda X, i, y: (X, i, -y), "non-negative"),
        (lambda X, i, y: (np.where(np.arange(len(X))[:, None] == 0, np.nan, X), i, y), "NaN"),
        (lambda X, i, y: (X, i[:0], y[:0]), "at least one"),
        (lambda X, i, y: (np.ones_like(X), i, y), "constant"),
    ],
)
def test_bad_input(catalog, mutate, msg):
    X, labels, labelled = catalog
    X, idx, y = mutate(X[:400], labelled[labelled < 400], labels[labelled[labelled < 400]])
    with pytest.raises(ValueError, match=msg):
        propagate(X, idx, y)


def test_bad_parameters(catalog):
    X, labels, labelled = catalog
    S = normalized_affinity(knn_graph(prepare_features(X[:200]), k=5))
    idx = labelled[labelled < 200]
    with pytest.raises(ValueError, match="alpha"):
        spread(S, idx, labels[idx], alpha=1.0)
    with pytest.raises(ValueError, match="folds"):
        evaluate(X[:200], idx, labels[idx], folds=1)


def test_cache_friendly_reordering_does_not_change_the_result(catalog):
    X, labels, labelled = catalog
    S = normalized_affinity(knn_graph(prepare_features(X), k=10))
    plain = spread(S, labelled, labels[labelled], reorder_min=10**9)
    reordered = spread(S, labelled, labels[labelled], reorder_min=0)
    assert np.allclose(plain.soft_labels, reordered.soft_labels, atol=1e-5)
    assert np.allclose(plain.confidence, reordered.confidence, atol=1e-5)
    assert np.array_equal(plain.labelled, reordered.labelled)


def test_uncertainty_ranks_split_and_unsupported_labels_first():
    sharp = np.eye(N_GEMS)[2]
    flat = np.full(N_GEMS, 1 / N_GEMS)
    u = uncertainty(np.vstack([sharp, flat, sharp, flat]), np.array([1.0, 1.0, 0.1, 0.1]))
    assert u[0] == pytest.approx(0.0) and u[3] == pytest.approx(0.95)
    assert np.argsort(-u).tolist() == [3, 1, 2, 0]
    with pytest.raises(ValueError):
        uncertainty(np.ones((2, 3)), np.ones(2))


# ---------------------------------------------------------------------------- gate and calibrated uncertainty


def _manifold_catalog(seed: int, *, independent: bool):
    from emotion.vocab import va_to_gems

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(600, 6))
    lab = rng.choice(600, 120, replace=False)
    if independent:  # labels that have nothing to do with the features
        return X, lab, rng.dirichlet(np.full(9, 0.7), size=120)
    va = np.tanh(0.8 * X[:, :2])  # a smooth label manifold, no clusters
    return X, lab, va_to_gems(va)[lab]


class TestPublishGate:
    def test_labels_independent_of_features_do_not_publish(self):
        from studies.propagation.evaluation import cross_validate

        for seed in (0, 1):
            cv = cross_validate(*_manifold_catalog(seed, independent=True), n_boot=500)
            assert not cv.gate.passed and any("population prior" in r for r in cv.gate.reasons)

    def test_smooth_manifold_publishes_only_if_it_beats_knn_and_ranks_its_errors(self):
        from studies.propagation.evaluation import cross_validate

        for seed in (0, 1):
            cv = cross_validate(*_manifold_catalog(seed, independent=False), n_boot=500)
            diff = cv.jsd["propagation"] - cv.jsd["knn"]
            vs_knn = cv.gate.figures["vs_knn"]
            assert cv.gate.passed == (vs_knn["ci_high"] < 0 and cv.gate.figures["vs_prior"]["ci_high"] < 0)
            if cv.gate.passed:
                assert diff.mean() < 0
            else:
                assert any("supervised k-NN" in r for r in cv.gate.reasons)
            assert cv.uncertainty.spearman >= 0.3
            assert cv.gate.figures["mean_jsd"]["propagation"] < cv.gate.figures["mean_jsd"]["prior"]

    def test_too_few_labelled_tracks_never_publish(self):
        from studies.propagation.evaluation import cross_validate

        X, lab, Y = _manifold_catalog(0, independent=False)
        cv = cross_validate(X, lab[:8], Y[:8], n_boot=200)
        assert not cv.gate.passed and "at least 10" in cv.gate.reasons[0]

    def test_bootstrap_interval_covers_the_mean_and_excludes_zero_only_for_a_real_difference(self):
        from studies.propagation.evaluation import bootstrap_mean_diff

        rng = np.random.default_rng(0)
        mean, low, high = bootstrap_mean_diff(rng.normal(-0.05, 0.02, 200))
        assert low < mean < high < 0
        _, low, high = bootstrap_mean_diff(rng.normal(0.0, 0.02, 200))
        assert low < 0 < high
