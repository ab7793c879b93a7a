"""Browser test: a participant runs a whole listening session on the demo catalog in Chromium:
states a mood (GEMS buttons and the keyboard-operated valence/arousal pad), gets the
playlist, plays, reacts, likes, skips and finishes tracks in the audio element (the events
reach the server), completes with the post mood and a reflection, and sees the history
picture."""

from __future__ import annotations

import json

import pytest

from tests.e2e.browser import shot, sign_up, wait_until

pytestmark = pytest.mark.e2e

COUNT_EVENTS = """
import json
from studies.listening.models import ListeningSession
s = ListeningSession.objects.get(pk={pk})
print(json.dumps({{"status": s.status, "kinds": sorted(s.events.values_list("kind", flat=True)),
                  "positions": sorted(set(s.events.values_list("position", flat=True))),
                  "reflection": [s.reflection_rating, s.reflection_text], "post": s.post_gems is not None}}))
"""


def _acknowledged(page) -> int:
    return int(page.get_by_test_id("sync-status").get_attribute("data-acknowledged") or 0)


def _wait_playing(page) -> None:
    wait_until(
        page,
        "() => { const a = document.getElementById('player-audio'); return a && !a.paused && a.currentTime > 0.2; }",
        timeout=20_000,
    )


def test_participant_runs_a_whole_session(demo_catalog, page):
    e2e_server = demo_catalog
    sign_up(page, "calm-heron", "a-long-and-unusual-passphrase-77")
    page.get_by_test_id("save-consent").click()
    page.wait_for_url("**/dashboard/")

    # --- start: current mood by GEMS buttons, desired mood by the pad, with the keyboard
    page.goto("/sessions/new/")
    page.get_by_role("heading", name="New listening session").wait_for()
    page.get_by_test_id("current-gems-tension").check()
    assert page.locator("#id_current_source").input_value() == "gems"
    assert float(page.get_by_test_id("current-valence").input_value()) == pytest.approx(-0.55)
    page.get_by_test_id("desired-state").check()
    pad = page.get_by_test_id("desired-pad")
    pad.focus()
    for _ in range(8):
        pad.press("ArrowRight")
    for _ in range(8):
        pad.press("ArrowDown")
    assert float(page.get_by_test_id("desired-valence").input_value()) == pytest.approx(0.4)
    assert float(page.get_by_test_id("desired-arousal").input_value()) == pytest.approx(-0.4)
    assert "pleasant and calm" in pad.get_attribute("aria-valuetext")
    page.get_by_test_id("length-value").fill("3")
    if page.get_by_test_id("strategy-iso").count():
        page.get_by_test_id("strategy-iso").check()
    shot(page, "session-new")
    page.get_by_test_id("start-session").click()
    page.wait_for_url("**/sessions/*/")
    session_id = int(page.url.rstrip("/").split("/")[-1])

    # --- player: three tracks with audio from the demo catalog
    queue = page.get_by_test_id("queue").locator("li")
    assert queue.count() == 3
    config = json.loads(page.locator("#listening-player-config").text_content())
    assert all(t["audio_url"] for t in config["queue"])
    now = page.get_by_test_id("now-playing")
    assert "(1 of 3)" in now.inner_text()

    page.get_by_test_id("play").click()
    _wait_playing(page)
    page.get_by_test_id("react-wonder").click()
    page.get_by_test_id("like").click()
    assert page.get_by_test_id("react-wonder").get_attribute("aria-pressed") == "true"
    page.get_by_test_id("skip").click()  # track 1 skipped
    wait_until(page, "() => document.querySelector('[data-testid=now-playing]').textContent.includes('(2 of 3)')")
    _wait_playing(page)
    # Let track 2 (a 20 s clip) play to its end, eight times faster than real time.
    page.evaluate("() => { document.getElementById('player-audio').playbackRate = 8; }")
    wait_until(page, "() => document.querySelector('[data-testid=now-playing]').textContent.includes('(3 of 3)')",
                           timeout=40_000)
    _wait_playing(page)
    shot(page, "session-player")
    page.get_by_test_id("skip").click()  # track 3 skipped
    wait_until(page, "() => document.querySelector('[data-testid=now-playing]').textContent.includes('last track')")
    # every event acknowledged by the server (the outbox is empty)
    wait_until(
        page,
        f"() => (localStorage.getItem('attune.listening.outbox.{session_id}') || '[]') === '[]'", timeout=20_000
    )
    assert _acknowledged(page) >= 8

    stored = json.loads(e2e_server.manage("shell", "-c", COUNT_EVENTS.format(pk=session_id)).strip().splitlines()[-1])
    kinds = stored["kinds"]
    assert kinds.count("started") == 3 and kinds.count("skipped") == 2 and kinds.count("completed") == 1
    assert "reaction" in kinds and "liked" in kinds and stored["positions"] == [0, 1, 2]

    # --- end: the same instruments again, and the reflection
    page.get_by_test_id("finish").click()
    page.wait_for_url("**/finish/")
    page.get_by_test_id("post-gems-peacefulness").check()
    page.get_by_test_id("rating-4").check()
    page.get_by_test_id("reflection-text").fill("Calmer than before.")
    page.get_by_test_id("complete-session").click()
    page.wait_for_url("**/sessions/history/")

    # --- history: the mood-path picture with completion and skips
    card = page.get_by_test_id(f"session-{session_id}")
    assert "Completed" in card.inner_text()
    assert card.get_by_test_id("tracks-played").inner_text() == "3"
    assert card.get_by_test_id("skips").inner_text().startswith("2")
    picture = card.get_by_test_id("mood-path").locator("svg")
    assert picture.count() == 1 and picture.get_attribute("role") == "img"
    assert "after" in picture.locator("desc").text_content()
    shot(page, "session-history")

    stored = json.loads(e2e_server.manage("shell", "-c", COUNT_EVENTS.format(pk=session_id)).strip().splitlines()[-1])
    assert stored["status"] == "completed" and stored["reflection"] == [4, "Calmer than before."] and stored["post"]
    assert page.js_errors == []


