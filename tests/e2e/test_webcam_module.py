"""Browser test (issue 14, items 8 and 10): one webcam module (static/js/webcam.js) serves the
mood check and the listening pages; Stop camera shows only while the camera is on; the mood
check leads on to a session that starts from that mood; a pressed Like looks pressed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import DEMO_PASSWORD, log_in, shot, sign_up
from tests.e2e.test_moodcheck import camera_browser, camera_page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e

ACCENT = "rgb(43, 93, 125)"


def test_mood_check_self_report_starts_a_session_from_that_mood(demo_catalog, page):
    sign_up(page, "mood-leads-on", "a-long-and-unusual-passphrase-18")
    page.get_by_test_id("save-consent").click()
    page.wait_for_url("**/dashboard/")
    page.goto("/mood-check/")
    link = page.get_by_test_id("start-from-mood")
    expect(link).to_be_hidden()
    page.get_by_test_id("gems-tension").click()
    expect(link).to_be_visible()
    assert "tension, as you said" in link.inner_text()
    link.click()
    page.wait_for_url("**/sessions/new/?*")
    expect(page.get_by_test_id("from-mood-check")).to_be_visible()
    assert page.get_by_test_id("current-gems-tension").is_checked()
    assert page.locator("#id_current_source").input_value() == "gems"
    assert page.locator("[data-mood-prefix=current] [data-role=dot]").is_visible()
    page.get_by_test_id("length-value").fill("2")
    page.get_by_test_id("start-session").click()
    page.wait_for_url("**/sessions/*/")
    # the player: Like looks pressed once pressed; the camera panel says why it is off
    like = page.get_by_test_id("like")
    before = like.evaluate("b => getComputedStyle(b).backgroundColor")
    like.click()
    assert like.get_attribute("aria-pressed") == "true"
    after = like.evaluate("b => getComputedStyle(b).backgroundColor")
    assert before != after and after == ACCENT
    assert "not allowed" in page.get_by_test_id("webcam-panel").inner_text()
    assert page.js_errors == []


def test_stop_camera_shows_only_while_the_camera_is_on(camera_page):  # noqa: F811
    page = camera_page
    log_in(page, "demo-participant", DEMO_PASSWORD)  # webcam consent on
    for url in ("/mood-check/", "/sessions/new/"):
        page.goto(url)
        if url == "/sessions/new/":
            page.get_by_test_id("webcam-check").locator("summary").click()
            start, stop = page.get_by_test_id("cam-start"), page.locator("[data-role=cam-stop]")
        else:
            start, stop = page.get_by_test_id("camera-start"), page.get_by_test_id("camera-stop")
        expect(start).to_be_visible()
        expect(stop).to_be_hidden()
        start.click()
        expect(stop).to_be_visible()
        expect(start).to_be_hidden()
        shot(page, "webcam-on" + url.replace("/", "-").rstrip("-"))
        stop.click()
        expect(stop).to_be_hidden()
        expect(start).to_be_visible()
    # the mood check's camera panel and the listening pages load the same module, and only it
    scripts = page.evaluate("() => Array.from(document.scripts).map(s => s.src).filter(Boolean)")
    assert any(s.endswith("/static/js/webcam.js") for s in scripts)
    assert not any("listening-webcam" in s or "emotion-moodcheck" in s for s in scripts)
    assert page.js_errors == []
