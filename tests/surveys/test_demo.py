"""The demo tracks command and the demo step."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile
from django.core.management import CommandError, call_command

from recommender.models import Track
from studies.surveys.demo import SKETCHES, SR, demo_step, synthesize
from studies.surveys.models import Survey, SurveyStatus


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_synthesized_clips_differ_in_tempo_and_are_not_silent():
    bright, slow = synthesize(SKETCHES[0], seconds=4), synthesize(SKETCHES[1], seconds=4)
    assert len(bright) == 4 * SR and 0.3 < np.abs(bright).max() <= 1.0
    assert not np.allclose(bright, slow)


def test_command_makes_tracks_with_playable_audio_once(db):
    out = io.StringIO()
    call_command("survey_demo_tracks", "--count", "2", "--no-analysis", "--survey", stdout=out)
    tracks = list(Track.objects.filter(external_id__startswith="synth:"))
    assert len(tracks) == 2 and all(t.has_audio for t in tracks)
    data, rate = soundfile.read(tracks[0].audio_file.path)
    assert rate == SR and len(data) > SR
    survey = Survey.objects.get()
    assert survey.status == SurveyStatus.OPEN and set(survey.tracks.all()) == set(tracks)
    call_command("survey_demo_tracks", "--count", "2", "--no-analysis", stdout=io.StringIO())
    assert Track.objects.filter(external_id__startswith="synth:").count() == 2
    with pytest.raises(CommandError):
        call_command("survey_demo_tracks", "--count", "99", stdout=io.StringIO())


def test_demo_step_uses_catalog_audio_when_present(db):
    Track.objects.create(title="Has audio", audio_file="tracks/x.wav")
    message = demo_step()
    assert "open with 1 tracks" in message
    assert not Track.objects.filter(external_id__startswith="synth:").exists()
