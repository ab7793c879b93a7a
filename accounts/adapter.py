"""allauth adapter: pseudonyms are normalised (NFKC) and refused when they look like an existing
pseudonym, an erased account's tombstone or a reserved word (accounts.services.pseudonym_clean)."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.core.exceptions import ValidationError


class AccountAdapter(DefaultAccountAdapter):
    def clean_username(self, username, shallow=False):
        from accounts.services import pseudonym_clean

        try:
            username = pseudonym_clean(username=username)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None
        return super().clean_username(username, shallow=shallow)
