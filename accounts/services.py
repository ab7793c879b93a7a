"""Writes on accounts: consent changes (audited), data export, erasure, demo users."""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.models import EmailAddress
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts import privacy, pseudonyms
from accounts.consent import PURPOSES, is_purpose
from accounts.models import ClientProfile, Consent, ConsentEvent, LoginSession, Mode, Role, User
from accounts.selectors import consents_of, has_consent

logger = logging.getLogger(__name__)

RESEARCHERS_GROUP = "researchers"
THERAPISTS_GROUP = "therapists"


def consent_group_name(user_id: int) -> str:
    """Channel-layer group that every open socket of this user joins to hear consent changes."""
    return f"consent.user.{user_id}"


def consent_set(*, user: User, purpose: str, granted: bool, text_version: str | None = None) -> Consent:
    """Turn one consent on or off, appending to the audit log when it changes."""
    if not is_purpose(purpose):
        raise ValidationError({"purpose": f"Unknown consent purpose {purpose!r}; expected one of {', '.join(PURPOSES)}."})
    if not isinstance(granted, bool):
        raise ValidationError({"granted": "Must be true or false."})
    version = text_version or settings.CONSENT_TEXT_VERSION
    with transaction.atomic():
        consent, _ = Consent.objects.select_for_update().get_or_create(
            user=user, purpose=purpose, defaults={"granted": False, "text_version": version}
        )
        old = consent.granted
        if old != granted:
            consent.granted = granted
            consent.text_version = version
            consent.save(update_fields=["granted", "text_version", "updated_at"])
            ConsentEvent.objects.create(user=user, purpose=purpose, old=old, new=granted, text_version=version)
            if not granted:
                transaction.on_commit(lambda: _announce_revocation(user.pk, purpose))
            if not granted and purpose == "research_data":
                transaction.on_commit(lambda: _research_withdrawn(user))
    return consent


def consents_set(*, user: User, changes: dict[str, Any]) -> dict[str, bool]:
    """Apply several consent changes at once: all or nothing."""
    unknown = [p for p in changes if not is_purpose(p)]
    if unknown:
        raise ValidationError({"purpose": f"Unknown consent purpose(s): {', '.join(sorted(map(str, unknown)))}."})
    bad = [p for p, v in changes.items() if not isinstance(v, bool)]
    if bad:
        raise ValidationError({p: "Must be true or false." for p in bad})
    with transaction.atomic():
        for purpose, granted in changes.items():
            consent_set(user=user, purpose=purpose, granted=granted)
    return consents_of(user=user)


def _announce_revocation(user_id: int, purpose: str) -> None:
    """Tell the user's open websockets that a consent went off, so they can close at once."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(consent_group_name(user_id), {"type": "consent.revoked", "purpose": purpose})
    except Exception:  # the revocation itself is committed; a layer hiccup must not undo it
        logger.exception("Could not announce consent revocation for user %s", user_id)


def pseudonym_clean(*, username: str) -> str:
    """A new pseudonym in its stored form (NFKC), or a ValidationError when it would pass for
    someone or something else: a reserved word, an existing pseudonym or an erased account's
    tombstone, compared by confusable skeleton (Unicode TR39; accounts/pseudonyms.py)."""
    name = pseudonyms.normalize(username or "")
    reason = pseudonyms.reserved_reason(name)
    if reason:
        raise ValidationError(reason)
    if pseudonyms.mixes_confusable_scripts(name):
        raise ValidationError("This pseudonym mixes alphabets with letters that look alike; please use one alphabet.")
    if User.objects.filter(username_skeleton=pseudonyms.confusable_key(name)).exists():
        raise ValidationError("This pseudonym is taken, or looks too much like one that is; please choose another.")
    return name


def _research_withdrawn(user: User) -> None:
    """Each data section drops the person from figures it stored while they consented."""
    for section in privacy.sections():
        if section.research_withdrawn is not None:
            section.research_withdrawn(user)


def user_set_role(*, user: User, role: str) -> User:
    """Give a person a role; researchers become staff and join the researchers group."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    user.role = role
    user.is_staff = role == Role.RESEARCHER or user.is_superuser
    user.save(update_fields=["role", "is_staff"])
    groups = {Role.RESEARCHER: RESEARCHERS_GROUP, Role.THERAPIST: THERAPISTS_GROUP}
    for r, name in groups.items():
        group = Group.objects.filter(name=name).first()
        if group is None:
            continue
        if r == role:
            user.groups.add(group)
        else:
            user.groups.remove(group)
    return user


def user_set_mode(*, user: User, mode: str) -> User:
    if mode not in Mode.values:
        raise ValidationError({"mode": f"Unknown mode {mode!r}."})
    user.mode = mode
    user.save(update_fields=["mode"])
    return user


