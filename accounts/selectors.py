"""Reads on accounts, scoped by who asks."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.consent import PURPOSES
from accounts.models import Consent, ConsentEvent, User


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
