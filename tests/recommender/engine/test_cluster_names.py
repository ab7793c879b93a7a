"""Cluster and persona names read as plain words: no word twice in one name, and no two
clusters share one name (issue 14, item 6)."""

from __future__ import annotations

import numpy as np

from recommender.engine.clusters import _unique_names, _words


def test_two_columns_with_the_same_word_are_named_once():
    names = ["loudness", "desc:rms_mean", "tempo", "desc:spectral_centroid_mean"]
    z = np.array([1.4, 1.2, -0.9, 0.8])
    assert _words(z, names) == "high loudness, low tempo, high brightness"


def test_clusters_that_would_share_a_name_are_told_apart():
    names = ["energy", "tempo", "desc:spectral_centroid_mean", "acousticness"]
    centres = [np.array([1.0, 0.9, 0.8, 0.7]), np.array([1.0, 0.9, 0.8, -0.7]), np.array([1.0, 0.9, 0.8, -0.7])]
    moods = ["Power", "Power", "Power"]
    labels = _unique_names(moods, centres, names)
    assert len(set(labels)) == 3
    # the first two differ in their fourth feature; the last two are identical and get numbers
    assert labels[0] == "Power: high energy, high tempo, high brightness, high acousticness"
    assert labels[1] == "Power: high energy, high tempo, high brightness, low acousticness (1)"
    assert labels[2] == "Power: high energy, high tempo, high brightness, low acousticness (2)"
    # names that do not collide keep at most three features
    assert _unique_names(["Power", "Sadness"], centres[:2], names)[0] == "Power: high energy, high tempo, high brightness"
