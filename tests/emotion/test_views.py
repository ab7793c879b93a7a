"""The mood check page."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from emotion.vocab import FER, GEMS

pytestmark = pytest.mark.django_db


def config(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="emotion-config" type="application/json">') + len(
        '<script id="emotion-config" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_login_required(client):
    response = client.get(reverse("emotion:mood-check"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_with_consent_the_camera_can_start(client, make_user):
    client.force_login(make_user(webcam_inference=True))
    response = client.get(reverse("emotion:mood-check"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="camera-start">' in html  # not disabled
    assert 'data-testid="camera-indicator" data-state="off"' in html
    cfg = config(response)
    assert cfg["cameraAllowed"] is True and cfg["wsPath"] == "/ws/emotion/"
    assert (cfg["width"], cfg["height"], cfg["quality"]) == (320, 240, 0.7) and 2 <= cfg["fps"] <= 4
    assert [e["name"] for e in cfg["expressions"]] == list(FER)
    for name in FER:
        assert f'data-testid="bar-{name}"' in html
    assert "js/webcam.js" in html and "css/emotion.css" in html


def test_without_consent_the_page_explains_and_links_to_consent(client, participant):
    client.force_login(participant)
    response = client.get(reverse("emotion:mood-check"))
    html = response.content.decode()
    assert config(response)["cameraAllowed"] is False
    assert 'data-testid="camera-start" disabled' in html
    assert "not allowed webcam mood reading" in html and f'href="{reverse("consent")}"' in html


def test_self_report_offers_the_nine_gems_feelings(client, participant):
    client.force_login(participant)
    html = client.get(reverse("emotion:mood-check")).content.decode()
    for name in GEMS:
        assert f'data-gems="{name}"' in html
    assert html.count('aria-pressed="false"') == len(GEMS)


def test_only_get(client, participant):
    client.force_login(participant)
    assert client.post(reverse("emotion:mood-check")).status_code == 405


def test_navigation_links_the_page(client, participant):
    client.force_login(participant)
    html = client.get(reverse("emotion:mood-check")).content.decode()
    assert f'href="{reverse("emotion:mood-check")}" aria-current="page"' in html


def test_dashboard_panel_tells_whether_the_camera_is_allowed(client, make_user):
    user = make_user(webcam_inference=True)
    client.force_login(user)
    html = client.get(reverse("dashboard")).content.decode()
    assert 'id="panel-mood-check"' in html and "Camera mood reading is on" in html
    assert reverse("emotion:mood-check") in html
    client.force_login(make_user())
    html = client.get(reverse("dashboard")).content.decode()
    assert "Camera mood reading is off" in html and reverse("consent") in html


def test_dashboard_panel_is_for_participants_only(client, researcher):
    client.force_login(researcher)
    assert 'id="panel-mood-check"' not in client.get(reverse("dashboard")).content.decode()
