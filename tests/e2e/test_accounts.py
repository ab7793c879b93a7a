"""A newcomer signs up under a pseudonym, chooses consents, sees the dashboard, logs out."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import DEMO_PASSWORD, log_in, shot, sign_up

pytestmark = pytest.mark.e2e


def test_sign_up_set_consents_dashboard_and_log_out(page, e2e_server):
    sign_up(page, "quiet-otter", "a-long-and-unusual-passphrase-42")

    # The consent page comes right after sign-up; everything is off until switched on.
    expect(page.get_by_role("heading", name="Your choices")).to_be_visible()
    research = page.get_by_label("Use my ratings and sessions in research")
    webcam = page.get_by_label("Let the webcam read my facial expression")
    assert not research.is_checked() and not webcam.is_checked()
    research.check()
    webcam.check()
    page.get_by_test_id("save-consent").click()

    page.wait_for_url("**/dashboard/")
    expect(page.get_by_role("heading", name="Hello, quiet-otter")).to_be_visible()
    assert page.get_by_test_id("participant-code").inner_text().startswith("P-")
    shot(page, "accounts-dashboard")

    # The API agrees with what the page saved.
    me = page.request.get("/api/me/").json()
    assert me["pseudonym"] == "quiet-otter"
    assert me["consents"] == {
        "research_data": True,
        "webcam_inference": True,
        "emotion_trace": False,
        "therapist_sharing": False,
    }

    page.get_by_test_id("logout").click()
    page.wait_for_url(e2e_server.url + "/")
    expect(page.get_by_role("link", name="Log in").first).to_be_visible()
    assert page.request.get("/api/me/").status == 403
    assert page.js_errors == []


def test_duplicate_pseudonym_is_refused_with_a_message(page):
    page.goto("/accounts/signup/")
    page.get_by_label("Pseudonym").fill("demo-participant")
    page.locator("#id_password1").fill("another-long-passphrase-77")
    page.locator("#id_password2").fill("another-long-passphrase-77")
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_text("reserved").or_(page.get_by_text("already")).first).to_be_visible()
    assert "/accounts/signup/" in page.url


def test_demo_researcher_reaches_the_admin(page):
    log_in(page, "demo-researcher", DEMO_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Research admin").click()
    page.wait_for_url("**/admin/")
    expect(page.get_by_text("Attune research admin").first).to_be_visible()


def test_health_endpoint_reports_every_part(e2e_server):
    with urllib.request.urlopen(e2e_server.url + "/healthz") as response:
        report = json.load(response)
    assert report["status"] == "ok"
    assert {"database", "channel_layer", "broker"} <= set(report)
