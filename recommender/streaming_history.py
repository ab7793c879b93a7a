"""Reading a listener's streaming-service data export and matching it to the catalog (design 003).

Pure: bytes in, dataclasses out; imports nothing from Django, so it is tested on generated
exports and timed by `bench/history_import.py`.

Two layouts of Spotify's "Download your data" are read, as the JSON files or the zip the
service sends (nothing else in a zip is opened):

- account data, `StreamingHistory*.json`: a list of
  `{"endTime": "2024-05-14 21:33", "artistName": ..., "trackName": ..., "msPlayed": 1234}`
  (`endTime` in UTC, minutes);
- extended streaming history, `endsong_*.json` and `Streaming_History_Audio_*.json`: a list of
  `{"ts": "2024-05-14T21:33:05Z", "master_metadata_track_name": ...,
  "master_metadata_album_artist_name": ..., "spotify_track_uri": "spotify:track:<id>",
  "ms_played": 1234, "skipped": true|false|null, ...}`; podcast and audiobook rows (no track
  name) are left out, they are not music.

Matching, in order: the track URI's id against the catalog's external id (the catalog CSV
stores Spotify's track id there); then the normalised artist + title exactly; then, within the
same normalised artist, the closest title by RapidFuzz's `token_sort_ratio` at or above
`FUZZY_MIN_SCORE` (so "Song (Remastered 2011)" finds "Song", but a different song by the same
artist does not). Unique (artist, title) pairs are matched once, so 100,000 plays of a few
thousand songs cost a few thousand look-ups.
"""

from __future__ import annotations

import io
import json
import math
import random
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from rapidfuzz import fuzz, process

FUZZY_MIN_SCORE = 90.0
MAX_PLAY_MS = 24 * 3600 * 1000  # one play longer than a day is not a play
ACCOUNT_NAME = re.compile(r"(^|/)StreamingHistory[^/]*\.json$", re.IGNORECASE)
EXTENDED_NAME = re.compile(r"(^|/)(endsong_[^/]*|Streaming_History_Audio_[^/]*)\.json$", re.IGNORECASE)


class HistoryFileError(ValueError):
    """The upload cannot be read; the message says why in words a participant understands."""


@dataclass(frozen=True)
class Play:
    """One play as the service recorded it (UTC end time)."""

    ended_at: datetime
    artist: str
    title: str
    ms_played: int
    skipped: bool | None = None
    track_uri_id: str = ""  # Spotify's track id from spotify:track:<id>, extended history only


@dataclass
class ParseReport:
    plays: list[Play] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    skipped_rows: int = 0  # rows that are not music plays (podcasts) or are impossible
    problems: list[str] = field(default_factory=list)  # the first few row-level reasons, in words


@dataclass(frozen=True)
class CatalogEntry:
    track_id: int
    external_id: str
    artist: str
    title: str


@dataclass(frozen=True)
class MatchedPlay:
    track_id: int
    ended_at: datetime
    ms_played: int
    skipped: bool | None
    how: str  # "uri", "exact" or "fuzzy"


@dataclass
class MatchReport:
    matched: list[MatchedPlay]
    plays: int
    by_uri: int = 0
    by_name: int = 0
    by_fuzzy: int = 0
    unmatched_examples: list[tuple[str, str]] = field(default_factory=list)

    @property
    def match_rate(self) -> float:
        return len(self.matched) / self.plays if self.plays else 0.0

    @property
    def tracks(self) -> int:
        return len({m.track_id for m in self.matched})


# --- reading ------------------------------------------------------------------------------


def _is_history_name(name: str) -> bool:
    return bool(ACCOUNT_NAME.search(name) or EXTENDED_NAME.search(name))


