"""Mood check in real Chromium with a fake camera that films scikit-image's astronaut."""

from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.e2e.browser import DEMO_PASSWORD, launch_chromium, log_in, shot, sign_up, wait_until

pytestmark = pytest.mark.e2e


def write_y4m(path, frames: int = 10) -> None:
    """A 320x240 4:2:0 Y4M video of the astronaut's smiling face (Chromium loops it)."""
    import cv2
    from skimage import data

    image = cv2.resize(
        cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[:384], (320, 240), interpolation=cv2.INTER_AREA
    )
    yuv = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)  # Y plane, then U, then V
    assert yuv.shape == (360, 320) and yuv.dtype == np.uint8
    with open(path, "wb") as fh:
        fh.write(b"YUV4MPEG2 W320 H240 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            fh.write(b"FRAME\n")
            fh.write(yuv.tobytes())


@pytest.fixture(scope="module")
def camera_browser(playwright_instance, tmp_path_factory):
    video = tmp_path_factory.mktemp("camera") / "astronaut.y4m"
    write_y4m(video)
    browser = launch_chromium(
        playwright_instance,
        [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    yield browser
    browser.close()


@pytest.fixture
def camera_page(camera_browser, e2e_server):
    context = camera_browser.new_context(base_url=e2e_server.url, viewport={"width": 1200, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def test_fake_camera_astronaut_reads_happy(camera_page, e2e_server):
    page = camera_page
    log_in(page, "demo-participant", DEMO_PASSWORD)  # has the webcam_inference consent
    page.goto("/mood-check/")
    indicator = page.get_by_test_id("camera-indicator")
    assert indicator.get_attribute("data-state") == "off"
    page.get_by_test_id("camera-start").click()
    wait_until(page, "document.querySelector('[data-testid=camera-indicator]').dataset.state === 'on'")
    assert "Camera on" in indicator.inner_text()
    expect(page.get_by_test_id("camera-stop")).to_be_visible()
    expect(page.get_by_test_id("camera-start")).to_be_hidden()
    # The first frame may wait for the server to load TensorFlow and the network.
    wait_until(page, "document.getElementById('stable-mood').dataset.label === 'happy'", timeout=120_000)
    assert "happy" in page.get_by_test_id("stable-mood").inner_text()
    happy = int(page.get_by_test_id("bar-happy").get_attribute("aria-valuenow"))
    assert happy >= 50
    assert re.search(r"Answered in \d+ ms", page.get_by_test_id("camera-status").inner_text())
    assert not page.locator("#mood-dot").get_attribute("hidden")
    shot(page, "emotion-moodcheck-happy")

    page.get_by_test_id("camera-stop").click()
    assert indicator.get_attribute("data-state") == "off"
    expect(page.get_by_test_id("camera-start")).to_be_visible()
    expect(page.get_by_test_id("camera-stop")).to_be_hidden()
    assert "Nothing was recorded" in page.get_by_test_id("camera-status").inner_text()
    assert page.js_errors == []


def test_without_consent_the_camera_stays_off_and_self_report_works(camera_page, e2e_server):
    page = camera_page
    sign_up(page, "camera-shy", "a-long-and-unusual-passphrase-43")
    page.get_by_test_id("save-consent").click()  # everything left off
    page.goto("/mood-check/")
    reason = page.get_by_test_id("camera-reason")
    expect(reason).to_be_visible()
    expect(reason).to_contain_text("not allowed webcam mood reading")
    assert reason.get_by_role("link", name="your consent settings").get_attribute("href") == "/settings/consent/"
    assert page.get_by_test_id("camera-start").is_disabled()

    button = page.get_by_test_id("gems-peacefulness")
    button.click()
    assert button.get_attribute("aria-pressed") == "true"
    assert page.get_by_test_id("gems-tension").get_attribute("aria-pressed") == "false"
    assert "Peacefulness" in page.get_by_test_id("self-report").inner_text()
    assert "as you said" in page.locator("#va-caption").inner_text()
    shot(page, "emotion-moodcheck-no-consent")
    assert page.js_errors == []


def test_without_a_camera_the_page_says_why(page, e2e_server):
    """The harness's plain browser has no fake camera: getUserMedia fails and the page explains."""
    log_in(page, "demo-participant", DEMO_PASSWORD)
    page.goto("/mood-check/")
    page.get_by_test_id("camera-start").click()
    reason = page.get_by_test_id("camera-reason")
    reason.wait_for(state="visible")
    text = reason.inner_text()
    assert "permission was denied" in text or "no usable camera" in text or "could not be started" in text
    assert page.get_by_test_id("camera-indicator").get_attribute("data-state") == "off"
    expect(page.get_by_test_id("gems-wonder")).to_be_visible()
    assert page.js_errors == []
