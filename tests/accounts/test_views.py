"""Sign-up, consent page, settings, export and deletion through the HTTP client."""

from __future__ import annotations

import json

import pytest

from accounts.models import ConsentEvent, User
from accounts.selectors import consents_of

STRONG = "a-long-and-unusual-passphrase-42"


def signup(client, username, password=STRONG, password2=None, mode="personal", email=""):
    return client.post(
        "/accounts/signup/",
        {"username": username, "email": email, "password1": password, "password2": password2 or password, "mode": mode},
    )


@pytest.mark.django_db
def test_signup_creates_a_pseudonymous_user_and_goes_to_consent(client):
    response = signup(client, "calm-heron", mode="therapy")
    assert response.status_code == 302 and response["Location"] == "/settings/consent/"
    user = User.objects.get(username="calm-heron")
    assert user.mode == "therapy" and user.role == "participant" and not user.is_staff
    assert not hasattr(user, "first_name") or user.first_name is None
    assert not any(consents_of(user=user).values())


@pytest.mark.django_db
def test_duplicate_pseudonym_is_refused(client, make_user):
    make_user(username="taken-name")
    response = signup(client, "taken-name")
    assert response.status_code == 200
    assert b"already" in response.content.lower()
    assert User.objects.filter(username="taken-name").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("password", ["short", "password123", "1234567890123"])
def test_weak_passwords_are_refused(client, password):
    response = signup(client, "weak-pass-person", password=password)
    assert response.status_code == 200
    assert not User.objects.filter(username="weak-pass-person").exists()


@pytest.mark.django_db
def test_reserved_pseudonyms_are_refused(client):
    for name in ("erased-P-ABC", "demo-someone", "admin2"):
        response = signup(client, name)
        assert b"reserved" in response.content
    assert not User.objects.exists()


@pytest.mark.django_db
def test_login_rate_limit_is_on(client, make_user, settings):
    make_user(username="rate-limited", password=STRONG)
    bodies = [
        client.post("/accounts/login/", {"login": "rate-limited", "password": "wrong-password!"}).content
        for _ in range(8)
    ]
    assert b"Too many failed login attempts" not in bodies[0]
    assert b"Too many failed login attempts" in bodies[-1]
    # Even the right password is refused while the limit holds.
    response = client.post("/accounts/login/", {"login": "rate-limited", "password": STRONG})
    assert "_auth_user_id" not in client.session and response.status_code in (200, 429)


def test_consent_page_saves_choices(client, participant):
    client.force_login(participant)
    response = client.post("/settings/consent/", {"research_data": "on", "therapist_sharing": "on"})
    assert response.status_code == 302
    assert consents_of(user=participant) == {
        "research_data": True,
        "webcam_inference": False,
        "emotion_trace": False,
        "therapist_sharing": True,
    }
    # Unchecking on the settings page turns it off again and is audited.
    client.post("/settings/consent/", {"therapist_sharing": "on", "next": "settings"})
    assert consents_of(user=participant)["research_data"] is False
    assert ConsentEvent.objects.filter(user=participant).count() == 3


def test_forged_purpose_in_the_consent_form_is_ignored(client, participant):
    client.force_login(participant)
    client.post("/settings/consent/", {"sell_my_data": "on"})
    assert not any(consents_of(user=participant).values())


def test_settings_page_changes_mode_and_lists_history(client, participant):
    client.force_login(participant)
    assert client.post("/settings/", {"mode": "therapy"}).status_code == 302
    participant.refresh_from_db()
    assert participant.mode == "therapy"
    bad = client.post("/settings/", {"mode": "vip"})
    assert bad.status_code == 200 and b"Select a valid choice" in bad.content
    participant.refresh_from_db()
    assert participant.mode == "therapy"


def test_export_downloads_own_data_as_json(client, participant):
    client.force_login(participant)
    response = client.get("/settings/export.json")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["account"]["participant_code"] == participant.participant_code


def test_delete_requires_typing_the_pseudonym(client, participant):
    client.force_login(participant)
    response = client.post("/settings/delete/", {"confirm": "not-me"})
    assert response.status_code == 200
    participant.refresh_from_db()
    assert participant.erased_at is None


def test_delete_erases_and_logs_out_and_login_is_impossible(client, make_user):
    user = make_user(username="leaving-soon", password=STRONG)
    client.force_login(user)
    response = client.post("/settings/delete/", {"confirm": "leaving-soon"})
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 302  # logged out
    user.refresh_from_db()
    assert user.erased_at is not None
    response = client.post("/accounts/login/", {"login": "leaving-soon", "password": STRONG})
    assert response.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client.session


def test_dashboard_is_role_aware(client, participant, therapist, researcher):
    for user, marker in ((participant, b"dashboard-participant"), (therapist, b"dashboard-therapist"), (researcher, b"dashboard-researcher")):
        client.force_login(user)
        response = client.get("/dashboard/")
        assert marker in response.content
    client.force_login(researcher)
    assert b"Research admin" in client.get("/dashboard/").content
    client.force_login(participant)
    assert b"Research admin" not in client.get("/dashboard/").content


def test_researchers_are_staff_in_the_researchers_group(researcher):
    assert researcher.is_staff
    assert researcher.groups.filter(name="researchers").exists()


def test_researcher_admin_shows_codes_not_usernames(client, researcher, participant):
    client.force_login(researcher)
    assert client.get("/admin/").status_code == 200
    # The user list is for superusers only; researchers never browse pseudonyms.
    assert client.get("/admin/accounts/user/").status_code == 403
    assert client.get("/admin/accounts/consentevent/").status_code == 403