def read_export(
    name: str, data: bytes, *, max_uncompressed: int, max_files: int = 200, now: datetime | None = None
) -> ParseReport:
    """All plays in one uploaded file: a history JSON file or the service's zip.

    A zip contributes only its history JSON files; nested zips are refused, and so is a zip
    whose history files would unpack to more than `max_uncompressed` bytes (the sizes are
    checked while reading, not trusted from the zip's directory)."""
    now = now or datetime.now(UTC)
    report = ParseReport()
    if data[:4] == b"PK\x03\x04" or name.lower().endswith(".zip"):
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise HistoryFileError("This is not a readable zip file.") from exc
        with archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
            if any(i.filename.lower().endswith(".zip") for i in infos):
                raise HistoryFileError("The zip holds another zip; upload the service's zip as it came, or its JSON files.")
            wanted = [i for i in infos if _is_history_name(i.filename)]
            if not wanted:
                raise HistoryFileError(
                    "The zip has no StreamingHistory*.json, endsong_*.json or Streaming_History_Audio_*.json file."
                )
            if len(wanted) > max_files:
                raise HistoryFileError(f"The zip has {len(wanted)} history files; at most {max_files} are read.")
            budget = max_uncompressed
            for info in wanted:
                with archive.open(info) as fh:
                    raw = fh.read(budget + 1)
                if len(raw) > budget:
                    raise HistoryFileError(
                        f"The history files unpack to more than {max_uncompressed // (1024 * 1024)} MB; "
                        "upload fewer files at a time."
                    )
                budget -= len(raw)
                _read_json_file(info.filename, raw, report, now)
        return report
    if not _is_history_name(name):
        raise HistoryFileError(
            "Upload the service's zip, or a StreamingHistory*.json, endsong_*.json or "
            "Streaming_History_Audio_*.json file from it."
        )
    if len(data) > max_uncompressed:
        raise HistoryFileError(f"The file is larger than {max_uncompressed // (1024 * 1024)} MB.")
    _read_json_file(name, data, report, now)
    return report


def _read_json_file(name: str, raw: bytes, report: ParseReport, now: datetime) -> None:
    short = name.rsplit("/", 1)[-1]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HistoryFileError(f"{short} is not UTF-8 text (byte {exc.start}).") from exc
    try:
        rows = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise HistoryFileError(f"{short} is not valid JSON{where}.") from exc
    if not isinstance(rows, list):
        raise HistoryFileError(f"{short} should hold a list of plays.")
    extended = bool(EXTENDED_NAME.search(name))
    report.files.append(short)
    for i, row in enumerate(rows, start=1):
        play, why = (_extended_row if extended else _account_row)(row, now)
        if play is not None:
            report.plays.append(play)
        else:
            report.skipped_rows += 1
            if why and len(report.problems) < 20:
                report.problems.append(f"{short}, play {i}: {why}")


def _ms(value: object) -> tuple[int | None, str]:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None, "the duration is not a number"
    if value < 0:
        return None, "the duration is negative"
    if value > MAX_PLAY_MS:
        return None, "the duration is longer than a day"
    return int(value), ""


def _when(parsed: datetime | None, now: datetime) -> tuple[datetime | None, str]:
    if parsed is None:
        return None, "the time is not readable"
    if parsed > now + timedelta(minutes=5):
        return None, "the time is in the future"
    return parsed, ""


def _text(value: object) -> str:
    return value.strip()[:300] if isinstance(value, str) else ""


