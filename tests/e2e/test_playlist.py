"""Browser test: a demo participant makes a mood-shift playlist, sees why each track was
chosen, and can play it (the demo catalog's real compositions have audio)."""

from __future__ import annotations

import pytest

from tests.e2e.browser import DEMO_PASSWORD, log_in, shot

pytestmark = pytest.mark.e2e


def test_participant_makes_a_playlist_and_sees_reasons(demo_catalog, page):
    log_in(page, "demo-participant", DEMO_PASSWORD)
    page.goto("/playlists/new/")
    page.get_by_role("heading", name="Make a playlist").wait_for()
    page.locator('label.mood-radio:has(input[name="start"][value="sadness"])').click()
    page.locator('label.mood-radio:has(input[name="target"][value="peacefulness"])').click()
    page.get_by_label("Strategy", exact=True).select_option("iso")
    page.get_by_label("Length", exact=True).fill("6")
    shot(page, "playlist-new")
    page.get_by_test_id("make-playlist").click()
    page.wait_for_url("**/playlists/*/")

    items = page.get_by_test_id("playlist-item")
    assert items.count() == 6
    reasons = page.get_by_test_id("reason")
    assert reasons.count() == 6
    assert all(text.startswith("Why this piece:") and len(text) > 10 for text in reasons.all_inner_texts())
    assert page.locator("svg.va-plane .va-path").count() == 1
    audio = page.locator(".playlist-tracks audio")
    assert audio.count() == 6
    src = audio.first.get_attribute("src")
    response = page.request.get(src)
    assert response.ok and response.headers["content-type"] == "audio/ogg" and len(response.body()) > 1000
    shot(page, "playlist-detail")

    page.goto("/dashboard/")
    page.get_by_test_id("persona-card").wait_for()
    assert "mood cluster" in page.get_by_test_id("persona-card").inner_text()
    assert page.js_errors == []


def test_impossible_request_shows_a_clear_message(demo_catalog, page):
    log_in(page, "demo-participant", DEMO_PASSWORD)
    page.goto("/playlists/new/")
    page.locator('label.mood-radio:has(input[name="start"][value="wonder"])').click()
    page.locator('label.mood-radio:has(input[name="target"][value="wonder"])').click()
    page.get_by_test_id("make-playlist").click()
    errors = page.get_by_test_id("playlist-errors")
    errors.wait_for()
    assert "same" in errors.inner_text()
