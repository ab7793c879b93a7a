"""The streaming-history reader and matcher, on generated exports (pure: no database)."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from recommender.streaming_history import (
    CatalogEntry,
    CatalogMatcher,
    HistoryFileError,
    late_night_share,
    normalise_artist,
    normalise_title,
    read_export,
    sittings,
    synthetic_export,
    zip_export,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)
START = datetime(2026, 1, 1, tzinfo=UTC)
SONGS = [("id0", "Ólafur Arnalds", "Near Light"), ("id1", "The Beatles", "Hey Jude"), ("id2", "Björk", "Jóga")]
MB = 1024 * 1024


def _json(rows) -> bytes:
    return json.dumps(rows).encode()


def read(name, data, **kw):
    return read_export(name, data, max_uncompressed=kw.pop("max_uncompressed", 10 * MB), now=NOW, **kw)


class TestReading:
    def test_account_layout(self):
        rows = synthetic_export(SONGS, plays=5, start=START, extended=False)
        report = read("StreamingHistory0.json", _json(rows))
        assert len(report.plays) == 5 and report.files == ["StreamingHistory0.json"]
        assert report.plays[0].ended_at == START and report.plays[0].track_uri_id == ""

    def test_extended_layout_keeps_uri_and_skipped_and_leaves_out_podcasts(self):
        rows = synthetic_export(SONGS, plays=4, start=START)
        rows.append({"ts": "2026-02-01T10:00:00Z", "ms_played": 5000, "master_metadata_track_name": None,
                     "episode_name": "A podcast", "spotify_track_uri": None})
        report = read("Streaming_History_Audio_2026.json", _json(rows))
        assert len(report.plays) == 4 and report.skipped_rows == 1 and report.problems == []
        assert {p.track_uri_id for p in report.plays} <= {"id0", "id1", "id2"}
        assert all(isinstance(p.skipped, bool) for p in report.plays)

    def test_zip_reads_only_history_files(self):
        data = zip_export({
            "MyData/StreamingHistory0.json": _json(synthetic_export(SONGS, plays=3, start=START, extended=False)),
            "MyData/endsong_0.json": _json(synthetic_export(SONGS, plays=2, start=START)),
            "MyData/Userdata.json": b'{"username": "secret"}',
            "MyData/ReadMeFirst.pdf": b"%PDF",
        })
        report = read("my_spotify_data.zip", data)
        assert len(report.plays) == 5 and sorted(report.files) == ["StreamingHistory0.json", "endsong_0.json"]

    @pytest.mark.parametrize(
        ("name", "data", "message"),
        [
            ("x.zip", zip_export({"a/inner.zip": b"PK"}), "another zip"),
            ("x.zip", zip_export({"Userdata.json": b"{}"}), "no StreamingHistory"),
            ("x.zip", b"PK\x03\x04 broken", "not a readable zip"),
            ("notes.txt", b"[]", "Upload the service's zip"),
            ("StreamingHistory0.json", b"[{", "not valid JSON"),
            ("StreamingHistory0.json", b'{"a": 1}', "a list of plays"),
            ("StreamingHistory0.json", "[]".encode("utf-16"), "not UTF-8"),
            ("StreamingHistory0.json", b"[" * 100000 + b"]" * 100000, "not valid JSON"),
        ],
    )
    def test_unreadable_uploads_say_why(self, name, data, message):
        with pytest.raises(HistoryFileError, match=message):
            read(name, data)

    def test_zip_bomb_is_bounded_by_what_is_read_not_by_the_directory(self):
        data = zip_export({"StreamingHistory0.json": b"[" + b" " * (3 * MB) + b"]"})
        assert len(data) < 50_000  # tiny on the wire
        with pytest.raises(HistoryFileError, match="unpack to more than 2 MB"):
            read("x.zip", data, max_uncompressed=2 * MB)

    def test_impossible_rows_are_left_out_with_reasons(self):
        future = (NOW + timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
        rows = [
            {"endTime": "2026-03-01 10:00", "artistName": "A", "trackName": "T", "msPlayed": 1000},
            {"endTime": future, "artistName": "A", "trackName": "T", "msPlayed": 1000},
            {"endTime": "2026-03-01 10:00", "artistName": "A", "trackName": "T", "msPlayed": -5},
            {"endTime": "2026-03-01 10:00", "artistName": "A", "trackName": "T", "msPlayed": 1e999},
            {"endTime": "yesterday", "artistName": "A", "trackName": "T", "msPlayed": 1},
            {"endTime": "2026-03-01 10:00", "artistName": "", "trackName": "T", "msPlayed": 1},
            "not a dict",
        ]
        report = read("StreamingHistory0.json", json.dumps(rows).replace("Infinity", "1e999").encode())
        assert len(report.plays) == 1 and report.skipped_rows == 6
        text = " ".join(report.problems)
        for why in ("in the future", "negative", "not a number", "not readable", "no artist", "not a play record"):
            assert why in text


class TestMatching:
    def test_normalisation(self):
        assert normalise_title("Hey Jude - Remastered 2015") == "hey jude"
        assert normalise_title("Jóga (Live)") == "joga"
        assert normalise_title("Song feat. Someone") == "song"
        assert normalise_artist("Simon & Garfunkel") == "simon"
        assert normalise_artist("Bach;Gould") == "bach"

    def test_uri_then_names_then_fuzzy_within_the_artist(self):
        matcher = CatalogMatcher([
            CatalogEntry(1, "spot1", "The Beatles", "Hey Jude"),
            CatalogEntry(2, "", "Björk", "Jóga"),
            CatalogEntry(3, "", "Ólafur Arnalds", "Near Light (Official)"),
            CatalogEntry(4, "", "Other Artist", "Near Lights"),
        ])
        rows = [
            {"ts": "2026-01-01T00:00:00Z", "ms_played": 60000, "master_metadata_track_name": "Something else",
             "master_metadata_album_artist_name": "Nobody", "spotify_track_uri": "spotify:track:spot1"},
            {"ts": "2026-01-01T00:05:00Z", "ms_played": 60000, "master_metadata_track_name": "Joga",
             "master_metadata_album_artist_name": "bjork", "spotify_track_uri": "spotify:track:unknown"},
            {"ts": "2026-01-01T00:09:00Z", "ms_played": 60000, "master_metadata_track_name": "Near Light - 2013 version",
             "master_metadata_album_artist_name": "Olafur Arnalds", "spotify_track_uri": None},
            {"ts": "2026-01-01T00:12:00Z", "ms_played": 60000, "master_metadata_track_name": "Nearly Lite",
             "master_metadata_album_artist_name": "Olafur Arnalds", "spotify_track_uri": None},
            {"ts": "2026-01-01T00:15:00Z", "ms_played": 60000, "master_metadata_track_name": "Hey Jules",
             "master_metadata_album_artist_name": "Someone Else", "spotify_track_uri": None},
        ]
        plays = read("endsong_0.json", _json(rows)).plays
        report = matcher.match(plays)
        assert [m.track_id for m in report.matched] == [1, 2, 3]
        assert [m.how for m in report.matched] == ["uri", "exact", "exact"]
        assert report.plays == 5 and report.match_rate == pytest.approx(0.6) and report.tracks == 3
        assert set(report.unmatched_examples) == {("Olafur Arnalds", "Nearly Lite"), ("Someone Else", "Hey Jules")}

    def test_fuzzy_finds_a_close_title_by_the_same_artist_only(self):
        matcher = CatalogMatcher([CatalogEntry(7, "", "Arvo Pärt", "Spiegel im Spiegel"), CatalogEntry(8, "", "Other", "Spiegel im Spiegl")])
        plays = read("StreamingHistory0.json", _json([
            {"endTime": "2026-01-01 00:00", "artistName": "Arvo Part", "trackName": "Spiegel im Spiegl", "msPlayed": 90000},
            {"endTime": "2026-01-01 00:10", "artistName": "Third", "trackName": "Spiegel im Spiegel", "msPlayed": 90000},
        ])).plays
        report = matcher.match(plays)
        assert [(m.track_id, m.how) for m in report.matched] == [(7, "fuzzy")]


def test_sittings_and_late_night_share():
    t0 = datetime(2026, 1, 1, 23, 50, tzinfo=UTC)
    times = [t0, t0 + timedelta(minutes=10), t0 + timedelta(minutes=20), t0 + timedelta(hours=3)]
    assert sittings(times) == [0, 0, 0, 1]
    assert late_night_share(times) == pytest.approx(0.75)
    assert late_night_share([]) is None


def test_zip_export_round_trip_is_a_real_zip():
    data = zip_export({"StreamingHistory0.json": b"[]"})
    assert zipfile.is_zipfile(__import__("io").BytesIO(data))
