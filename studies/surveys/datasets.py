"""Imported song-emotion data sets (issue 17): import, pool into the catalog, remove.

A data set's rows are matched to catalog tracks by external id, audio file name or normalised
artist + title. Per-rater data sets (Emotify layout) go through `studies.labels.aggregate` in the
pick format and `studies.labels.agreement`, exactly as a survey's answers; the other shapes are
one soft label per song. Any row error refuses the whole file (nothing is written, the report
lists the rows); songs the catalog lacks are counted, listed and skipped.

The catalog keeps one `dataset` label per track (recommender's one resolution rule ranks it
below `survey` and above every model): the mean of the data sets' labels for that track,
weighted by their rater counts (1 where a data set gives none). Importing a data set again
under the same name replaces its labels (the same file changes nothing); removing it takes its
part out of the pool.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from recommender.models import LabelSource, RunStatus, Track, TrackLabel
from recommender.services.labels import catalog_touch, track_labels_bulk_set
from recommender.streaming_history import normalise_artist, normalise_title
from studies.dataset_evaluation import evaluate_held_out, verdict
from studies.label_datasets import DatasetError, SongKey, rater_indices, read_dataset, validate_tag_map
from studies.labels import PICK, aggregate, agreement
from studies.surveys.mer_bridge import descriptor_rows
from studies.surveys.models import DatasetLabel, LabelDataset
from studies.surveys.selectors import catalog_feature_matrix

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
UNMATCHED_SHOWN = 50


def dataset_import_create(
    *, name: str, shape: str, data: bytes, source_name: str = "", licence_note: str = "",
    scale: tuple[float, float] = (1.0, 9.0), tag_map: dict | None = None, created_by=None,
) -> LabelDataset:
    """Store the uploaded file and a pending LabelDataset (or reset the existing one of that
    name); the caller queues `surveys.tasks.surveys_dataset_import` on commit."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the data set a name (e.g. Emotify)."})
    if not data:
        raise ValidationError({"upload": "The file is empty."})
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError({"upload": f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."})
    if tag_map:
        problems = validate_tag_map(tag_map)
        if problems:
            raise ValidationError({"tag_map": problems})
    with transaction.atomic():
        dataset, _ = LabelDataset.objects.select_for_update().get_or_create(name=name, defaults={"shape": shape})
        if dataset.status in (RunStatus.PENDING, RunStatus.RUNNING) and dataset.upload:
            raise ValidationError({"name": f"The data set {name} is being imported already; wait for it to finish."})
        dataset.shape = shape
        dataset.licence_note = licence_note
        dataset.source_name = source_name[:300]
        dataset.scale_low, dataset.scale_high = float(scale[0]), float(scale[1])
        dataset.tag_map = tag_map or {}
        dataset.status, dataset.progress, dataset.message, dataset.errors = RunStatus.PENDING, 0.0, "", []
        dataset.created_by = created_by
        dataset.full_clean(exclude=["upload"])
        dataset.upload.save(f"{dataset.pk}.csv", ContentFile(data), save=False)
        dataset.save()
    return dataset


def _catalog_lookup() -> dict[SongKey, int]:
    lookup: dict[SongKey, int] = {}
    for pk, ext, audio, artist, title in Track.objects.values_list("id", "external_id", "audio_file", "artist", "title").iterator(chunk_size=10000):
        if ext:
            lookup.setdefault(SongKey("external_id", ext), pk)
        if audio:
            stem = audio.replace("\\", "/").rsplit("/", 1)[-1].lower()
            lookup.setdefault(SongKey("file", stem.rsplit(".", 1)[0] if "." in stem else stem), pk)
        lookup.setdefault(SongKey("name", f"{normalise_artist(artist or '')}\t{normalise_title(title or '')}"), pk)
    return lookup


def _fail(dataset: LabelDataset, message: str, errors: list[str] | None = None) -> LabelDataset:
    dataset.status, dataset.message, dataset.errors = RunStatus.FAILED, message, errors or []
    dataset.finished_at = timezone.now()
    dataset.save(update_fields=["status", "message", "errors", "finished_at"])
    return dataset


def dataset_import_run(*, dataset_id: int) -> LabelDataset:
    """Read, check, match and (only if every row is fine) write one data set's labels."""
    dataset = LabelDataset.objects.get(pk=dataset_id)
    dataset.status, dataset.progress = RunStatus.RUNNING, 0.05
    dataset.save(update_fields=["status", "progress"])
    try:
        with dataset.upload.open("rb") as fh:
            data = fh.read()
        parsed = read_dataset(
            data, dataset.shape, scale=(dataset.scale_low, dataset.scale_high), tag_map=dataset.tag_map or None
        )
    except (DatasetError, OSError, ValueError) as exc:
        return _fail(dataset, str(exc))
    finally:
        if dataset.upload:
            dataset.upload.delete(save=False)
            LabelDataset.objects.filter(pk=dataset.pk).update(upload="")
    if not parsed.ok:
        return _fail(dataset, f"{len(parsed.errors)} rows have problems; nothing was imported.", [str(e) for e in parsed.errors])
    dataset.progress = 0.3
    dataset.save(update_fields=["progress"])

    songs = list(dict.fromkeys(parsed.keys))
    lookup = _catalog_lookup()
    track_of = [lookup.get(k) for k in songs]
    unmatched = [k.value.replace("\t", " — ") for k, t in zip(songs, track_of, strict=True) if t is None]
    figures: dict = {}
    if parsed.shape == "raters":
        rater, song, codes = rater_indices(parsed, songs)
        try:
            agg = aggregate(rater, song, parsed.gems, PICK, n_raters=len(codes), n_tracks=len(songs), rater_codes=codes)
            agr = agreement(rater, song, parsed.gems, PICK, n_raters=len(codes), n_tracks=len(songs))
        except ValueError as exc:
            return _fail(dataset, str(exc))
        labels, raters_per = agg.soft_labels, agg.n_raters.astype(int)
        figures = {
            "alpha": {"overall": _num(agr.overall), "per_category": {k: _num(v) for k, v in agr.per_category.items()},
                      "level": agr.level, "n_units": agr.n_units},
            "raters": [{"code": r.code, "n_ratings": r.n_ratings, "reliability": round(r.reliability, 4),
                        "weight": round(r.weight, 4), "reasons": list(r.reasons)} for r in agg.raters],
            "raters_per_track": {str(k): int(v) for k, v in zip(*np.unique(raters_per, return_counts=True), strict=True)},
        }
        dataset.rater_count = len(codes)
    else:
        first = {}
        for k, g in zip(parsed.keys, parsed.gems, strict=True):
            first.setdefault(k, g)
        labels = np.array([first[k] for k in songs]).reshape(-1, 9)
        raters_per = np.zeros(len(songs), dtype=int)
    by_track: dict[int, list[tuple[np.ndarray, int]]] = defaultdict(list)
    for t, g, n in zip(track_of, labels, raters_per, strict=True):
        if t is not None:
            by_track[t].append((g, int(n)))
    with transaction.atomic():
        old = set(DatasetLabel.objects.filter(dataset=dataset).values_list("track_id", flat=True))
        DatasetLabel.objects.filter(dataset=dataset).delete()
        DatasetLabel.objects.bulk_create([
            DatasetLabel(dataset=dataset, track_id=t, gems=[float(x) for x in np.mean([g for g, _ in rows], axis=0)],
                         rater_count=sum(n for _, n in rows))
            for t, rows in by_track.items()
        ], batch_size=2000)
        _pool(track_ids=old | set(by_track))
        dataset.rows, dataset.songs, dataset.songs_matched = len(parsed.keys), len(songs), len(by_track)
        dataset.unmatched = unmatched[:UNMATCHED_SHOWN]
        dataset.figures = figures
        dataset.status, dataset.progress, dataset.finished_at = RunStatus.DONE, 1.0, timezone.now()
        dataset.message = (
            f"{len(by_track)} of {len(songs)} songs matched catalog tracks ({dataset.match_rate:.0%})."
            + ("" if not parsed.ignored_columns else f" Columns not used: {', '.join(parsed.ignored_columns)}.")
        )
        dataset.save()
    return dataset


def _num(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)


def _pool(*, track_ids) -> None:
    """Rewrite the catalog's `dataset` label of these tracks from every data set's labels."""
    ids = sorted(track_ids)
    if not ids:
        return
    rows = DatasetLabel.objects.filter(track_id__in=ids).values_list("track_id", "gems", "rater_count")
    sums: dict[int, np.ndarray] = {}
    weights: dict[int, float] = defaultdict(float)
    raters: dict[int, int] = defaultdict(int)
    for t, gems, n in rows:
        w = float(max(n, 1))
        sums[t] = sums.get(t, np.zeros(9)) + w * np.asarray(gems, dtype=np.float64)
        weights[t] += w
        raters[t] += n
    TrackLabel.objects.filter(source=LabelSource.DATASET, track_id__in=[t for t in ids if t not in sums]).delete()
    for n_raters in sorted(set(raters[t] for t in sums)):
        group = [t for t in sums if raters[t] == n_raters]
        track_labels_bulk_set(
            track_ids=group, source=LabelSource.DATASET, gems=np.array([sums[t] / weights[t] for t in group]),
            confidence=1.0, rater_count=n_raters,
        )
    catalog_touch()


def dataset_remove(*, dataset: LabelDataset) -> int:
    """Remove a data set as a whole: its labels leave the catalog's pool. Returns labels removed."""
    with transaction.atomic():
        tracks = set(DatasetLabel.objects.filter(dataset=dataset).values_list("track_id", flat=True))
        if dataset.upload:
            dataset.upload.delete(save=False)
        dataset.delete()
        _pool(track_ids=tracks)
    return len(tracks)


# --- how well does Attune predict this data set? -------------------------------------------


def dataset_evaluate(*, dataset: LabelDataset) -> dict:
    """Hold the data set out as a whole and score propagation, MER and the baselines on it
    (studies/dataset_evaluation.py); every method learns only from the other human labels
    (survey, manual, other data sets). The figures are stored on the data set and returned."""
    matrix = catalog_feature_matrix()
    position = {int(t): i for i, t in enumerate(matrix.track_ids)}
    held = {t: g for t, g in DatasetLabel.objects.filter(dataset=dataset).values_list("track_id", "gems") if t in position}
    training: dict[int, list] = {}
    others = DatasetLabel.objects.exclude(dataset=dataset).exclude(track_id__in=list(held))
    for t, g in others.values_list("track_id", "gems"):
        training.setdefault(t, g)
    human = TrackLabel.objects.filter(source__in=[LabelSource.MANUAL, LabelSource.SURVEY]).exclude(track_id__in=list(held))
    for t, g in human.values_list("track_id", "gems"):
        training[t] = g  # Attune's own answers win over another data set's
    train = [(position[t], g) for t, g in training.items() if t in position]
    if not held:
        raise ValidationError("None of this data set's tracks has audio features in the catalog.")
    if len(train) < 2:
        raise ValidationError(
            "Nothing to learn from outside this data set: survey labels, manual labels or another data set are needed."
        )
    test_idx = np.array([position[t] for t in held], dtype=np.int64)
    test_Y = np.array(list(held.values()), dtype=np.float64)
    train_idx = np.array([i for i, _ in train], dtype=np.int64)
    train_Y = np.array([g for _, g in train], dtype=np.float64)
    ids, rows = descriptor_rows()
    descriptors = np.full((len(matrix.track_ids), rows.shape[1] if rows.size else 1), np.nan)
    for t, row in zip(ids, rows, strict=True):
        if int(t) in position:
            descriptors[position[int(t)]] = row
    try:
        scores = evaluate_held_out(matrix.features, train_idx, train_Y, test_idx, test_Y, descriptors=descriptors)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    figures = {
        "trained_on": len(train_idx),
        "held_out": len(test_idx),
        "scores": [
            {"method": s.method, "n": s.n, "mean_jsd": round(s.mean_jsd, 4), "top1": round(s.top1, 4),
             "prior_jsd": round(s.prior_jsd, 4), "beats_prior": s.beats_prior, "verdict": verdict(s)}
            for s in scores
        ],
        "evaluated_at": timezone.now().isoformat(),
    }
    dataset.figures = {**(dataset.figures or {}), "held_out": figures}
    dataset.save(update_fields=["figures"])
    return figures
