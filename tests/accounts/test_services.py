"""Consent, audit log, export and erasure: the accounts use cases."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import privacy
from accounts.models import ConsentEvent, User
from accounts.selectors import consents_of, has_consent, users_with_consent
from accounts.services import consent_set, consents_set, user_erase, user_export


def test_every_consent_starts_off(participant):
    assert consents_of(user=participant) == {
        "research_data": False,
        "webcam_inference": False,
        "emotion_trace": False,
        "therapist_sharing": False,
    }
    assert not has_consent(participant, "research_data")


def test_consent_change_is_audited_with_old_new_and_text_version(participant, settings):
    consent_set(user=participant, purpose="research_data", granted=True)
    consent_set(user=participant, purpose="research_data", granted=True)  # no change, no event
    consent_set(user=participant, purpose="research_data", granted=False, text_version="v-test")
    events = list(ConsentEvent.objects.filter(user=participant))
    assert [(e.old, e.new) for e in events] == [(False, True), (True, False)]
    assert events[0].text_version == settings.CONSENT_TEXT_VERSION
    assert events[1].text_version == "v-test"
    assert not has_consent(participant, "research_data")


def test_audit_log_cannot_be_edited_or_deleted(participant):
    consent_set(user=participant, purpose="emotion_trace", granted=True)
    event = ConsentEvent.objects.get(user=participant)
    event.new = False
    with pytest.raises(PermissionDenied):
        event.save()
    with pytest.raises(PermissionDenied):
        event.delete()
    with pytest.raises(PermissionDenied):
        ConsentEvent.objects.filter(user=participant).update(new=False)
    with pytest.raises(PermissionDenied):
        ConsentEvent.objects.filter(user=participant).delete()
    assert ConsentEvent.objects.get(user=participant).new is True


def test_forged_purpose_is_rejected_and_nothing_changes(participant):
    with pytest.raises(ValidationError):
        consent_set(user=participant, purpose="sell_my_data", granted=True)
    with pytest.raises(ValidationError):
        consents_set(user=participant, changes={"research_data": True, "sell_my_data": True})
    assert consents_of(user=participant)["research_data"] is False
    assert not ConsentEvent.objects.exists()
    with pytest.raises(ValueError):
        has_consent(participant, "sell_my_data")


def test_non_boolean_consent_is_rejected(participant):
    with pytest.raises(ValidationError):
        consents_set(user=participant, changes={"research_data": "yes"})
    assert consents_of(user=participant)["research_data"] is False


def test_anonymous_never_has_consent():
    from django.contrib.auth.models import AnonymousUser

    assert not has_consent(AnonymousUser(), "research_data")
    assert not has_consent(None, "webcam_inference")


@pytest.fixture
def notes_section():
    """A data section like the ones apps register: rows kept in a dict per user id."""
    store: dict[int, list[str]] = {}
    section = privacy.DataSection(
        name="test_notes",
        export=lambda user: list(store.get(user.pk, [])),
        erase=lambda user: len(store.pop(user.pk, [])),
    )
    previous = privacy.install([*privacy.sections(), section])
    yield store
    privacy.install(previous)


def test_export_contains_account_consents_history_and_app_sections(participant, notes_section):
    consent_set(user=participant, purpose="research_data", granted=True)
    notes_section[participant.pk] = ["felt calmer"]
    data = user_export(user=participant)
    assert data["account"]["pseudonym"] == participant.username
    assert data["account"]["participant_code"] == participant.participant_code
    assert data["consents"]["research_data"] is True
    assert data["consent_history"][0]["new"] is True
    assert data["test_notes"] == ["felt calmer"]


def test_erasure_without_research_consent_deletes_data(participant, notes_section):
    notes_section[participant.pk] = ["a", "b"]
    deleted = user_erase(user=participant)
    participant.refresh_from_db()
    assert deleted["test_notes"] == 2
    assert participant.pk not in notes_section
    assert participant.username == f"erased-{participant.participant_code}"
    assert participant.email == "" and not participant.has_usable_password() and not participant.is_active
    assert participant.erased_at is not None


def test_erasure_with_research_consent_keeps_data_under_the_code(participant, notes_section):
    participant.email = "someone@example.org"
    participant.save()
    consent_set(user=participant, purpose="research_data", granted=True)
    consent_set(user=participant, purpose="webcam_inference", granted=True)
    notes_section[participant.pk] = ["kept"]
    code = participant.participant_code
    user_erase(user=participant)
    participant.refresh_from_db()
    assert notes_section[participant.pk] == ["kept"]
    assert participant.username == f"erased-{code}" and participant.email == ""
    # The research consent survives; everything else is switched off.
    assert consents_of(user=participant) == {
        "research_data": True,
        "webcam_inference": False,
        "emotion_trace": False,
        "therapist_sharing": False,
    }
    assert participant in users_with_consent(purpose="research_data")


def test_erasure_twice_is_refused(participant):
    user_erase(user=participant)
    with pytest.raises(ValidationError):
        user_erase(user=User.objects.get(pk=participant.pk))


def test_participant_codes_are_unique_and_opaque(make_user):
    users = [make_user() for _ in range(30)]
    codes = {u.participant_code for u in users}
    assert len(codes) == 30
    assert all(c.startswith("P-") and len(c) == 10 for c in codes)
    assert all(u.username not in u.participant_code for u in users)
