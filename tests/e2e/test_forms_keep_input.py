"""Browser test (issue 14, items 1-2): a validation error keeps everything the person entered.
On the start page the GEMS choices and the pad's point survive a missing goal; on the finish
page the 1-5 rating survives a missing mood, and the session is stored with it."""

from __future__ import annotations

import json

import pytest

from tests.e2e.browser import shot, sign_up

pytestmark = pytest.mark.e2e

SESSION = """
import json
from studies.listening.models import ListeningSession
s = ListeningSession.objects.get(pk={pk})
print(json.dumps([s.status, s.reflection_rating, s.reflection_text]))
"""


def test_errors_keep_the_mood_and_the_rating(demo_catalog, page):
    sign_up(page, "keeps-input", "a-long-and-unusual-passphrase-14")
    page.get_by_test_id("save-consent").click()
    page.wait_for_url("**/dashboard/")

    # --- start page: a current mood by buttons and pad, "I know where I want to be" without a goal
    page.goto("/sessions/new/")
    page.get_by_test_id("current-gems-tension").check()
    pad = page.get_by_test_id("current-pad")
    pad.focus()
    for _ in range(4):
        pad.press("ArrowUp")
    valence = page.get_by_test_id("current-valence").input_value()
    arousal = page.get_by_test_id("current-arousal").input_value()
    page.get_by_test_id("desired-state").check()
    page.get_by_test_id("length-value").fill("3")
    page.get_by_test_id("strategy-iso").check()
    page.get_by_test_id("start-session").click()

    errors = page.get_by_test_id("form-errors")
    errors.wait_for()
    assert "Say where you would like to be" in errors.inner_text()
    assert "Tell us how you feel" not in page.content()
    assert page.get_by_test_id("current-gems-tension").is_checked()
    assert "chosen" in page.get_by_test_id("current-gems-tension").locator("xpath=..").get_attribute("class")
    assert page.get_by_test_id("current-valence").input_value() == valence
    assert page.get_by_test_id("current-arousal").input_value() == arousal
    assert page.locator("#id_current_source").input_value() == "va"  # the pad was used last
    assert page.locator("[data-mood-prefix=current] [data-role=dot]").is_visible()
    assert page.get_by_test_id("desired-state").is_checked() and page.get_by_test_id("desired-instrument").is_visible()
    assert page.get_by_test_id("strategy-iso").is_checked()
    shot(page, "session-new-error-keeps-mood")

    # fixing the one error is enough
    page.get_by_test_id("desired-gems-peacefulness").check()
    page.get_by_test_id("start-session").click()
    page.wait_for_url("**/sessions/*/")
    session_id = int(page.url.rstrip("/").split("/")[-1])
    config = json.loads(page.locator("#listening-player-config").text_content())
    assert len(config["queue"]) == 3

    # --- finish page: rating and text, but no mood yet
    page.goto(f"/sessions/{session_id}/finish/")
    page.get_by_test_id("rating-4").check()
    page.get_by_test_id("reflection-text").fill("Lighter than before.")
    page.get_by_test_id("complete-session").click()
    page.get_by_test_id("form-errors").wait_for()
    assert page.get_by_test_id("rating-4").is_checked()
    assert page.get_by_test_id("reflection-text").input_value() == "Lighter than before."
    assert page.get_by_test_id("post-errors").is_visible()
    shot(page, "session-finish-error-keeps-rating")
    assert json.loads(demo_catalog.manage("shell", "-c", SESSION.format(pk=session_id)).strip().splitlines()[-1])[0] == "active"

    page.get_by_test_id("post-gems-peacefulness").check()
    page.get_by_test_id("complete-session").click()
    page.wait_for_url("**/sessions/history/")
    state = json.loads(demo_catalog.manage("shell", "-c", SESSION.format(pk=session_id)).strip().splitlines()[-1])
    assert state == ["completed", 4, "Lighter than before."]
    # history shows the reflection beside the picture
    card = page.get_by_test_id(f"session-{session_id}")
    assert "Lighter than before." in card.get_by_test_id("reflection").inner_text()
    assert card.locator("svg g[id^=post-]").count() == 1
    assert not page.js_errors
