"""The prior heuristic: its directions (pure, on arrays) and filling unlabelled tracks."""

from __future__ import annotations

import numpy as np
import pytest

from emotion.vocab import GEMS, one_hot_gems
from recommender.prior import PRIOR_CONFIDENCE, SHRINK, PriorCues, prior_gems, prior_va
from recommender.selectors import resolve_label
from recommender.services.labels import prior_labels_fill, track_label_set


def cues(**columns) -> PriorCues:
    n = len(next(iter(columns.values())))
    base = PriorCues.empty(n)
    return PriorCues(**{**base.__dict__, **{k: np.asarray(v, dtype=float) for k, v in columns.items()}})


def test_major_mode_gives_higher_valence_than_minor():
    va, _ = prior_va(cues(mode=[1, 0]))
    assert va[0, 0] > 0 > va[1, 0]
    va, _ = prior_va(cues(mode_strength=[0.3, -0.3], mode=[0, 1]))  # the continuous cue wins over the hard mode
    assert va[0, 0] > va[1, 0]


def test_brighter_timbre_gives_higher_valence():
    va, _ = prior_va(cues(spectral_centroid_hz=[800.0, 1500.0, 3500.0]))
    assert va[0, 0] < va[1, 0] < va[2, 0]


def test_faster_and_more_energetic_gives_higher_arousal():
    va, _ = prior_va(cues(tempo_bpm=[60, 110, 170]))
    assert va[0, 1] < va[1, 1] < va[2, 1]
    va, _ = prior_va(cues(rms_mean=[0.01, 0.2]))
    assert va[0, 1] < va[1, 1]
    va, _ = prior_va(cues(spotify_energy=[0.1, 0.9]))
    assert va[0, 1] < 0 < va[1, 1]
    va, _ = prior_va(cues(onset_rate=[1.0, 8.0]))
    assert va[0, 1] < va[1, 1]


def test_missing_cues_give_the_origin_with_zero_confidence_and_stay_in_range():
    va, confidence = prior_va(PriorCues.empty(2))
    assert np.all(va == 0) and np.all(confidence == 0)
    va, confidence = prior_va(cues(mode=[1], mode_strength=[5.0], spectral_centroid_hz=[1e5], tempo_bpm=[400],
                                   rms_mean=[1.0], onset_rate=[50], spotify_valence=[1.0], spotify_energy=[1.0]))
    assert np.all(np.abs(va) <= SHRINK + 1e-12) and confidence[0] == pytest.approx(PRIOR_CONFIDENCE)


def test_prior_gems_are_distributions_leaning_the_right_way():
    gems, va, _ = prior_gems(cues(mode=[1, 0], tempo_bpm=[170, 60], rms_mean=[0.3, 0.01]))
    np.testing.assert_allclose(gems.sum(axis=1), 1.0)
    happy_fast, sad_slow = gems
    assert happy_fast[GEMS.index("joyful_activation")] > happy_fast[GEMS.index("sadness")]
    assert sad_slow[GEMS.index("sadness")] > sad_slow[GEMS.index("joyful_activation")]


def test_prior_fill_labels_only_unlabelled_tracks(make_track):
    bright = make_track(mode=1, tempo=160.0, descriptors={"spectral_centroid_mean": 3000.0, "rms_mean": 0.2})
    dark = make_track(mode=0, tempo=60.0, descriptors={"spectral_centroid_mean": 700.0, "rms_mean": 0.01})
    surveyed = make_track(mode=0)
    track_label_set(track=surveyed, source="survey", gems=list(one_hot_gems("power")))
    assert prior_labels_fill() == 2
    assert resolve_label(bright).valence > 0 > resolve_label(dark).valence
    assert resolve_label(bright).arousal > resolve_label(dark).arousal
    assert resolve_label(surveyed).source == "survey" and surveyed.labels.count() == 1
    assert prior_labels_fill() == 0
    assert prior_labels_fill(recompute=True) == 2
