"""Helpers for browser tests: launching Debian's Chromium, screenshots, logging in."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("ATTUNE_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling home on this closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_PASSWORD = os.environ.get("DEMO_USERS_PASSWORD", "attune-demo-2026")


def require_browser() -> None:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} not found: install Debian's chromium package (apt-get install chromium)"
        if os.environ.get("ATTUNE_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


def launch_chromium(playwright, extra_args: list[str] | None = None):
    require_browser()
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *(extra_args or [])]
    )


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/dashboard/")


def sign_up(page, pseudonym: str, password: str, mode: str = "Personal use") -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("Pseudonym").fill(pseudonym)
    page.locator("#id_password1").fill(password)
    page.locator("#id_password2").fill(password)
    page.get_by_label(mode).check()
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url("**/settings/consent/")


def wait_until(page, expression: str, arg=None, timeout: float = 15_000, interval_ms: int = 100) -> None:
    """`page.wait_for_function` that also works under the Content-Security-Policy: Playwright's
    own polling builds the predicate with eval() inside the page, which the policy (no
    'unsafe-eval') refuses; here the test process polls through page.evaluate instead."""
    from playwright.sync_api import Error

    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            if page.evaluate(expression, arg):
                return
        except Error as exc:  # a navigation replaced the document between two polls
            if "context was destroyed" not in str(exc) and "navigation" not in str(exc).lower():
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:.0f} ms waiting for: {expression}")
        page.wait_for_timeout(interval_ms)
