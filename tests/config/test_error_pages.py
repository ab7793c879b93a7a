"""Under DEBUG (make run), a participant's bad link gets the site's 404/403 page, not Django's
technical page; staff still get the technical one; the API keeps its JSON."""

from __future__ import annotations

import pytest
from django.urls import reverse


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    return settings


def test_an_unknown_address_shows_the_sites_404_under_debug(debug, client, make_user):
    client.force_login(make_user("participant"))
    response = client.get("/no/such/page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "NONE,NOARCHIVE" not in body and "Using the URLconf" not in body
    assert reverse("dashboard") in body  # the helpful page, in the site's layout
    assert "/no/such/page/" in body


def test_a_views_404_keeps_its_reason_under_debug(debug, client, make_user):
    client.force_login(make_user("participant"))
    response = client.get(reverse("listening:session-play", args=[987654]))
    assert response.status_code == 404
    assert "NONE,NOARCHIVE" not in response.content.decode()


def test_a_403_is_the_sites_page_under_debug(debug, client, make_user):
    client.force_login(make_user("participant"))
    response = client.get(reverse("therapy:therapist-clients"))
    body = response.content.decode()
    assert response.status_code == 403
    assert "NONE,NOARCHIVE" not in body and reverse("dashboard") in body


def test_staff_still_see_the_technical_page(debug, client, make_user):
    staff = make_user("researcher")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client.force_login(staff)
    response = client.get("/no/such/page/")
    assert response.status_code == 404 and "Using the URLconf" in response.content.decode()


def test_the_api_keeps_its_json_404_under_debug(debug, client, make_user):
    client.force_login(make_user("participant"))
    response = client.get("/api/no-such-endpoint/")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
