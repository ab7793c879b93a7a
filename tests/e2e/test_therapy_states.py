"""Browser test (issue 14, item 5 and the demo): the demo therapist starts with a linked demo
client (shared sessions, a done assignment, an open one); a done assignment offers no Cancel;
Cancel and End the link ask first and do nothing until confirmed; once the link ends the
client is back in personal use and the therapist's page is gone."""

from __future__ import annotations

import pytest

from tests.e2e.browser import DEMO_PASSWORD, log_in, shot

pytestmark = pytest.mark.e2e

STATUSES = """
from therapy.models import Assignment
print(sorted(Assignment.objects.filter(client__username="demo-client").values_list("status", flat=True)))
"""


def test_demo_client_cancel_and_end_link_ask_first(demo_catalog, browser):
    server = demo_catalog
    out = server.manage("shell", "-c", "from therapy.demo import demo_step; print(demo_step())")
    assert "demo-client" in out

    def new_page():
        context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        return context.new_page()

    therapist, client = new_page(), new_page()
    log_in(therapist, "demo-therapist", DEMO_PASSWORD)
    therapist.goto("/clients/")
    therapist.get_by_role("link", name="demo-client").click()
    therapist.get_by_test_id("sharing-on").wait_for()
    assert "Much calmer" in therapist.get_by_test_id("outcomes-table").inner_text()
    table = therapist.get_by_test_id("assignment-table")
    rows = table.locator("tbody tr")
    assert rows.count() == 2
    done_row = rows.filter(has_text="Done")
    pending_row = rows.filter(has_text="Pending")
    assert done_row.count() == 1 and pending_row.count() == 1
    assert done_row.get_by_text("Cancel").count() == 0

    # Cancel asks first; nothing happens until confirmed
    cancel = pending_row.locator("details.confirm")
    confirm = cancel.get_by_role("button", name="Yes, cancel it")
    assert not confirm.is_visible()
    cancel.locator("summary").click()
    assert confirm.is_visible() and "withdrawn" in cancel.inner_text()
    shot(therapist, "therapy-cancel-confirm")
    assert server.manage("shell", "-c", STATUSES).strip().splitlines()[-1] == "['done', 'pending']"
    confirm.click()
    therapist.wait_for_url("**/clients/*/")
    assert server.manage("shell", "-c", STATUSES).strip().splitlines()[-1] == "['cancelled', 'done']"
    client_url = therapist.url

    # the client ends the link: asked first, then back in personal use
    log_in(client, "demo-client", DEMO_PASSWORD)
    assert "Therapy (with a therapist)" in client.locator("main").inner_text()
    client.goto("/settings/therapist/")
    end = client.get_by_test_id("end-link")
    end.locator("summary").click()
    assert client.get_by_test_id("end-link-confirm").is_visible()
    shot(client, "therapy-end-link-confirm")
    client.get_by_test_id("end-link-confirm").click()
    client.wait_for_url("**/settings/therapist/")
    assert "back in personal use" in client.locator(".messages").inner_text()
    client.goto("/dashboard/")
    assert "Therapy (with a therapist)" not in client.locator("main").inner_text()
    assert "Personal use" in client.locator("main").inner_text()
    assert therapist.goto(client_url).status == 404
    for p in (therapist, client):
        p.context.close()
