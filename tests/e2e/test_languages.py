"""Two languages in real Chromium (issue 14): the switcher works on a phone, the choice sticks,
and the scripts speak Norwegian through the JavaScript catalog under the site's strict CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.config.test_i18n import compiled_catalogue  # noqa: F401 - fixture: builds the .mo files
from tests.e2e.browser import DEMO_PASSWORD, log_in, shot, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def phone(browser, e2e_server):
    context = browser.new_context(base_url=e2e_server.url, viewport={"width": 390, "height": 844},
                                  locale="en-GB", is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def test_switcher_on_a_phone_and_norwegian_scripts(phone, compiled_catalogue):  # noqa: F811
    page = phone
    log_in(page, "demo-participant", DEMO_PASSWORD)
    assert page.locator("html").get_attribute("lang") == "en"
    select = page.get_by_label("Language")
    select.scroll_into_view_if_needed()
    box = select.bounding_box()
    assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= 390  # a finger-sized control on screen
    select.select_option("nb")
    page.get_by_role("button", name="Change language").click()
    page.wait_for_url("**/dashboard/")
    assert page.locator("html").get_attribute("lang") == "nb"
    expect(page.get_by_role("navigation", name="Hovedmeny").get_by_role("link", name="Innstillinger")).to_be_visible()
    shot(page, "i18n-dashboard-nb-phone")

    # the choice sticks, and the mood check's script answers in Norwegian (gettext from jsi18n/)
    page.goto("/mood-check/")
    assert page.locator("html").get_attribute("lang") == "nb"
    wait_until(page, "typeof window.gettext === 'function' && gettext('Camera off') === 'Kamera av'")
    page.get_by_test_id("gems-peacefulness").click()
    expect(page.get_by_test_id("self-report")).to_have_text("Du sa: Fredfullhet.")
    expect(page.locator("#va-caption")).to_contain_text("som du sa")
    shot(page, "i18n-moodcheck-nb-phone")

    # the new-session page's mood pad describes the point in Norwegian
    page.goto("/sessions/new/")
    page.get_by_test_id("current-gems-sadness").check()
    expect(page.locator('[data-mood-prefix="current"] [data-role="summary"]')).to_contain_text("Punktet ditt: valens")
    assert page.js_errors == []  # type: ignore[attr-defined]

    # and back to English
    page.get_by_label("Språk").select_option("en")
    page.get_by_role("button", name="Bytt språk").click()
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.get_by_role("heading", level=1)).to_have_text("New listening session")
