"""Catalog search for a therapist curating a playlist (recommender.selectors.tracks_search)."""

from __future__ import annotations

from recommender.selectors import MAX_SEARCH_RESULTS, tracks_search


def test_track_search_matches_every_word_and_ignores_oversized_queries(labelled_catalog):
    found = tracks_search(query="piece 1")
    assert found and all("1" in t.title or "1" in t.artist for t in found)
    assert tracks_search(query="folk Piece")
    assert all(t.genre == "folk" for t in tracks_search(query="folk piece"))
    assert tracks_search(query="") == []
    assert tracks_search(query="x" * 201) == []
    assert len(tracks_search(query="piece")) == MAX_SEARCH_RESULTS
