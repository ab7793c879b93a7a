"""The database side of music emotion recognition (the science is emotion/mer.py).

- `train`: survey-labelled tracks that have audio descriptors (Track.descriptors, measured by
  emotion/audio.py when the audio was imported) -> held-out cross-validation figures and a
  confusion matrix, then the model trained on all of them, saved under MODELS_DIR.
- `label_new`: tracks with audio descriptors, no survey label and no counting ratings get a
  `source=mer` label from the saved model (confidence = the top class probability). Survey
  labels replace them: aggregation removes the mer label of every track it labels, and the
  resolution rule (recommender/selectors.py) ranks survey above mer anyway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError

from recommender.models import LabelSource, Track, TrackLabel
from recommender.services import track_labels_bulk_set
from studies.surveys import conf
from studies.surveys.selectors import counting_ratings


def model_path() -> Path:
    path = Path(conf.MER_MODEL_FILE)
    return path if path.is_absolute() else Path(settings.MODELS_DIR) / path


def _descriptor_rows(track_ids=None) -> tuple[np.ndarray, np.ndarray]:
    """(track ids, descriptor matrix) for tracks whose descriptors hold every DESCRIPTOR_NAME."""
    from emotion.audio import DESCRIPTOR_NAMES

    qs = Track.objects.exclude(descriptors={}).order_by("id")
    if track_ids is not None:
        qs = qs.filter(pk__in=track_ids)
    ids, rows = [], []
    for tid, desc in qs.values_list("id", "descriptors").iterator(chunk_size=2000):
        desc = desc or {}
        try:
            row = [float(desc[name]) for name in DESCRIPTOR_NAMES]
        except (KeyError, TypeError, ValueError):
            continue
        if all(np.isfinite(row)):
            ids.append(tid)
            rows.append(row)
    return np.array(ids, dtype=np.int64), np.array(rows, dtype=np.float64).reshape(len(rows), len(DESCRIPTOR_NAMES))


def train(run, mer, progress) -> tuple[dict[str, Any], str]:
    from emotion.audio import DESCRIPTOR_NAMES

    labelled = dict(TrackLabel.objects.filter(source=LabelSource.SURVEY).values_list("track_id", "gems"))
    confidence = dict(TrackLabel.objects.filter(source=LabelSource.SURVEY).values_list("track_id", "confidence"))
    ids, X = _descriptor_rows(list(labelled))
    if len(ids) < 2 * mer.MIN_TRACKS_PER_EMOTION:
        raise ValidationError(
            f"Training needs survey labels on tracks with audio descriptors: {len(ids)} such tracks so far "
            f"(at least {2 * mer.MIN_TRACKS_PER_EMOTION} are needed)."
        )
    Y = np.array([labelled[int(t)] for t in ids], dtype=np.float64)
    weights = np.array([max(float(confidence[int(t)]), 0.05) for t in ids])
    progress(0.1, "cross-validating on held-out tracks")
    figures: dict[str, Any] = {"n_tracks": int(len(ids))}
    counts = np.bincount(np.argmax(Y, axis=1), minlength=Y.shape[1])
    folds = int(min(conf.MER_FOLDS, np.sort(counts)[-2])) if np.count_nonzero(counts) >= 2 else 0
    if folds >= 2:
        try:
            ev = mer.cross_validate_mer(X, Y, folds=folds)
        except ValueError as exc:
            figures["cv_note"] = str(exc)
        else:
            figures["cv"] = {
                "folds": ev.folds, "n_tracks": ev.n_tracks, "accuracy": ev.accuracy, "macro_f1": ev.macro_f1,
                "mean_jsd": ev.mean_jsd, "majority_accuracy": ev.majority_accuracy, "prior_jsd": ev.prior_jsd,
            }
            figures["confusion"] = np.asarray(ev.confusion).astype(int).tolist()
            figures["classes"] = list(ev.classes)
    else:
        figures["cv_note"] = "Held-out evaluation needs at least two emotions dominant on two or more tracks each."
    progress(0.7, "training on every labelled track")
    model = mer.train_mer(X, Y, descriptor_names=tuple(DESCRIPTOR_NAMES), sample_weight=weights)
    path = model_path()
    model.save(path)
    figures["model_classes"] = list(model.classes)
    figures["model_file"] = path.name
    cv = figures.get("cv")
    message = f"Trained on {len(ids)} survey-labelled tracks ({', '.join(model.classes)})."
    if cv:
        message += (
            f" Held-out {cv['folds']}-fold accuracy {cv['accuracy']:.0%} (majority baseline "
            f"{cv['majority_accuracy']:.0%}), macro-F1 {cv['macro_f1']:.2f}, JSD {cv['mean_jsd']:.3f} bits "
            f"(prior {cv['prior_jsd']:.3f})."
        )
    return figures, message


def label_new(run, mer, progress) -> tuple[dict[str, Any], str]:
    from emotion.audio import DESCRIPTOR_NAMES

    path = model_path()
    if not path.exists():
        raise ValidationError("No MER model yet: run “Train music emotion recognition” first.")
    model = mer.MerModel.load(path, descriptor_names=tuple(DESCRIPTOR_NAMES))
    surveyed = set(TrackLabel.objects.filter(source=LabelSource.SURVEY).values_list("track_id", flat=True))
    rated = set(counting_ratings().values_list("track_id", flat=True))
    ids, X = _descriptor_rows()
    keep = np.array([int(t) not in surveyed and int(t) not in rated for t in ids], dtype=bool)
    ids, X = ids[keep], X[keep]
    written = 0
    if len(ids):
        progress(0.3, f"predicting {len(ids)} tracks")
        soft = model.predict_soft(X)
        written = track_labels_bulk_set(
            track_ids=ids, source=LabelSource.MER, gems=soft, confidence=np.clip(soft.max(axis=1), 0.0, 1.0)
        )
    return {"labelled": written, "model_classes": list(model.classes)}, f"{written} unrated tracks labelled from audio."
