"""Demo data for surveys: a few tiny synthesized tracks with audio, and an open demo survey.

The clips are short additive-synthesis sketches written as 16-bit WAV (numpy + soundfile),
each built to lean toward one GEMS emotion (a bright fast major arpeggio, a slow minor line,
a soft drone, a dissonant tremolo, ...). They exist so a survey can be taken in a browser
on a fresh install; they are not research material. When the catalog engineer's importer
(`recommender.services.track_upsert_from_audio`) is available the clips go through it and
get measured audio descriptors; otherwise they are stored as plain tracks with audio.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.core.files import File
from django.db import transaction

from recommender.models import Track
from recommender.services.imports import track_upsert_from_audio
from recommender.services.labels import catalog_touch
from studies.surveys.models import NextTrackMode, ResponseFormat, Survey, SurveyStatus
from studies.surveys.selectors import survey_pool
from studies.surveys.services.status import survey_open

SR = 22050
DEMO_SURVEY_TITLE = "Demo: how does this music feel?"


@dataclass(frozen=True)
class Sketch:
    slug: str
    title: str
    root_hz: float
    intervals: tuple[int, ...]  # semitones of the arpeggio / chord
    bpm: float
    brightness: float  # 0..1: how many overtones
    tremolo: float  # Hz, 0 = none
    loudness: float  # peak amplitude
    mode: int  # 1 major, 0 minor
    valence: float
    energy: float


SKETCHES: tuple[Sketch, ...] = (
    Sketch("bright-run", "Bright run", 392.0, (0, 4, 7, 12), 150, 0.9, 0, 0.8, 1, 0.85, 0.8),
    Sketch("slow-lament", "Slow lament", 220.0, (0, 3, 7, 3), 52, 0.3, 0, 0.4, 0, 0.15, 0.2),
    Sketch("still-water", "Still water", 261.6, (0, 7, 12), 40, 0.15, 0, 0.3, 1, 0.6, 0.1),
    Sketch("nerves", "Nerves", 233.1, (0, 1, 6, 7), 132, 0.8, 9.0, 0.7, 0, 0.2, 0.85),
    Sketch("march", "Old march", 196.0, (0, 7, 4, 7), 110, 0.7, 0, 0.9, 1, 0.65, 0.9),
    Sketch("lullaby", "Lullaby", 329.6, (0, 4, 7, 4), 66, 0.25, 0, 0.35, 1, 0.7, 0.2),
    Sketch("far-away", "Far away", 246.9, (0, 3, 10, 7), 72, 0.4, 0, 0.45, 0, 0.35, 0.35),
    Sketch("fanfare", "Fanfare", 349.2, (0, 4, 7, 12, 7), 126, 1.0, 0, 0.95, 1, 0.8, 0.95),
)


def synthesize(sketch: Sketch, seconds: float = 8.0) -> np.ndarray:
    """A mono clip: the sketch's arpeggio over a soft chord, with an attack/decay envelope."""
    t = np.arange(int(seconds * SR)) / SR
    beat = 60.0 / sketch.bpm
    out = np.zeros_like(t)
    harmonics = 1 + int(round(6 * sketch.brightness))
    for i, step in enumerate(np.arange(0, seconds, beat)):
        semitone = sketch.intervals[i % len(sketch.intervals)]
        f = sketch.root_hz * 2 ** (semitone / 12)
        mask = (t >= step) & (t < step + beat * 1.5)
        local = t[mask] - step
        env = np.minimum(local / 0.02, 1.0) * np.exp(-local / (beat * 0.8))
        tone = sum(np.sin(2 * np.pi * f * h * local) / h**1.5 for h in range(1, harmonics + 1))
        out[mask] += env * tone
    chord = sum(np.sin(2 * np.pi * sketch.root_hz * 2 ** (s / 12) / 2 * t) for s in sketch.intervals[:3])
    out += 0.25 * chord
    if sketch.tremolo:
        out *= 0.6 + 0.4 * np.sin(2 * np.pi * sketch.tremolo * t)
    fade = np.minimum(1.0, np.minimum(t / 0.3, (seconds - t) / 0.5))
    out *= fade
    return (sketch.loudness * out / max(np.abs(out).max(), 1e-9)).astype(np.float32)


def demo_tracks_ensure(*, count: int = 6, analyse: bool = True) -> list[Track]:
    """Create (or find) `count` synthesized demo tracks with audio; idempotent by external id."""
    import soundfile

    if not 1 <= count <= len(SKETCHES):
        raise ValueError(f"count must be between 1 and {len(SKETCHES)}")
    upsert = track_upsert_from_audio if analyse else None
    tracks = []
    with tempfile.TemporaryDirectory(prefix="attune-survey-demo-") as tmp:
        for sketch in SKETCHES[:count]:
            external_id = f"synth:{sketch.slug}"
            existing = Track.objects.filter(external_id=external_id).exclude(audio_file="").first()
            if existing is not None:
                tracks.append(existing)
                continue
            path = Path(tmp) / f"{sketch.slug}.wav"
            soundfile.write(str(path), synthesize(sketch), SR, subtype="PCM_16")
            meta = {"title": sketch.title, "artist": "Attune synth sketches", "genre": "synth sketch"}
            if upsert is not None:
                track, _ = upsert(path=path, external_id=external_id, **meta)
                track.valence, track.energy = sketch.valence, sketch.energy
                track.save(update_fields=["valence", "energy"])
            else:
                with transaction.atomic():
                    track = Track(external_id=external_id, duration_s=8.0, tempo=sketch.bpm, mode=sketch.mode,
                                  valence=sketch.valence, energy=sketch.energy, **meta)
                    with open(path, "rb") as fh:
                        track.audio_file.save(f"{sketch.slug}.wav", File(fh), save=False)
                    track.full_clean(exclude=["audio_file"])
                    track.save()
            tracks.append(track)

    catalog_touch()
    return tracks


def demo_survey_ensure(*, tracks: list[Track] | None = None) -> Survey:
    """An open demo survey over every catalog track with audio (or the given tracks)."""

    survey = Survey.objects.filter(title=DEMO_SURVEY_TITLE).first()
    if survey is None:
        survey = Survey.objects.create(
            title=DEMO_SURVEY_TITLE,
            instructions="Listen to each clip for a few seconds, then pick up to three emotions you feel.",
            consent_text="Your answers are stored under your participant code for research.",
            pool_from_catalog=tracks is None, filter_has_audio=True,
            response_format=ResponseFormat.PICK, clip_seconds=20, min_listen_seconds=5, ratings_per_track=5,
            tracks_per_participant=10, next_track_mode=NextTrackMode.LEAST_RATED,
        )
        if tracks:
            survey.tracks.set(tracks)
    if survey.status != SurveyStatus.OPEN:
        survey = survey_open(survey=survey)
    return survey


def demo_step(stdout=None) -> str:
    """accounts.demo step: make sure some tracks have audio, then open the demo survey."""
    with_audio = Track.objects.exclude(audio_file="").count()
    made = []
    if with_audio == 0:
        made = demo_tracks_ensure(count=6)
    survey = demo_survey_ensure()

    n = survey_pool(survey=survey).count()
    extra = f" ({len(made)} synthesized demo tracks added)" if made else ""
    return f"Survey “{survey.title}” is open with {n} tracks{extra}."
