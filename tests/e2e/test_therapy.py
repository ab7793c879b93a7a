"""Browser test (issue 7 "done when"): a therapist invites; a fresh participant links with the
code and switches on sharing; the therapist assigns a generated playlist; the client starts it
from the dashboard, plays two tracks and finishes with post mood and reflection; the therapist
sees the outcome on the client page; the client ends the link and the page is gone at once."""

from __future__ import annotations

import json

import pytest

from tests.e2e.browser import DEMO_PASSWORD, log_in, shot, sign_up, wait_until

pytestmark = pytest.mark.e2e

SESSION_STATE = """
import json
from studies.listening.models import ListeningSession
from therapy.models import AssignmentOccurrence
s = ListeningSession.objects.get(pk={pk})
o = AssignmentOccurrence.objects.get(session_id=s.pk)
print(json.dumps({{"status": s.status, "mode": s.mode, "ref": s.assignment_ref, "occurrence": o.status,
                  "positions": sorted(set(s.events.exclude(position=None).values_list("position", flat=True))),
                  "playlist": s.playlist_id == o.assignment.playlist_id}}))
"""


def _wait_playing(page) -> None:
    wait_until(
        page,
        "() => { const a = document.getElementById('player-audio'); return a && !a.paused && a.currentTime > 0.2; }",
        timeout=20_000,
    )


def test_therapist_assigns_client_plays_therapist_sees_outcome(demo_catalog, browser):
    server = demo_catalog

    def new_page():
        context = browser.new_context(base_url=server.url, viewport={"width": 1200, "height": 900})
        context.set_default_timeout(20_000)
        return context.new_page()

    therapist, client = new_page(), new_page()

    # --- the therapist creates an invite
    log_in(therapist, "demo-therapist", DEMO_PASSWORD)
    therapist.goto("/clients/")
    therapist.get_by_test_id("new-invite").click()
    code = therapist.get_by_test_id("invite-code").first.inner_text().strip()
    assert len(code.replace("-", "")) == 8

    # --- a fresh participant enters it and switches on therapist sharing
    sign_up(client, "river-client", "a-long-and-unusual-passphrase-71")
    client.get_by_test_id("save-consent").click()
    client.wait_for_url("**/dashboard/")
    client.goto("/settings/therapist/")
    client.get_by_label("Invite code from your therapist").fill(code)
    client.get_by_test_id("accept-invite").click()
    client.wait_for_url("**/settings/therapist/")
    assert "demo-therapist" in client.get_by_test_id("end-link").locator("xpath=../..").inner_text()
    client.goto("/settings/consent/")
    client.locator("#id_therapist_sharing").check()
    client.get_by_test_id("save-consent").click()
    client.wait_for_url("**/dashboard/")

    # --- the therapist assigns a generated playlist (target by GEMS buttons, 3 tracks, once)
    therapist.goto("/clients/")
    therapist.get_by_role("link", name="river-client").click()
    therapist.get_by_test_id("sharing-on").wait_for()
    therapist.get_by_test_id("assign-generated").click()
    therapist.get_by_test_id("target-gems-peacefulness").check()
    therapist.get_by_test_id("strategy").select_option("iso")
    therapist.get_by_test_id("length-value").fill("3")
    therapist.get_by_test_id("instructions").fill("Evening wind-down, lying down.")
    shot(therapist, "therapy-assign")
    therapist.get_by_test_id("assign-submit").click()
    therapist.wait_for_url("**/clients/*/")
    table = therapist.get_by_test_id("assignment-table")
    assert "Pending" in table.inner_text() and "step by step" in table.inner_text()

    # --- the client starts it from the dashboard: a therapy session on the assigned playlist
    client.goto("/dashboard/")
    assigned = client.get_by_test_id("assigned-list")
    assert "Evening wind-down" in assigned.inner_text()
    shot(client, "therapy-assigned-dashboard")
    assigned.get_by_role("link", name="Start").first.click()
    client.get_by_test_id("assigned-instructions").wait_for()
    client.get_by_test_id("current-gems-tension").check()
    client.get_by_test_id("start-assigned").click()
    client.wait_for_url("**/sessions/*/")
    session_id = int(client.url.rstrip("/").split("/")[-1])
    config = json.loads(client.locator("#listening-player-config").text_content())
    assert len(config["queue"]) == 3 and all(t["audio_url"].startswith("/tracks/") for t in config["queue"])
    client.get_by_test_id("therapy-assigned").wait_for()

    # --- plays two tracks (skips the first after it started, lets the second play through fast)
    client.get_by_test_id("play").click()
    _wait_playing(client)
    client.get_by_test_id("skip").click()
    wait_until(client, "() => document.querySelector('[data-testid=now-playing]').textContent.includes('(2 of 3)')")
    _wait_playing(client)
    client.evaluate("() => { document.getElementById('player-audio').playbackRate = 8; }")
    wait_until(client, "() => document.querySelector('[data-testid=now-playing]').textContent.includes('(3 of 3)')",
                             timeout=40_000)
    wait_until(
        client,
        f"() => (localStorage.getItem('attune.listening.outbox.{session_id}') || '[]') === '[]'", timeout=20_000
    )
    shot(client, "therapy-player")
    client.get_by_test_id("finish").click()
    client.wait_for_url("**/finish/")
    client.get_by_test_id("post-gems-peacefulness").check()
    client.get_by_test_id("rating-5").check()
    client.get_by_test_id("reflection-text").fill("Much calmer, slept well.")
    client.get_by_test_id("complete-session").click()
    client.wait_for_url("**/sessions/history/")

    state = json.loads(server.manage("shell", "-c", SESSION_STATE.format(pk=session_id)).strip().splitlines()[-1])
    assert state["status"] == "completed" and state["mode"] == "therapy" and state["occurrence"] == "done"
    assert state["playlist"] and state["ref"] is None and state["positions"][:2] == [0, 1]

    # --- the therapist sees the outcome on the client page
    therapist.reload()
    assert "Done" in therapist.get_by_test_id("assignment-table").inner_text()
    assert "1 of 1" in therapist.get_by_test_id("assignment-table").inner_text()
    row = therapist.get_by_test_id(f"outcome-{session_id}")
    assert "Much calmer" in row.inner_text() and "5/5" in row.inner_text()
    assert therapist.get_by_test_id("shift-series").locator("svg").get_attribute("role") == "img"
    client_url = therapist.url
    shot(therapist, "therapy-outcomes")

    # --- the client ends the link: the therapist's client page is gone at once
    client.goto("/settings/therapist/")
    client.get_by_test_id("end-link").locator("summary").click()
    client.get_by_test_id("end-link-confirm").click()
    client.wait_for_url("**/settings/therapist/")
    response = therapist.goto(client_url)
    assert response.status == 404
    assert "Much calmer" not in therapist.content()
    shot(therapist, "therapy-link-ended")
    for p in (therapist, client):
        p.context.close()


