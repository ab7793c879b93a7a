"""Benchmark: import 100,000 Spotify-layout CSV rows into a fresh SQLite catalog.

Target (issue 3): 100k rows under a minute on SQLite. Baseline named "per-row
update_or_create": the obvious ORM loop, timed on the first BASELINE_ROWS rows of the same
file in the same run and extrapolated linearly to the full file. Also times the second import
of the same file (everything unchanged: nothing is written).

Run: .venv/bin/python bench/catalog_import.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BASELINE_ROWS = 3000

GENRES = ("acoustic", "ambient", "classical", "country", "dance", "folk", "hip-hop", "jazz", "metal", "pop", "rock", "soul")


def write_spotify_like_csv(path: Path, rows: int, seed: int = 0) -> None:
    """Rows whose feature distributions resemble the public Spotify tracks data set."""
    import numpy as np

    rng = np.random.default_rng(seed)
    header = [
        "", "track_id", "artists", "album_name", "track_name", "popularity", "duration_ms", "explicit",
        "danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
        "instrumentalness", "liveness", "valence", "tempo", "time_signature", "track_genre",
    ]
    energy = rng.beta(2.5, 1.6, rows)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for i in range(rows):
            writer.writerow([
                i, f"{i:022x}", f"Artist {rng.integers(0, rows // 8)}", f"Album {rng.integers(0, rows // 4)}",
                f"Track {i}", int(rng.integers(0, 100)), int(min(max(rng.normal(228000, 60000), 30000), 900000)),
                bool(rng.random() < 0.08), round(float(rng.beta(4, 3)), 3), round(float(energy[i]), 3),
                int(rng.integers(-1, 12)), round(float(min(-5 - 20 * (1 - energy[i]) + rng.normal(0, 2), 0.0)), 3),
                int(rng.random() < 0.64), round(float(rng.beta(1, 12)), 4), round(float(rng.beta(0.6, 1.2)), 4),
                round(float(rng.beta(0.2, 0.9)), 4), round(float(rng.beta(1.6, 6)), 4), round(float(rng.beta(2, 2)), 3),
                round(float(min(max(rng.normal(122, 29), 40), 240)), 3), int(rng.choice([3, 4, 4, 4, 5])),
                GENRES[int(rng.integers(0, len(GENRES)))],
            ])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="attune-bench-import-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from recommender import catalog_csv
    from recommender.models import ImportKind, Track
    from recommender.services.imports import import_run_create, tracks_import_csv

    csv_path = workdir / "tracks.csv"
    t0 = time.perf_counter()
    write_spotify_like_csv(csv_path, args.rows)
    print(f"generated {args.rows} rows ({csv_path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")

    # Baseline: per-row update_or_create on the first BASELINE_ROWS rows, extrapolated.
    n_base = min(BASELINE_ROWS, args.rows)
    with open(csv_path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = catalog_csv.check_header(next(reader))
        parsed = []
        for row in catalog_csv.parse_rows(header, ((reader.line_num, cells) for cells in reader)):
            parsed.append(row)
            if len(parsed) >= n_base:
                break
    t0 = time.perf_counter()
    for row in parsed:
        values = dict(row.values)
        Track.objects.update_or_create(external_id=values.pop("external_id"), defaults=values)
    baseline_s = (time.perf_counter() - t0) * args.rows / n_base
    Track.objects.all().delete()

    run = import_run_create(kind=ImportKind.CSV, source_name=str(csv_path))
    t0 = time.perf_counter()
    run = tracks_import_csv(run=run, path=csv_path)
    first_s = time.perf_counter() - t0
    assert run.created_count == args.rows, run.message
    run2 = import_run_create(kind=ImportKind.CSV, source_name=str(csv_path))
    t0 = time.perf_counter()
    run2 = tracks_import_csv(run=run2, path=csv_path)
    second_s = time.perf_counter() - t0
    assert run2.unchanged_count == args.rows, run2.message

    print(f"\nCSV import, {args.rows:,} rows, SQLite")
    print(f"{'method':<44}{'seconds':>10}{'rows/s':>12}")
    print(f"{'baseline: per-row update_or_create (extrap.)':<44}{baseline_s:>10.1f}{args.rows / baseline_s:>12,.0f}")
    print(f"{'tracks_import_csv, first import':<44}{first_s:>10.1f}{args.rows / first_s:>12,.0f}")
    print(f"{'tracks_import_csv, same file again':<44}{second_s:>10.1f}{args.rows / second_s:>12,.0f}")
    print(f"\nspeed-up vs baseline: {baseline_s / first_s:.1f}x; target < 60 s: {'met' if first_s < 60 else 'NOT met'}")


if __name__ == "__main__":
    main()
