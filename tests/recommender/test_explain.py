"""'Why this piece' and strategy names are written for a listener; the engine's technical
reason stays one click away (issue 14, item 6)."""

from __future__ import annotations

import re

from django.urls import reverse

from recommender.explain import TrackChoice, feeling_of, listener_reason, strategy_label
from tests.recommender.test_pages import make_playlist

SAD, CALM = (-0.75, -0.45), (0.55, -0.60)


def test_feelings_are_everyday_words():
    assert feeling_of(SAD) == "sad" and feeling_of(CALM) == "calm" and feeling_of((-0.55, 0.7)) == "tense"


def test_reason_says_where_the_piece_sits_on_the_way():
    first = listener_reason(TrackChoice(0, 5, "iso", SAD, (-0.7, -0.4), SAD, CALM))
    middle = listener_reason(TrackChoice(2, 5, "iso", (0.0, -0.5), (0.5, 0.5), SAD, CALM))
    last = listener_reason(TrackChoice(4, 5, "personal", CALM, CALM, SAD, CALM))
    assert first == "Piece 1 of 5: starts close to how you feel (sad). It feels sad: right on this step."
    assert middle.startswith("Piece 3 of 5: about halfway from sad toward calm.")
    assert "the nearest the catalog has to this step" in middle
    assert last.startswith("Piece 5 of 5: arrives at your goal (calm).") and "Your own ratings" in last
    for text in (first, middle, last):
        assert "valence" not in text and "distance" not in text and "%" not in text
    assert "no emotion rating yet" in listener_reason(TrackChoice(1, 3, "iso", CALM, None, SAD, CALM))
    assert "at random" in listener_reason(TrackChoice(1, 3, "random", None, CALM, SAD, None))


def test_strategy_labels_are_words_not_engine_names():
    assert strategy_label("iso") == "Step by step" and strategy_label("seed_track") == "From a favourite piece"


def test_playlist_page_reads_for_a_listener_with_detail_one_click_away(api, labelled_catalog):
    playlist = make_playlist(api, strategy="interpolation")
    html = api.get(reverse("recommender:playlist-detail", args=[playlist.pk])).content.decode()
    reasons = re.findall(r'data-testid="reason"><strong>Why this piece:</strong> ([^<]*)</p>', html)
    assert len(reasons) == 5 and all("imaginary" not in r and "feature distance" not in r for r in reasons)
    assert html.count('data-testid="reason-tech"') == 5 and "imaginary track" in html  # inside <details>
    badge = re.search(r'data-testid="strategy-badge">([^<]*)<', html).group(1)
    assert badge == "A bridge between two pieces"


def test_persona_never_says_zero_minutes(api, labelled_catalog):
    from recommender.models import Track

    Track.objects.update(duration_s=20)
    make_playlist(api, length="1")
    html = api.get(reverse("dashboard")).content.decode()
    minutes = re.search(r'data-testid="persona-minutes">(.*?)</dd>', html, re.S).group(1)
    assert "0 min" not in minutes and "a minute or more" in minutes
