"""Pseudonymous users, roles, consent state and its append-only audit log."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.consent import PURPOSES
from accounts.pseudonyms import confusable_key

# Crockford-style alphabet without look-alikes (no 0/O, 1/I/L).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_participant_code() -> str:
    """An opaque, stable code researchers see instead of a username, e.g. `P-7KQ2XR9M`."""
    return "P-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


class Role(models.TextChoices):
    PARTICIPANT = "participant", _("Participant")
    THERAPIST = "therapist", _("Therapist")
    RESEARCHER = "researcher", _("Researcher")


class Mode(models.TextChoices):
    PERSONAL = "personal", _("Personal use")
    THERAPY = "therapy", _("Therapy (with a therapist)")


class User(AbstractUser):
    """A person known only by a pseudonym (the username). No real-name fields exist."""

    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    email = models.EmailField("e-mail (optional)", blank=True)
    participant_code = models.CharField(max_length=12, unique=True, default=new_participant_code, editable=False)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PARTICIPANT)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.PERSONAL)
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The pseudonym's confusable key (accounts/pseudonyms.py): a new pseudonym whose key is
    # already here would pass for this person. Kept in step with `username` by save().
    username_skeleton = models.CharField(max_length=600, db_index=True, editable=False, default="")

    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username

    def save(self, *args, **kwargs):
        key = confusable_key(self.username or "")
        if key != self.username_skeleton:
            self.username_skeleton = key
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and "username_skeleton" not in update_fields:
                kwargs["update_fields"] = [*update_fields, "username_skeleton"]
        super().save(*args, **kwargs)

    @property
    def is_participant(self) -> bool:
        return self.role == Role.PARTICIPANT

    @property
    def is_therapist(self) -> bool:
        return self.role == Role.THERAPIST

    @property
    def is_researcher(self) -> bool:
        return self.role == Role.RESEARCHER


class Consent(models.Model):
    """The current state of one consent purpose for one person. Changed only by services."""

    PURPOSE_CHOICES = [(p, p.replace("_", " ")) for p in PURPOSES]

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=32, choices=PURPOSE_CHOICES)
    granted = models.BooleanField(default=False)
    text_version = models.CharField(max_length=32)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "purpose"], name="one_consent_per_purpose")]

    def __str__(self) -> str:
        return f"{self.user} {self.purpose}={'on' if self.granted else 'off'}"


class ConsentEventQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: ARG002 - signature mirrors QuerySet.update
        raise PermissionDenied("The consent audit log is append-only.")

    def delete(self):
        raise PermissionDenied("The consent audit log is append-only.")


class ConsentEvent(models.Model):
    """One change of one consent: append-only, never edited, never deleted by the app."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="consent_events")
    purpose = models.CharField(max_length=32)
    old = models.BooleanField()
    new = models.BooleanField()
    text_version = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = ConsentEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.purpose}: {self.old} -> {self.new}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionDenied("The consent audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied("The consent audit log is append-only.")


# --- Listening preferences (set by the person, or their therapist through therapy.links) ---


class ClientProfile(models.Model):
    """Listening preferences the playlist engine honours; set by the person or their therapist."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="client_profile")
    preferred_genres = models.JSONField(default=list, blank=True)
    disliked_genres = models.JSONField(default=list, blank=True)
    max_listening_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"profile {self.user_id}"


class LoginSession(AbstractBaseSession):
    """A log-in session: Django's session row, plus the account it is logged in as.

    The extra column lets a request read its session and its account in one statement
    (accounts/session_store.py, accounts/auth_middleware.py; issue 16) and lets erasure end an
    account's sessions by index instead of decoding every stored session. No database-level
    constraint: a session row must save even while its account is being deleted; Django's
    CASCADE still removes the sessions of a deleted account.
    """

    user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )

    class Meta(AbstractBaseSession.Meta):
        verbose_name = _("log-in session")
        verbose_name_plural = _("log-in sessions")

    @classmethod
    def get_session_store_class(cls):
        from accounts.session_store import SessionStore  # noqa: PLC0415 (the store imports this model)

        return SessionStore
