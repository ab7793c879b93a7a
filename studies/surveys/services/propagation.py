"""Propagation runs: soft labels spread to unrated tracks (studies/propagation.py), published only when they beat the prior and supervised k-NN on held-out tracks."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError

from recommender.models import LabelSource, TrackLabel
from recommender.services.labels import catalog_touch, track_labels_bulk_set
from studies.propagation.evaluation import cross_validate, evaluate, neighbour_disagreement
from studies.propagation.graph import prepare_features
from studies.propagation.spreading import propagate
from studies.surveys import conf
from studies.surveys.models import (
    LabelRun,
)
from studies.surveys.selectors import (
    catalog_feature_matrix,
)
from studies.surveys.services.label_sets import gate_record, publish_if, store_candidate
from studies.surveys.services.progress import RunProgress

logger = logging.getLogger(__name__)


def propagate_run(run: LabelRun) -> tuple[dict, str]:
    matrix = catalog_feature_matrix()
    if len(matrix.track_ids) < 2 or matrix.features.shape[1] == 0:
        raise ValidationError("Propagation needs at least two tracks with audio features.")
    position = {int(t): i for i, t in enumerate(matrix.track_ids)}
    survey_labels = [
        (position[t], g)
        for t, g in TrackLabel.objects.filter(source=LabelSource.SURVEY).values_list("track_id", "gems")
        if t in position
    ]
    if not survey_labels:
        raise ValidationError("No survey labels yet: aggregate a survey first.")
    labelled_index = np.array([i for i, _ in survey_labels], dtype=np.int64)
    labels = np.array([g for _, g in survey_labels], dtype=np.float64)
    n_tracks = len(matrix.track_ids)
    figures: dict[str, Any] = {
        "tracks": int(n_tracks),
        "labelled": int(len(labelled_index)),
        "features": list(matrix.columns),
    }
    # 1. Tune k and alpha by cross-validation and decide whether the result may be published.
    cv = None
    if len(labelled_index) >= 2:
        cv = cross_validate(
            matrix.features, labelled_index, labels, ks=conf.PROPAGATION_KS, alphas=conf.PROPAGATION_ALPHAS,
            folds=conf.EVALUATION_FOLDS, min_labelled=conf.PROPAGATION_MIN_LABELLED, n_boot=conf.BOOTSTRAP_SAMPLES,
            baselines=conf.PROPAGATION_GATE_BASELINES, progress=RunProgress(run, 0.0, 0.6),
        )
        figures["cv"] = {**cv.gate.figures, "grid": list(cv.grid), "knn_grid": list(cv.knn_grid)}
        reasons = list(cv.gate.reasons)
        k, alpha = cv.k, cv.alpha
    else:
        reasons = [f"only {len(labelled_index)} survey-labelled track: nothing to cross-validate"]
        k, alpha = min(conf.PROPAGATION_K, n_tracks - 1), 0.8
    # 2. The candidate: spread with the chosen settings; confidence = 1 - predicted held-out JSD.
    result = propagate(
        matrix.features, labelled_index, labels, k=min(k, n_tracks - 1), alpha=alpha,
        progress=RunProgress(run, 0.6, 0.3),
    )
    targets = np.flatnonzero(~result.labelled)
    if cv is not None and len(targets):
        X = prepare_features(matrix.features)
        disagree = neighbour_disagreement(
            X, labelled_index, labels / labels.sum(axis=1, keepdims=True), targets, result.soft_labels[targets], cv.knn_k
        )
        predicted_jsd = cv.uncertainty.predict(result.soft_labels[targets], result.confidence[targets], disagree)
        confidence = 1.0 - predicted_jsd
        figures["predicted_jsd_mean"] = float(predicted_jsd.mean())
    else:
        confidence = np.clip(result.confidence[targets], 0.0, 1.0)
    figures.update(
        {"iterations": result.iterations, "converged": result.converged, "k": int(k), "alpha": float(alpha),
         "mean_confidence": float(confidence.mean()) if len(targets) else None}
    )
    store_candidate(run, LabelSource.PROPAGATED, [(matrix.track_ids[targets], result.soft_labels[targets], confidence, 0)])
    written = 0

    def write() -> None:
        nonlocal written
        TrackLabel.objects.filter(source=LabelSource.PROPAGATED).delete()
        if len(targets):
            written = track_labels_bulk_set(
                track_ids=matrix.track_ids[targets], source=LabelSource.PROPAGATED,
                gems=result.soft_labels[targets], confidence=np.clip(confidence, 0.0, 1.0),
            )
        else:
            catalog_touch()

    gate_figures = dict(cv.gate.figures) if cv is not None else {}
    published = publish_if(
        run, gate_record(reasons, gate_figures), sources=[LabelSource.PROPAGATED], track_ids=None, write=write
    )
    figures["propagated"] = written
    figures["candidate_tracks"] = int(len(targets))
    # 3. The earlier fixed-k comparison, with sklearn's LabelSpreading as an outside reference.
    if len(labelled_index) >= conf.EVALUATION_MIN_LABELLED:
        folds = min(conf.EVALUATION_FOLDS, len(labelled_index))
        evaluation = evaluate(
            matrix.features, labelled_index, labels, folds=folds, k=min(k, n_tracks - 1), alpha=alpha,
            progress=RunProgress(run, 0.9, 0.1),
        )
        figures["evaluation"] = {
            "folds": evaluation.folds,
            "n_tracks": evaluation.n_tracks,
            "n_labelled": evaluation.n_labelled,
            "scores": [
                {"method": s.method, "mean_jsd": s.mean_jsd, "top1": s.top1, "seconds": s.seconds}
                for s in evaluation.scores
            ],
        }
    else:
        figures["evaluation"] = None
        figures["evaluation_note"] = (
            f"Held-out evaluation needs at least {conf.EVALUATION_MIN_LABELLED} survey-labelled tracks "
            f"({len(labelled_index)} so far)."
        )
    if published:
        return figures, f"{written} tracks got a propagated label from {len(labelled_index)} survey-labelled tracks."
    return figures, f"Not published: {'; '.join(reasons)}. The {len(targets)} candidate labels are kept on this run."
