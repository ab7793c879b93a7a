"""Music emotion recognition from audio descriptors (design 000). Pure: numpy + scikit-learn.

Design 000 labelled new music with a support vector machine on librosa tempogram and MFCC
features reduced by linear discriminant analysis, and reported "100% accuracy", measured on
its own training set. We keep the model and fix the measurement:

- features: `emotion.audio.DESCRIPTOR_NAMES` (tempo/tempogram and MFCC statistics as in
  design 000, plus chroma, key/mode, RMS, spectral centroid and contrast, onset rate);
- model: Pipeline(StandardScaler -> LinearDiscriminantAnalysis -> SVC with Platt-scaled
  probabilities), trained on the dominant GEMS emotion of each track's soft label (emotions
  dominant on fewer than MIN_TRACKS_PER_EMOTION tracks are left out: `classes` says which); `predict_soft` returns the
  SVM's Platt-scaled class probabilities spread over the nine GEMS columns (emotions never seen
  in training get 0), i.e. a soft label, and `predict_dominant` its arg-max;
- training on soft targets: each track is one weighted example per emotion it was given
  (weight = that emotion's share x the track's sample weight), so Platt-calibrated
  probabilities aim at the soft label, not at its arg-max;
- evaluation: stratified k-fold cross-validation, grouped (StratifiedGroupKFold) by artist or
  album when groups are given, so a model cannot score by recognising a recording's siblings,
  with the same sample weights as deployment; every figure in `MerEvaluation` (accuracy,
  macro-F1, confusion matrix, Jensen-Shannon divergence of the soft prediction) is computed on
  held-out folds only, next to the majority-class (accuracy and JSD) and population-prior
  baselines of the same folds. No training-set accuracy is reported;
- `gate`: publish only if the held-out soft output beats the prior (paired bootstrap interval
  of the per-track JSD difference below zero). Train only on human labels (survey, manual):
  labels computed from audio cues (`prior`) would make the figures circular.

Models are saved with joblib. joblib files are pickles: load only files this code wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from emotion.vocab import GEMS, N_GEMS

FloatArray = NDArray[np.float64]

MODEL_FORMAT = 1
MIN_TRACKS_PER_EMOTION = 3  # fewer cannot be calibrated; such emotions are left out of training


def _one_blas_thread() -> Any:
    """The matrices here are small (tracks x ~60 descriptors): a second BLAS thread only adds
    synchronisation, which on a shared 2-core machine made an SVD 40x slower."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _validate_x(X: ArrayLike) -> FloatArray:
    Xa = np.asarray(X, dtype=np.float64)
    if Xa.ndim != 2 or len(Xa) == 0:
        raise ValueError("descriptors must be a non-empty (n_tracks, n_descriptors) matrix")
    if not np.all(np.isfinite(Xa)):
        raise ValueError("descriptors contain NaN or infinite values")
    return Xa


def _validate(X: ArrayLike, soft_labels: ArrayLike) -> tuple[FloatArray, FloatArray]:
    Xa = _validate_x(X)
    Y = np.asarray(soft_labels, dtype=np.float64)
    if Y.shape != (len(Xa), N_GEMS):
        raise ValueError(f"soft_labels must be (n_tracks, {N_GEMS}), got {Y.shape}")
    if not np.all(np.isfinite(Y)) or np.any(Y < 0) or np.any(Y.sum(axis=1) <= 0):
        raise ValueError("soft_labels must be non-negative distributions")
    return Xa, Y / Y.sum(axis=1, keepdims=True)


