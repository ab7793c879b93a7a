"""The catalog index is built once per catalog version, rebuilt after writes, configured by conf."""

from __future__ import annotations

import numpy as np

from emotion.vocab import one_hot_gems
from recommender import index_cache
from recommender.services.labels import track_label_set


def test_index_is_reused_until_the_catalog_changes(labelled_catalog, make_track):
    before = index_cache.builds
    first = index_cache.get_index()
    assert index_cache.get_index() is first and index_cache.builds == before + 1
    assert len(first) == 60
    make_track()  # a plain ORM write does not bump the version ...
    assert index_cache.get_index() is first
    track_label_set(track=labelled_catalog[0], source="manual", gems=list(one_hot_gems("wonder")))
    second = index_cache.get_index()  # ... a service write does
    assert second is not first and len(second) == 61 and index_cache.builds == before + 2


def test_feature_columns_are_configuration(settings, labelled_catalog, monkeypatch):
    settings.ATTUNE_RECOMMENDER_INDEX_FEATURES = ("energy", "valence", "desc:rms_mean")
    arrays = index_cache.catalog_arrays()
    assert arrays.feature_names == ("energy", "valence")  # no track has rms_mean: dropped
    assert arrays.features.shape == (60, 2)
    np.testing.assert_allclose(arrays.labels.sum(axis=1), 1.0)
    assert index_cache.get_index().feature_names == ("energy", "valence")


def test_unlabelled_tracks_get_the_mean_label_with_zero_confidence(labelled_catalog, make_track):
    make_track(energy=0.5)
    arrays = index_cache.catalog_arrays()
    assert arrays.label_confidence[-1] == 0.0 and arrays.label_confidence[0] == 1.0
    np.testing.assert_allclose(arrays.labels[-1], arrays.labels[:-1].mean(axis=0))
