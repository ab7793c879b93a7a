"""The demo catalog: real music21 pieces rendered to audio, described, labelled; cached."""

from __future__ import annotations

import io
import itertools

import pytest
from django.core.management import call_command

from accounts import demo as demo_registry
from recommender import demo
from recommender.models import Track, TrackLabel


@pytest.fixture
def demo_dir(settings, tmp_path, monkeypatch):
    settings.ATTUNE_DEMO_CATALOG_DIR = tmp_path / "demo_catalog"
    settings.ATTUNE_DEMO_CLIP_SECONDS = 6.0
    return tmp_path / "demo_catalog"


def test_candidates_interleave_collections_in_a_fixed_order():
    first = list(itertools.islice(demo.candidate_pieces(), 10))
    assert [p.collection for p in first] == ["bach"] * 3 + ["fiddle"] * 3 + ["essen"] * 2 + ["madrigal", "classical"]
    assert first == list(itertools.islice(demo.candidate_pieces(), 10))
    assert len({p.external_id for p in first}) == 10


def test_synthesize_is_real_audio_of_the_notes():
    import numpy as np

    y = demo.synthesize([(0.0, 0.5, 69.0), (0.5, 0.5, 81.0)], "flute", 1.0)
    assert y.shape == (22050,) and np.abs(y).max() == pytest.approx(0.8, abs=1e-3)
    spectrum = np.abs(np.fft.rfft(y[:11025]))
    assert abs(np.argmax(spectrum) * 22050 / 11025 - 440.0) < 3  # the first note is an A4


def test_load_demo_catalog_builds_four_pieces_then_reuses_the_cache(db, demo_dir):
    out = io.StringIO()
    call_command("load_demo_catalog", "--count", "4", "--workers", "1", stdout=out)
    assert "4 demo tracks" in out.getvalue()
    tracks = list(Track.objects.order_by("id"))
    assert len(tracks) == 4 and all(t.external_id.startswith("music21:") for t in tracks)
    assert {t.genre for t in tracks} == {"chorale", "fiddle tune"}
    assert all(t.audio_file.name.endswith(".ogg") and t.audio_file.storage.exists(t.audio_file.name) for t in tracks)
    assert all("mfcc_mean_0" in t.descriptors and t.tempo and t.mode in (0, 1) for t in tracks)
    assert tracks[0].artist == "J. S. Bach" and tracks[0].title.startswith("Chorale BWV")
    assert TrackLabel.objects.filter(source="prior").count() == 4
    assert (demo_dir / "manifest.json").exists() and len(list((demo_dir / "clips").glob("*.ogg"))) == 4
    before = {t.pk: (t.audio_file.name, t.descriptors) for t in Track.objects.all()}
    again = io.StringIO()
    call_command("load_demo_catalog", "--count", "4", "--workers", "1", stdout=again)
    assert "(0 new, 0 prior labels)" in again.getvalue() and "rendered" not in again.getvalue()
    assert {t.pk: (t.audio_file.name, t.descriptors) for t in Track.objects.all()} == before


def test_demo_step_is_registered():
    assert "catalog" in [step.name for step in demo_registry.steps()]
