"""Reads on accounts, scoped by who asks."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from accounts.consent import PURPOSES
from accounts.models import ClientProfile, Consent, ConsentEvent, TherapistInvite, TherapistLink, TherapistNote, User


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


# --- Therapists ------------------------------------------------------------------------------


def is_linked(*, therapist: User, client: User) -> bool:
    return TherapistLink.objects.filter(therapist=therapist, client=client, ended_at__isnull=True).exists()


def therapist_may_see_sessions(*, therapist: User, client: User) -> bool:
    """The one rule: an active link AND the client's `therapist_sharing` consent."""
    from accounts.services import has_consent

    return (
        therapist.is_authenticated
        and therapist.is_therapist
        and is_linked(therapist=therapist, client=client)
        and has_consent(client, "therapist_sharing")
    )


def clients_of(*, therapist: User) -> QuerySet[TherapistLink]:
    """Active links of this therapist (a therapist never sees anyone else), each annotated
    with `sharing`: whether the client's therapist_sharing consent is on (one query)."""
    if not therapist.is_therapist:
        return TherapistLink.objects.none()
    sharing = Exists(
        Consent.objects.filter(user=OuterRef("client"), purpose="therapist_sharing", granted=True)
    )
    return (
        TherapistLink.objects.filter(therapist=therapist, ended_at__isnull=True)
        .select_related("client")
        .annotate(sharing=sharing)
    )


def client_link_for(*, therapist: User, link_id: int) -> TherapistLink | None:
    return clients_of(therapist=therapist).filter(pk=link_id).first()


def therapists_of(*, client: User) -> QuerySet[TherapistLink]:
    return TherapistLink.objects.filter(client=client, ended_at__isnull=True).select_related("therapist")


def open_invites_of(*, therapist: User) -> QuerySet[TherapistInvite]:
    from django.utils import timezone

    return TherapistInvite.objects.filter(
        therapist=therapist, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def notes_for(*, therapist: User, client: User) -> QuerySet[TherapistNote]:
    return TherapistNote.objects.filter(therapist=therapist, client=client)


def profile_of(*, user: User) -> ClientProfile | None:
    return ClientProfile.objects.filter(user=user).first()
