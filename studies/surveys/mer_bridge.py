"""The database side of music emotion recognition (the science is emotion/mer.py).

- `train`: survey- (or manually/import-) labelled tracks that have audio descriptors
  (Track.descriptors, measured by emotion/audio.py when the audio was imported; `prior` labels
  are never used: they are computed from MER's own inputs) -> cross-validation grouped by
  artist/album with the deployment's sample weights, then the model trained on all of them. It
  replaces the deployed model under MODELS_DIR only if its held-out soft output beats the
  population prior (emotion.mer.gate); the model it replaces is kept for a roll back.
- `label_new`: tracks with audio descriptors, no survey label and no counting ratings get a
  `source=mer` label from the saved model (confidence = the top class probability). Survey
  labels replace them: aggregation removes the mer label of every track it labels, and the
  resolution rule (recommender/selectors.py) ranks survey above mer anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from emotion.audio import DESCRIPTOR_NAMES
from recommender.models import LabelSource, Track, TrackLabel
from recommender.services.labels import track_labels_bulk_set
from studies.surveys import conf
from studies.surveys.models import Decision, LabelRun
from studies.surveys.selectors import counting_ratings
from studies.surveys.services.label_sets import gate_record, publish_if, store_candidate


def model_path() -> Path:
    path = Path(conf.MER_MODEL_FILE)
    return path if path.is_absolute() else Path(settings.MODELS_DIR) / path


def descriptor_rows(track_ids=None) -> tuple[np.ndarray, np.ndarray]:
    """(track ids, descriptor matrix) for tracks whose descriptors hold every DESCRIPTOR_NAME."""

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


# The labels MER may learn from: people's answers (survey), imported data sets' human labels
# (dataset, studies/surveys/datasets.py) and labels a researcher set by hand (manual). Never
# `prior` (computed from audio cues, i.e. from MER's own inputs: learning it would be circular),
# nor propagated/mer (machine guesses). Earlier sources win where a track has several.
TRAINING_SOURCES = (LabelSource.SURVEY, LabelSource.DATASET, LabelSource.MANUAL)
MODEL_SCOPE = "mer-model"  # the "labels" a training run publishes: the deployed model file


def _groups(ids: np.ndarray) -> np.ndarray:
    """Artist (else album, else the track itself) per track: CV keeps each group on one side."""
    rows = dict(Track.objects.filter(pk__in=[int(t) for t in ids]).values_list("id", "artist"))
    albums = dict(Track.objects.filter(pk__in=[int(t) for t in ids]).values_list("id", "album"))
    return np.array(
        [(rows.get(int(t)) or "").strip().lower() or (albums.get(int(t)) or "").strip().lower() or f"track-{t}" for t in ids]
    )


def train(run, mer, progress) -> tuple[dict[str, Any], str]:

    labelled: dict[int, Any] = {}
    confidence: dict[int, float] = {}
    # survey wins over dataset over manual where a track has several
    for source in reversed(TRAINING_SOURCES):
        for t, g, c in TrackLabel.objects.filter(source=source).values_list("track_id", "gems", "confidence"):
            labelled[t], confidence[t] = g, c
    ids, X = descriptor_rows(list(labelled))
    if len(ids) < 2 * mer.MIN_TRACKS_PER_EMOTION:
        raise ValidationError(
            f"Not enough survey labels yet: training needs survey (or imported) labels on tracks with audio "
            f"descriptors: {len(ids)} such tracks so far (at least {2 * mer.MIN_TRACKS_PER_EMOTION} are needed). "
            f"Prior labels are never used for training."
        )
    Y = np.array([labelled[int(t)] for t in ids], dtype=np.float64)
    weights = np.array([max(float(confidence[int(t)]), 0.05) for t in ids])
    groups = _groups(ids)
    progress(0.1, "cross-validating on held-out groups (artist/album)")
    figures: dict[str, Any] = {"n_tracks": int(len(ids)), "training_sources": list(TRAINING_SOURCES)}
    counts = np.bincount(np.argmax(Y, axis=1), minlength=Y.shape[1])
    folds = int(min(conf.MER_FOLDS, np.sort(counts)[-2], len(set(groups)))) if np.count_nonzero(counts) >= 2 else 0
    reasons: list[str] = []
    gate_figures: dict[str, Any] = {}
    if folds >= 2:
        try:
            ev = mer.cross_validate_mer(X, Y, folds=folds, groups=groups, sample_weight=weights)
        except ValueError as exc:
            figures["cv_note"] = str(exc)
            reasons.append(f"no grouped held-out evaluation possible: {exc}")
        else:
            figures["cv"] = {
                "folds": ev.folds, "n_tracks": ev.n_tracks, "accuracy": ev.accuracy, "macro_f1": ev.macro_f1,
                "mean_jsd": ev.mean_jsd, "majority_accuracy": ev.majority_accuracy, "prior_jsd": ev.prior_jsd,
                "majority_jsd": ev.majority_jsd, "grouped": ev.grouped, "groups": int(len(set(groups))),
            }
            figures["confusion"] = np.asarray(ev.confusion).astype(int).tolist()
            figures["classes"] = list(ev.classes)
            ok, gate_figures, why = mer.gate(ev, n_boot=conf.BOOTSTRAP_SAMPLES)
            if not ok:
                reasons.append(why)
    else:
        figures["cv_note"] = "Held-out evaluation needs at least two emotions dominant on two or more tracks each."
        reasons.append("not enough survey labels yet for a grouped held-out evaluation")
    progress(0.7, "training on every labelled track")
    model = mer.train_mer(X, Y, descriptor_names=tuple(DESCRIPTOR_NAMES), sample_weight=weights)
    figures["model_classes"] = list(model.classes)
    figures["model_file"] = model_path().name
    published = publish_model_if(run, reasons, {"mer": gate_figures} if gate_figures else {}, model)
    cv = figures.get("cv")
    message = f"Trained on {len(ids)} survey-labelled tracks ({', '.join(model.classes)})."
    if cv:
        message += (
            f" Held-out {cv['folds']}-fold (grouped by artist/album) accuracy {cv['accuracy']:.0%} (majority baseline "
            f"{cv['majority_accuracy']:.0%}), macro-F1 {cv['macro_f1']:.2f}, JSD {cv['mean_jsd']:.3f} bits "
            f"(prior {cv['prior_jsd']:.3f}, majority class {cv['majority_jsd']:.3f})."
        )
    message += " Published: the model now labels new audio." if published else f" Not published: {'; '.join(reasons)}."
    return figures, message


def model_save(model, run) -> None:
    """Deploy `model`, keeping the model it replaces beside it for a roll back."""
    path = model_path()
    if path.exists():
        previous_model_path(run).parent.mkdir(parents=True, exist_ok=True)
        path.replace(previous_model_path(run))
    model.save(path)


def previous_model_path(run) -> Path:
    return model_path().with_name(f"{model_path().stem}.before-run{run.pk}{model_path().suffix}")


def model_rollback(run) -> None:
    path, previous = model_path(), previous_model_path(run)
    if previous.exists():
        previous.replace(path)
    elif path.exists():
        path.unlink()  # there was no model before this run


def label_new(run, mer, progress) -> tuple[dict[str, Any], str]:

    path = model_path()
    if not path.exists():
        raise ValidationError("No MER model yet: run “Train music emotion recognition” first.")
    model = mer.MerModel.load(path, descriptor_names=tuple(DESCRIPTOR_NAMES))
    surveyed = set(TrackLabel.objects.filter(source=LabelSource.SURVEY).values_list("track_id", flat=True))
    rated = set(counting_ratings().values_list("track_id", flat=True))
    ids, X = descriptor_rows()
    keep = np.array([int(t) not in surveyed and int(t) not in rated for t in ids], dtype=bool)
    ids, X = ids[keep], X[keep]

    written = 0
    soft = np.zeros((0, 9))
    if len(ids):
        progress(0.3, f"predicting {len(ids)} tracks")
        soft = model.predict_soft(X)
    confidence = np.clip(soft.max(axis=1), 0.0, 1.0) if len(ids) else np.zeros(0)
    store_candidate(run, LabelSource.MER, [(ids, soft, confidence, 0)])

    def write() -> None:
        nonlocal written
        if len(ids):
            written = track_labels_bulk_set(track_ids=ids, source=LabelSource.MER, gems=soft, confidence=confidence)

    # The deployed model passed its gate when it was trained (train above); this run publishes its output.
    publish_if(run, gate_record([], {"model_file": path.name}), sources=[LabelSource.MER], track_ids=[int(t) for t in ids], write=write)
    return {"labelled": written, "model_classes": list(model.classes)}, f"{written} unrated tracks labelled from audio."


def publish_model_if(run: LabelRun, reasons: Sequence[str], figures: dict, model) -> bool:
    """The MER training run's gate: deploy the model file only if it passed."""
    gate = {**gate_record(reasons, figures), "scope": {"sources": [MODEL_SCOPE], "track_ids": []}}
    if reasons:
        run.decision, run.gate = Decision.NOT_PUBLISHED, gate
        run.save(update_fields=["decision", "gate"])
        return False
    with transaction.atomic():
        model_save(model, run)
        run.decision, run.gate, run.published_at = Decision.PUBLISHED, gate, timezone.now()
        run.save(update_fields=["decision", "gate", "published_at"])
    return True
