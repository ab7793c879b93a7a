"""Reads on accounts, scoped by who asks."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.consent import PURPOSES, is_purpose
from accounts.models import ClientProfile, Consent, ConsentEvent, User


def has_consent(user: Any, purpose: str) -> bool:
    """The one answer to "may I?": True only if this person turned `purpose` on and is active."""
    if not is_purpose(purpose):
        raise ValueError(f"Unknown consent purpose: {purpose!r}")
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    # An erased account keeps only `research_data` (if it was on): the person chose that
    # their ratings and sessions may stay in studies, keyed by participant code.
    return Consent.objects.filter(user_id=user.pk, purpose=purpose, granted=True).exists()


def consents_of(*, user: User) -> dict[str, bool]:
    """Every purpose with its current state; purposes never touched are off."""
    granted = dict(Consent.objects.filter(user=user).values_list("purpose", "granted"))
    return {p: bool(granted.get(p, False)) for p in PURPOSES}


def consent_history_of(*, user: User) -> QuerySet[ConsentEvent]:
    return ConsentEvent.objects.filter(user=user).order_by("-created_at", "-id")


def users_with_consent(*, purpose: str) -> QuerySet[User]:
    """People whose `purpose` is on (research exports, aggregation). Erased accounts keep
    only `research_data`, so their ratings stay in studies under the participant code."""
    return User.objects.filter(consents__purpose=purpose, consents__granted=True)


def profile_of(*, user: User) -> ClientProfile | None:
    return ClientProfile.objects.filter(user=user).first()
