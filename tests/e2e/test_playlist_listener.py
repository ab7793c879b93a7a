"""Browser test (issue 14, items 3, 4, 6): the playlist pages read for a listener.

A strategy that is not ready (gan before its model is trained) cannot be chosen and says why;
'Why this piece' is a sentence for a listener with the engine's detail one click away; the
strategy badge is a name, not an engine identifier; the exported M3U plays without a log-in."""

from __future__ import annotations

import pytest

from tests.e2e.browser import DEMO_PASSWORD, log_in, shot

pytestmark = pytest.mark.e2e


def test_playlist_pages_read_for_a_listener_and_the_m3u_plays_anywhere(demo_catalog, page, browser):
    gan_trained = demo_catalog.manage(
        "shell", "-c", "from recommender import index_cache; print(index_cache.gan_model_path().exists())"
    ).strip().endswith("True")
    log_in(page, "demo-participant", DEMO_PASSWORD)
    page.goto("/playlists/new/")
    gan = page.get_by_test_id("strategy-option-gan")
    if gan_trained:
        assert gan.is_enabled()
    else:
        assert gan.is_disabled() and "not been trained" in gan.inner_text()
        assert "not been trained" in page.get_by_test_id("strategy-not-ready-gan").inner_text()
    page.locator('label.mood-radio:has(input[name="start"][value="sadness"])').click()
    page.locator('label.mood-radio:has(input[name="target"][value="peacefulness"])').click()
    page.get_by_label("Strategy", exact=True).select_option("interpolation")
    page.get_by_label("Length", exact=True).fill("4")
    page.get_by_test_id("make-playlist").click()
    page.wait_for_url("**/playlists/*/")

    assert page.get_by_test_id("strategy-badge").inner_text() == "A bridge between two pieces"
    reasons = page.get_by_test_id("reason").all_inner_texts()
    assert len(reasons) == 4 and reasons[0].startswith("Why this piece: Piece 1 of 4")
    assert all("feature distance" not in r and "anchor" not in r and "valence" not in r for r in reasons)
    detail = page.get_by_test_id("reason-tech").first
    assert not detail.locator("p").first.is_visible()
    detail.locator("summary").click()
    assert "feature distance" in detail.locator("p").first.inner_text()
    shot(page, "playlist-detail-listener")

    # --- the M3U plays in a program that has no log-in
    assert "without logging in" in page.get_by_test_id("m3u-note").inner_text()
    with page.expect_download() as info:
        page.get_by_test_id("export-m3u").click()
    text = open(info.value.path(), encoding="utf-8").read()
    links = [line for line in text.splitlines() if line.startswith("http")]
    assert len(links) == 4
    stranger = browser.new_context()
    try:
        response = stranger.request.get(links[0])
        assert response.ok and response.headers["content-type"] == "audio/ogg" and len(response.body()) > 1000
        tampered = stranger.request.get(links[0][:-3] + "xyz")
        assert tampered.status == 404
    finally:
        stranger.close()
    assert page.js_errors == []
