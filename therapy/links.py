"""Writes for therapists and their clients: invites, links, client profiles, private notes.

Access rules, decided here and in therapy.selectors (never in templates):
- a therapist sees a person only through an active link;
- a therapist sees that person's sessions only while their `therapist_sharing` consent is on;
- either side can end the link, and access ends at once;
- notes are visible to the therapist who wrote them and nobody else.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ClientProfile, Mode, User
from therapy.models import TherapistInvite, TherapistLink, TherapistNote
from therapy.selectors import is_linked, open_invites_of

INVITE_VALID_FOR = timedelta(days=14)
MAX_OPEN_INVITES = 20
MAX_GENRES = 30


def _require_therapist(user: User) -> None:
    if not user.is_authenticated or not user.is_therapist or user.erased_at is not None:
        raise PermissionDenied(_("Only therapists can do this."))


def invite_create(*, therapist: User) -> TherapistInvite:
    _require_therapist(therapist)
    open_invites = open_invites_of(therapist=therapist).count()
    if open_invites >= MAX_OPEN_INVITES:
        raise ValidationError(_("You already have %(count)d unused invite codes; revoke some first.") % {"count": open_invites})
    return TherapistInvite.objects.create(therapist=therapist, expires_at=timezone.now() + INVITE_VALID_FOR)


def invite_revoke(*, therapist: User, invite_id: int) -> TherapistInvite:
    _require_therapist(therapist)
    invite = TherapistInvite.objects.filter(pk=invite_id, therapist=therapist).first()
    if invite is None:
        raise ValidationError(_("No such invite."))
    if invite.used_at is None and invite.revoked_at is None:
        invite.revoked_at = timezone.now()
        invite.save(update_fields=["revoked_at"])
    return invite


def invite_accept(*, client: User, code: str) -> TherapistLink:
    """A participant enters a therapist's code: they are linked and switch to therapy mode."""
    if not client.is_participant:
        raise ValidationError(_("Only participants can link to a therapist."))
    normalised = (code or "").strip().upper().replace(" ", "")
    if len(normalised) == 8:
        normalised = f"{normalised[:4]}-{normalised[4:]}"
    with transaction.atomic():
        invite = TherapistInvite.objects.select_for_update().filter(code=normalised).first()
        if invite is None:
            raise ValidationError(_("That invite code is not valid. Check it with your therapist."))
        if invite.revoked_at is not None or invite.used_at is not None:
            raise ValidationError(_("That invite code has already been used or withdrawn."))
        if invite.expires_at <= timezone.now():
            raise ValidationError(_("That invite code has expired; ask your therapist for a new one."))
        if invite.therapist.erased_at is not None or not invite.therapist.is_active:
            raise ValidationError(_("That therapist's account is no longer active."))
        if TherapistLink.objects.filter(therapist=invite.therapist, client=client, ended_at__isnull=True).exists():
            raise ValidationError(_("You are already linked to this therapist."))
        try:
            with transaction.atomic():
                link = TherapistLink.objects.create(therapist=invite.therapist, client=client)
        except IntegrityError:
            raise ValidationError(_("You are already linked to this therapist.")) from None
        invite.used_by = client
        invite.used_at = timezone.now()
        invite.save(update_fields=["used_by", "used_at"])
        if client.mode != Mode.THERAPY:
            client.mode = Mode.THERAPY
            client.save(update_fields=["mode"])
    return link


def link_end(*, user: User, link_id: int) -> TherapistLink:
    """Either side ends the link; the therapist's access ends with it. A client left with no
    linked therapist returns from therapy mode to personal use."""
    with transaction.atomic():
        link = TherapistLink.objects.select_for_update().filter(pk=link_id).first()
        if link is None or user.pk not in (link.therapist_id, link.client_id):
            raise ValidationError(_("No such link."))
        if link.ended_at is None:
            link.ended_at = timezone.now()
            link.ended_by = "therapist" if user.pk == link.therapist_id else "client"
            link.save(update_fields=["ended_at", "ended_by"])
            # Without a therapist the person is no longer in therapy: back to personal use.
            client = User.objects.select_for_update().get(pk=link.client_id)
            still_linked = TherapistLink.objects.filter(client=client, ended_at__isnull=True).exists()
            if client.mode == Mode.THERAPY and not still_linked:
                client.mode = Mode.PERSONAL
                client.save(update_fields=["mode"])
    return link


def _clean_genres(values, field: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [v for v in values.split(",")]
    if not isinstance(values, list | tuple):
        raise ValidationError({field: _("A list of genres.")})
    cleaned = sorted({str(v).strip().lower() for v in values if str(v).strip()})
    if len(cleaned) > MAX_GENRES or any(len(v) > 60 for v in cleaned):
        raise ValidationError({field: _("At most %(count)d genres of at most 60 characters.") % {"count": MAX_GENRES}})
    return cleaned


def client_profile_update(
    *,
    editor: User,
    client: User,
    preferred_genres=None,
    disliked_genres=None,
    max_listening_minutes: int | None = None,
) -> ClientProfile:
    """The person themselves, or their linked therapist, sets listening preferences."""
    if editor.pk != client.pk and not (editor.is_therapist and is_linked(therapist=editor, client=client)):
        raise PermissionDenied(_("You cannot change this person's profile."))
    preferred = _clean_genres(preferred_genres, "preferred_genres")
    disliked = _clean_genres(disliked_genres, "disliked_genres")
    overlap = set(preferred) & set(disliked)
    if overlap:
        raise ValidationError({"disliked_genres": _("Both preferred and disliked: %(genres)s.") % {"genres": ", ".join(sorted(overlap))}})
    if max_listening_minutes is not None and not (1 <= int(max_listening_minutes) <= 600):
        raise ValidationError({"max_listening_minutes": _("Between 1 and 600 minutes.")})
    profile, _created = ClientProfile.objects.get_or_create(user=client)
    profile.preferred_genres = preferred
    profile.disliked_genres = disliked
    profile.max_listening_minutes = max_listening_minutes
    profile.full_clean()
    profile.save()
    return profile


def note_add(*, therapist: User, client: User, text: str) -> TherapistNote:
    _require_therapist(therapist)
    if not is_linked(therapist=therapist, client=client):
        raise PermissionDenied(_("You can only write notes about your current clients."))
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("A note cannot be empty.")})
    if len(text) > 5000:
        raise ValidationError({"text": _("A note is at most 5000 characters.")})
    return TherapistNote.objects.create(therapist=therapist, client=client, text=text)


def links_end_for_erasure(*, user: User) -> int:
    """Erasing an account ends every link it has, on either side."""
    either = Q(therapist=user) | Q(client=user)
    return TherapistLink.objects.filter(either, ended_at__isnull=True).update(ended_at=timezone.now(), ended_by="erasure")


def notes_erase(*, user: User) -> int:
    """Erasing an account deletes the notes it wrote and the notes written about it."""
    return TherapistNote.objects.filter(Q(therapist=user) | Q(client=user)).delete()[0]
