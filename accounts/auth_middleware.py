"""request.user from the account the session read brought along: one statement for both.

Django's AuthenticationMiddleware reads the session, then asks the session's backend for the
user: a second statement on every authenticated request. Here, when the session store already
read the account with the session (accounts/session_store.py), that account is used, after the
same checks `django.contrib.auth.get_user` makes: the session names this account and one of the
configured backends, the backend would let the account in (active), and the session's hash
matches the account's current password hash. In every other case (no account read, a hash
that only a fallback secret verifies, anything unexpected) Django's own `get_user` decides,
with its fallback-key rotation and session flush. So a log-out, a changed password, a
deactivated or erased account end access on the next request exactly as before.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject


def session_user(request):
    session = request.session
    user_id = session.get(SESSION_KEY)  # reads the session (with this project's store, and its account)
    account = session.account() if user_id is not None and hasattr(session, "account") else None
    if account is not None and str(account.pk) == str(user_id):
        backend_path = session.get(BACKEND_SESSION_KEY, "")
        session_hash = session.get(HASH_SESSION_KEY) or ""
        if (
            backend_path in settings.AUTHENTICATION_BACKENDS
            and load_backend(backend_path).user_can_authenticate(account)
            and session_hash
            and constant_time_compare(session_hash, account.get_session_auth_hash())
        ):
            return account
    return auth.get_user(request)


def _cached_user(request):
    if not hasattr(request, "_cached_user"):
        request._cached_user = session_user(request)
    return request._cached_user


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    def process_request(self, request):
        super().process_request(request)  # its checks, and request.auser for async views
        request.user = SimpleLazyObject(lambda: _cached_user(request))
