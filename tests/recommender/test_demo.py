"""The demo catalog: real music21 pieces rendered to audio, described, labelled; cached."""

from __future__ import annotations

import io
import itertools
import json
import os

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


needs_fluidsynth = pytest.mark.skipif(
    demo.renderer() != "fluidsynth" and not os.environ.get("ATTUNE_REQUIRE_BROWSER"),
    reason="Debian's fluidsynth and fluid-soundfont-gm are not installed (CI installs them)",
)


@needs_fluidsynth
def test_fluidsynth_plays_the_notes_with_real_instruments():
    import numpy as np

    notes = [(0.0, 0.5, 69.0), (0.5, 0.5, 81.0)]
    y = demo.fluidsynth_render(notes, "flute", 1.0)
    assert y.shape == (22050,) and y.dtype == np.float32
    assert np.abs(y).max() == pytest.approx(0.8, abs=1e-3)  # normalised like the synthesizer
    assert np.sqrt(np.mean(y[:11025] ** 2)) > 0.05  # not silence
    spectrum = np.abs(np.fft.rfft(y[:11025]))
    freqs = np.fft.rfftfreq(11025, 1 / 22050)
    assert abs(freqs[np.argmax(spectrum * (freqs < 1000))] - 440.0) < 5  # the first note is still an A4
    synth = demo.synthesize(notes, "flute", 1.0)
    assert abs(np.corrcoef(y, synth)[0, 1]) < 0.9  # a sampled flute, not the additive tone
    piano = demo.fluidsynth_render(notes, "piano", 1.0)
    assert abs(np.corrcoef(y, piano)[0, 1]) < 0.9  # each collection's instrument sounds different


@needs_fluidsynth
def test_the_demo_catalog_says_which_renderer_played_it(db, demo_dir):
    out = io.StringIO()
    call_command("load_demo_catalog", "--count", "1", "--workers", "1", stdout=out)
    assert "FluidSynth" in out.getvalue() and "sound: fluidsynth" in out.getvalue()
    assert json.loads((demo_dir / "manifest.json").read_text())["renderer"] == "fluidsynth"
    assert Track.objects.get().audio_file.name.startswith("tracks/demo/fluidsynth/")