LINK_CLIENT = """
from therapy import links
from accounts.models import User
from accounts.services import user_set_role
t = User.objects.get(username="demo-therapist")
c = User.objects.create_user(username="curate-client", password="x-long-password-93")
user_set_role(user=c, role="participant")
link = links.invite_accept(client=c, code=links.invite_create(therapist=t).code)
print(link.pk)
"""

CURATED_STATE = """
import json
from therapy.models import Assignment
a = Assignment.objects.filter(client__username="curate-client").latest("created_at")
print(json.dumps({"kind": a.kind, "ids": list(a.playlist.items.order_by("position").values_list("track_id", flat=True)),
                  "reasons": sorted(set(a.playlist.items.values_list("reason", flat=True))), "repeat": a.repeat,
                  "occurrences": a.occurrences.count(), "waypoints": a.playlist.items.exclude(waypoint_valence=None).count()}))
"""


def test_therapist_curates_a_playlist_by_keyboard(demo_catalog, page):
    server = demo_catalog
    link_id = int(server.manage("shell", "-c", LINK_CLIENT).strip().splitlines()[-1])
    log_in(page, "demo-therapist", DEMO_PASSWORD)
    page.goto(f"/therapy/clients/{link_id}/assign/?kind=curated")
    query = page.get_by_test_id("curate-query")
    query.fill("a")
    query.press("Enter")  # search from the keyboard
    results = page.get_by_test_id("curate-results").locator("button")
    results.first.wait_for()
    assert results.count() >= 3
    ids = []
    for i in range(3):
        button = results.nth(i)
        ids.append(int(button.get_attribute("data-testid").removeprefix("curate-add-")))
        button.focus()
        page.keyboard.press("Enter")
    items = page.get_by_test_id("curate-list").locator("li")
    assert items.count() == 3
    # Move the third track up with the keyboard, then remove the first.
    page.get_by_test_id(f"curate-up-{ids[2]}").focus()
    page.keyboard.press("Enter")
    assert "moved up" in page.locator("#curate-status").inner_text()
    page.get_by_test_id(f"curate-remove-{ids[0]}").click()
    assert items.count() == 2
    order = [int(x) for x in page.locator('#curate-list input[name="track_ids"]').evaluate_all("els => els.map(e => e.value)")]
    assert order == [ids[2], ids[1]]
    page.get_by_test_id("repeat-daily").check()
    page.get_by_test_id("instructions").fill("Morning, before exercise.")
    shot(page, "therapy-curate")
    page.get_by_test_id("assign-submit").click()
    page.wait_for_url(f"**/clients/{link_id}/")
    assert not page.js_errors
    state = json.loads(server.manage("shell", "-c", CURATED_STATE).strip().splitlines()[-1])
    assert state["kind"] == "curated" and state["ids"] == [ids[2], ids[1]] and state["waypoints"] == 0
    assert state["reasons"] == ["chosen by your therapist"] and state["repeat"] == "daily" and state["occurrences"] == 14