COUNT_TRACE = """
import json
from studies.listening.models import EmotionTraceSecond
rows = EmotionTraceSecond.objects.filter(session_id={pk})
print(json.dumps({{"n": rows.count(), "labels": sorted(set(rows.values_list("stable_label", flat=True))),
                  "with_face": rows.filter(frames_with_face__gt=0).count()}}))
"""


@pytest.fixture(scope="module")
def camera_browser(playwright_instance, tmp_path_factory):
    from tests.e2e.browser import launch_chromium
    from tests.e2e.test_moodcheck import write_y4m

    video = tmp_path_factory.mktemp("camera") / "astronaut.y4m"
    write_y4m(video)
    browser = launch_chromium(
        playwright_instance,
        ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
         f"--use-file-for-fake-video-capture={video}"],
    )
    yield browser
    browser.close()


def test_webcam_trace_is_stored_with_consent(demo_catalog, camera_browser):
    e2e_server = demo_catalog
    context = camera_browser.new_context(base_url=e2e_server.url, viewport={"width": 1200, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        sign_up(page, "bright-wren", "a-long-and-unusual-passphrase-78")
        page.get_by_label("Let the webcam read my facial expression").check()
        page.get_by_label("Keep a per-second mood trace with my sessions").check()
        page.get_by_test_id("save-consent").click()
        page.wait_for_url("**/dashboard/")

        page.goto("/sessions/new/")
        # the optional webcam mood check on the start page gives the current mood
        page.get_by_test_id("webcam-check").locator("summary").click()
        page.get_by_test_id("cam-start").click()
        wait_until(page, "() => document.querySelector('[data-testid=cam-stable]').textContent.trim() !== '—'",
                               timeout=40_000)
        page.get_by_test_id("cam-use").click()
        assert page.locator("#id_current_source").input_value() == "fer"
        label = page.locator("#id_current_fer").input_value()
        assert label in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
        page.get_by_test_id("length-value").fill("2")
        page.get_by_test_id("start-session").click()
        page.wait_for_url("**/sessions/*/")
        session_id = int(page.url.rstrip("/").split("/")[-1])

        page.get_by_test_id("cam-start").click()
        wait_until(page, "() => document.querySelector('[data-testid=cam-stable]').textContent.trim() !== '—'",
                               timeout=40_000)
        page.wait_for_timeout(4_000)  # a few seconds of per-second aggregates
        shot(page, "session-player-webcam")
        page.locator('[data-role="cam-stop"]').click()
        page.wait_for_timeout(1_000)
        trace = json.loads(e2e_server.manage("shell", "-c", COUNT_TRACE.format(pk=session_id)).strip().splitlines()[-1])
        assert trace["n"] >= 2 and trace["with_face"] >= 1
        assert errors == []
    finally:
        context.close()
