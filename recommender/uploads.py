"""What an uploaded file must be before Attune stores it: checked by content, never by name.

A track's audio is served to participants from Attune's own origin, so a file that is not
audio (an HTML page, an SVG with a script, a zip renamed `.ogg`) must never be stored as one.
Uploads are decoded with libsndfile (soundfile) and accepted only when they are real audio in
one of the allowed formats, named with that format's extension, within the size and length
limits. Stored files get a generated name (`tracks/<random>.ogg`), never the uploader's.
Catalog CSVs are checked the same way: UTF-8 text whose header names the required columns.

The serving view (recommender.views.track_audio_view) answers only with the content types of
AUDIO_CONTENT_TYPES, `X-Content-Type-Options: nosniff` and a sandboxing CSP, so even a file that
reached storage another way cannot run as a page.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from pathlib import PurePath

import soundfile
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.fields.files import FieldFile

from recommender import conf
from recommender.catalog_csv import HeaderError, check_header


@dataclass(frozen=True)
class AudioFormat:
    name: str  # libsndfile's major format name
    extension: str
    content_type: str


AUDIO_FORMATS: dict[str, AudioFormat] = {
    "WAV": AudioFormat("WAV", ".wav", "audio/x-wav"),
    "WAVEX": AudioFormat("WAVEX", ".wav", "audio/x-wav"),
    "FLAC": AudioFormat("FLAC", ".flac", "audio/flac"),
    "OGG": AudioFormat("OGG", ".ogg", "audio/ogg"),
    "MP3": AudioFormat("MP3", ".mp3", "audio/mpeg"),
}
# The only content types the audio view ever answers with, by the stored file's extension.
AUDIO_CONTENT_TYPES: dict[str, str] = {f.extension: f.content_type for f in AUDIO_FORMATS.values()}
DECODE_CHECK_SECONDS = 2.0  # decode this much of every upload to prove it is audio


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def audio_upload_check(fileobj, *, name: str, size: int) -> AudioFormat:
    """The upload's audio format, or a ValidationError saying why it is refused."""
    extension = PurePath(name or "").suffix.lower()
    allowed = ", ".join(sorted(AUDIO_CONTENT_TYPES))
    if extension not in AUDIO_CONTENT_TYPES:
        raise ValidationError(f"Upload an audio file ({allowed}); {extension or 'no extension'} is not accepted.")
    if size <= 0:
        raise ValidationError("The file is empty.")
    if size > conf.AUDIO_UPLOAD_MAX_BYTES:
        raise ValidationError(f"The file is {_mb(size)}; the limit is {_mb(conf.AUDIO_UPLOAD_MAX_BYTES)}.")
    fileobj.seek(0)
    try:
        with soundfile.SoundFile(fileobj) as sound:
            fmt, rate, frames = sound.format, sound.samplerate, sound.frames
            block = sound.read(frames=int(rate * DECODE_CHECK_SECONDS), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile says "Format not recognised" and similar for anything else
        raise ValidationError(
            f"This file is not audio Attune can decode ({allowed}): {str(exc)[:120]}"
        ) from None
    finally:
        fileobj.seek(0)
    audio_format = AUDIO_FORMATS.get(fmt)
    if audio_format is None:
        raise ValidationError(f"{fmt} audio is not accepted; upload {allowed}.")
    if audio_format.extension != extension:
        raise ValidationError(
            f"The file holds {audio_format.name} audio but is named {extension}; name it {audio_format.extension}."
        )
    if block.shape[0] == 0 or rate <= 0:
        raise ValidationError("The file holds no audio samples.")
    if frames > 0 and frames / rate > conf.AUDIO_UPLOAD_MAX_SECONDS:
        raise ValidationError(
            f"The audio lasts {frames / rate / 60:.0f} min; the limit is {conf.AUDIO_UPLOAD_MAX_SECONDS / 60:.0f} min."
        )
    return audio_format


def validate_audio_file(value) -> None:
    """Model-field validator for Track.audio_file: checks a new upload, not a stored file."""
    if not value or getattr(value, "_committed", True):
        return
    upload = value.file
    audio_upload_check(upload, name=value.name, size=upload.size)


class TrackAudioFieldFile(FieldFile):
    @property
    def url(self) -> str:
        """The login-checked audio view, never a /media/ address (the admin links here too)."""
        self._require_file()
        return self.instance.audio_url if self.instance.pk else ""


class TrackAudioField(models.FileField):
    """Track.audio_file: a FileField whose URL is the track's checked audio view."""

    attr_class = TrackAudioFieldFile


def track_audio_upload_to(instance, filename: str) -> str:
    """A generated storage name: the uploader's name never reaches the disk or a URL."""
    extension = PurePath(filename).suffix.lower()
    return f"tracks/{uuid.uuid4().hex}{extension if extension in AUDIO_CONTENT_TYPES else '.bin'}"


def import_upload_to(instance, filename: str) -> str:
    return f"imports/{uuid.uuid4().hex}.csv"


CSV_SNIFF_BYTES = 256 * 1024
_NOT_CSV_PREFIXES = (b"PK\x03\x04", b"%PDF", b"\x1f\x8b", b"<")


def csv_upload_check(fileobj, *, name: str, size: int) -> None:
    """A catalog CSV: UTF-8 text (no NUL bytes, not markup or an archive) whose header row
    names the required columns. Row-level problems are the import's report, not refusals."""
    if not (name or "").lower().endswith(".csv"):
        raise ValidationError("Upload a .csv file.")
    if size <= 0:
        raise ValidationError("The file is empty.")
    if size > conf.IMPORT_MAX_BYTES:
        raise ValidationError(f"The file is {_mb(size)}; the limit is {_mb(conf.IMPORT_MAX_BYTES)}.")
    fileobj.seek(0)
    head = fileobj.read(CSV_SNIFF_BYTES)
    fileobj.seek(0)
    if b"\x00" in head:
        raise ValidationError("This is a binary file, not CSV text.")
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if stripped.startswith(_NOT_CSV_PREFIXES):
        raise ValidationError("This file is markup or an archive, not CSV text.")
    if len(head) == CSV_SNIFF_BYTES and b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]  # never cut a UTF-8 character in half
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"The file is not UTF-8 text (byte {exc.start} is not valid UTF-8).") from None
    try:
        first_row = next(csv.reader(io.StringIO(text)), None)
        check_header(first_row)
    except (HeaderError, csv.Error) as exc:
        raise ValidationError(str(exc)) from None
