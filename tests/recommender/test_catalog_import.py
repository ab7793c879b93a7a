"""CSV import in the Spotify tracks layout: parsing, the report, idempotence, bad files."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from recommender import catalog_csv
from recommender.models import ImportKind, ImportRun, RunStatus, Track
from recommender.services.imports import import_run_create, tracks_import_csv
from recommender.services.labels import catalog_version

HEADER = [
    "", "track_id", "artists", "album_name", "track_name", "popularity", "duration_ms", "explicit",
    "danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
    "instrumentalness", "liveness", "valence", "tempo", "time_signature", "track_genre",
]


def row(i: int, **overrides) -> dict[str, str]:
    values = {
        "": str(i), "track_id": f"id{i:05d}", "artists": f"Artist {i % 5};Guest", "album_name": f"Album {i % 3}",
        "track_name": f"Song {i}", "popularity": str(i % 100), "duration_ms": str(180000 + i),
        "explicit": "False" if i % 4 else "True", "danceability": "0.5", "energy": f"{(i % 10) / 10:.1f}",
        "key": str(i % 12), "loudness": "-7.5", "mode": str(i % 2), "speechiness": "0.05",
        "acousticness": "0.3", "instrumentalness": "0.0", "liveness": "0.1", "valence": "0.6",
        "tempo": "120.0", "time_signature": "4", "track_genre": "acoustic",
    }
    values.update(overrides)
    return values


def write_csv(path, rows, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def run_import(path, **kw):
    run = import_run_create(kind=ImportKind.CSV, source_name=str(path))
    return tracks_import_csv(run=run, path=path, **kw)


def test_good_rows_are_imported_with_converted_units(tmp_path, db):
    path = write_csv(tmp_path / "t.csv", [row(i) for i in range(5)])
    run = run_import(path)
    assert run.status == RunStatus.DONE and run.created_count == 5 and run.error_count == 0
    track = Track.objects.get(external_id="id00000")
    assert track.title == "Song 0" and track.artist == "Artist 0, Guest"
    assert track.duration_s == pytest.approx(180.0) and track.explicit is True
    assert track.energy == 0.0 and track.tempo == 120.0 and track.genre == "acoustic"


def test_bad_rows_are_reported_and_skipped(tmp_path, db):
    rows = [
        row(0),
        row(1, valence="NaN"),
        row(2, energy="1.7"),
        row(3, tempo="fast"),
        row(4, key="12"),
        row(5, track_name=""),
        row(6, explicit="maybe"),
        row(7, valence=""),  # empty stays empty, not an error
    ]
    run = run_import(write_csv(tmp_path / "t.csv", rows))
    assert run.status == RunStatus.DONE
    assert run.created_count == 2 and run.error_count == 6
    messages = {e["line"]: e["message"] for e in run.report["errors"]}
    assert messages[3] == "valence is NaN"
    assert "energy = 1.7 is outside 0..1" in messages[4]
    assert "not a number" in messages[5]
    assert "key" in messages[6]
    assert "track_name is empty" in messages[7]
    assert "explicit" in messages[8]
    assert Track.objects.get(external_id="id00007").valence is None
    assert run.report["errors_by_column"]["valence"] == 1


def test_importing_twice_changes_nothing_and_changes_are_updates(tmp_path, db):
    path = write_csv(tmp_path / "t.csv", [row(i) for i in range(30)])
    run_import(path, batch_size=7)
    before = {t.external_id: (t.updated, t.energy) for t in Track.objects.all()}
    version = catalog_version()
    second = run_import(path, batch_size=7)
    assert (second.created_count, second.updated_count, second.unchanged_count) == (0, 0, 30)
    assert {t.external_id: (t.updated, t.energy) for t in Track.objects.all()} == before
    assert catalog_version() == version  # nothing written, index not invalidated
    changed = [row(i) for i in range(30)]
    changed[3] = row(3, energy="0.99")
    third = run_import(write_csv(tmp_path / "t2.csv", changed))
    assert (third.created_count, third.updated_count, third.unchanged_count) == (0, 1, 29)
    assert Track.objects.get(external_id="id00003").energy == 0.99
    assert Track.objects.count() == 30


def test_duplicate_track_id_in_file_imported_once_and_reported(tmp_path, db):
    rows = [row(0), row(1), row(0, track_genre="folk")]
    run = run_import(write_csv(tmp_path / "t.csv", rows))
    assert Track.objects.count() == 2
    assert Track.objects.get(external_id="id00000").genre == "acoustic"
    assert run.report["duplicate_count"] == 1
    assert run.report["duplicates"][0] == {"line": 4, "track_id": "id00000", "first_line": 2}


def test_absent_optional_column_never_overwrites_stored_values(tmp_path, db):
    run_import(write_csv(tmp_path / "full.csv", [row(0)]))
    header = [c for c in HEADER if c != "valence"]
    run = run_import(write_csv(tmp_path / "partial.csv", [row(0, energy="0.9")], header=header))
    assert run.report["columns_absent"] == ["valence"]
    track = Track.objects.get(external_id="id00000")
    assert track.valence == 0.6 and track.energy == 0.9


def test_missing_required_column_fails_cleanly(tmp_path, db):
    header = [c for c in HEADER if c != "track_id"]
    run = run_import(write_csv(tmp_path / "t.csv", [row(0)], header=header))
    assert run.status == RunStatus.FAILED
    assert "Required column(s) missing: track_id" in run.message
    assert not Track.objects.exists()


def test_ragged_row_is_a_row_error(tmp_path, db):
    path = tmp_path / "t.csv"
    write_csv(path, [row(0)])
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("x,y,z\n")
    run = run_import(path)
    assert run.created_count == 1 and run.error_count == 1
    assert "fields but the header has 21" in run.report["errors"][0]["message"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary", "not UTF-8"),
        (b"track_id,track_name,artists\nabc,\x00def,g\n", "NUL byte"),
        (b"track_id,track_name,artists\nabc," + b"x" * 200_000 + b",g\n", "not a readable CSV"),
    ],
)
def test_malformed_file_fails_without_writing(tmp_path, db, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    run = run_import(path)
    assert run.status == RunStatus.FAILED and message in run.message
    assert not Track.objects.exists()


def test_oversized_file_is_refused(settings, tmp_path, db, monkeypatch):

    settings.ATTUNE_CATALOG_IMPORT_MAX_BYTES = 100
    run = run_import(write_csv(tmp_path / "t.csv", [row(i) for i in range(10)]))
    assert run.status == RunStatus.FAILED and "limit" in run.message
    assert not Track.objects.exists()


def test_management_command_reports_and_fails_clearly(tmp_path, db):
    out = io.StringIO()
    path = write_csv(tmp_path / "t.csv", [row(0), row(1, valence="2")])
    call_command("import_tracks_csv", str(path), stdout=out)
    assert "1 new" in out.getvalue() and "line 3: valence = 2 is outside 0..1" in out.getvalue()
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_tracks_csv", str(tmp_path / "nope.csv"))
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(CommandError, match="Required column"):
        call_command("import_tracks_csv", str(tmp_path / "bad.csv"))
    assert ImportRun.objects.filter(status=RunStatus.FAILED).count() == 1


def test_parse_row_is_pure_and_maps_key_minus_one_to_empty():
    header = catalog_csv.check_header(HEADER)
    parsed = catalog_csv.parse_row(header, [row(0, key="-1")[c] for c in HEADER], 2)
    assert isinstance(parsed, catalog_csv.ParsedRow) and parsed.values["key"] is None
    error = catalog_csv.parse_row(header, [row(0, mode="0.5")[c] for c in HEADER], 9)
    assert isinstance(error, catalog_csv.RowError) and "whole number" in error.message and error.line == 9
