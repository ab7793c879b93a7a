"""Browser test (issue 14, item 8): the log-in form asks for the pseudonym; a page that is not
open to the person answers 403 with a helpful page inside the site's layout."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import DEMO_PASSWORD, shot

pytestmark = pytest.mark.e2e


def test_login_says_pseudonym_and_403_is_helpful(e2e_server, page):
    page.goto("/accounts/login/")
    page.get_by_label("Pseudonym").fill("demo-participant")
    assert page.get_by_text("Username").count() == 0
    page.locator("#id_password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/dashboard/")
    response = page.goto("/clients/")
    assert response.status == 403
    box = page.get_by_test_id("error-403")
    expect(box).to_contain_text("This page is for therapists.")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    box.get_by_role("link", name="Go to your dashboard").click()
    page.wait_for_url("**/dashboard/")
    shot(page, "error-403-followed")
