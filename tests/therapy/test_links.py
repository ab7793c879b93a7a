"""Therapist–client links: invites, consent-gated access, ending links, profiles, notes, and
an authorization matrix over every therapist page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.dashboard import Panel
from accounts.services import consent_set, user_erase, user_export
from therapy import links
from therapy.models import TherapistInvite
from therapy.panels import CLIENT_PANELS, client_panels_for
from therapy.selectors import clients_of, is_linked, therapist_may_see_sessions


@pytest.fixture
def linked(make_user):
    therapist = make_user("therapist", username="dr-calm")
    client = make_user("participant", username="client-one")
    invite = links.invite_create(therapist=therapist)
    link = links.invite_accept(client=client, code=invite.code)
    return therapist, client, link


def test_accepting_an_invite_links_and_switches_to_therapy_mode(linked):
    therapist, client, link = linked
    client.refresh_from_db()
    assert client.mode == "therapy"
    assert is_linked(therapist=therapist, client=client)
    assert list(clients_of(therapist=therapist)) == [link]


def test_codes_are_accepted_without_dash_or_case(make_user):
    therapist, client = make_user("therapist"), make_user()
    invite = links.invite_create(therapist=therapist)
    links.invite_accept(client=client, code=invite.code.replace("-", "").lower())
    assert is_linked(therapist=therapist, client=client)


@pytest.mark.parametrize("case", ["unknown", "used", "expired", "revoked"])
def test_bad_invite_codes_are_refused_with_a_reason(make_user, case):
    therapist, client = make_user("therapist"), make_user()
    invite = links.invite_create(therapist=therapist)
    code = invite.code
    if case == "unknown":
        code = "ZZZZ-ZZZZ"
    elif case == "used":
        links.invite_accept(client=make_user(), code=code)
    elif case == "expired":
        TherapistInvite.objects.filter(pk=invite.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif case == "revoked":
        links.invite_revoke(therapist=therapist, invite_id=invite.pk)
    with pytest.raises(ValidationError) as exc:
        links.invite_accept(client=client, code=code)
    assert exc.value.messages[0]
    assert not is_linked(therapist=therapist, client=client)


def test_only_therapists_create_invites_and_only_participants_accept(make_user):
    with pytest.raises(PermissionDenied):
        links.invite_create(therapist=make_user("participant"))
    therapist = make_user("therapist")
    invite = links.invite_create(therapist=therapist)
    with pytest.raises(ValidationError):
        links.invite_accept(client=make_user("researcher"), code=invite.code)


def test_sessions_visible_only_with_link_and_sharing_consent(linked, make_user):
    therapist, client, link = linked
    assert not therapist_may_see_sessions(therapist=therapist, client=client)
    consent_set(user=client, purpose="therapist_sharing", granted=True)
    assert therapist_may_see_sessions(therapist=therapist, client=client)
    assert not therapist_may_see_sessions(therapist=make_user("therapist"), client=client)
    consent_set(user=client, purpose="therapist_sharing", granted=False)
    assert not therapist_may_see_sessions(therapist=therapist, client=client)


@pytest.mark.parametrize("side", ["therapist", "client"])
def test_either_side_ends_the_link_and_access_ends_at_once(linked, side):
    therapist, client, link = linked
    consent_set(user=client, purpose="therapist_sharing", granted=True)
    links.link_end(user=therapist if side == "therapist" else client, link_id=link.pk)
    link.refresh_from_db()
    assert link.ended_by == side
    assert not is_linked(therapist=therapist, client=client)
    assert not therapist_may_see_sessions(therapist=therapist, client=client)


def test_a_stranger_cannot_end_someone_elses_link(linked, make_user):
    _, _, link = linked
    with pytest.raises(ValidationError):
        links.link_end(user=make_user("therapist"), link_id=link.pk)
    link.refresh_from_db()
    assert link.ended_at is None


def test_profile_by_client_or_linked_therapist_only(linked, make_user):
    therapist, client, _ = linked
    links.client_profile_update(editor=client, client=client, preferred_genres="Classical, folk", max_listening_minutes=30)
    profile = links.client_profile_update(editor=therapist, client=client, disliked_genres=["metal"], preferred_genres=["folk"])
    assert profile.preferred_genres == ["folk"] and profile.disliked_genres == ["metal"]
    with pytest.raises(PermissionDenied):
        links.client_profile_update(editor=make_user("therapist"), client=client)
    with pytest.raises(ValidationError):
        links.client_profile_update(editor=client, client=client, preferred_genres=["jazz"], disliked_genres=["jazz"])
    with pytest.raises(ValidationError):
        links.client_profile_update(editor=client, client=client, max_listening_minutes=0)


def test_notes_only_about_current_clients_and_private(linked, make_user):
    therapist, client, link = linked
    links.note_add(therapist=therapist, client=client, text="Prefers strings.")
    with pytest.raises(PermissionDenied):
        links.note_add(therapist=make_user("therapist"), client=client, text="snooping")
    with pytest.raises(ValidationError):
        links.note_add(therapist=therapist, client=client, text="   ")
    assert "Prefers strings." not in str(user_export(user=client))
    assert "Prefers strings." in str(user_export(user=therapist))
    links.link_end(user=client, link_id=link.pk)
    with pytest.raises(PermissionDenied):
        links.note_add(therapist=therapist, client=client, text="after the end")


def test_erasing_a_client_ends_links_and_deletes_notes(linked):
    therapist, client, _ = linked
    links.note_add(therapist=therapist, client=client, text="x")
    deleted = user_erase(user=client)
    # therapy's privacy sections, named as in the export: links ended, notes deleted
    assert deleted["therapist_links"] == 1 and deleted["notes_written"] == 1
    assert not clients_of(therapist=therapist).exists()


# --- Authorization matrix ---------------------------------------------------------------------


@pytest.fixture
def cast(linked, make_user):
    therapist, client, link = linked
    consent_set(user=client, purpose="therapist_sharing", granted=True)
    links.note_add(therapist=therapist, client=client, text="secret-note-text")
    return {
        "participant": make_user("participant", username="bystander"),
        "client": client,
        "therapist": therapist,
        "other_therapist": make_user("therapist", username="dr-other"),
        "researcher": make_user("researcher", username="res-one"),
        "link": link,
    }


@pytest.mark.parametrize(
    "who, page, expected",
    [
        ("therapist", "clients", 200),
        ("therapist", "client", 200),
        ("other_therapist", "clients", 200),
        ("other_therapist", "client", 404),
        ("client", "clients", 403),
        ("client", "client", 403),
        ("participant", "client", 403),
        ("researcher", "clients", 403),
        ("researcher", "client", 403),
        ("client", "therapy:my-therapist", 200),
        ("therapist", "therapy:my-therapist", 403),
        ("researcher", "therapy:my-therapist", 403),
        ("anonymous", "clients", 302),
        ("anonymous", "client", 302),
        ("anonymous", "therapy:my-therapist", 302),
    ],
)
def test_therapist_pages_authorization_matrix(client, cast, who, page, expected):
    if who != "anonymous":
        client.force_login(cast[who])
    url = {"clients": "/clients/", "client": f"/clients/{cast['link'].pk}/", "therapy:my-therapist": "/settings/therapist/"}[page]
    response = client.get(url)
    assert response.status_code == expected
    body = response.content
    if who != "therapist":
        assert b"secret-note-text" not in body
    if who in ("other_therapist", "researcher", "participant"):
        assert cast["client"].username.encode() not in body


def test_therapist_sees_client_and_notes_and_can_end_link(client, cast):
    client.force_login(cast["therapist"])
    page = client.get(f"/clients/{cast['link'].pk}/")
    assert b"client-one" in page.content and b"secret-note-text" in page.content and b"sharing-on" in page.content
    client.post(f"/clients/{cast['link'].pk}/", {"action": "end"})
    assert client.get(f"/clients/{cast['link'].pk}/").status_code == 404


def test_client_enters_code_in_settings(client, make_user):
    therapist = make_user("therapist")
    invite = links.invite_create(therapist=therapist)
    person = make_user()
    client.force_login(person)
    response = client.post("/settings/therapist/", {"action": "link", "code": invite.code}, follow=True)
    assert b"You are now linked" in response.content
    bad = client.post("/settings/therapist/", {"action": "link", "code": "NOPE-NOPE"}, follow=True)
    assert b"not valid" in bad.content


def test_client_panels_that_need_sharing_are_gated_centrally(rf, linked):
    therapist, client, link = linked
    calls = []
    panels = (
        *CLIENT_PANELS,
        Panel(
            key="test-sessions", roles=("therapist",), template="x.html",
            context=lambda request, link: calls.append(link.pk) or {}, needs_sharing=True,
        ),
    )
    request = rf.get("/")
    request.user = therapist

    def keys():
        return [p["key"] for p in client_panels_for(request, link, panels)]

    assert "test-sessions" not in keys()  # therapy's own panels are listed too
    consent_set(user=client, purpose="therapist_sharing", granted=True)
    assert "test-sessions" in keys()
    links.link_end(user=client, link_id=link.pk)
    assert client_panels_for(request, link, panels) == []
    assert calls == [link.pk]


def test_client_list_shows_sharing_state(client, linked):
    therapist, person, _ = linked
    client.force_login(therapist)
    assert b">on<" not in client.get("/clients/").content
    consent_set(user=person, purpose="therapist_sharing", granted=True)
    assert b">on<" in client.get("/clients/").content


@pytest.mark.django_db
@pytest.mark.parametrize("language, expected", [("nb", "Den invitasjonskoden er ikke gyldig"), ("en", "That invite code is not valid")])
def test_a_wrong_invite_code_is_refused_in_the_participants_language(participant, client, language, expected):
    """The services' refusals reach the page in the person's language (issue 14's Norwegian)."""
    client.force_login(participant)
    client.cookies["django_language"] = language
    response = client.post("/settings/therapist/", {"action": "link", "code": "ZZZZ-ZZZZ"}, follow=True)
    assert response.status_code in (200, 400)
    assert expected in response.content.decode()


@pytest.mark.django_db
def test_service_refusals_follow_the_active_language(participant):
    from django.utils import translation

    with translation.override("nb"), pytest.raises(PermissionDenied, match="Bare terapeuter kan gjøre dette"):
        links.invite_create(therapist=participant)
    with translation.override("nb"), pytest.raises(ValidationError, match="Den invitasjonskoden er ikke gyldig"):
        links.invite_accept(client=participant, code="ZZZZ-ZZZZ")
