"""GET /api/me/ and PATCH /api/me/consents/, including every bad input."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from accounts.models import ConsentEvent
from accounts.selectors import consents_of


@pytest.fixture
def api(participant):
    client = APIClient()
    client.force_login(participant)
    return client


def test_me_returns_pseudonym_role_mode_and_consents(api, participant):
    response = api.get("/api/me/")
    assert response.status_code == 200
    assert response.json() == {
        "pseudonym": participant.username,
        "participant_code": participant.participant_code,
        "role": "participant",
        "mode": "personal",
        "consents": {
            "research_data": False,
            "webcam_inference": False,
            "emotion_trace": False,
            "therapist_sharing": False,
        },
    }


def test_patch_consents_changes_and_audits(api, participant):
    response = api.patch("/api/me/consents/", {"research_data": True, "emotion_trace": True}, format="json")
    assert response.status_code == 200
    assert response.json()["research_data"] is True
    assert consents_of(user=participant)["emotion_trace"] is True
    assert ConsentEvent.objects.filter(user=participant).count() == 2


@pytest.mark.parametrize(
    "body, message",
    [
        ({"sell_my_data": True}, "Unknown consent purpose"),
        ({"research_data": "yes"}, "true or false"),
        ({"research_data": 1}, "true or false"),
        ({}, "Nothing to change"),
        (["research_data"], "JSON object"),
    ],
)
def test_bad_consent_patches_are_400_and_change_nothing(api, participant, body, message):
    response = api.patch("/api/me/consents/", body, format="json")
    assert response.status_code == 400
    assert message in json.dumps(response.json())
    assert not any(consents_of(user=participant).values())
    assert not ConsentEvent.objects.exists()


def test_malformed_json_is_400(api):
    response = api.generic("PATCH", "/api/me/consents/", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_oversized_body_is_rejected(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = api.generic(
        "PATCH", "/api/me/consents/", json.dumps({"research_data": True, "pad": "x" * 5000}), content_type="application/json"
    )
    assert response.status_code in (400, 413)


def test_anonymous_calls_are_refused_with_a_message():
    client = APIClient()
    for method, url in (("get", "/api/me/"), ("patch", "/api/me/consents/")):
        response = getattr(client, method)(url, {"research_data": True}, format="json")
        assert response.status_code == 403
        assert "credentials" in response.json()["detail"]


def test_one_user_cannot_change_another_users_consents(make_user):
    alice, mallory = make_user(), make_user()
    client = APIClient()
    client.force_login(mallory)
    # There is no user id in the URL to forge; extra fields naming someone else are rejected.
    response = client.patch("/api/me/consents/", {"research_data": True, "user": alice.pk}, format="json")
    assert response.status_code == 400
    assert not consents_of(user=alice)["research_data"]
    assert not consents_of(user=mallory)["research_data"]


def test_csrf_is_enforced_for_session_api_writes(participant):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(participant)
    response = client.patch("/api/me/consents/", {"research_data": True}, format="json")
    assert response.status_code == 403
    assert not consents_of(user=participant)["research_data"]


def test_openapi_schema_and_offline_docs_are_served(api):
    schema = api.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/me/consents/" in schema.content
    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
    assert b"swagger-ui" in docs.content
