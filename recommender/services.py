"""Writes on the catalog: labels, the catalog version, imports and playlists.

Every write that changes what the engine would see (tracks, features, labels) calls
`catalog_touch()` so the per-process index cache (recommender/index_cache.py) rebuilds.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from emotion.vocab import N_GEMS, gems_distribution, gems_to_va
from recommender import catalog_csv, conf, selectors
from recommender.models import (
    LOUDNESS_RANGE,
    TEMPO_RANGE,
    CatalogState,
    ImportKind,
    ImportRun,
    ImportStatus,
    LabelSource,
    Playlist,
    PlaylistItem,
    Track,
    TrackLabel,
)
from recommender.prior import PriorCues, prior_gems


def catalog_touch() -> int:
    """Bump the catalog version; readers (index_cache) rebuild when it changes."""
    state, _ = CatalogState.objects.get_or_create(pk=1)
    CatalogState.objects.filter(pk=1).update(version=F("version") + 1, updated_at=timezone.now())
    state.refresh_from_db(fields=["version"])
    return state.version


def catalog_version() -> int:
    version = CatalogState.objects.filter(pk=1).values_list("version", flat=True).first()
    return int(version or 0)


def catalog_stamp() -> tuple[int, str]:
    """(version, time of the last bump): what the index cache compares, one primary-key read.

    The time guards against a version number being reused after a database restore.
    """
    row = CatalogState.objects.filter(pk=1).values_list("version", "updated_at").first()
    return (0, "") if row is None else (int(row[0]), row[1].isoformat())


def _entropy(p: np.ndarray) -> float:
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


def _clean_gems(gems: Sequence[float]) -> np.ndarray:
    values = list(gems)
    if len(values) != N_GEMS:
        raise ValidationError({"gems": f"A GEMS label is a list of {N_GEMS} numbers."})
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError({"gems": "A GEMS label holds numbers only."}) from None
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValidationError({"gems": "GEMS values must be finite and non-negative."})
    if abs(arr.sum() - 1.0) > 1e-6:
        raise ValidationError({"gems": f"GEMS values must sum to 1 (they sum to {arr.sum():.6f})."})
    return arr


def track_label_set(
    *,
    track: Track,
    source: str,
    gems: Sequence[float],
    confidence: float = 1.0,
    rater_count: int = 0,
    valence: float | None = None,
    arousal: float | None = None,
) -> TrackLabel:
    """Create or replace the label of `track` from `source`.

    `gems` must already be a distribution (nine non-negative numbers summing to 1); valence
    and arousal default to the distribution's expected circumplex position (emotion/vocab.py).
    """
    if source not in LabelSource.values:
        raise ValidationError({"source": f"Unknown label source {source!r}; expected one of {', '.join(LabelSource.values)}."})
    arr = _clean_gems(gems)
    if not (isinstance(confidence, int | float) and math.isfinite(confidence) and 0.0 <= confidence <= 1.0):
        raise ValidationError({"confidence": "Confidence is a number in [0, 1]."})
    if valence is None or arousal is None:
        valence, arousal = (float(v) for v in gems_to_va(arr))
    with transaction.atomic():
        label = TrackLabel.objects.filter(track=track, source=source).first() or TrackLabel(track=track, source=source)
        label.gems = [float(v) for v in arr]
        label.valence = float(valence)
        label.arousal = float(arousal)
        label.confidence = float(confidence)
        label.rater_count = int(rater_count)
        label.entropy = _entropy(arr)
        label.full_clean()
        label.save()
        catalog_touch()
    return label


def track_labels_bulk_set(
    *,
    track_ids: Sequence[int] | np.ndarray,
    source: str,
    gems: np.ndarray,
    confidence: np.ndarray | Sequence[float] | float = 1.0,
    rater_count: int = 0,
    batch_size: int = 2000,
) -> int:
    """Upsert one label per track from `source` in bulk (e.g. propagation, MER, prior).

    `gems` is (n, 9); rows are normalised to sum to 1 after validation. Returns rows written.
    """
    if source not in LabelSource.values:
        raise ValidationError({"source": f"Unknown label source {source!r}."})
    ids = np.asarray(track_ids, dtype=np.int64).reshape(-1)
    try:
        dist = gems_distribution(np.asarray(gems, dtype=np.float64).reshape(len(ids), N_GEMS))
    except ValueError as exc:
        raise ValidationError({"gems": str(exc)}) from None
    conf = np.broadcast_to(np.asarray(confidence, dtype=np.float64), ids.shape)
    if not np.all(np.isfinite(conf)) or np.any((conf < 0) | (conf > 1)):
        raise ValidationError({"confidence": "Confidence values must lie in [0, 1]."})
    va = gems_to_va(dist) if len(ids) else np.zeros((0, 2))
    objs = [
        TrackLabel(
            track_id=int(t),
            source=source,
            gems=[float(v) for v in dist[i]],
            valence=float(np.clip(va[i, 0], -1, 1)),
            arousal=float(np.clip(va[i, 1], -1, 1)),
            confidence=float(conf[i]),
            rater_count=rater_count,
            entropy=_entropy(dist[i]),
        )
        for i, t in enumerate(ids)
    ]
    with transaction.atomic():
        TrackLabel.objects.bulk_create(
            objs,
            batch_size=batch_size,
            update_conflicts=True,
            unique_fields=["track", "source"],
            update_fields=["gems", "valence", "arousal", "confidence", "rater_count", "entropy", "updated_at"],
        )
        if objs:
            catalog_touch()
    return len(objs)


# --- catalog import ----------------------------------------------------------------------


def import_run_create(
    *, kind: str, source_name: str, created_by=None, upload=None, total: int = 0
) -> ImportRun:
    if kind not in ImportKind.values:
        raise ValidationError({"kind": f"Unknown import kind {kind!r}."})
    run = ImportRun(kind=kind, source_name=source_name[:500], created_by=created_by, total=total)
    if upload is not None:
        run.upload = upload
    run.full_clean()
    run.save()
    return run


def _run_fail(run: ImportRun, message: str) -> ImportRun:
    run.status = ImportStatus.FAILED
    run.message = message
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "message", "finished_at"])
    return run


def _run_progress(run: ImportRun, **counts: int) -> None:
    for name, value in counts.items():
        setattr(run, name, value)
    ImportRun.objects.filter(pk=run.pk).update(**counts)


@dataclass
class _ErrorLog:
    limit: int
    count: int = 0
    by_column: dict[str, int] = field(default_factory=dict)
    examples: list[dict[str, object]] = field(default_factory=list)

    def add(self, error: catalog_csv.RowError) -> None:
        self.count += 1
        key = error.column or "(row)"
        self.by_column[key] = self.by_column.get(key, 0) + 1
        if len(self.examples) < self.limit:
            self.examples.append(error.as_dict())


def _open_csv(path: Path):
    return open(path, newline="", encoding="utf-8-sig", errors="strict")  # noqa: SIM115


def _text_lines(fh):
    """The file's lines, refusing NUL bytes (a binary file that happens to decode)."""
    for number, line in enumerate(fh, start=1):
        if "\x00" in line:
            raise csv.Error(f"line {number} contains a NUL byte; this is not a text CSV")
        yield line


