"""Audio folder import: descriptors into tracks, an unreadable file skipped, prior labels added."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from django.core.management import CommandError, call_command

from recommender.models import ImportKind, RunStatus, Track, TrackLabel
from recommender.services.imports import import_run_create, tracks_import_audio

SR = 22050


def chord(path, freqs, seconds=3.0, rate=0.0):
    t = np.arange(int(SR * seconds)) / SR
    y = sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)
    if rate:
        y = y * (0.55 + 0.45 * np.sign(np.sin(2 * np.pi * rate * t)))
    sf.write(path, (0.4 * y).astype(np.float32), SR)


@pytest.fixture
def media(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path


def test_folder_import_skips_unreadable_file_and_labels_the_rest(media):
    folder = media / "audio"
    (folder / "sub").mkdir(parents=True)
    chord(folder / "c_major.wav", [261.63, 329.63, 392.0])
    chord(folder / "sub" / "a_minor.flac", [220.0, 261.63, 329.63], rate=4.0)
    (folder / "broken.mp3").write_bytes(b"ID3 this is not audio at all")
    (folder / "notes.txt").write_text("ignored: not an audio extension")
    run = import_run_create(kind=ImportKind.AUDIO, source_name=str(folder))
    run = tracks_import_audio(run=run, folder=folder)
    assert run.status == RunStatus.DONE
    assert (run.total, run.created_count, run.error_count) == (3, 2, 1)
    assert run.report["files"][0]["file"] == "broken.mp3"
    track = Track.objects.get(title="c major")
    assert track.external_id.startswith("audio:") and track.audio_file.name.endswith(".wav")
    assert track.duration_s == pytest.approx(3.0, abs=0.05)
    assert track.tempo is not None and track.mode in (0, 1) and track.loudness < 0
    assert "mfcc_mean_0" in track.descriptors and track.valence is None  # no invented Spotify features
    assert TrackLabel.objects.filter(source="prior").count() == 2
    again = tracks_import_audio(run=import_run_create(kind=ImportKind.AUDIO, source_name="x"), folder=folder)
    assert (again.created_count, again.updated_count) == (0, 2) and Track.objects.count() == 2


def test_import_audio_command(media):
    folder = media / "audio"
    folder.mkdir()
    chord(folder / "tone.ogg", [440.0])
    (folder / "empty.wav").write_bytes(b"")
    out = io.StringIO()
    call_command("import_audio", str(folder), stdout=out)
    assert "1 new" in out.getvalue() and "skipped empty.wav" in out.getvalue()
    with pytest.raises(CommandError, match="No such folder"):
        call_command("import_audio", str(media / "nowhere"))
