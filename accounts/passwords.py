"""Password validators beyond Django's: context words and the shapes its list misses.

Django's validators (settings: minimum length 10, common passwords, similarity to the pseudonym
and e-mail, all-numeric) let through `passwordpassword` (a common password typed twice),
`password2026!` (a common password with digits and symbols around it) and Attune's own published
demo password. NIST SP 800-63B (5.1.1.2) asks to refuse "context-specific words, such as the
name of the service", repetitive or sequential characters, and passwords from breach lists.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SERVICE_WORDS: tuple[str, ...] = ("attune",)
PUBLISHED_PASSWORDS: tuple[str, ...] = ("attune-demo-2026",)  # the README's demo password


def _letters(password: str) -> str:
    return re.sub(r"[^a-z]", "", password.lower())


class ContextWordsValidator:
    """Refuses the demo password and passwords built on the service's name."""

    def validate(self, password: str, user=None) -> None:
        published = {p.lower() for p in (*PUBLISHED_PASSWORDS, getattr(settings, "DEMO_USERS_PASSWORD", ""))}
        if password.lower() in published - {""}:
            raise ValidationError(_("This password is published (it is the demo password)."), code="password_published")
        if any(word in _letters(password) for word in SERVICE_WORDS):
            raise ValidationError(_("The password may not contain the name of this site."), code="password_service_name")

    def get_help_text(self) -> str:
        return _("Your password can't be the demo password or contain the site's name.")


class PatternValidator:
    """Refuses a short unit repeated (`passwordpassword`, `abcabcabcabc`) and a common password
    with only digits or symbols added (`password2026!`)."""

    def __init__(self) -> None:
        self.common = CommonPasswordValidator().passwords

    def validate(self, password: str, user=None) -> None:
        lowered = password.lower()
        for size in range(1, len(lowered) // 2 + 1):
            if len(lowered) % size == 0 and lowered[:size] * (len(lowered) // size) == lowered:
                raise ValidationError(_("This password repeats the same few characters."), code="password_repeated")
        letters = _letters(password)
        if letters and (letters in self.common or any(
            len(letters) % n == 0 and letters[: len(letters) // n] * n == letters and letters[: len(letters) // n] in self.common
            for n in (2, 3, 4)
        )):
            raise ValidationError(_("This password is a common password with a few characters added."),
                                  code="password_common_variant")

    def get_help_text(self) -> str:
        return _("Your password can't be a common password repeated or with a few digits added.")
