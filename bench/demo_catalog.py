"""Benchmark: building the music21 demo catalog (parse, render, librosa descriptors, Ogg clip).

Builds --count pieces into fresh temporary caches twice: the named baseline "serial build
(1 worker)" and the build `make run` uses (2 worker processes). Prints wall and CPU seconds
per clip, the speed-up, and the projected first `make run` time for the configured catalog
size (ATTUNE_DEMO_CATALOG_SIZE). Later runs reuse var/demo_catalog/ and take seconds.

Run: .venv/bin/python bench/demo_catalog.py [--count 16]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=16)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from recommender import conf, demo

    rows = []
    for label, workers in (("serial build (1 worker), baseline", 1), ("make run build (2 workers)", 2)):
        directory = Path(tempfile.mkdtemp(prefix="attune-bench-demo-"))
        c0, t0 = cpu_seconds(), time.perf_counter()
        entries = demo.build_cache(directory=directory, count=args.count, clip_seconds=conf.DEMO_CLIP_SECONDS,
                                   workers=workers)
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        assert len(entries) == args.count
        rows.append((label, wall, cpu))
    load = os.getloadavg()[0]
    print(f"\nDemo catalog build, {args.count} clips of {conf.DEMO_CLIP_SECONDS:g} s (load average {load:.1f})")
    print(f"{'build':<38}{'wall s':>9}{'CPU s':>9}{'wall s/clip':>13}")
    for label, wall, cpu in rows:
        print(f"{label:<38}{wall:>9.1f}{cpu:>9.1f}{wall / args.count:>13.2f}")
    (_, base_wall, _), (_, wall, cpu) = rows
    print(f"\nspeed-up vs serial: {base_wall / wall:.2f}x")
    projected = wall / args.count * conf.DEMO_CATALOG_SIZE
    print(f"projected first `make run` for {conf.DEMO_CATALOG_SIZE} clips: {projected / 60:.1f} min at this load "
          f"(CPU {cpu / args.count * conf.DEMO_CATALOG_SIZE / 60:.1f} min over 2 cores)")


if __name__ == "__main__":
    main()
