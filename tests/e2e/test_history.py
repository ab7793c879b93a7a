"""Browser test (issue 17): a new participant uploads a generated Spotify export (zip), sees the
match report, and their persona card and a `cluster` playlist change (its picks, and its notes
and reasons saying the history shaped them); deleting the history reverts both."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from recommender.streaming_history import synthetic_export, zip_export
from tests.e2e.browser import shot, sign_up

pytestmark = pytest.mark.e2e
PASSWORD = "quiet-harbour-lantern-42"
TRACKS_JSON = (
    "import json; from recommender.models import Track; "
    "print(json.dumps(list(Track.objects.order_by('id').values_list('external_id', 'artist', 'title'))))"
)


def make_cluster_playlist(page) -> tuple[list[str], str]:
    page.goto("/playlists/new/")
    page.locator('label.mood-radio:has(input[name="start"][value="sadness"])').click()
    page.locator('label.mood-radio:has(input[name="target"][value="joyful_activation"])').click()
    page.get_by_label("Strategy", exact=True).select_option("cluster")
    page.get_by_label("Length", exact=True).fill("4")
    page.get_by_test_id("make-playlist").click()
    page.wait_for_url("**/playlists/*/")
    titles = page.get_by_test_id("playlist-item").locator(".track-title").all_inner_texts()
    notes = " ".join(page.get_by_test_id("playlist-note").all_inner_texts() + page.get_by_test_id("reason").all_inner_texts())
    return titles, notes


def test_participant_brings_and_deletes_a_streaming_history(demo_catalog, page):
    songs = json.loads(demo_catalog.manage("shell", "-c", TRACKS_JSON).strip().splitlines()[-1])
    sign_up(page, "history-listener", PASSWORD)
    page.goto("/dashboard/")
    page.get_by_test_id("persona-empty").wait_for()
    before_titles, before_notes = make_cluster_playlist(page)
    assert "streaming history" not in before_notes
    page.goto("/dashboard/")
    persona_before = page.get_by_test_id("persona-card").inner_text()
    assert "in your playlists" in persona_before

    # the listener plays, over and over and late at night, one piece the playlist did not choose
    mine = [tuple(s) for s in songs if s[2] not in before_titles][:1]
    rows = synthetic_export(mine, plays=60, start=datetime(2026, 2, 1, 0, 30, tzinfo=UTC))
    upload = zip_export({"Spotify Extended Streaming History/Streaming_History_Audio_2026.json": json.dumps(rows).encode(),
                         "Spotify Extended Streaming History/ReadMeFirst.txt": b"hello"})

    page.goto("/history/")
    page.get_by_label("Your data export (zip or JSON)").set_input_files(
        files=[{"name": "my_spotify_data.zip", "mimeType": "application/zip", "buffer": upload}]
    )
    page.get_by_role("button", name="Upload and match").click()
    report = page.get_by_test_id("history-report")
    report.wait_for()
    assert page.get_by_test_id("history-matched").inner_text() == "60"
    assert "of 60 plays (100 %)" in report.inner_text()
    shot(page, "history-report")

    page.goto("/dashboard/")
    card = page.get_by_test_id("persona-card")
    card.wait_for()
    assert "streaming history" in card.inner_text() and card.inner_text() != persona_before
    assert "100 % of plays between midnight" in page.get_by_test_id("persona-late-night").inner_text()
    after_titles, after_notes = make_cluster_playlist(page)
    # the picks move toward the history, and the page says why
    assert "streaming history" in after_notes and after_notes != before_notes
    assert after_titles != before_titles

    page.goto("/history/")
    page.get_by_label("Yes, delete my imported history").check()
    page.get_by_role("button", name="Delete my imported history").click()
    page.get_by_test_id("history-empty").wait_for()
    page.goto("/dashboard/")
    reverted_persona = page.get_by_test_id("persona-card").inner_text()  # from the playlists again
    assert "in your playlists" in reverted_persona and "streaming history" not in reverted_persona.replace(
        "Bring your streaming history", ""
    )
    assert page.get_by_test_id("persona-late-night").count() == 0
    reverted_titles, reverted_notes = make_cluster_playlist(page)
    assert reverted_titles == before_titles and "streaming history" not in reverted_notes
    assert page.js_errors == []