def _pipeline(seed: int, calibration_folds: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    # SVC(probability=True) is deprecated since scikit-learn 1.9; this is its documented
    # replacement: Platt scaling fitted on internal cross-validated decision values.
    svm = CalibratedClassifierCV(
        SVC(kernel="rbf", class_weight="balanced", random_state=seed),
        method="sigmoid",
        cv=calibration_folds,
        ensemble=False,
    )
    return Pipeline([("scale", StandardScaler()), ("lda", LinearDiscriminantAnalysis()), ("svm", svm)])


@dataclass
class MerModel:
    pipeline: Any  # the fitted scikit-learn Pipeline
    descriptor_names: tuple[str, ...]
    n_training_tracks: int

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(GEMS[i] for i in self.pipeline.classes_)

    def _check(self, X: ArrayLike) -> FloatArray:
        Xa = _validate_x(np.atleast_2d(np.asarray(X, dtype=np.float64)))
        if Xa.shape[1] != len(self.descriptor_names):
            raise ValueError(f"the model expects {len(self.descriptor_names)} descriptors, got {Xa.shape[1]}")
        return Xa

    def predict_soft(self, X: ArrayLike) -> FloatArray:
        Xa = self._check(X)
        out = np.zeros((len(Xa), N_GEMS))
        with _one_blas_thread():
            out[:, self.pipeline.classes_] = self.pipeline.predict_proba(Xa)
        return np.asarray(out / out.sum(axis=1, keepdims=True), dtype=np.float64)

    def predict_dominant(self, X: ArrayLike) -> list[str]:
        return [GEMS[i] for i in np.argmax(self.predict_soft(X), axis=1)]

    def save(self, path: str | Path) -> None:
        import joblib

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(
            {
                "format": MODEL_FORMAT,
                "pipeline": self.pipeline,
                "descriptor_names": self.descriptor_names,
                "n_training_tracks": self.n_training_tracks,
            },
            path,
        )

    @classmethod
    def load(cls, path: str | Path, *, descriptor_names: tuple[str, ...] | None = None) -> MerModel:
        """Load a model this module saved; if `descriptor_names` is given it must match."""
        import joblib

        data = joblib.load(path)
        if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
            raise ValueError(f"{path} is not an Attune MER model (format {MODEL_FORMAT})")
        names = tuple(data["descriptor_names"])
        if descriptor_names is not None and tuple(descriptor_names) != names:
            raise ValueError("the saved model was trained on different audio descriptors; retrain it")
        return cls(pipeline=data["pipeline"], descriptor_names=names, n_training_tracks=int(data["n_training_tracks"]))


def _js_bits(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence in bits, row-wise (same definition as studies.labels)."""

    def h(x: np.ndarray) -> np.ndarray:
        return np.asarray(-np.sum(np.where(x > 0, x * np.log2(np.where(x > 0, x, 1.0)), 0.0), axis=-1))

    return np.asarray(np.clip(h(0.5 * (p + q)) - 0.5 * (h(p) + h(q)), 0.0, 1.0), dtype=np.float64)


def _dominant(Y: np.ndarray) -> NDArray[np.intp]:
    return np.asarray(np.argmax(Y, axis=1), dtype=np.intp)


def train_mer(
    X: ArrayLike,
    soft_labels: ArrayLike,
    *,
    descriptor_names: tuple[str, ...] | None = None,
    sample_weight: ArrayLike | None = None,
    seed: int = 0,
    soft_targets: bool = True,
) -> MerModel:
    """Fit the pipeline. With `soft_targets` (the default) each track counts once per emotion
    it was given, weighted by that emotion's share of its soft label (emotions kept for
    training only), so the calibrated class probabilities aim at the soft label rather than
    at its arg-max; otherwise on the dominant emotion only. sample_weight (e.g. the label's
    confidence) multiplies every example of its track."""
    X, Y = _validate(X, soft_labels)
    y = _dominant(Y)
    counts = np.bincount(y, minlength=N_GEMS)
    kept = np.flatnonzero(counts >= MIN_TRACKS_PER_EMOTION)
    keep = counts[y] >= MIN_TRACKS_PER_EMOTION
    if len(kept) < 2:
        raise ValueError(
            f"training needs at least two different dominant emotions with {MIN_TRACKS_PER_EMOTION}+ tracks each"
        )
    names = tuple(descriptor_names) if descriptor_names is not None else tuple(f"x{i}" for i in range(X.shape[1]))
    if len(names) != X.shape[1]:
        raise ValueError("descriptor_names must name every column")
    base_w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if base_w.shape != (len(X),) or not np.all(np.isfinite(base_w)) or np.any(base_w < 0):
        raise ValueError("sample_weight needs one non-negative number per track")
    if soft_targets:
        share = Y[:, kept] / np.clip(Y[:, kept].sum(axis=1, keepdims=True), 1e-12, None)
        rows, cols = np.nonzero(share >= 0.05)
        rows, cols = rows[keep[rows]], cols[keep[rows]]
        X_fit, y_fit = X[rows], kept[cols]
        w_fit = base_w[rows] * share[rows, cols]
    else:
        X_fit, y_fit, w_fit = X[keep], y[keep], base_w[keep]
    fit_counts = np.bincount(y_fit, minlength=N_GEMS)
    pipe = _pipeline(seed, calibration_folds=int(min(5, fit_counts[fit_counts > 0].min())))
    with _one_blas_thread():
        pipe.fit(X_fit, y_fit, svm__sample_weight=w_fit)
    return MerModel(pipeline=pipe, descriptor_names=names, n_training_tracks=len(X))


@dataclass(frozen=True)
class MerEvaluation:
    folds: int
    n_tracks: int
    classes: tuple[str, ...]  # rows/columns of `confusion`
    accuracy: float  # held-out
    macro_f1: float  # held-out
    confusion: np.ndarray  # held-out counts, rows = survey dominant emotion, columns = predicted
    mean_jsd: float  # held-out soft prediction vs survey soft label, bits
    majority_accuracy: float  # baseline: always predict the training folds' most common emotion
    prior_jsd: float  # baseline: the training folds' mean soft label
    majority_jsd: float = float("nan")  # baseline: a one-hot of the training folds' most common emotion
    grouped: bool = False  # folds kept every group (artist/album/collection) on one side
    jsd: np.ndarray | None = None  # per held-out track, MER soft output
    prior_jsd_per_track: np.ndarray | None = None  # per held-out track, population prior


def cross_validate_mer(
    X: ArrayLike, soft_labels: ArrayLike, *, folds: int = 5, seed: int = 0, groups: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
) -> MerEvaluation:
    """Held-out evaluation (see the module docstring). With `groups` (artist, album or collection
    per track) the folds are StratifiedGroupKFold: no group has tracks on both sides, so a model
    cannot score by recognising a recording's siblings. `sample_weight` is passed to every fold's
    training exactly as deployment passes it."""
    from sklearn.metrics import confusion_matrix, f1_score
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    X, Y = _validate(X, soft_labels)
    y = _dominant(Y)
    counts = np.bincount(y, minlength=N_GEMS)
    if folds < 2:
        raise ValueError("folds must be at least 2")
    if np.count_nonzero(counts >= folds) < 2:
        raise ValueError(f"need at least two emotions with {folds} or more tracks each for {folds}-fold evaluation")
    # Emotions too rare to appear in every fold cannot be evaluated fairly: leave them out, say so via `classes`.
    keep = counts[y] >= folds
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)[keep]
    g = None if groups is None else np.asarray(groups)[keep]
    X, Y, y = X[keep], Y[keep], y[keep]
    classes = np.flatnonzero(counts >= folds)
    if g is not None:
        n_groups = len(np.unique(g))
        if n_groups < folds:
            raise ValueError(f"grouped evaluation needs at least {folds} groups (artists/albums), got {n_groups}")
        splits = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(X, y, g)
    else:
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(X, y)

    pred = np.empty(len(y), dtype=np.int64)
    soft = np.empty_like(Y)
    majority_hits = np.zeros(len(y), dtype=bool)
    prior_soft = np.empty_like(Y)
    majority_soft = np.zeros_like(Y)
    for train, test in splits:
        model = train_mer(X[train], Y[train], seed=seed, sample_weight=None if weights is None else weights[train])
        soft[test] = model.predict_soft(X[test])
        pred[test] = np.argmax(soft[test], axis=1)
        majority = np.argmax(np.bincount(y[train], minlength=N_GEMS))
        majority_hits[test] = y[test] == majority
        majority_soft[test, majority] = 1.0
        prior_soft[test] = Y[train].mean(axis=0)
    jsd = _js_bits(soft, Y)
    prior = _js_bits(prior_soft, Y)
    return MerEvaluation(
        folds=folds,
        n_tracks=len(y),
        classes=tuple(GEMS[c] for c in classes),
        accuracy=float(np.mean(pred == y)),
        macro_f1=float(f1_score(y, pred, labels=classes, average="macro", zero_division=0)),
        confusion=confusion_matrix(y, pred, labels=classes),
        mean_jsd=float(jsd.mean()),
        majority_accuracy=float(majority_hits.mean()),
        prior_jsd=float(prior.mean()),
        majority_jsd=float(_js_bits(majority_soft, Y).mean()),
        grouped=g is not None,
        jsd=jsd,
        prior_jsd_per_track=prior,
    )


def gate(evaluation: MerEvaluation, *, n_boot: int = 2000, seed: int = 0) -> tuple[bool, dict[str, Any], str]:
    """MER publishes only if its held-out soft output beats the population prior: the 95%
    percentile-bootstrap interval of the paired per-track JSD difference lies below zero.
    Returns (passed, figures, reason-if-not)."""
    if evaluation.jsd is None or evaluation.prior_jsd_per_track is None:
        raise ValueError("the evaluation carries no per-track JSDs to compare")
    d = evaluation.jsd - evaluation.prior_jsd_per_track
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
    low, high = float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))
    ok = high < 0.0
    fig = {
        "mean_jsd": evaluation.mean_jsd, "prior_jsd": evaluation.prior_jsd, "majority_jsd": evaluation.majority_jsd,
        "mean_diff": float(d.mean()), "ci_low": low, "ci_high": high, "grouped": evaluation.grouped, "beats_prior": ok,
    }
    why = "" if ok else (
        f"MER's held-out soft output does not beat the population prior (JSD {evaluation.mean_jsd:.3f} vs "
        f"{evaluation.prior_jsd:.3f} bits; difference interval [{low:+.3f}, {high:+.3f}])"
    )
    return ok, fig, why