def user_export(*, user: User) -> dict[str, Any]:
    """Everything Attune holds about this person, as JSON-ready data."""
    data: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "account": {
            "pseudonym": user.username,
            "participant_code": user.participant_code,
            "email": user.email,
            "role": user.role,
            "mode": user.mode,
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
        },
        "consents": consents_of(user=user),
        "consent_history": [
            {
                "purpose": e.purpose,
                "old": e.old,
                "new": e.new,
                "text_version": e.text_version,
                "at": e.created_at.isoformat(),
            }
            for e in user.consent_events.all()
        ],
    }
    profile = ClientProfile.objects.filter(user=user).first()
    data["listening_preferences"] = (
        {
            "preferred_genres": profile.preferred_genres,
            "disliked_genres": profile.disliked_genres,
            "max_listening_minutes": profile.max_listening_minutes,
        }
        if profile
        else None
    )
    data["email_addresses"] = [
        {"email": a.email, "verified": a.verified, "primary": a.primary}
        for a in EmailAddress.objects.filter(user=user).order_by("id")
    ]
    data["admin_actions"] = [
        {"at": e.action_time.isoformat(), "action": e.get_action_flag_display(), "object": e.object_repr,
         "change": e.get_change_message()}
        for e in LogEntry.objects.filter(user=user).order_by("action_time", "id")
    ]
    for section in privacy.sections():
        data[section.name] = section.export(user)
    return data


# The models whose rows about the person user_export writes itself (the sections name theirs).
EXPORTED_MODELS: tuple[str, ...] = (
    "accounts.User",
    "accounts.Consent",
    "accounts.ConsentEvent",
    "accounts.ClientProfile",
    "account.EmailAddress",
    "admin.LogEntry",
)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def user_erase(*, user: User) -> dict[str, int]:
    """Delete the account: tombstone the pseudonym, clear e-mail and password, end log-in.

    Ratings, sessions and emotion data are deleted unless `research_data` was on, in which
    case they stay, now keyed only by the participant code (the tombstone carries no name).
    Returns rows deleted per data section.
    """
    if user.erased_at is not None:
        raise ValidationError("This account has already been deleted.")
    keep_for_research = has_consent(user, "research_data")
    deleted: dict[str, int] = {}
    with transaction.atomic():
        for section in privacy.sections():
            if section.always_erase or not keep_for_research:
                deleted[section.name] = section.erase(user)
        deleted["client_profile"] = ClientProfile.objects.filter(user=user).delete()[0]
        # allauth keeps its own copy of every address: it would link the e-mail to the code.
        deleted["email_addresses"] = EmailAddress.objects.filter(user=user).delete()[0]
        # The admin's history names the account by its pseudonym in object_repr.
        deleted["admin_log_scrubbed"] = LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk)
        ).update(object_repr=f"erased-{user.participant_code}", change_message="")
        deleted["sessions"] = _sessions_end(user)
        user.username = f"erased-{user.participant_code}"
        user.email = ""
        user.set_unusable_password()
        user.is_active = False
        user.is_staff = False
        user.erased_at = timezone.now()
        user.save(update_fields=["username", "email", "password", "is_active", "is_staff", "erased_at"])
        for purpose in PURPOSES:
            if purpose != "research_data":
                consent_set(user=user, purpose=purpose, granted=False)
        transaction.on_commit(database_forget_deleted)
    return deleted


def _sessions_end(user: User) -> int:
    """Log the account out everywhere: delete every stored session that belongs to it (each
    log-in session row names its account: accounts.LoginSession)."""
    return LoginSession.objects.filter(user=user).delete()[0]


def database_forget_deleted() -> None:
    """Make deleted text unrecoverable from the database files, where the engine allows it.

    SQLite runs with `secure_delete` on (settings: deleted content is overwritten with zeros
    in the page); this also checkpoints the write-ahead log and truncates it, so the old page
    images that still held the text do not linger in the `-wal` file. PostgreSQL keeps dead
    row versions until (auto)vacuum; the deployment guide says to keep autovacuum on.
    """
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


DEMO_USERS: tuple[tuple[str, str], ...] = (
    ("demo-participant", Role.PARTICIPANT),
    ("demo-therapist", Role.THERAPIST),
    ("demo-researcher", Role.RESEARCHER),
)


def demo_users_ensure(*, password: str) -> list[User]:
    """Create (or reset) the three demo users. Only ever called when DEBUG is on."""
    if not settings.DEBUG:
        raise ValidationError("Demo users are only created when DEBUG is on.")
    users = []
    for username, role in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=username)
        user.set_password(password)
        user.is_active = True
        user.save()
        user_set_role(user=user, role=role)
        if role == Role.PARTICIPANT:
            for purpose in ("research_data", "webcam_inference", "emotion_trace"):
                consent_set(user=user, purpose=purpose, granted=True)
        users.append(user)
    return users
