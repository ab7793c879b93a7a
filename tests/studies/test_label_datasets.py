"""Reading external song-emotion data sets (pure): the four shapes, keys, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotion.vocab import GEMS, one_hot_gems, va_to_gems
from studies.label_datasets import DatasetError, SongKey, rater_indices, read_dataset, soft_labels, validate_tag_map

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "datasets"
HEADER = "external_id," + ",".join(GEMS)


def test_the_example_files_read_cleanly():
    for name, shape in (("soft_gems.csv", "soft"), ("emotify_raters.csv", "raters"), ("deam_va.csv", "va"), ("tags.csv", "tags")):
        parsed = read_dataset((EXAMPLES / name).read_bytes(), shape)
        assert parsed.ok and len(parsed.keys) >= 2, (name, parsed.errors)
        assert np.allclose(parsed.gems.sum(axis=1)[: len(parsed.keys)], 1.0) or shape == "raters"


def test_soft_rows_are_normalised():
    parsed = read_dataset(f"{HEADER}\na,2,0,0,0,0,0,0,0,2\n".encode(), "soft")
    assert parsed.keys == [SongKey("external_id", "a")]
    assert np.allclose(parsed.gems[0], 0.5 * (one_hot_gems("wonder") + one_hot_gems("sadness")))
    assert soft_labels(parsed)[1].shape == (1, 9)


def test_emotify_layout_with_aliases_and_ignored_columns():
    parsed = read_dataset((EXAMPLES / "emotify_raters.csv").read_bytes(), "raters")
    assert parsed.ignored_columns == ["genre", "mood", "liked", "disliked", "age", "gender", "mother tongue"]
    assert parsed.gems[0][GEMS.index("wonder")] == 1 and parsed.gems[0][GEMS.index("peacefulness")] == 1
    songs = list(dict.fromkeys(parsed.keys))
    rater, track, codes = rater_indices(parsed, songs)
    assert codes == ["r1", "r2"] and rater.tolist() == [0, 1, 0] and track.tolist() == [0, 0, 1]


def test_va_maps_the_stated_scale_onto_the_circumplex():
    parsed = read_dataset(b"file,valence,arousal\nsongs/A.mp3,9,5\nB.wav,1,1\n", "va", scale=(1, 9))
    assert parsed.keys == [SongKey("file", "a"), SongKey("file", "b")]
    assert np.allclose(parsed.gems[0], va_to_gems(np.array([1.0, 0.0])))
    assert np.allclose(parsed.gems[1], va_to_gems(np.array([-1.0, -1.0])))


def test_tags_by_artist_and_title():
    parsed = read_dataset(b"artist,title,tags\nThe Band,Song (Live),happy;sad\n", "tags")
    assert parsed.keys == [SongKey("name", "the band\tsong")]
    assert np.allclose(parsed.gems[0], 0.5 * (one_hot_gems("joyful_activation") + one_hot_gems("sadness")))


@pytest.mark.parametrize(
    ("data", "shape", "message"),
    [
        (b"", "soft", "empty"),
        (b"\xff\xfe\x00", "soft", "not UTF-8"),
        (b"external_id,wonder\na,1\n", "soft", "Missing GEMS columns"),
        (f"{HEADER},colour\na,1,0,0,0,0,0,0,0,0,red\n".encode(), "soft", "Unknown columns: colour"),
        (b"name,valence,arousal\nx,1,1\n", "va", "Name each song"),
        (b"external_id,valence\nx,1\n", "va", "valence and arousal columns"),
        (f"{HEADER}\n".encode(), "soft", "no rows"),
        (b"external_id,tags\na,happy\n", "mood", "Unknown shape"),
    ],
)
def test_whole_file_problems(data, shape, message):
    with pytest.raises(DatasetError, match=message):
        read_dataset(data, shape)


def test_row_problems_are_listed_by_line():
    rows = "\n".join([
        HEADER,
        "a,1,0,0,0,0,0,0,0,0",
        "a,0,1,0,0,0,0,0,0,0",  # the same song twice
        "b,-1,0,0,0,0,0,0,0,0",
        "c,x,0,0,0,0,0,0,0,0",
        "d,0,0,0,0,0,0,0,0,0",
        "e,1,0",
        "f,nan,0,0,0,0,0,0,0,1",
    ])
    parsed = read_dataset(rows.encode(), "soft")
    assert [(e.line, e.message.split(" (")[0]) for e in parsed.errors] == [
        (3, "repeats line 2"),
        (4, "GEMS values must not be negative"),
        (5, "a GEMS value is not a number"),
        (6, "all nine GEMS values are 0"),
        (7, "has 3 cells, the header has 10"),
        (8, "a GEMS value is not a number"),
    ]
    raters = read_dataset(b"external_id,rater," + ",".join(GEMS).encode() + b"\na,r1,1,0,0,0,0,0,0,0,0\na,r1,0,1,0,0,0,0,0,0,0\nb,r1,2,0,0,0,0,0,0,0,0\n", "raters")
    assert [str(e) for e in raters.errors] == ["line 3: repeats line 2 (the same song by rater r1)", "line 4: per-rater GEMS answers are 0 or 1"]
    va = read_dataset(b"file,valence,arousal\na,10,5\n", "va", scale=(1, 9))
    assert "stated scale 1 to 9" in str(va.errors[0])
    tags = read_dataset(b"external_id,tags\na,happy;funky\n", "tags")
    assert "not in the mapping: funky" in str(tags.errors[0])


def test_tag_map_validation():
    assert validate_tag_map({"happy": {"joyful_activation": 1}}) == []
    assert validate_tag_map({"x": {"joy": 1}, "y": {"sadness": -1}}) == ["x: unknown GEMS name(s) joy", "y: weights must be non-negative numbers, not all 0"]
