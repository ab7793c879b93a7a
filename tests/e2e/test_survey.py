"""A researcher creates and opens a song survey in the admin; a participant rates demo tracks
in Chromium (real audio playback, the answer button unlocks after the minimum listening time);
the researcher aggregates and sees the figures."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import DEMO_PASSWORD, log_in, shot, sign_up, wait_until

pytestmark = pytest.mark.e2e

TITLE = "E2E: film clips and feelings"


def test_researcher_creates_a_survey_and_a_participant_rates_in_the_browser(browser, e2e_server):
    out = e2e_server.manage("survey_demo_tracks", "--count", "3", "--no-analysis")
    assert out.count("track ") == 3

    # --- the researcher sets the survey up in the admin ---------------------------------
    researcher = browser.new_context(base_url=e2e_server.url, viewport={"width": 1280, "height": 1000})
    researcher.set_default_timeout(15_000)
    page = researcher.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, "demo-researcher", DEMO_PASSWORD)
    page.goto("/admin/surveys/survey/add/")
    page.locator("#id_title").fill(TITLE)
    page.locator("#id_instructions").fill("Listen to each clip, then pick what you feel.")
    page.locator("#id_consent_text").fill("Stored under your participant code.")
    page.locator("#id_pool_from_catalog").check()
    page.locator("#id_filter_genres").fill("synth sketch")
    page.locator("#id_response_format").select_option("pick")
    page.locator("#id_emotion_focus").select_option("felt")
    page.locator("#id_clip_seconds").fill("6")
    page.locator("#id_min_listen_seconds").fill("2")
    page.locator("#id_ratings_per_track").fill("3")
    page.locator("#id_tracks_per_participant").fill("3")
    page.locator("input[name=_continue]").click()
    page.wait_for_url(re.compile(r".*/admin/surveys/survey/\d+/change/"))
    assert page.get_by_test_id("survey-status").inner_text() == "Draft"
    page.get_by_test_id("survey-open").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("survey-status").inner_text() == "Open"
    survey_url = page.url

    # --- a participant with research consent rates the tracks ------------------------------
    participant = browser.new_context(base_url=e2e_server.url, viewport={"width": 1200, "height": 1100})
    participant.set_default_timeout(20_000)
    p = participant.new_page()
    p_errors: list[str] = []
    p.on("pageerror", lambda exc: p_errors.append(str(exc)))
    log_in(p, "demo-participant", DEMO_PASSWORD)
    p.get_by_role("navigation", name="Main").get_by_role("link", name="Surveys").click()
    card = p.get_by_test_id("survey-card").filter(has_text=TITLE)
    card.get_by_role("link", name=re.compile("Start")).click()
    p.wait_for_url(re.compile(r".*/surveys/\d+/"))

    submit = p.get_by_test_id("submit-answer")
    picks = [("sadness", "nostalgia"), ("power",), ("peacefulness", "tenderness", "wonder")]
    for i, chosen in enumerate(picks):
        p.get_by_test_id("progress-text").filter(has_text=f"{i} of 3").wait_for()
        for name in chosen:
            p.get_by_test_id(f"emotion-{name}").click()
        p.get_by_role("group", name=re.compile("How much do you like")).get_by_text("4", exact=True).click()
        p.get_by_role("group", name=re.compile("How well do you know")).get_by_text("1", exact=True).click()
        assert submit.is_disabled()  # no listening yet
        if i == 0:
            # A fourth pick is refused with a message, in the page.
            p.get_by_test_id("emotion-tension").click()
            p.get_by_test_id("emotion-power").click()
            p.get_by_test_id("emotion-tension").click()
            assert p.get_by_test_id("emotion-tension").get_attribute("aria-pressed") == "false"
            p.get_by_test_id("emotion-power").click()  # unpick again: back to two
            shot(p, "survey-take-before-listening")
        p.get_by_test_id("play").click()
        p.get_by_test_id("listen-status").filter(has_text="you can answer now").wait_for(timeout=20_000)
        assert submit.is_enabled()
        submit.click()

    thanks = p.get_by_test_id("thanks")
    thanks.wait_for()
    assert "You rated 3 songs" in thanks.inner_text()
    shot(p, "survey-thank-you")
    assert p_errors == []

    # --- the researcher aggregates and sees the figures ----------------------------------
    page.goto(survey_url)
    assert "3 of 9 wanted ratings" in page.get_by_test_id("survey-controls").inner_text()
    page.get_by_test_id("run-aggregate").click()
    page.wait_for_load_state()
    figures = page.get_by_test_id("survey-figures")
    expect(figures.get_by_test_id("alpha-bars")).to_be_visible()
    expect(figures.get_by_test_id("rater-weights")).to_be_visible()
    text = figures.inner_text()
    assert re.search(r"P-[0-9A-Z]{8}", text)  # raters appear by participant code
    assert "demo-participant" not in page.content()
    shot(page, "survey-admin-figures")
    assert errors == []
    researcher.close()
    participant.close()


def test_without_consent_the_survey_asks_for_it_first_then_works(page, e2e_server):
    out = e2e_server.manage("survey_demo_tracks", "--count", "3", "--no-analysis", "--survey")
    survey_id = re.search(r"survey (\d+):", out).group(1)
    sign_up(page, "careful-heron", "a-long-and-unusual-passphrase-77")
    page.get_by_test_id("save-consent").click()  # everything left off
    page.wait_for_url("**/dashboard/")

    page.goto(f"/surveys/{survey_id}/")
    notice = page.get_by_test_id("consent-needed")
    expect(notice).to_be_visible()
    assert page.locator("#survey-app").count() == 0
    shot(page, "survey-consent-needed")
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    refused = page.request.post(
        f"/api/surveys/{survey_id}/ratings/",
        data={"client_id": "7d8f3a52-6a57-4f0e-9d3a-2b8e5c1d9f10", "track_id": 1, "picks": ["wonder"],
              "listened_seconds": 30, "liking": 3, "familiarity": 3},
        headers={"X-CSRFToken": csrf, "Referer": e2e_server.url + f"/surveys/{survey_id}/"},
    )
    assert refused.status == 403 and "research use" in refused.text()

    page.get_by_test_id("consent-link").click()
    page.get_by_label("Use my ratings and sessions in research").check()
    page.get_by_test_id("save-consent").click()
    page.wait_for_url("**/dashboard/")
    page.goto(f"/surveys/{survey_id}/")
    title = page.locator("[data-field=track-title]")
    title.wait_for()
    first = title.inner_text()
    page.get_by_test_id("skip").click()
    wait_until(
        page,
        "t => document.querySelector('[data-field=track-title]').textContent !== t", arg=first
    )
    assert page.get_by_test_id("submit-answer").is_disabled()
    assert page.js_errors == []
