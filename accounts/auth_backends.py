"""Authentication backends: Django's and allauth's, with the per-request user read precompiled.

`get_user(user_id)` runs on every authenticated request (the session names the user). The
ORM's `.get(pk=...)` cost about 0.3 ms of CPU there; `RowReader` runs the statement the ORM
compiled once and makes the same User instance for about 0.1 ms (issue 16). Nothing is cached
between requests: a deactivated, erased or re-passworded account is seen on its next request,
as before. `authenticate()` and permissions are the parents' own.
"""

from __future__ import annotations

import functools

from allauth.account import auth_backends as allauth_backends
from django.contrib.auth import backends, get_user_model

from config.row_reader import RowReader


@functools.cache
def _users() -> RowReader:
    return RowReader(get_user_model(), "pk", prepared_as="attune_user_read")


class _ReadUserByKey:
    def get_user(self, user_id):
        user = _users().get(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None  # type: ignore[attr-defined]


class ModelBackend(_ReadUserByKey, backends.ModelBackend):
    """django.contrib.auth's ModelBackend (user name and password)."""


class AuthenticationBackend(_ReadUserByKey, allauth_backends.AuthenticationBackend):
    """allauth's backend (e-mail log-in, sign-up); used for sessions allauth starts."""
