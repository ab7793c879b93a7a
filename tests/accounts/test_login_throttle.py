"""Defect 4 of issue 13: the admin log-in had no brute-force limit (40 wrong passwords were
processed, then the right one accepted), and the site's per-pseudonym lock-out let anyone lock
a person out with five wrong passwords. Now the admin log-in is the site's log-in, and failed
log-ins are throttled per client IP and per (IP, pseudonym) pair."""

from __future__ import annotations

import pytest
from django.urls import reverse

PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def staff(researcher):
    return researcher


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_admin_login_form_checks_no_password_and_sends_to_the_throttled_login(client, staff):
    for _ in range(40):
        client.post(reverse("admin:login"), {"username": staff.username, "password": "wrong-guess"})
    answer = client.post(reverse("admin:login"), {"username": staff.username, "password": PASSWORD,
                                                  "next": "/admin/"})
    assert not _logged_in(client)
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("account_login"))


def test_brute_force_through_the_site_login_is_stopped_for_admins_too(client, staff):
    url = reverse("account_login")
    for _ in range(40):
        client.post(url, {"login": staff.username, "password": "wrong-guess"}, REMOTE_ADDR="203.0.113.9")
    client.post(url, {"login": staff.username, "password": PASSWORD}, REMOTE_ADDR="203.0.113.9")
    assert not _logged_in(client), "the right password after 40 wrong ones from the same address must not pass"


def test_wrong_passwords_from_elsewhere_do_not_lock_the_person_out(client, staff):
    url = reverse("account_login")
    for _ in range(8):
        client.post(url, {"login": staff.username, "password": "wrong-guess"}, REMOTE_ADDR="198.51.100.7")
    answer = client.post(url, {"login": staff.username, "password": PASSWORD, "next": "/admin/"},
                         REMOTE_ADDR="192.0.2.44")
    assert answer.status_code == 302 and _logged_in(client)
    assert client.get("/admin/").status_code == 200


def test_one_address_is_limited_across_pseudonyms(client, make_user):
    url = reverse("account_login")
    people = [make_user(username=f"person-{i}") for i in range(12)]
    for person in people[:11]:
        client.post(url, {"login": person.username, "password": "wrong-guess"}, REMOTE_ADDR="203.0.113.50")
    client.post(url, {"login": people[11].username, "password": PASSWORD}, REMOTE_ADDR="203.0.113.50")
    assert not _logged_in(client), "more than 10 failures a minute from one address stop that address"
