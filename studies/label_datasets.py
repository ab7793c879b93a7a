"""Reading published song-emotion data sets into GEMS (designs 000, 001, 004). Pure: no Django.

Four shapes of CSV are read, each documented with a small example under `docs/datasets/`:

1. ``soft``: one row per song, a key column and the nine GEMS columns (any non-negative
   numbers; each row is normalised to sum to 1).
2. ``raters`` (the Emotify layout, Aljanaki et al. 2016): one row per rater and song, nine 0/1
   GEMS columns under Emotify's names (amazement = wonder, solemnity = transcendence,
   calmness = peacefulness) or Attune's, an optional ``rater`` column (without it each row is
   its own rater), and Emotify's other columns (genre, mood, liked, disliked, age, gender,
   mother tongue) ignored. These answers go through Attune's own reliability-weighted
   aggregation (`studies.labels.aggregate`, pick format), exactly as a survey's.
3. ``va``: a key column, ``valence`` and ``arousal`` on a stated scale (DEAM and PMEmo: 1-9),
   mapped linearly onto the circumplex's [-1, 1] and to a GEMS distribution by the one table in
   `emotion.vocab.va_to_gems`.
4. ``tags``: a key column and ``tags`` (one or more words separated by ``;``), mapped to GEMS by
   `DEFAULT_TAG_MAP` (or a mapping the researcher gives); a song's label is the mean of its tags'.

Songs are keyed by ``external_id``, by ``file`` (the audio file name, matched case-insensitively
without folders and extension), or by ``artist`` + ``title`` (normalised as the streaming-history
matcher does). Any error in the file refuses the whole file with row-level messages; songs not in
the catalog are not errors: they are counted and listed.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from emotion.vocab import GEMS, N_GEMS, va_to_gems
from recommender.streaming_history import normalise_artist, normalise_title

SHAPES = ("soft", "raters", "va", "tags")
KEY_COLUMNS = ("external_id", "file", "artist", "title")
EMOTIFY_ALIASES = {
    "amazement": "wonder",
    "solemnity": "transcendence",
    "calmness": "peacefulness",
    "track id": "external_id",  # Emotify's song number: import the catalog with the same ids
    "track_id": "external_id",
}
EMOTIFY_IGNORED = {"genre", "mood", "liked", "disliked", "age", "gender", "mother tongue", "mother_tongue"}
MAX_ERRORS = 200
MAX_PICKS = 3  # Emotify's game and Attune's pick format both allow up to three emotions

# Tag words to GEMS (design 001's happy/sad/calm/angry lists and common music-tag words). Each
# tag names one or two GEMS emotions, weighted; a researcher may pass another mapping.
DEFAULT_TAG_MAP: dict[str, dict[str, float]] = {
    "happy": {"joyful_activation": 1.0},
    "joyful": {"joyful_activation": 1.0},
    "energetic": {"power": 0.6, "joyful_activation": 0.4},
    "sad": {"sadness": 1.0},
    "melancholic": {"sadness": 0.5, "nostalgia": 0.5},
    "nostalgic": {"nostalgia": 1.0},
    "calm": {"peacefulness": 1.0},
    "relaxing": {"peacefulness": 1.0},
    "peaceful": {"peacefulness": 1.0},
    "tender": {"tenderness": 1.0},
    "romantic": {"tenderness": 1.0},
    "angry": {"tension": 0.7, "power": 0.3},
    "aggressive": {"tension": 0.6, "power": 0.4},
    "tense": {"tension": 1.0},
    "dark": {"tension": 0.5, "sadness": 0.5},
    "epic": {"power": 0.5, "wonder": 0.5},
    "powerful": {"power": 1.0},
    "spiritual": {"transcendence": 1.0},
    "dreamy": {"transcendence": 0.5, "nostalgia": 0.5},
    "beautiful": {"wonder": 1.0},
}


class DatasetError(ValueError):
    """The file as a whole cannot be read (wrong shape, missing columns, not CSV)."""


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class SongKey:
    """How a row names its song: one of external id, file name, or artist + title."""

    kind: str  # "external_id", "file" or "name"
    value: str  # external id; lower-case file stem; or "artist\ttitle" normalised


@dataclass
class ParsedDataset:
    shape: str
    keys: list[SongKey] = field(default_factory=list)  # one per row
    gems: np.ndarray = field(default_factory=lambda: np.zeros((0, N_GEMS)))  # (rows, 9) label or answer
    raters: list[str] = field(default_factory=list)  # one per row (raters shape only)
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _stem(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip().lower()
    return base.rsplit(".", 1)[0] if "." in base else base


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _rows(data: bytes) -> tuple[Iterator[list[str]], list[str]]:
    """The CSV's rows after the header, and the header's column names (canonical spelling)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"The file is not UTF-8 text (byte {exc.start}).") from exc
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise DatasetError("The file is empty.")
    columns = [h.strip().lower() for h in header]
    if len(set(columns)) != len(columns):
        raise DatasetError("A column name appears twice.")
    return reader, [EMOTIFY_ALIASES.get(c, c) for c in columns]


