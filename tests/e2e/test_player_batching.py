"""Browser test (issue 16): the player batches progress events (they wait up to 1.5 s and travel
with whatever else is pending), sends starts and skips at once, flushes on page hide with a
keepalive request, and every event it sent is stored exactly once."""

from __future__ import annotations

import json

import pytest

from tests.e2e.browser import sign_up, wait_until

pytestmark = pytest.mark.e2e

STORED = """
import json
from studies.listening.models import ListeningSession
s = ListeningSession.objects.get(pk={pk})
ids = [str(i) for i in s.events.values_list("event_id", flat=True)]
print(json.dumps({{"ids": ids, "kinds": sorted(s.events.values_list("kind", flat=True))}}))
"""
PAUSE_AND_SEEK = "() => { const a = document.getElementById('player-audio'); a.pause(); a.currentTime = 16.5; }"


def _kinds(requests) -> list[list[str]]:
    return [[e["kind"] for e in json.loads(r.post_data)["events"]] for r in requests]


def _acknowledged_at_least(page, n: int) -> None:
    wait_until(page, f"() => Number(document.querySelector('[data-testid=sync-status]').dataset.acknowledged || 0) >= {n}",
               timeout=15_000)


def _playing(page) -> None:
    wait_until(page, "() => { const a = document.getElementById('player-audio'); return !a.paused && a.currentTime > 0.2; }",
               timeout=20_000)


def test_progress_is_batched_skips_go_at_once_and_page_hide_flushes(demo_catalog, page):
    e2e_server = demo_catalog
    sign_up(page, "batch-wren", "a-long-and-unusual-passphrase-78")
    page.get_by_test_id("save-consent").click()
    page.wait_for_url("**/dashboard/")
    page.goto("/sessions/new/")
    page.get_by_test_id("current-gems-tension").check()
    page.get_by_test_id("desired-state").check()
    page.get_by_test_id("desired-gems-peacefulness").check()
    page.get_by_test_id("length-value").fill("3")
    page.get_by_test_id("start-session").click()
    page.wait_for_url("**/sessions/*/")
    session_id = int(page.url.rstrip("/").split("/")[-1])
    outbox = f"JSON.parse(localStorage.getItem('attune.listening.outbox.{session_id}') || '[]').length"

    requests = []
    page.on("request", lambda r: requests.append(r) if r.method == "POST" and r.url.endswith("/events/") else None)
    page.get_by_test_id("play").click()
    _playing(page)
    _acknowledged_at_least(page, 1)
    assert _kinds(requests) == [["started"]]  # a start goes at once

    # Track 1: a progress event waits for company; the skip takes it along in one request.
    page.evaluate(PAUSE_AND_SEEK)
    wait_until(page, f"() => {outbox} === 1")
    assert len(requests) == 1
    page.get_by_test_id("skip").click()
    _acknowledged_at_least(page, 3)
    assert _kinds(requests)[1] == ["progress", "skipped"]

    # Track 2: alone, a progress event is sent by the timer, 1-2 s later.
    _playing(page)
    _acknowledged_at_least(page, 4)  # its start, at once
    page.evaluate(PAUSE_AND_SEEK)
    wait_until(page, f"() => {outbox} === 1")
    sent_before = len(requests)
    page.wait_for_timeout(600)
    assert len(requests) == sent_before  # still waiting for company
    wait_until(page, f"() => {outbox} === 0", timeout=5_000)
    assert _kinds(requests)[-1] == ["progress"]
    page.get_by_test_id("skip").click()
    _acknowledged_at_least(page, 6)

    # Track 3: on page hide the pending event goes at once (fetch keepalive), before the timer.
    _playing(page)
    _acknowledged_at_least(page, 7)
    page.evaluate(PAUSE_AND_SEEK)
    wait_until(page, f"() => {outbox} === 1")
    sent_before = len(requests)
    page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pagehide'))")
    page.wait_for_timeout(400)
    assert len(requests) == sent_before + 1 and _kinds(requests)[-1] == ["progress"]
    wait_until(page, f"() => {outbox} === 0", timeout=10_000)

    # Everything sent is stored, exactly once.
    sent = {e["event_id"] for r in requests for e in json.loads(r.post_data)["events"]}
    stored = json.loads(e2e_server.manage("shell", "-c", STORED.format(pk=session_id)).strip().splitlines()[-1])
    assert sorted(stored["ids"]) == sorted(sent) and len(stored["ids"]) == len(set(stored["ids"]))
    kinds = stored["kinds"]
    assert kinds.count("progress") == 3 and kinds.count("skipped") == 2 and kinds.count("started") == 3
