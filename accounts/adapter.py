"""allauth adapter.

- Pseudonyms are normalised (NFKC) and refused when they look like an existing pseudonym, an
  erased account's tombstone or a reserved word (accounts.services.pseudonym_clean).
- Failed log-ins are throttled per client IP and per (IP, pseudonym) pair, never per pseudonym
  alone: someone who types a person's pseudonym with wrong passwords is slowed down at their
  own address and cannot lock the real person out (ACCOUNT_RATE_LIMITS in settings; README,
  Security). The admin's log-in goes through this same log-in (config/urls.py).
"""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.core.exceptions import ValidationError

from accounts.services import pseudonym_clean


class AccountAdapter(DefaultAccountAdapter):
    def clean_username(self, username, shallow=False):
        try:
            username = pseudonym_clean(username=username)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None
        return super().clean_username(username, shallow=shallow)

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        # allauth keys its "login_failed" limit by the login alone; add the client address.
        return f"{super()._get_login_attempts_cache_key(request, **credentials)}@{self.get_client_ip(request)}"
