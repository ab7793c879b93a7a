"""Defect 8 of issue 13 (passwords): `passwordpassword` and the published demo password were
accepted for new accounts. Django's validators stay (length 10, common list, similarity to the
pseudonym); Attune's own refuse the demo password, the site's name and common-password variants."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User


def _signup(client, password: str, username: str = "new-person"):
    return client.post(reverse("account_signup"), {
        "username": username, "email": "", "password1": password, "password2": password, "mode": "personal",
    })


@pytest.mark.django_db
@pytest.mark.parametrize("password", [
    "passwordpassword", "attune-demo-2026", "ATTUNE-DEMO-2026", "password2026!", "my-attune-password-7",
    "abcabcabcabc", "short-9", "new-person-2026", "1234567890123",
])
def test_weak_and_published_passwords_are_refused(client, password):
    response = _signup(client, password)
    assert response.status_code == 200 and b"errorlist" in response.content
    assert not User.objects.exists()


@pytest.mark.django_db
def test_a_long_unusual_passphrase_is_accepted(client):
    assert _signup(client, "heron-lantern-copper-52").status_code == 302
    assert User.objects.filter(username="new-person").exists()
