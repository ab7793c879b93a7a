"""The change of session engine (issue 16) logs nobody out: live sessions move from
django.contrib.sessions' table into accounts.LoginSession with their account named, the stock
backends' names become this project's, expired ones stay behind, and the way back restores them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.base import SessionBase
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

BEFORE = [("accounts", "0005_therapists_moved_to_therapy"), ("sessions", "0001_initial")]
MOVE = [("accounts", "0007_move_login_sessions")]


class Codec(SessionBase):
    __qualname__ = "SessionStore"  # both engines' salt


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_live_sessions_move_with_their_account_and_back():
    old = _migrate(BEFORE)
    User = old.get_model("accounts", "User")
    user = User.objects.create(username="mig-session", role="participant", participant_code="P-MIGS0001", is_active=True)
    Session = old.get_model("sessions", "Session")
    later, earlier = timezone.now() + timedelta(days=1), timezone.now() - timedelta(days=1)
    data = {"_auth_user_id": str(user.pk), "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": "h" * 64, "django_language": "nb"}
    Session.objects.create(session_key="live" + "a" * 28, session_data=Codec().encode(data), expire_date=later)
    Session.objects.create(session_key="anon" + "b" * 28, session_data=Codec().encode({"x": 1}), expire_date=later)
    Session.objects.create(session_key="gone" + "c" * 28, session_data=Codec().encode(data), expire_date=earlier)

    new = _migrate(MOVE)
    LoginSession = new.get_model("accounts", "LoginSession")
    assert new.get_model("sessions", "Session").objects.count() == 0
    moved = {s.session_key: s for s in LoginSession.objects.all()}
    assert set(moved) == {"live" + "a" * 28, "anon" + "b" * 28}
    live = moved["live" + "a" * 28]
    assert live.user_id == user.pk and moved["anon" + "b" * 28].user_id is None
    decoded = Codec().decode(live.session_data)
    assert decoded == {**data, "_auth_user_backend": "accounts.auth_backends.ModelBackend"}

    back = _migrate(BEFORE)
    restored = back.get_model("sessions", "Session").objects.get(session_key="live" + "a" * 28)
    assert Codec().decode(restored.session_data) == data
    assert "accounts_loginsession" not in connection.introspection.table_names()
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db
def test_a_log_in_names_its_account_on_the_row_and_log_out_removes_it(participant):
    from accounts.models import LoginSession

    client = Client()
    assert client.login(username=participant.username, password="correct-horse-battery-9")
    row = LoginSession.objects.get()
    assert row.user_id == participant.pk
    client.post("/accounts/logout/")
    assert not LoginSession.objects.filter(user=participant).exists()
