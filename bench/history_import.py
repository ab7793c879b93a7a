"""Benchmark: match a 100,000-play extended streaming history against a 100,000-track catalog.

Target (issue 17): under 60 s on this machine, end to end through the service
(`recommender.services.history.history_import`: read the JSON, match, store the matched plays).
Baseline named "naive per-play query": for each play, look the track up by external id and
then by artist + title (case-insensitive) with one ORM query each, timed on the first
BASELINE_PLAYS plays of the same export in the same run and extrapolated linearly.

The generated export mixes what real exports hold: plays with a track URI the catalog knows
(60 %), plays without a usable URI whose artist and title are in the catalog (20 %), the same
with a " - Remastered" suffix or bracketed version (10 %, matched by name normalisation or
RapidFuzz), and songs the catalog does not have (10 %). The printed match rate is checked
against that design.

Run: .venv/bin/python bench/history_import.py [--plays 100000] [--tracks 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BASELINE_PLAYS = 3000


def make_export(n_plays: int, n_tracks: int, seed: int = 0) -> tuple[bytes, float]:
    """(JSON bytes, the share of plays that should match)."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows, should = [], 0
    for i in range(n_plays):
        t = rng.randrange(n_tracks)
        kind = rng.random()
        artist, title, uri = f"Artist {t // 8}", f"Track {t}", f"spotify:track:{t:022x}"
        if kind < 0.6:
            should += 1
        elif kind < 0.8:
            uri, should = None, should + 1
        elif kind < 0.9:
            uri, title, should = None, title + rng.choice([" - Remastered 2011", " (Live)", " [Mono]"]), should + 1
        else:
            uri, artist, title = None, f"Unknown {i % 500}", f"Song {i}"
        rows.append({
            "ts": (start + timedelta(minutes=3 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ms_played": rng.randrange(1_000, 300_000),
            "master_metadata_track_name": title,
            "master_metadata_album_artist_name": artist,
            "spotify_track_uri": uri,
            "skipped": rng.random() < 0.2,
        })
    return json.dumps(rows).encode(), should / n_plays


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plays", type=int, default=100_000)
    parser.add_argument("--tracks", type=int, default=100_000)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="attune-bench-history-"))
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.models import User
    from recommender.models import HistoryPlay, Track
    from recommender.services.history import history_import
    from recommender.streaming_history import read_export

    t0 = time.perf_counter()
    Track.objects.bulk_create(
        [Track(title=f"Track {t}", artist=f"Artist {t // 8}", external_id=f"{t:022x}", duration_s=200.0) for t in range(args.tracks)],
        batch_size=5000,
    )
    data, expected = make_export(args.plays, args.tracks)
    user = User.objects.create_user(username="bench-listener", password=None)
    print(f"catalog {args.tracks} tracks, export {args.plays} plays ({len(data) / 1e6:.1f} MB) ready in {time.perf_counter() - t0:.1f} s")

    # Baseline: one or two ORM queries per play, on the first BASELINE_PLAYS plays, extrapolated.
    plays = read_export("Streaming_History_Audio_0.json", data, max_uncompressed=len(data) + 1).plays[:BASELINE_PLAYS]
    t0 = time.perf_counter()
    hits = 0
    for p in plays:
        track = Track.objects.filter(external_id=p.track_uri_id).first() if p.track_uri_id else None
        if track is None:
            track = Track.objects.filter(artist__iexact=p.artist, title__iexact=p.title).first()
        hits += track is not None
    base = (time.perf_counter() - t0) * args.plays / len(plays)
    print(f"baseline naive per-play query: {base:.1f} s for {args.plays} plays (extrapolated from {len(plays)}; "
          f"matches {hits / len(plays):.1%}, exact names only)")

    t0 = time.perf_counter()
    up = history_import(user=user, name="Streaming_History_Audio_0.json", data=data).upload
    took = time.perf_counter() - t0
    stored = HistoryPlay.objects.filter(user=user).count()
    t1 = time.perf_counter()
    again = history_import(user=user, name="Streaming_History_Audio_0.json", data=data).upload
    took_again = time.perf_counter() - t1
    print(f"attune history_import: {took:.1f} s  (target < 60 s: {'met' if took < 60 else 'MISSED'}); "
          f"{took / base:.2f}x the baseline's time")
    print(f"  match rate {up.match_rate:.1%} (export designed for {expected:.1%}): by URI {up.by_uri}, "
          f"by name {up.by_name}, fuzzy {up.by_fuzzy}; {up.tracks_matched} tracks; {stored} plays stored")
    print(f"  second upload of the same file: {took_again:.1f} s, {again.plays_new} new plays (idempotent: "
          f"{'yes' if again.plays_new == 0 else 'NO'})")
    print(f"  load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