def _account_row(row: object, now: datetime) -> tuple[Play | None, str]:
    if not isinstance(row, dict):
        return None, "not a play record"
    artist, title = _text(row.get("artistName")), _text(row.get("trackName"))
    if not artist or not title:
        return None, "no artist or track name"
    try:
        parsed = datetime.strptime(str(row.get("endTime", "")), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    except ValueError:
        parsed = None
    ended, why = _when(parsed, now)
    if ended is None:
        return None, why
    ms, why = _ms(row.get("msPlayed"))
    if ms is None:
        return None, why
    return Play(ended, artist, title, ms), ""


def _extended_row(row: object, now: datetime) -> tuple[Play | None, str]:
    if not isinstance(row, dict):
        return None, "not a play record"
    artist = _text(row.get("master_metadata_album_artist_name"))
    title = _text(row.get("master_metadata_track_name"))
    if not artist or not title:
        return None, ""  # podcast or audiobook: not music, not a problem
    ts = row.get("ts")
    try:
        parsed = datetime.fromisoformat(str(ts).replace("Z", "+00:00")) if isinstance(ts, str) else None
        if parsed is not None and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
    except ValueError:
        parsed = None
    ended, why = _when(parsed, now)
    if ended is None:
        return None, why
    ms, why = _ms(row.get("ms_played"))
    if ms is None:
        return None, why
    skipped = row.get("skipped")
    uri = row.get("spotify_track_uri")
    uri_id = uri.rsplit(":", 1)[-1] if isinstance(uri, str) and uri.startswith("spotify:track:") else ""
    return Play(ended, artist, title, ms, skipped if isinstance(skipped, bool) else None, uri_id[:128]), ""


# --- matching -----------------------------------------------------------------------------

_BRACKETS = re.compile(r"[\(\[][^\)\]]*[\)\]]")
_SUFFIX = re.compile(r"\s+-\s+.*$")
_FEAT = re.compile(r"\b(feat\.?|featuring|ft\.?)\s.*$")
_NON_WORD = re.compile(r"[^\w]+")


def normalise_title(text: str) -> str:
    """Lower case, accents off, bracketed and " - Remastered"-style suffixes off, punctuation as
    spaces: "Hey Jude - Remastered 2015" and "hey jude" are one title."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = _SUFFIX.sub("", _BRACKETS.sub(" ", text))
    text = _FEAT.sub("", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def normalise_artist(text: str) -> str:
    """The first credited artist, normalised like a title (catalog rows list artists "A;B")."""
    first = re.split(r";|,|&|\bfeat\.?\s|\bfeaturing\s", text, maxsplit=1)[0]
    return normalise_title(first)


class CatalogMatcher:
    """Finds catalog tracks for plays; built once per import from the catalog's names and ids."""

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        self.by_external: dict[str, int] = {}
        self.by_name: dict[tuple[str, str], int] = {}
        self.titles_by_artist: dict[str, dict[str, int]] = {}
        for e in entries:
            if e.external_id:
                self.by_external.setdefault(e.external_id, e.track_id)
            artist, title = normalise_artist(e.artist), normalise_title(e.title)
            if not title:
                continue
            self.by_name.setdefault((artist, title), e.track_id)
            self.titles_by_artist.setdefault(artist, {}).setdefault(title, e.track_id)

    def _by_names(self, artist: str, title: str) -> tuple[int | None, str]:
        a, t = normalise_artist(artist), normalise_title(title)
        hit = self.by_name.get((a, t))
        if hit is not None:
            return hit, "exact"
        titles = self.titles_by_artist.get(a)
        if titles:
            best = process.extractOne(t, titles.keys(), scorer=fuzz.token_sort_ratio, score_cutoff=FUZZY_MIN_SCORE)
            if best is not None:
                return titles[best[0]], "fuzzy"
        return None, ""

    def match(self, plays: Sequence[Play], *, examples: int = 20) -> MatchReport:
        report = MatchReport(matched=[], plays=len(plays))
        cache: dict[tuple[str, str], tuple[int | None, str]] = {}
        missing: dict[tuple[str, str], None] = {}
        for p in plays:
            track_id = self.by_external.get(p.track_uri_id) if p.track_uri_id else None
            how = "uri"
            if track_id is None:
                key = (p.artist, p.title)
                if key not in cache:
                    cache[key] = self._by_names(*key)
                track_id, how = cache[key]
            if track_id is None:
                missing.setdefault((p.artist, p.title), None)
                continue
            report.matched.append(MatchedPlay(track_id, p.ended_at, p.ms_played, p.skipped, how))
            if how == "uri":
                report.by_uri += 1
            elif how == "exact":
                report.by_name += 1
            else:
                report.by_fuzzy += 1
        report.unmatched_examples = list(missing)[:examples]
        return report


# --- what the persona card reads ------------------------------------------------------------

SITTING_GAP = timedelta(minutes=30)


def sittings(ended_at: Sequence[datetime], gap: timedelta = SITTING_GAP) -> list[int]:
    """A sitting number per play (plays sorted by time): a new sitting after `gap` of silence."""
    out: list[int] = []
    current, last = -1, None
    for t in ended_at:
        if last is None or t - last > gap:
            current += 1
        out.append(current)
        last = t
    return out


def late_night_share(ended_at: Sequence[datetime], *, start_hour: int = 0, end_hour: int = 5) -> float | None:
    """Share of plays that ended between midnight and 5 a.m. (UTC, as the service records it)."""
    if not ended_at:
        return None
    late = sum(1 for t in ended_at if start_hour <= t.hour < end_hour)
    return late / len(ended_at)


# --- generated exports (tests, the benchmark) ------------------------------------------------


def synthetic_export(
    songs: Sequence[tuple[str, str, str]],
    *,
    plays: int,
    start: datetime,
    extended: bool = True,
    seed: int = 0,
    spacing: timedelta = timedelta(minutes=4),
) -> list[dict[str, object]]:
    """A list of play rows in Spotify's layout for (external id, artist, title) songs: `plays`
    rows, one every `spacing`, songs drawn uniformly with a fixed seed."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for i in range(plays):
        ext, artist, title = songs[rng.randrange(len(songs))]
        ended = start + i * spacing
        ms = rng.randrange(20_000, 240_000)
        if extended:
            rows.append(
                {
                    "ts": ended.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "ms_played": ms,
                    "master_metadata_track_name": title,
                    "master_metadata_album_artist_name": artist,
                    "spotify_track_uri": f"spotify:track:{ext}" if ext else None,
                    "skipped": ms < 30_000,
                }
            )
        else:
            rows.append({"endTime": ended.strftime("%Y-%m-%d %H:%M"), "artistName": artist, "trackName": title, "msPlayed": ms})
    return rows


def zip_export(files: dict[str, bytes]) -> bytes:
    """The files as the service's zip (deflated)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buf.getvalue()
