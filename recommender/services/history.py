"""The listener's own streaming history: upload, match, delete; privacy export and erasure.

The uploaded bytes are read in memory and dropped; only matched plays (track, time, ms played,
skipped) and the upload's counts are stored. An upload is all or nothing: a file that cannot be
read, or whose plays match nothing in the catalog, stores nothing. Uploading the same export
twice stores each play once (one row per person, track and moment).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from recommender import conf
from recommender.models import HistoryPlay, HistoryUpload, Track
from recommender.streaming_history import CatalogEntry, CatalogMatcher, HistoryFileError, read_export


@dataclass
class HistoryImportResult:
    upload: HistoryUpload
    unmatched_examples: list[tuple[str, str]] = field(default_factory=list)  # shown once, never stored


def catalog_matcher() -> CatalogMatcher:
    """A matcher over the whole catalog (ids, external ids, artists, titles)."""
    rows = Track.objects.values_list("id", "external_id", "artist", "title").iterator(chunk_size=10000)
    return CatalogMatcher(CatalogEntry(pk, ext or "", artist or "", title or "") for pk, ext, artist, title in rows)


def history_import(*, user, name: str, data: bytes) -> HistoryImportResult:
    """Read one uploaded export (a history JSON file or the service's zip), match its plays to
    the catalog and store the matched ones. Raises ValidationError with a message for the person."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise ValidationError("Log in to bring your listening history.")
    if len(data) > conf.HISTORY_MAX_UPLOAD_BYTES:
        raise ValidationError(
            f"The file is larger than {conf.HISTORY_MAX_UPLOAD_BYTES // (1024 * 1024)} MB; upload the history files one by one."
        )
    if not data:
        raise ValidationError("The file is empty.")
    try:
        parsed = read_export(name, data, max_uncompressed=conf.HISTORY_MAX_UNCOMPRESSED_BYTES)
    except HistoryFileError as exc:
        raise ValidationError(str(exc)) from None
    if not parsed.plays:
        detail = f" ({parsed.problems[0]})" if parsed.problems else ""
        raise ValidationError(f"No music plays were found in {', '.join(parsed.files) or name}{detail}.")
    report = catalog_matcher().match(parsed.plays)
    if not report.matched:
        raise ValidationError(
            f"None of the {report.plays} plays matched a track in Attune's catalog, so nothing was stored."
        )
    unique = {(m.track_id, m.ended_at): m for m in report.matched}
    rows = [
        HistoryPlay(user=user, track_id=m.track_id, played_at=m.ended_at, ms_played=m.ms_played, skipped=m.skipped)
        for m in unique.values()
    ]
    with transaction.atomic():
        before = HistoryPlay.objects.filter(user=user).count()
        HistoryPlay.objects.bulk_create(rows, batch_size=conf.HISTORY_BATCH_SIZE, ignore_conflicts=True)
        new = HistoryPlay.objects.filter(user=user).count() - before
        upload = HistoryUpload(
            user=user,
            files=parsed.files,
            plays_read=report.plays,
            plays_matched=len(report.matched),
            plays_new=new,
            tracks_matched=report.tracks,
            rows_skipped=parsed.skipped_rows,
            by_uri=report.by_uri,
            by_name=report.by_name,
            by_fuzzy=report.by_fuzzy,
            problems=parsed.problems,
        )
        upload.full_clean()
        upload.save()
    return HistoryImportResult(upload=upload, unmatched_examples=report.unmatched_examples)


def history_delete(*, user) -> int:
    """The one-button delete: every imported play and upload report of this person."""
    plays, _ = HistoryPlay.objects.filter(user=user).delete()
    HistoryUpload.objects.filter(user=user).delete()
    return plays


def history_erase(*, user) -> int:
    """Privacy erasure: the history is the person's own, so it goes whatever the research consent."""
    return history_delete(user=user)


def history_export(*, user) -> dict:
    """Privacy export: every imported play (with the catalog track it matched) and each upload's counts."""
    plays = (
        HistoryPlay.objects.filter(user=user)
        .select_related("track")
        .order_by("played_at", "id")
        .values_list("played_at", "ms_played", "skipped", "track_id", "track__artist", "track__title")
    )
    uploads = HistoryUpload.objects.filter(user=user).order_by("created_at", "id")
    return {
        "plays": [
            {"played_at": t.isoformat(), "ms_played": ms, "skipped": sk, "track": {"id": tid, "artist": a, "title": ti}}
            for t, ms, sk, tid, a, ti in plays
        ],
        "uploads": [
            {
                "created_at": u.created_at.isoformat(),
                "files": u.files,
                "plays_read": u.plays_read,
                "plays_matched": u.plays_matched,
                "plays_new": u.plays_new,
                "tracks_matched": u.tracks_matched,
            }
            for u in uploads
        ],
    }
