"""Catalog imports: import runs, the Spotify-layout CSV import and the audio-folder import."""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone

from emotion import audio
from recommender import catalog_csv, conf
from recommender.models import LOUDNESS_RANGE, TEMPO_RANGE, ImportKind, ImportRun, RunStatus, Track
from recommender.services.labels import catalog_touch, prior_labels_fill

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


def import_runs_export(*, user) -> list[dict]:
    """Privacy export: the catalog imports this person (a researcher) started."""
    return [
        {"id": r.pk, "kind": r.kind, "source_name": r.source_name, "status": r.status, "at": r.created_at.isoformat()}
        for r in ImportRun.objects.filter(created_by=user).order_by("created_at", "id")
    ]


def _run_fail(run: ImportRun, message: str) -> ImportRun:
    run.status = RunStatus.FAILED
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
    run.status = RunStatus.RUNNING
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
    run.status = RunStatus.DONE
    run.finished_at = timezone.now()
    run.message = (
        f"{counts['processed']} rows: {counts['created_count']} new, {counts['updated_count']} changed, "
        f"{counts['unchanged_count']} unchanged, {errors.count} rejected, {duplicate_count} duplicate ids skipped."
    )
    run.save(update_fields=["report", "status", "finished_at", "message"])
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
    run.status = RunStatus.RUNNING
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
    run.status = RunStatus.DONE
    run.finished_at = timezone.now()
    run.message = (
        f"{len(files)} audio files: {counts['created_count']} new, {counts['updated_count']} updated, "
        f"{counts['error_count']} unreadable (skipped); {labelled} prior labels added."
    )
    run.save(update_fields=["report", "status", "finished_at", "message"])
    return run
