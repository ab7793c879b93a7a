"""Track and label models: nullable features, label validation and the one resolution rule."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from emotion.vocab import one_hot_gems
from recommender.models import Track, TrackLabel
from recommender.selectors import resolve_label, resolve_labels
from recommender.services.labels import catalog_version, track_label_set, track_labels_bulk_set


def test_missing_features_stay_empty_not_zero(make_track):
    track = make_track(energy=0.0)
    track.refresh_from_db()
    assert track.energy == 0.0
    assert track.valence is None and track.tempo is None and track.descriptors == {}


def test_external_id_unique_when_present_but_many_may_be_empty(make_track):
    make_track(external_id=None)
    make_track(external_id=None)
    make_track(external_id="abc")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_track(external_id="abc")
    assert Track.objects.filter(external_id__isnull=True).count() == 2


def test_database_rejects_out_of_range_feature(make_track):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_track(valence=1.5)


@pytest.mark.parametrize(
    "gems, message",
    [
        ([0.5] * 9, "sum to 1"),
        ([1.0] + [0.0] * 7, "9 numbers"),
        ([-0.1, 1.1] + [0.0] * 7, "non-negative"),
        (["x"] + [0.0] * 8, "numbers only"),
        ([float("nan")] + [0.0] * 8, "non-negative"),
    ],
)
def test_label_set_rejects_bad_gems(make_track, gems, message):
    track = make_track()
    with pytest.raises(ValidationError, match=message):
        track_label_set(track=track, source="survey", gems=gems)
    assert not TrackLabel.objects.exists()


def test_label_set_rejects_unknown_source(make_track):
    with pytest.raises(ValidationError, match="Unknown label source"):
        track_label_set(track=make_track(), source="vibes", gems=list(one_hot_gems("wonder")))


def test_label_set_fills_va_and_entropy_and_replaces(make_track):
    track = make_track()
    label = track_label_set(track=track, source="survey", gems=list(one_hot_gems("sadness")))
    assert label.valence < 0 and label.arousal < 0 and label.entropy == pytest.approx(0.0)
    track_label_set(track=track, source="survey", gems=[1 / 9] * 9, rater_count=4)
    label = TrackLabel.objects.get(track=track, source="survey")
    assert label.rater_count == 4 and label.entropy == pytest.approx(np.log(9))


def test_resolution_order_manual_survey_propagated_mer_prior(make_track):
    track = make_track()
    order = ["prior", "mer", "propagated", "survey", "manual"]
    emotions = ["wonder", "transcendence", "tenderness", "nostalgia", "peacefulness"]
    for source, emotion in zip(order, emotions, strict=True):
        track_label_set(track=track, source=source, gems=list(one_hot_gems(emotion)))
        resolved = resolve_label(track)
        assert resolved.source == source
        assert resolved.gems == tuple(one_hot_gems(emotion))


def test_resolution_prefers_survey_even_if_older(make_track):
    track = make_track()
    track_label_set(track=track, source="survey", gems=list(one_hot_gems("power")))
    track_label_set(track=track, source="prior", gems=list(one_hot_gems("sadness")))
    assert resolve_label(track).source == "survey"
    assert resolve_label(track.pk).gems[5] == 1.0


def test_bulk_resolution_matches_single_and_marks_unlabelled(make_track):
    a, b, c = make_track(), make_track(), make_track()
    track_label_set(track=a, source="prior", gems=list(one_hot_gems("tension")))
    track_label_set(track=a, source="mer", gems=list(one_hot_gems("wonder")))
    track_label_set(track=c, source="propagated", gems=list(one_hot_gems("sadness")), confidence=0.4)
    resolved = resolve_labels([c.pk, b.pk, a.pk])
    assert list(resolved.sources) == ["propagated", "", "mer"]
    assert resolved.gems.shape == (3, 9)
    assert np.isnan(resolved.gems[1]).all()
    np.testing.assert_allclose(resolved.gems[2], one_hot_gems("wonder"))
    assert resolved.confidence[0] == pytest.approx(0.4)
    assert list(resolved.labelled) == [True, False, True]
    every = resolve_labels()
    assert list(every.track_ids) == sorted([a.pk, b.pk, c.pk])


def test_bulk_set_is_an_upsert_and_bumps_catalog_version(make_track):
    tracks = [make_track() for _ in range(3)]
    before = catalog_version()
    ids = [t.pk for t in tracks]
    track_labels_bulk_set(track_ids=ids, source="prior", gems=np.tile(one_hot_gems("wonder"), (3, 1)))
    track_labels_bulk_set(track_ids=ids, source="prior", gems=np.tile(one_hot_gems("power"), (3, 1)) * 2)
    assert TrackLabel.objects.count() == 3
    assert all(label.gems[5] == 1.0 for label in TrackLabel.objects.all())
    assert catalog_version() == before + 2


def test_bulk_set_rejects_nan_and_writes_nothing(make_track):
    track = make_track()
    bad = np.full((1, 9), np.nan)
    with pytest.raises(ValidationError):
        track_labels_bulk_set(track_ids=[track.pk], source="mer", gems=bad)
    assert not TrackLabel.objects.exists()
