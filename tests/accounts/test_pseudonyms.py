"""Defect 6 of issue 13: lookalike pseudonyms.

Accepted on today's main: `dеmo-therapist` (Cyrillic е), `ｄemo-therapist` (full-width),
`dem0-therapist`, `аdmin` (past the reserved-prefix check), and lookalikes of existing users
and of erased-account tombstones. Pseudonyms are now NFKC-normalised and refused when their
confusable skeleton (Unicode TR39) equals an existing one's or a reserved word's.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import pseudonyms
from accounts.models import User
from accounts.services import user_erase

PASSWORD = "a-long-unusual-passphrase-71"


def _signup(client, username: str):
    return client.post(reverse("account_signup"), {
        "username": username, "email": "", "password1": PASSWORD, "password2": PASSWORD, "mode": "personal",
    })


@pytest.mark.parametrize("a, b", [
    ("demo-therapist", "dеmo-therapist"),   # Cyrillic е
    ("demo-therapist", "ｄemo-therapist"),  # full-width d
    ("demo-therapist", "dem0-therapist"),   # digit zero
    ("admin", "аdmin"),                     # Cyrillic а
    ("quiet-otter", "QUIET-OTTER"),
    ("paypal", "pаypаl"),
    ("hello1", "hellol"),
])
def test_lookalikes_share_a_confusable_key(a, b):
    assert a != b and pseudonyms.confusable_key(a) == pseudonyms.confusable_key(b)


def test_different_names_keep_different_keys():
    names = ["quiet-otter", "quiet-otters", "loud-otter", "zoë", "zoe", "日本語", "anna_k"]
    assert len({pseudonyms.confusable_key(n) for n in names}) == len(names)


@pytest.mark.django_db
@pytest.mark.parametrize("attack", ["dеmo-therapist", "ｄemo-therapist", "dem0-therapist", "аdmin", "ADMIN-2",
                                    "Аdministrator", "rеsearcher"])
def test_signup_refuses_reserved_words_and_their_lookalikes(client, attack):
    response = _signup(client, attack)
    assert response.status_code == 200 and b"reserved" in response.content
    assert not User.objects.filter(username=attack).exists() and not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("attack", ["quiet-0tter", "quiеt-otter", "Quiet-Otter", "ｑuiet-otter", "quiet\u2010otter"])
def test_signup_refuses_lookalikes_of_an_existing_pseudonym(client, make_user, attack):
    make_user(username="quiet-otter")
    response = _signup(client, attack)
    assert response.status_code == 200
    assert b"looks too much like" in response.content or b"mixes alphabets" in response.content
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_signup_refuses_lookalikes_of_an_erased_accounts_tombstone(client, make_user):
    gone = make_user(username="soon-gone")
    user_erase(user=gone)
    gone.refresh_from_db()
    tombstone = gone.username
    lookalike = tombstone.replace("e", "е", 1)  # Cyrillic е
    assert _signup(client, lookalike).status_code == 200
    assert not User.objects.filter(username=lookalike).exists()


@pytest.mark.django_db
def test_signup_stores_the_nfkc_form_and_its_key(client):
    response = _signup(client, "ｑuiet-ｆox")
    assert response.status_code == 302
    user = User.objects.get()
    assert user.username == "quiet-fox" and user.username_skeleton == pseudonyms.confusable_key("quiet-fox")


@pytest.mark.django_db
def test_the_key_follows_a_rename(make_user):
    user = make_user(username="first-name")
    user.username = "second-name"
    user.save(update_fields=["username"])
    assert User.objects.get(pk=user.pk).username_skeleton == pseudonyms.confusable_key("second-name")