def _key_kind(has: set[str]) -> str:
    if "external_id" in has:
        return "external_id"
    if "file" in has:
        return "file"
    if {"artist", "title"} <= has:
        return "name"
    raise DatasetError("Name each song by an external_id column, a file column, or artist and title columns.")


def _check_columns(shape: str, names: list[str]) -> None:
    """Every column the shape needs is there, and no column it does not know."""
    has = set(names)
    expected: set[str] = set(KEY_COLUMNS)
    if shape in ("soft", "raters"):
        missing = [g for g in GEMS if g not in has]
        if missing:
            raise DatasetError(f"Missing GEMS columns: {', '.join(missing)}.")
        expected |= set(GEMS)
        if shape == "raters":
            expected |= {"rater"} | EMOTIFY_IGNORED
    elif shape == "va":
        if not {"valence", "arousal"} <= has:
            raise DatasetError("The va shape needs valence and arousal columns.")
        expected |= {"valence", "arousal"}
    else:
        if "tags" not in has:
            raise DatasetError("The tags shape needs a tags column.")
        expected |= {"tags"}
    unknown = [c for c in names if c not in expected]
    if unknown:
        raise DatasetError(f"Unknown columns: {', '.join(unknown)} (for the {shape} shape).")


def _song_key(row: Mapping[str, str], key_kind: str) -> SongKey:
    if key_kind == "external_id":
        return SongKey("external_id", row["external_id"])
    if key_kind == "file":
        return SongKey("file", _stem(row["file"]))
    return SongKey("name", f"{normalise_artist(row['artist'])}\t{normalise_title(row['title'])}")


def _gems_vector(row: Mapping[str, str], shape: str) -> np.ndarray | str:
    """A soft or per-rater row's nine GEMS values, or what is wrong with them."""
    values = [_number(row[g]) for g in GEMS]
    if any(v is None for v in values):
        return "a GEMS value is not a number"
    vec = np.array(values, dtype=np.float64)
    if shape == "raters" and not np.all(np.isin(vec, (0.0, 1.0))):
        return "per-rater GEMS answers are 0 or 1"
    if shape == "raters" and not 1 <= vec.sum() <= MAX_PICKS:
        return f"a rater picks 1 to {MAX_PICKS} emotions (Emotify's rule)"
    if np.any(vec < 0):
        return "GEMS values must not be negative"
    if shape == "soft":
        if vec.sum() <= 0:
            return "all nine GEMS values are 0"
        vec = vec / vec.sum()
    return vec


def _va_vector(row: Mapping[str, str], lo: float, hi: float) -> np.ndarray | str:
    v, a = _number(row["valence"]), _number(row["arousal"])
    if v is None or a is None:
        return "valence or arousal is not a number"
    if not (lo <= v <= hi and lo <= a <= hi):
        return f"valence and arousal must lie on the stated scale {lo:g} to {hi:g}"
    return np.asarray(va_to_gems(np.array([2 * (v - lo) / (hi - lo) - 1, 2 * (a - lo) / (hi - lo) - 1])))


def _tags_vector(row: Mapping[str, str], mapping: Mapping[str, Mapping[str, float]]) -> np.ndarray | str:
    tags = [t.strip().lower() for t in row["tags"].split(";") if t.strip()]
    if not tags:
        return "no tags"
    unknown_tags = [t for t in tags if t not in mapping]
    if unknown_tags:
        return f"tag(s) not in the mapping: {', '.join(unknown_tags)}"
    vec = np.zeros(N_GEMS)
    for t in tags:
        for name, weight in mapping[t].items():
            vec[GEMS.index(name)] += float(weight)
    return np.asarray(vec / vec.sum())


