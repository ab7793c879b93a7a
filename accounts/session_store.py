"""The log-in session engine: Django's database sessions, in `accounts.LoginSession`, read
together with the account they are logged in as.

Everything but the read is Django's `sessions.backends.db` (create, save, delete, flush, the
expiry rules, `clearsessions`); saving also fills the row's `user` column from the session's
data. The read is the one every authenticated request makes: one precompiled statement
(config/row_reader.py) brings the session row and its account, where the ORM took two
statements and about 0.6 ms of CPU (issue 16). `account()` hands the account to
accounts/auth_middleware.py, which checks it exactly as Django does before using it.
"""

from __future__ import annotations

import functools

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import LoginSession, User
from config.row_reader import RowReader


@functools.cache
def _sessions() -> RowReader[LoginSession]:
    return RowReader(LoginSession, "session_key", related="user", prepared_as="attune_loginsession_read")


def _account_id(value) -> int | None:
    try:
        return User._meta.pk.to_python(value) if value is not None else None
    except ValidationError:
        return None


class SessionStore(db.SessionStore):
    _row: LoginSession | None = None

    @classmethod
    def get_model_class(cls):
        return LoginSession

    def create_model_instance(self, data):
        row = super().create_model_instance(data)
        row.user_id = _account_id(data.get(SESSION_KEY))
        return row

    def _get_session_from_db(self):
        row = _sessions().get(self.session_key) if self.session_key else None
        if row is None or row.expire_date <= timezone.now():  # as Django's: expire_date__gt=now
            self._session_key = None
            row = None
        self._row = row
        return row

    def account(self) -> User | None:
        """The account the stored row names, as read with the session (None if the session was
        not read from the database, is new, or names no account). Not checked: see
        accounts/auth_middleware.py."""
        if self._row is None or self._row.session_key != self.session_key:
            return None
        return self._row.user
