"""Parse and validate rows of a Spotify-tracks-layout CSV. Pure: standard library only.

The layout is that of the widely used Kaggle/Hugging Face "Spotify tracks" data sets:

    track_id, artists, album_name, track_name, popularity, duration_ms, explicit,
    danceability, energy, key, loudness, mode, speechiness, acousticness,
    instrumentalness, liveness, valence, tempo, time_signature, track_genre

`track_id`, `track_name` and `artists` are required columns; any other column may be absent
(the feature then stays empty for every row, and the report says so). An empty cell is a
missing value (stored as NULL, never 0). A cell that says NaN, is not a number or lies outside
the feature's range makes the whole row an error: it is reported with its line number and
skipped. `key = -1` means "no key detected" in Spotify's convention and is stored as empty.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

REQUIRED_COLUMNS: tuple[str, ...] = ("track_id", "track_name", "artists")
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "album_name",
    "popularity",
    "duration_ms",
    "explicit",
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "time_signature",
    "track_genre",
)
KNOWN_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

UNIT_COLUMNS: tuple[str, ...] = (
    "danceability",
    "energy",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
)
# (low, high) inclusive, matching the database check constraints in recommender/models.py.
FLOAT_RANGES: dict[str, tuple[float, float]] = {
    **{c: (0.0, 1.0) for c in UNIT_COLUMNS},
    "loudness": (-80.0, 10.0),
    "tempo": (0.0, 400.0),
    "duration_ms": (0.0, 24 * 3600 * 1000.0),
}
INT_RANGES: dict[str, tuple[int, int]] = {
    "key": (-1, 11),
    "mode": (0, 1),
    "time_signature": (0, 12),
    "popularity": (0, 100),
}
MAX_TEXT = {"track_id": 128, "track_name": 300, "artists": 300, "album_name": 300, "track_genre": 100}
_TRUE = {"true", "1", "yes", "t"}
_FALSE = {"false", "0", "no", "f", ""}

# The Track fields a parsed row fills, in a fixed order (used to compare with stored rows).
TRACK_FIELDS: tuple[str, ...] = (
    "external_id",
    "title",
    "artist",
    "album",
    "genre",
    "popularity",
    "duration_s",
    "explicit",
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "time_signature",
)


# The CSV column each Track field comes from (fields not listed share their column's name).
FIELD_COLUMN: dict[str, str] = {
    "external_id": "track_id",
    "title": "track_name",
    "artist": "artists",
    "album": "album_name",
    "genre": "track_genre",
    "duration_s": "duration_ms",
}


class HeaderError(ValueError):
    """The file cannot be imported at all (no header, required columns missing)."""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str
    track_id: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "column": self.column, "message": self.message, "track_id": self.track_id}


@dataclass(frozen=True)
class ParsedRow:
    line: int
    values: dict[str, object]  # Track field name -> value (None for missing)


@dataclass
class Header:
    columns: list[str]
    absent_optional: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def track_fields(self) -> tuple[str, ...]:
        """The Track fields this file provides: an absent column never overwrites stored values."""
        return tuple(f for f in TRACK_FIELDS if FIELD_COLUMN.get(f, f) in self.columns)


def check_header(columns: Iterable[str] | None) -> Header:
    if columns is None:
        raise HeaderError("The file is empty: no header row.")
    cols = [c.strip().lstrip("\ufeff") for c in columns]
    # A leading unnamed index column (pandas' to_csv default) is allowed and ignored.
    missing = [c for c in REQUIRED_COLUMNS if c not in cols]
    if missing:
        raise HeaderError(
            f"Required column(s) missing: {', '.join(missing)}. The header must name at least "
            f"{', '.join(REQUIRED_COLUMNS)}; found: {', '.join(cols[:25]) or '(nothing)'}."
        )
    duplicated = sorted({c for c in cols if c and cols.count(c) > 1})
    if duplicated:
        raise HeaderError(f"Column(s) named twice: {', '.join(duplicated)}.")
    return Header(
        columns=cols,
        absent_optional=[c for c in OPTIONAL_COLUMNS if c not in cols],
        unknown=[c for c in cols if c and c not in KNOWN_COLUMNS],
    )


def _number(raw: str, column: str) -> float | None:
    text = raw.strip()
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column} is not a number: {text[:40]!r}") from None
    if math.isnan(value):
        raise ValueError(f"{column} is NaN")
    if math.isinf(value):
        raise ValueError(f"{column} is infinite")
    return value


def _check_range(value: float, column: str, low: float, high: float) -> None:
    if not (low <= value <= high):
        raise ValueError(f"{column} = {value:g} is outside {low:g}..{high:g}")


def parse_row(header: Header, cells: list[str], line: int) -> ParsedRow | RowError:
    """One data row -> the Track field values, or the first problem found in it."""
    if len(cells) != len(header.columns):
        return RowError(line, "", f"the row has {len(cells)} fields but the header has {len(header.columns)}")
    raw = dict(zip(header.columns, cells, strict=True))
    track_id = raw["track_id"].strip()
    if not track_id:
        return RowError(line, "track_id", "track_id is empty")
    for column, limit in MAX_TEXT.items():
        if len(raw.get(column, "")) > limit:
            return RowError(line, column, f"{column} is longer than {limit} characters", track_id)
    title = raw["track_name"].strip()
    if not title or title.lower() == "nan":
        return RowError(line, "track_name", "track_name is empty", track_id)
    values: dict[str, object] = {
        "external_id": track_id,
        "title": title,
        "artist": "" if raw["artists"].strip().lower() == "nan" else raw["artists"].strip().replace(";", ", "),
        "album": "" if raw.get("album_name", "").strip().lower() == "nan" else raw.get("album_name", "").strip(),
        "genre": raw.get("track_genre", "").strip(),
    }
    try:
        for column, (low, high) in FLOAT_RANGES.items():
            if column not in raw:
                values["duration_s" if column == "duration_ms" else column] = None
                continue
            value = _number(raw[column], column)
            if value is not None:
                _check_range(value, column, low, high)
            if column == "duration_ms":
                values["duration_s"] = None if value is None else value / 1000.0
            else:
                values[column] = value
        for column, (low, high) in INT_RANGES.items():
            value = _number(raw[column], column) if column in raw else None
            if value is not None:
                if value != int(value):
                    raise ValueError(f"{column} must be a whole number, got {value:g}")
                _check_range(value, column, low, high)
                value = int(value)
                if column == "key" and value == -1:
                    value = None
            values[column] = value
        flag = raw.get("explicit", "").strip().lower()
        if flag in _TRUE:
            values["explicit"] = True
        elif flag in _FALSE:
            values["explicit"] = False
        else:
            raise ValueError(f"explicit must be true or false, got {raw['explicit'][:20]!r}")
    except ValueError as exc:
        message = str(exc)
        return RowError(line, message.split(" ", 1)[0], message, track_id)
    return ParsedRow(line, values)


def parse_rows(header: Header, numbered_rows: Iterable[tuple[int, list[str]]]) -> Iterator[ParsedRow | RowError]:
    """Parse `(line number, cells)` pairs (e.g. from csv.reader's line_num); blank lines are skipped."""
    for line, cells in numbered_rows:
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        yield parse_row(header, cells, line)