def read_dataset(
    data: bytes,
    shape: str,
    *,
    scale: tuple[float, float] = (1.0, 9.0),
    tag_map: Mapping[str, Mapping[str, float]] | None = None,
    max_rows: int = 200_000,
) -> ParsedDataset:
    """Parse one CSV file of the given shape; row errors are collected (see `.errors`)."""
    if shape not in SHAPES:
        raise DatasetError(f"Unknown shape {shape!r}; expected one of {', '.join(SHAPES)}.")
    lo, hi = scale
    if shape == "va" and not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise DatasetError("The valence/arousal scale needs a lowest value below its highest, e.g. 1 to 9.")
    reader, names = _rows(data)
    key_kind = _key_kind(set(names))
    _check_columns(shape, names)
    mapping = {k.lower(): v for k, v in (tag_map or DEFAULT_TAG_MAP).items()}
    out = ParsedDataset(shape=shape, ignored_columns=[c for c in names if c in EMOTIFY_IGNORED])
    rows_gems: list[np.ndarray] = []
    seen: dict[tuple[SongKey, ...] | tuple[SongKey, str], int] = {}

    def err(line: int, message: str) -> None:
        if len(out.errors) < MAX_ERRORS:
            out.errors.append(RowError(line, message))

    for line, raw in enumerate(reader, start=2):
        if not any(cell.strip() for cell in raw):
            continue
        if line - 1 > max_rows:
            raise DatasetError(f"The file has more than {max_rows} rows.")
        if len(raw) != len(names):
            err(line, f"has {len(raw)} cells, the header has {len(names)}")
            continue
        row = dict(zip(names, (c.strip() for c in raw), strict=True))
        key = _song_key(row, key_kind)
        if not key.value.strip("\t"):
            err(line, "names no song")
            continue
        rater = row.get("rater", "") or f"row-{line}"
        dup = (key, rater) if shape == "raters" else (key,)
        if dup in seen:
            who = f" by rater {rater}" if shape == "raters" else ""
            err(line, f"repeats line {seen[dup]} (the same song{who})")
            continue
        seen[dup] = line
        if shape in ("soft", "raters"):
            vec = _gems_vector(row, shape)
        elif shape == "va":
            vec = _va_vector(row, lo, hi)
        else:
            vec = _tags_vector(row, mapping)
        if isinstance(vec, str):
            err(line, vec)
            continue
        out.keys.append(key)
        out.raters.append(rater)
        rows_gems.append(vec)
    if not out.keys and not out.errors:
        raise DatasetError("The file has a header but no rows.")
    out.gems = np.array(rows_gems, dtype=np.float64).reshape(-1, N_GEMS)
    return out


def validate_tag_map(tag_map: Mapping[str, Mapping[str, float]]) -> list[str]:
    """Problems with a researcher's tag mapping, in words (empty when it is usable)."""
    problems = []
    for tag, weights in tag_map.items():
        bad = [g for g in weights if g not in GEMS]
        if bad:
            problems.append(f"{tag}: unknown GEMS name(s) {', '.join(bad)}")
        elif not weights or any((not isinstance(w, int | float)) or w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            problems.append(f"{tag}: weights must be non-negative numbers, not all 0")
    return problems


def soft_labels(parsed: ParsedDataset) -> tuple[list[SongKey], np.ndarray]:
    """One soft label per song for the soft, va and tags shapes (rows are already one per song)."""
    if parsed.shape == "raters":
        raise ValueError("Per-rater answers go through studies.labels.aggregate, not soft_labels")
    return list(parsed.keys), parsed.gems


def rater_indices(parsed: ParsedDataset, songs: Sequence[SongKey]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(rater index, song index, rater codes) for the raters shape, songs in the given order."""
    song_at = {k: i for i, k in enumerate(songs)}
    codes: dict[str, int] = {}
    rater = np.array([codes.setdefault(r, len(codes)) for r in parsed.raters], dtype=np.int64)
    track = np.array([song_at[k] for k in parsed.keys], dtype=np.int64)
    return rater, track, list(codes)
