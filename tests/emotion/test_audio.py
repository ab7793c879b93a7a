"""emotion/audio.py on audio synthesised here with numpy (no files shipped)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from emotion.audio import (
    DESCRIPTOR_NAMES,
    AudioError,
    descriptor_matrix,
    estimate_key,
    extract_descriptors,
    extract_file,
    load_audio,
)

SR = 22050


def _midi_hz(m: int) -> float:
    return 440.0 * 2 ** ((m - 69) / 12)


def _chords(progression: list[list[int]], seconds_each: float = 1.0) -> np.ndarray:
    """Sine chords with a soft octave partial and a short fade to avoid clicks."""
    n = int(SR * seconds_each)
    t = np.arange(n) / SR
    env = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)
    out = []
    for chord in progression:
        x = sum(np.sin(2 * np.pi * _midi_hz(m) * t) + 0.3 * np.sin(4 * np.pi * _midi_hz(m) * t) for m in chord)
        out.append(env * x / len(chord))
    return (0.3 * np.concatenate(out)).astype(np.float32)


def _clicks(bpm: float, seconds: float = 12.0) -> np.ndarray:
    y = np.zeros(int(SR * seconds), dtype=np.float32)
    click = (np.hanning(200) * np.sin(2 * np.pi * 1500 * np.arange(200) / SR)).astype(np.float32)
    step = 60.0 / bpm
    for t0 in np.arange(0.1, seconds - 0.05, step):
        i = int(t0 * SR)
        y[i : i + 200] += click
    return y


C_MAJOR = [[60, 64, 67], [65, 69, 72], [67, 71, 74], [60, 64, 67]] * 2  # C F G C
A_MINOR = [[57, 60, 64], [62, 65, 69], [64, 68, 71], [57, 60, 64]] * 2  # Am Dm E Am


def test_c_major_progression_is_c_major():
    d = extract_descriptors(_chords(C_MAJOR), SR)
    assert (d.key, d.mode) == (0, 1), d.key_name
    assert d.values["mode_strength"] > 0


def test_a_minor_progression_is_a_minor():
    d = extract_descriptors(_chords(A_MINOR), SR)
    assert (d.key, d.mode) == (9, 0), d.key_name
    assert d.values["mode_strength"] < 0


def test_krumhansl_profile_itself_is_recognised_in_every_key():
    from emotion.audio import KK_MAJOR, KK_MINOR

    for k in range(12):
        assert estimate_key(np.roll(KK_MAJOR, k))[:2] == (k, 1)
        assert estimate_key(np.roll(KK_MINOR, k))[:2] == (k, 0)


def test_click_track_at_120_bpm():
    d = extract_descriptors(_clicks(120), SR)
    assert abs(d.tempo_bpm - 120) < 6, d.tempo_bpm
    assert abs(d.values["onset_rate"] - 2.0) < 0.3  # two clicks a second


def test_faster_clicks_give_a_higher_onset_rate():
    slow = extract_descriptors(_clicks(80), SR).values["onset_rate"]
    fast = extract_descriptors(_clicks(160), SR).values["onset_rate"]
    assert fast > 1.7 * slow


def test_vector_has_fixed_order_and_is_finite():
    d = extract_descriptors(_chords(C_MAJOR), SR)
    v = d.vector()
    assert v.shape == (len(DESCRIPTOR_NAMES),)
    assert np.all(np.isfinite(v))
    assert v[DESCRIPTOR_NAMES.index("tempo_bpm")] == d.tempo_bpm
    assert len(set(DESCRIPTOR_NAMES)) == len(DESCRIPTOR_NAMES)
    assert descriptor_matrix([d, d]).shape == (2, len(DESCRIPTOR_NAMES))


def test_louder_and_brighter_audio_moves_the_right_descriptors():
    quiet_low = extract_descriptors(0.1 * _chords(C_MAJOR), SR)
    t = np.arange(SR * 4) / SR
    loud_high = extract_descriptors((0.8 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32), SR)
    assert loud_high.values["rms_mean"] > quiet_low.values["rms_mean"]
    assert loud_high.values["spectral_centroid_mean"] > quiet_low.values["spectral_centroid_mean"]


def test_file_round_trip_and_max_seconds(tmp_path):
    path = tmp_path / "clip.wav"
    sf.write(path, _chords(C_MAJOR), SR)  # 8 s
    y, sr = load_audio(path, max_seconds=3.0)
    assert sr == SR and abs(len(y) / sr - 3.0) < 0.05
    d = extract_file(path)
    assert abs(d.duration_s - 8.0) < 0.05 and (d.key, d.mode) == (0, 1)


def test_garbage_file_is_an_audio_error(tmp_path):
    path = tmp_path / "song.mp3"
    path.write_bytes(b"this is not audio at all " * 200)
    with pytest.raises(AudioError):
        extract_file(path)


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_missing_or_empty_file_is_an_audio_error(tmp_path, make):
    path = tmp_path / "x.wav"
    if make == "empty":
        path.write_bytes(b"")
    with pytest.raises(AudioError):
        load_audio(path)


def test_silent_or_empty_signal_is_an_audio_error(tmp_path):
    with pytest.raises(AudioError, match="silent"):
        extract_descriptors(np.zeros(SR * 2, dtype=np.float32), SR)
    with pytest.raises(AudioError):
        extract_descriptors(np.zeros(0, dtype=np.float32), SR)
    with pytest.raises(AudioError):
        extract_descriptors(np.array([0.5, -0.5] * 10, dtype=np.float32), SR)
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(SR, dtype=np.float32), SR)
    with pytest.raises(AudioError, match="silent"):
        extract_file(path)


@pytest.mark.parametrize("ext,fmt", [("flac", "FLAC"), ("ogg", "OGG"), ("mp3", "MP3")])
def test_compressed_formats_load(tmp_path, ext, fmt):
    path = tmp_path / f"clip.{ext}"
    sf.write(path, _chords(C_MAJOR[:4]), SR, format=fmt)
    d = extract_file(path)
    assert abs(d.duration_s - 4.0) < 0.2 and d.mode == 1