def _precheck_csv(path: Path) -> tuple[catalog_csv.Header, int]:
    """Read the whole file once before writing anything: size, encoding, CSV syntax, header.

    Raises ValidationError with a message for the person who uploaded it.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ValidationError(f"Cannot read {path.name}: {exc.strerror or exc}.") from None
    if size > conf.IMPORT_MAX_BYTES:
        raise ValidationError(
            f"The file is {size / 1e6:.1f} MB; the limit is {conf.IMPORT_MAX_BYTES / 1e6:.0f} MB "
            "(ATTUNE_CATALOG_IMPORT_MAX_BYTES)."
        )
    try:
        with _open_csv(path) as fh:
            reader = csv.reader(_text_lines(fh))
            header = catalog_csv.check_header(next(reader, None))
            rows = sum(1 for cells in reader if cells)
    except UnicodeDecodeError as exc:
        raise ValidationError(f"The file is not UTF-8 text (byte {exc.start}): is it really a CSV?") from None
    except csv.Error as exc:
        raise ValidationError(f"The file is not a readable CSV: {exc}.") from None
    except catalog_csv.HeaderError as exc:
        raise ValidationError(str(exc)) from None
    return header, rows


def _stored_values(external_ids: list[str], fields: tuple[str, ...]) -> dict[str, tuple]:
    return {row[0]: row for row in Track.objects.filter(external_id__in=external_ids).values_list(*fields)}


def _upsert_tracks(rows: list[dict[str, object]], fields: tuple[str, ...], update_fields: list[str]) -> None:
    """INSERT .. ON CONFLICT (external_id) DO UPDATE, as one executemany in one transaction.

    Equivalent to `bulk_create(update_conflicts=True, unique_fields=["external_id"])` (SQLite
    and PostgreSQL share the syntax) without the ORM's per-value compilation, which was 80 %
    of the import time (bench/catalog_import.py). Values are plain str/float/int/bool/None
    already validated by catalog_csv; the table's check constraints still apply.
    """
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    defaults: dict[str, object] = {
        "title": "", "artist": "", "album": "", "genre": "", "explicit": False,
        "audio_file": "", "preview_url": "", "descriptors": "{}", "created": now, "updated": now,
    }
    columns = [f.column for f in Track._meta.concrete_fields if f.name != "id"]
    names = [f.name for f in Track._meta.concrete_fields if f.name != "id"]
    qn = connection.ops.quote_name
    conflict_updates = ", ".join(f"{qn(c)} = excluded.{qn(c)}" for c in update_fields)
    # Identifiers come from the model's meta and are quoted; every value is a parameter.
    table = qn(Track._meta.db_table)
    column_list = ", ".join(qn(c) for c in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({column_list}) VALUES ({placeholders}) "  # noqa: S608
    sql += f"ON CONFLICT ({qn('external_id')}) DO UPDATE SET {conflict_updates}"
    provided = set(fields) - {"created", "updated"}
    params = [[row[name] if name in provided else defaults.get(name) for name in names] for row in rows]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, params)


def tracks_import_csv(*, run: ImportRun, path: Path, batch_size: int | None = None) -> ImportRun:
    """Upsert every valid row of a Spotify-layout CSV into the catalog, by external id.

    The file is read twice: once to check it (nothing is written if it is not a CSV, not
    UTF-8, too large or lacks required columns), then in batches. Rows whose values already
    match the catalog are not written (importing the same file twice changes nothing); new
    and changed rows go in with one INSERT .. ON CONFLICT DO UPDATE per batch. Each batch
    commits on its own so the progress is visible while it runs; re-running is always safe.
    A track id that appears twice in the file is imported once (its first row) and reported.
    """
    batch_size = batch_size or conf.IMPORT_BATCH_SIZE
    run.status = ImportStatus.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["status", "started_at"])
    try:
        header, total = _precheck_csv(Path(path))
    except ValidationError as exc:
        return _run_fail(run, " ".join(exc.messages))
    _run_progress(run, total=total)

    errors = _ErrorLog(limit=conf.IMPORT_MAX_REPORTED_ERRORS)
    seen: dict[str, int] = {}
    duplicates: list[dict[str, object]] = []
    duplicate_count = 0
    counts = {"processed": 0, "created_count": 0, "updated_count": 0, "unchanged_count": 0}
    fields = header.track_fields
    update_fields = [f for f in fields if f != "external_id"] + ["updated"]
    touched = False

    def flush(batch: list[catalog_csv.ParsedRow], processed: int) -> None:
        nonlocal touched
        stored = _stored_values([str(r.values["external_id"]) for r in batch], fields)
        writes = []
        for row in batch:
            new = tuple(row.values[f] for f in fields)
            old = stored.get(str(row.values["external_id"]))
            if old is None:
                counts["created_count"] += 1
            elif old == new:
                counts["unchanged_count"] += 1
                continue
            else:
                counts["updated_count"] += 1
            writes.append(row.values)
        if writes:
            _upsert_tracks(writes, fields, update_fields)
            touched = True
        counts["processed"] = processed
        _run_progress(run, error_count=errors.count, **counts)

    try:
        with _open_csv(Path(path)) as fh:
            reader = csv.reader(_text_lines(fh))
            next(reader)
            batch: list[catalog_csv.ParsedRow] = []
            processed = 0
            for parsed in catalog_csv.parse_rows(header, ((reader.line_num, cells) for cells in reader)):
                processed += 1
                if isinstance(parsed, catalog_csv.RowError):
                    errors.add(parsed)
                    continue
                external_id = str(parsed.values["external_id"])
                if external_id in seen:
                    duplicate_count += 1
                    if len(duplicates) < conf.IMPORT_MAX_REPORTED_ERRORS:
                        duplicates.append({"line": parsed.line, "track_id": external_id, "first_line": seen[external_id]})
                    continue
                seen[external_id] = parsed.line
                batch.append(parsed)
                if len(batch) >= batch_size:
                    flush(batch, processed)
                    batch = []
            flush(batch, processed)
    except (csv.Error, UnicodeDecodeError, OSError) as exc:  # the file changed between the two reads
        if touched:
            catalog_touch()
        return _run_fail(run, f"The file could not be read to the end: {exc}.")

    if touched:
        catalog_touch()
    run.report = {
        "columns_absent": header.absent_optional,
        "columns_ignored": header.unknown,
        "errors": errors.examples,
        "errors_by_column": errors.by_column,
        "errors_truncated": errors.count > len(errors.examples),
        "duplicates": duplicates,
        "duplicate_count": duplicate_count,
    }
    run.status = ImportStatus.DONE
    run.finished_at = timezone.now()
    run.message = (
        f"{counts['processed']} rows: {counts['created_count']} new, {counts['updated_count']} changed, "
        f"{counts['unchanged_count']} unchanged, {errors.count} rejected, {duplicate_count} duplicate ids skipped."
    )
    run.save(update_fields=["report", "status", "finished_at", "message"])
    return run


def csv_import_start(*, upload, created_by=None) -> ImportRun:
    """Store an uploaded CSV, create its ImportRun and queue the import (runs at commit)."""
    from recommender.tasks import catalog_import_csv

    with transaction.atomic():
        run = import_run_create(kind=ImportKind.CSV, source_name=upload.name, created_by=created_by, upload=upload)
        transaction.on_commit(lambda: catalog_import_csv.delay(run.pk))
    return run


# --- audio import ------------------------------------------------------------------------


def _sha1(path: Path) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def track_fields_from_descriptors(desc) -> dict[str, object]:
    """Track columns an audio analysis can fill honestly: tempo, key, mode, loudness, descriptors.

    Spotify's perceptual estimates (valence, energy, danceability, ...) are NOT invented from
    audio here; they stay empty, and the engine uses the descriptors (conf.INDEX_FEATURES).
    Loudness is the mean RMS level in dBFS, the quantity Spotify's loudness approximates.
    """
    values = {k: float(v) for k, v in desc.values.items() if v is not None and math.isfinite(float(v))}
    rms = values.get("rms_mean")
    loudness = None if not rms or rms <= 0 else max(LOUDNESS_RANGE[0], min(0.0, 20.0 * math.log10(rms)))
    tempo = desc.tempo_bpm if desc.tempo_bpm and math.isfinite(desc.tempo_bpm) else None
    return {
        "tempo": None if tempo is None else min(max(float(tempo), TEMPO_RANGE[0]), TEMPO_RANGE[1]),
        "key": int(desc.key) if desc.key is not None and 0 <= int(desc.key) <= 11 else None,
        "mode": int(desc.mode) if desc.mode in (0, 1) else None,
        "loudness": loudness,
        "descriptors": values,
    }


def audio_files_in(folder: Path) -> list[Path]:
    exts = {e.lower() for e in conf.AUDIO_EXTENSIONS}
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in exts)


def track_upsert_from_audio(*, path: Path, external_id: str | None = None, copy_to_media: bool = True, **metadata) -> tuple[Track, bool]:
    """Analyse one audio file (emotion/audio.py) and create or update its Track.

    Raises emotion.audio.AudioError (or the decoder's own error) for unreadable audio; the
    caller decides whether that is fatal. Returns (track, created).
    """
    from emotion import audio

    desc = audio.extract_file(path, max_seconds=conf.AUDIO_MAX_SECONDS)
    try:
        import soundfile

        duration = float(soundfile.info(str(path)).duration)
    except Exception:  # mp3 through an older libsndfile, odd containers: fall back to the analysed length
        duration = float(desc.duration_s)
    external_id = external_id or f"audio:{_sha1(path)}"
    fields = track_fields_from_descriptors(desc)
    defaults: dict[str, object] = {"title": path.stem.replace("_", " ")[:300], "duration_s": duration, **fields}
    defaults.update(metadata)
    with transaction.atomic():
        track = Track.objects.filter(external_id=external_id).first()
        created = track is None
        if created:
            track = Track(external_id=external_id)
        for name, value in defaults.items():
            setattr(track, name, value)
        if copy_to_media and (created or not track.audio_file):
            with open(path, "rb") as fh:
                track.audio_file.save(f"{external_id.split(':', 1)[-1][:40]}{path.suffix.lower()}", File(fh), save=False)
        track.full_clean(exclude=["audio_file"])
        track.save()
    return track, created


def tracks_import_audio(*, run: ImportRun, folder: Path) -> ImportRun:
    """Import every wav/flac/ogg/mp3 under `folder`; an unreadable file is reported and skipped.

    Tracks are keyed by the SHA-1 of the file, so importing the folder again updates in place.
    Tracks left without any label get a `prior` label afterwards.
    """
    run.status = ImportStatus.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["status", "started_at"])
    folder = Path(folder)
    if not folder.is_dir():
        return _run_fail(run, f"No such folder: {folder}")
    files = audio_files_in(folder)
    _run_progress(run, total=len(files))
    problems: list[dict[str, object]] = []
    counts = {"processed": 0, "created_count": 0, "updated_count": 0, "error_count": 0}
    for path in files:
        try:
            _track, created = track_upsert_from_audio(path=path)
        except Exception as exc:  # any decoder failure is one file's problem, never the import's
            counts["error_count"] += 1
            if len(problems) < conf.IMPORT_MAX_REPORTED_ERRORS:
                problems.append({"file": str(path.relative_to(folder)), "message": f"{type(exc).__name__}: {exc}"[:500]})
        else:
            counts["created_count" if created else "updated_count"] += 1
        counts["processed"] += 1
        _run_progress(run, **counts)
    labelled = prior_labels_fill()
    catalog_touch()
    run.report = {"files": problems, "prior_labels": labelled}
    run.status = ImportStatus.DONE
    run.finished_at = timezone.now()
    run.message = (
        f"{len(files)} audio files: {counts['created_count']} new, {counts['updated_count']} updated, "
        f"{counts['error_count']} unreadable (skipped); {labelled} prior labels added."
    )
    run.save(update_fields=["report", "status", "finished_at", "message"])
    return run


# --- prior labels ------------------------------------------------------------------------


def _cues_for(tracks: list[dict]) -> PriorCues:
    def col(getter) -> np.ndarray:
        return np.array([np.nan if (v := getter(t)) is None else float(v) for t in tracks], dtype=np.float64)

    def desc(name: str):
        return lambda t: (t["descriptors"] or {}).get(name)

    return PriorCues(
        mode=col(lambda t: t["mode"]),
        mode_strength=col(desc("mode_strength")),
        spectral_centroid_hz=col(desc("spectral_centroid_mean")),
        tempo_bpm=col(lambda t: t["tempo"]),
        rms_mean=col(desc("rms_mean")),
        onset_rate=col(desc("onset_rate")),
        spotify_valence=col(lambda t: t["valence"]),
        spotify_energy=col(lambda t: t["energy"]),
    )


def prior_labels_fill(*, recompute: bool = False) -> int:
    """Give every track without a label a `prior` label (recompute=True: refresh existing priors too)."""
    tracks = Track.objects.filter(labels__isnull=True)
    if recompute:
        tracks = Track.objects.filter(labels__isnull=True) | Track.objects.filter(labels__source=LabelSource.PRIOR)
    rows = list(tracks.distinct().values("id", "mode", "tempo", "valence", "energy", "descriptors"))
    if not rows:
        return 0
    gems, _va, confidence = prior_gems(_cues_for(rows))
    return track_labels_bulk_set(
        track_ids=[r["id"] for r in rows], source=LabelSource.PRIOR, gems=gems, confidence=confidence
    )


# --- demo catalog ------------------------------------------------------------------------


def demo_catalog_load(*, count: int | None = None, workers: int = 2, stdout=None) -> str:
    """Build (or reuse) the cached demo catalog and upsert its tracks; prior labels for new ones."""
    from types import SimpleNamespace

    from recommender import demo

    count = conf.DEMO_CATALOG_SIZE if count is None else count
    if count < 0:
        raise ValidationError({"count": "The demo catalog size cannot be negative."})
    directory = Path(conf.DEMO_CATALOG_DIR)

    def say(message: str) -> None:
        if stdout is not None:
            stdout.write(message)

    started = timezone.now()
    entries = demo.build_cache(
        directory=directory, count=count, clip_seconds=conf.DEMO_CLIP_SECONDS, workers=workers, progress=say
    )
    created = 0
    for entry in entries:
        desc = SimpleNamespace(
            values=entry["descriptors"], tempo_bpm=entry["tempo_bpm"], key=entry["key"], mode=entry["mode"]
        )
        fields = track_fields_from_descriptors(desc)
        with transaction.atomic():
            track = Track.objects.filter(external_id=entry["external_id"]).first()
            if track is None:
                track = Track(external_id=entry["external_id"])
                created += 1
            track.title = entry["title"]
            track.artist = entry["artist"]
            track.album = entry["album"]
            track.genre = entry["genre"]
            track.duration_s = entry["duration_s"]
            for name, value in fields.items():
                setattr(track, name, value)
            media_name = f"tracks/demo/{Path(entry['clip']).name}"
            if track.audio_file.name != media_name or not track.audio_file.storage.exists(media_name):
                if track.audio_file.storage.exists(media_name):
                    track.audio_file.name = media_name
                else:
                    with open(directory / entry["clip"], "rb") as fh:
                        track.audio_file.save(media_name.removeprefix("tracks/"), File(fh), save=False)
            track.full_clean(exclude=["audio_file"])
            track.save()
    labelled = prior_labels_fill()
    catalog_touch()
    seconds = (timezone.now() - started).total_seconds()
    return (
        f"{len(entries)} demo tracks from the music21 corpus ({created} new, {labelled} prior labels) "
        f"in {seconds:.0f} s; cached under {directory}"
    )


# --- playlists ---------------------------------------------------------------------------

GAN_NOT_TRAINED = "The GAN model has not been trained yet: a researcher starts the ml_train_gan task first."


def _finite(value, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError({what: f"{what} must be a number."}) from None
    if not math.isfinite(number):
        raise ValidationError({what: f"{what} must be a finite number, not NaN or infinity."})
    return number


def playlist_create(
    *,
    owner,
    strategy: str,
    start,
    target=None,
    n_tracks: int | None = None,
    minutes: float | None = None,
    constraints=None,
    seed: int = 0,
    params: dict | None = None,
    seed_track_id: int | None = None,
    title: str = "",
) -> Playlist:
    """Build a playlist with the engine and save it for `owner`, all or nothing.

    `start` and `target` are engine `State`s (GEMS, valence/arousal or FER). Bad requests
    (unknown strategy, start equal to target, every track excluded, no GAN trained, ...) raise
    ValidationError with the engine's message and write nothing. A length longer than the
    eligible catalog is not an error: the playlist holds what exists and its notes say so.
    """
    from recommender import index_cache
    from recommender.engine import STRATEGIES, Constraints, EngineError, PlaylistRequest, build_playlist, quality

    if strategy not in STRATEGIES:
        raise ValidationError({"strategy": f"Unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}."})
    if n_tracks is None and minutes is None:
        raise ValidationError({"length": "Give the length as a number of tracks or of minutes."})
    if n_tracks is not None and not (1 <= int(n_tracks) <= conf.MAX_PLAYLIST_TRACKS):
        raise ValidationError({"n_tracks": f"A playlist has 1 to {conf.MAX_PLAYLIST_TRACKS} tracks."})
    if minutes is not None:
        minutes = _finite(minutes, "minutes")
        if not 0 < minutes <= conf.MAX_PLAYLIST_MINUTES:
            raise ValidationError({"minutes": f"A playlist lasts more than 0 and at most {conf.MAX_PLAYLIST_MINUTES:g} minutes."})
    if seed_track_id is not None and not Track.objects.filter(pk=seed_track_id).exists():
        raise ValidationError({"seed_track_id": "No track with that id in the catalog."})
    constraints = constraints_with_profile(owner=owner, constraints=constraints or Constraints())
    models = {}
    if strategy == "gan":
        gan = index_cache.get_gan()
        if gan is None:
            raise ValidationError({"strategy": GAN_NOT_TRAINED})
        models["gan"] = gan
    try:
        index = index_cache.get_index()
        request = PlaylistRequest(
            strategy=strategy,
            start=start,
            target=target,
            n_tracks=None if n_tracks is None else int(n_tracks),
            minutes=minutes,
            constraints=constraints,
            seed=int(seed),
            params=dict(params or {}),
            seed_track_id=seed_track_id,
        )
        result = build_playlist(request, index, profile=selectors.listener_profile(user=owner), models=models)
        report = quality(result, index) if len(result.steps) >= 2 else None
    except EngineError as exc:
        raise ValidationError({"detail": str(exc)}) from None
    if not result.steps:
        raise ValidationError({"detail": "No track fits this request; relax the constraints."})
    effective_target = target
    with transaction.atomic():
        playlist = Playlist(
            owner=owner,
            title=(title or "").strip()[:200],
            strategy=strategy,
            start_gems=[float(v) for v in start.gems],
            start_va=[float(start.valence), float(start.arousal)],
            target_gems=None if effective_target is None else [float(v) for v in effective_target.gems],
            target_va=None if effective_target is None else [float(effective_target.valence), float(effective_target.arousal)],
            requested_tracks=n_tracks,
            requested_minutes=minutes,
            constraints={
                "exclude_ids": sorted(int(i) for i in constraints.exclude_ids),
                "max_per_artist": constraints.max_per_artist,
                "allow_explicit": constraints.allow_explicit,
                "preferred_genres": list(constraints.preferred_genres),
                "disliked_genres": list(constraints.disliked_genres),
                "max_minutes": constraints.max_minutes,
            },
            params={k: v for k, v in dict(params or {}).items() if isinstance(v, str | int | float | bool)},
            seed=int(seed),
            notes=[str(n) for n in result.notes],
            diagnostics=_jsonable(result.diagnostics),
            quality={} if report is None else _jsonable(asdict(report)),
            catalog_version=catalog_version(),
        )
        playlist.full_clean()
        playlist.save()
        PlaylistItem.objects.bulk_create(
            [
                PlaylistItem(
                    playlist=playlist,
                    position=i,
                    track_id=int(step.track_id),
                    waypoint_valence=float(step.waypoint_va[0]),
                    waypoint_arousal=float(step.waypoint_va[1]),
                    waypoint_gems=None if step.waypoint_gems is None else [float(v) for v in step.waypoint_gems],
                    distance=float(step.distance),
                    reason=str(step.reason),
                )
                for i, step in enumerate(result.steps, start=1)
            ]
        )
    return playlist


def constraints_with_profile(*, owner, constraints):
    """Merge the listener's ClientProfile (issue 7) into a request's constraints.

    Disliked genres are the union; the profile's preferred genres apply when the request names
    none; the longest listening time is the smaller of the two. A profile can only narrow a
    request, never widen it.
    """
    from dataclasses import replace

    from accounts.models import ClientProfile

    profile = ClientProfile.objects.filter(user_id=getattr(owner, "pk", None)).first()
    if profile is None:
        return constraints
    disliked = tuple(dict.fromkeys([*constraints.disliked_genres, *(str(g) for g in profile.disliked_genres or [])]))
    preferred = constraints.preferred_genres or tuple(str(g) for g in profile.preferred_genres or [])
    limits = [m for m in (constraints.max_minutes, profile.max_listening_minutes) if m]
    return replace(
        constraints,
        disliked_genres=disliked,
        preferred_genres=preferred,
        max_minutes=float(min(limits)) if limits else None,
    )


def _jsonable(value):
    """Engine diagnostics -> JSON: numpy scalars and arrays to numbers and lists, NaN to None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def playlist_delete(*, playlist: Playlist, by) -> None:
    if playlist.owner_id != getattr(by, "pk", None):
        raise PermissionDenied("Only the owner can delete a playlist.")
    playlist.delete()


def playlists_erase(*, user) -> int:
    """Privacy erasure: every playlist of this person (items go with them)."""
    deleted, _ = Playlist.objects.filter(owner=user).delete()
    return deleted


def playlists_export(*, user) -> list[dict]:
    """Privacy export: the person's playlists with their tracks and reasons."""
    out = []
    for playlist in Playlist.objects.filter(owner=user).prefetch_related("items__track").order_by("created_at"):
        out.append(
            {
                "id": playlist.pk,
                "title": playlist.title,
                "strategy": playlist.strategy,
                "created_at": playlist.created_at.isoformat(),
                "start_va": playlist.start_va,
                "target_va": playlist.target_va,
                "start_gems": playlist.start_gems,
                "target_gems": playlist.target_gems,
                "requested_tracks": playlist.requested_tracks,
                "requested_minutes": playlist.requested_minutes,
                "constraints": playlist.constraints,
                "notes": playlist.notes,
                "items": [
                    {
                        "position": item.position,
                        "track": {"id": item.track_id, "title": item.track.title, "artist": item.track.artist},
                        "waypoint": [item.waypoint_valence, item.waypoint_arousal],
                        "distance": item.distance,
                        "reason": item.reason,
                    }
                    for item in playlist.items.all()
                ],
            }
        )
    return out


# --- GAN (design 004) --------------------------------------------------------------------


def gan_train(*, epochs: int | None = None, seed: int = 0) -> dict:
    """Train the conditional GAN on the current catalog index's features and labels; save it."""
    from recommender import index_cache
    from recommender.engine import EngineError
    from recommender.engine.gan import train_gan

    arrays = index_cache.catalog_arrays()
    if len(arrays.track_ids) < 2:
        raise ValidationError("The catalog needs at least two tracks before a GAN can be trained.")
    try:
        model = train_gan(
            arrays.features,
            arrays.labels,
            epochs=int(epochs or conf.GAN_EPOCHS),
            seed=seed,
            feature_names=arrays.feature_names,
        )
    except EngineError as exc:
        raise ValidationError(str(exc)) from None
    path = index_cache.gan_model_path()
    tmp = path.with_name(path.stem + ".tmp.npz")
    model.save(tmp)
    tmp.replace(path)
    return {"path": str(path), "rows": len(arrays.track_ids), "features": list(arrays.feature_names), **_jsonable(model.meta)}
