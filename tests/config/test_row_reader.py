"""The precompiled per-request reads (config/row_reader.py): the log-in session and the user.

They must give what the ORM's `.get()` gives, field for field, on SQLite and on PostgreSQL
(CI runs both), and they must not change what a log-in session means: log-out, an expired
session, a changed password, a deactivated or erased account all end access on the next
request, because nothing is cached between requests.
"""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import connections
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.auth_backends import ModelBackend
from accounts.auth_middleware import AuthenticationMiddleware
from accounts.models import LoginSession, User
from accounts.services import user_erase
from accounts.session_store import SessionStore
from config.row_reader import RowReader

pytestmark = pytest.mark.django_db


def fields_of(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_a_user_read_by_key_is_the_user_the_orm_reads(participant):
    participant.last_login = timezone.now()
    participant.save()
    read = RowReader(User).get(participant.pk)
    assert fields_of(read) == fields_of(User.objects.get(pk=participant.pk))
    assert read._state.adding is False and read._state.db == "default"
    assert timezone.is_aware(read.date_joined) and read.is_active is True


def test_a_session_read_by_key_is_the_session_the_orm_reads(participant):
    client = Client()
    client.force_login(participant)
    key = client.session.session_key
    read = RowReader(LoginSession, "session_key").get(key)
    assert fields_of(read) == fields_of(LoginSession.objects.get(session_key=key))
    assert read.get_decoded()[SESSION_KEY] == str(participant.pk)


@pytest.mark.parametrize("key", [None, "", "abc", "12.5", 10**30, [1], "1; DROP TABLE accounts_user"])
def test_a_missing_or_malformed_key_finds_nothing(participant, key):
    assert RowReader(User).get(key) is None


def test_each_thread_reads_on_its_own_connection(participant):
    reader, seen = RowReader(User), []
    assert reader.get(participant.pk) is not None

    def other_thread():
        seen.append(connections["default"])  # the thread's own connection object

    t = threading.Thread(target=other_thread)
    t.start()
    t.join()
    assert seen[0] is not connections["default"]  # so one statement per connection object is kept


def test_an_inactive_user_is_not_let_in_by_the_backend(participant):
    assert ModelBackend().get_user(participant.pk) == participant
    User.objects.filter(pk=participant.pk).update(is_active=False)  # a write without save() is seen too
    assert ModelBackend().get_user(participant.pk) is None
    assert ModelBackend().get_user(participant.pk + 999) is None


@pytest.fixture
def logged_in(participant):
    client = Client()
    assert client.login(username=participant.username, password="correct-horse-battery-9")
    assert client.get("/api/me/").status_code == 200
    return client


def test_log_out_ends_the_session_on_the_next_request(logged_in):
    cookie = logged_in.cookies["sessionid"].value
    logged_in.post("/accounts/logout/")
    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert replay.get("/api/me/").status_code == 403
    assert SessionStore(cookie).load() == {}


def test_an_expired_session_lets_nobody_in(logged_in):
    key = logged_in.cookies["sessionid"].value
    LoginSession.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert logged_in.get("/api/me/").status_code == 403


def test_a_changed_password_ends_other_sessions(logged_in, participant):
    participant.set_password("another-long-passphrase-7")
    participant.save()
    assert logged_in.get("/api/me/").status_code == 403


def test_a_deactivated_account_is_refused_on_its_next_request(logged_in, participant):
    User.objects.filter(pk=participant.pk).update(is_active=False)
    assert logged_in.get("/api/me/").status_code == 403


def test_an_erased_account_is_logged_out_everywhere(logged_in, participant):
    user_erase(user=participant)
    assert logged_in.get("/api/me/").status_code == 403
    assert not LoginSession.objects.exists()


# --- the session and its account in one statement -------------------------------------------


def test_a_session_read_with_its_account_is_what_select_related_reads(participant):
    client = Client()
    client.force_login(participant)
    key = client.session.session_key
    read = RowReader(LoginSession, "session_key", related="user").get(key)
    orm = LoginSession.objects.select_related("user").get(session_key=key)
    assert fields_of(read) == fields_of(orm) and read.user_id == participant.pk
    with CaptureQueriesContext(connections["default"]) as queries:
        assert fields_of(read.user) == fields_of(orm.user)
    assert len(queries) == 0  # the account came with the session


def test_a_session_without_an_account_reads_as_none(participant):
    store = SessionStore()
    store["django_language"] = "nb"
    store.create()
    row = LoginSession.objects.get(session_key=store.session_key)
    assert row.user_id is None
    read = RowReader(LoginSession, "session_key", related="user").get(store.session_key)
    assert read.user is None and SessionStore(store.session_key).load() == {"django_language": "nb"}


def _request_with_session(key):
    request = RequestFactory().get("/")
    request.COOKIES["sessionid"] = key
    SessionMiddleware(lambda r: None).process_request(request)
    AuthenticationMiddleware(lambda r: None).process_request(request)
    return request


def test_an_authenticated_request_reads_session_and_account_in_one_statement(logged_in, participant):
    request = _request_with_session(logged_in.cookies["sessionid"].value)
    with CaptureQueriesContext(connections["default"]) as queries:
        assert request.user == participant and request.user.is_authenticated
    statements = [q["sql"] for q in queries if not q["sql"].startswith("PREPARE")]  # PostgreSQL, once per connection
    assert len(statements) == 1, statements


@pytest.mark.parametrize("change", ["password", "inactive", "unknown backend", "no hash", "other account"])
def test_every_check_django_makes_still_refuses(logged_in, participant, make_user, change):
    key = logged_in.cookies["sessionid"].value
    store = SessionStore(key)
    if change == "password":
        participant.set_password("a-new-long-passphrase-3")
        participant.save()
    elif change == "inactive":
        User.objects.filter(pk=participant.pk).update(is_active=False)
    elif change == "unknown backend":
        store["_auth_user_backend"] = "django.contrib.auth.backends.RemoteUserBackend"
        store.save()
    elif change == "no hash":
        del store["_auth_user_hash"]
        store.save()
    elif change == "other account":  # the row's account column and the data disagree
        LoginSession.objects.filter(session_key=key).update(user=make_user("participant"))
        User.objects.filter(pk=participant.pk).update(is_active=False)
    request = _request_with_session(key)
    assert not request.user.is_authenticated


def test_a_session_signed_under_a_retired_secret_still_lets_in_and_is_rotated(logged_in, participant, settings):
    key = logged_in.cookies["sessionid"].value
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "y" * 40
    store = SessionStore(key)
    store["_auth_user_hash"] = participant._get_session_auth_hash(secret=settings.SECRET_KEY_FALLBACKS[0])
    store.save()
    request = _request_with_session(key)
    assert request.user == participant  # Django's own path: verified by the fallback key
    assert request.session["_auth_user_hash"] == participant.get_session_auth_hash()  # and re-hashed
