"""allauth adapter: pseudonyms are checked against tombstones and look-alikes of staff names."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django import forms


class AccountAdapter(DefaultAccountAdapter):
    reserved_prefixes = ("erased-", "demo-", "admin")

    def clean_username(self, username, shallow=False):
        username = super().clean_username(username, shallow=shallow)
        if username.lower().startswith(self.reserved_prefixes):
            raise forms.ValidationError("That pseudonym is reserved; please choose another.")
        return username
