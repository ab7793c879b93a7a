"""Therapy sessions on assigned playlists (issue 7), the therapist's outcome reads, and the
integration gaps: audio through the login-checked view, huge numbers, admin scope, history."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from studies.listening import hooks, selectors
from studies.listening.models import ListeningSession
from studies.listening.mood import MoodError, MoodInput
from studies.listening.services.common import SessionNotFound
from studies.listening.services.events import event_record
from studies.listening.services.sessions import session_complete, session_start
from therapy import selectors as therapy_selectors
from therapy.assignments import (
    Schedule,
    TargetMood,
    assigned_session_start,
    assignment_create_curated,
    assignment_create_generated,
)
from therapy.plots import shift_series_svg


@pytest.fixture
def linked(make_user):
    from therapy import links

    therapist = make_user("therapist")
    client = make_user("participant", therapist_sharing=True)
    link = links.invite_accept(client=client, code=links.invite_create(therapist=therapist).code)
    return therapist, client, link


@pytest.fixture
def assigned(linked, catalog):
    therapist, client, link = linked
    a = assignment_create_curated(
        therapist=therapist, client=client, track_ids=[catalog[3].pk, catalog[7].pk, catalog[1].pk],
        instructions="Eyes closed", schedule=Schedule(repeat="once", due_date=timezone.localdate() + timedelta(days=2)),
        target=TargetMood(valence=0.5, arousal=-0.5),
    )
    return therapist, client, link, a, a.occurrences.get()


def _start(client, occ):
    return assigned_session_start(client=client, current=MoodInput(valence=-0.5, arousal=0.5), occurrence_id=occ.pk)


def test_assigned_session_plays_the_assigned_playlist_in_therapy_mode(assigned):
    therapist, client, _, a, occ = assigned
    calls = []
    previous = hooks.install_strategy_chooser(lambda *, user, mode: calls.append(user) or hooks.StrategyChoice("random"))
    try:
        session = _start(client, occ)
    finally:
        hooks.install_strategy_chooser(previous)
    assert calls == []  # experiments never claim an assigned session
    assert session.mode == "therapy" and session.playlist_id == a.playlist_id and session.assignment_ref is None
    assert (session.target_valence, session.target_arousal) == (0.5, -0.5) and session.target_source == "stated"
    assert [q.track_id for q in selectors.session_queue(session=session)] == [i.track_id for i in a.playlist.items.all()]
    occ.refresh_from_db()
    a.refresh_from_db()
    assert occ.status == "started" and occ.session_id == session.pk and a.status == "started"
    session_complete(user=client, session_id=session.pk, post=MoodInput(valence=0.3, arousal=-0.2),
                              reflection_rating=4, reflection_text="ok")
    occ.refresh_from_db()
    a.refresh_from_db()
    assert occ.status == "done" and a.status == "done"


def test_an_assignment_without_target_uses_the_mapping_target(linked, catalog):
    therapist, client, _ = linked
    a = assignment_create_curated(therapist=therapist, client=client, track_ids=[catalog[0].pk], instructions="",
                                  schedule=Schedule(repeat="once", due_date=timezone.localdate()))
    session = _start(client, a.occurrences.get())
    assert session.target_source == "mapping"


def test_starting_twice_or_someone_elses_is_refused_and_writes_nothing(assigned, make_user):
    _, client, _, _, occ = assigned
    stranger = make_user("participant")
    with pytest.raises(ValidationError):
        _start(stranger, occ)
    assert ListeningSession.objects.count() == 0
    _start(client, occ)
    with pytest.raises(ValidationError):
        _start(client, occ)
    with pytest.raises(ValidationError):
        assigned_session_start(client=client, current=MoodInput(valence=0, arousal=0.5), occurrence_id="x")
    assert ListeningSession.objects.count() == 1


def test_generated_assignment_session_and_start_page(linked, catalog, client):
    therapist, user, _ = linked
    a = assignment_create_generated(
        therapist=therapist, client=user, strategy="iso", target=TargetMood(valence=0.6, arousal=-0.4),
        length_tracks=3, length_minutes=None, instructions="Before sleep",
        schedule=Schedule(repeat="daily", start_date=timezone.localdate(), days=3),
    )
    occ = a.occurrences.order_by("due_date").first()
    url = reverse("therapy:assignment-start", args=[occ.pk])
    client.force_login(user)
    page = client.get(url)
    assert page.status_code == 200 and "Before sleep" in page.content.decode()
    assert client.post(url, {}).status_code == 400  # no mood given
    assert ListeningSession.objects.count() == 0
    response = client.post(url, {"current_valence": "-0.4", "current_arousal": "0.6", "current_source": "va"})
    assert response.status_code == 302
    session = ListeningSession.objects.get()
    assert response["Location"] == reverse("listening:session-play", args=[session.pk])
    play = client.get(response["Location"]).content.decode()
    assert 'data-testid="therapy-assigned"' in play
    assert client.get(url).status_code == 404  # already started: nothing left to play today


def test_outcomes_need_sharing_and_an_active_link(assigned, make_user):
    from accounts.services import consent_set
    from therapy import links

    therapist, client, link, a, occ = assigned
    session = _start(client, occ)
    session_complete(user=client, session_id=session.pk, post=MoodInput(valence=0.3, arousal=-0.3),
                              reflection_rating=5, reflection_text="")
    rows = therapy_selectors.client_outcomes(therapist=therapist, client=client)
    assert [r.session.pk for r in rows] == [session.pk] and rows[0].assignment_id == a.pk
    expected_shift = rows[0].outcome.shift_toward_target
    assert expected_shift > 0
    arows = therapy_selectors.assignment_rows(therapist=therapist, client=client)
    assert arows[0]["done"] == 1 and arows[0]["mean_shift"] == pytest.approx(expected_shift)
    svg = shift_series_svg(rows)
    assert svg.count("<rect") == 1 and 'role="img"' in svg and "closer to" in svg
    assert therapy_selectors.client_outcomes(therapist=make_user("therapist"), client=client) is None
    consent_set(user=client, purpose="therapist_sharing", granted=False)
    assert therapy_selectors.client_outcomes(therapist=therapist, client=client) is None
    assert therapy_selectors.assignment_rows(therapist=therapist, client=client)[0]["mean_shift"] is None
    consent_set(user=client, purpose="therapist_sharing", granted=True)
    links.link_end(user=therapist, link_id=link.pk)
    assert therapy_selectors.client_outcomes(therapist=therapist, client=client) is None
    assert therapy_selectors.assignment_rows(therapist=therapist, client=client) == []


def test_outcomes_csv_neutralises_formulas(assigned, client):
    therapist, user, link, _, occ = assigned
    session = _start(user, occ)
    session_complete(user=user, session_id=session.pk, post=MoodInput(valence=0.3, arousal=-0.3),
                              reflection_rating=3, reflection_text="=HYPERLINK(1)")
    client.force_login(therapist)
    text = client.get(reverse("therapy:client-outcomes-csv", args=[link.pk])).content.decode()
    assert "'=HYPERLINK(1)" in text and user.username not in text


def test_missed_task_and_its_beat_entry(assigned):
    from django_celery_beat.models import PeriodicTask

    from therapy.models import AssignmentOccurrence
    from therapy.tasks import assignment_occurrences_mark_missed

    _, _, _, a, occ = assigned
    entry = PeriodicTask.objects.get(task="therapy.tasks.assignment_occurrences_mark_missed")
    assert entry.enabled
    AssignmentOccurrence.objects.filter(pk=occ.pk).update(
        available_from=timezone.localdate() - timedelta(days=3), due_date=timezone.localdate() - timedelta(days=1)
    )
    assert assignment_occurrences_mark_missed.delay().get() == 1
    a.refresh_from_db()
    assert a.status == "missed"


# --- integration gaps ---------------------------------------------------------------------


def test_player_and_api_use_the_login_checked_audio_view(participant, catalog, client, tmp_path, settings):
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = str(tmp_path)
    for t in catalog:
        t.audio_file.save(f"t{t.pk}.wav", ContentFile(b"RIFF0000WAVE"), save=True)
    session = session_start(user=participant, current=MoodInput(valence=-0.5, arousal=0.5),
                                     desired=MoodInput(valence=0.5, arousal=-0.5), length_tracks=3,
                                     length_minutes=None, strategy="iso")
    client.force_login(participant)
    page = client.get(reverse("listening:session-play", args=[session.pk])).content.decode()
    assert "/media/" not in page and "/tracks/" in page
    api = APIClient()
    api.force_authenticate(participant)
    queue = api.get(f"/api/sessions/{session.pk}/").json()["queue"]
    assert all(q["audio_url"] == reverse("recommender:track-audio", args=[q["track_id"]]) for q in queue)


@pytest.mark.parametrize(
    "body",
    [
        {"current": {"valence": 10**400, "arousal": 0}},
        {"current": {"gems": [10**400] + [0] * 8}},
        {"current": {"valence": -0.5, "arousal": 0.5}, "length_minutes": 10**400},
    ],
)
def test_huge_numbers_are_a_400_not_a_500(participant, catalog, body):
    api = APIClient()
    api.force_authenticate(participant)
    r = api.post("/api/sessions/", {"desired": {"valence": 0.5, "arousal": -0.5}, **body}, format="json")
    assert r.status_code == 400 and r.json()
    assert ListeningSession.objects.count() == 0


def test_huge_seconds_played_is_a_400(participant, catalog):
    api = APIClient()
    api.force_authenticate(participant)
    s = api.post("/api/sessions/", {"current": {"valence": -0.5, "arousal": 0.5}, "desired": {"valence": 0.5, "arousal": -0.5},
                                    "length_tracks": 2}, format="json").json()
    body = {"event_id": str(uuid.uuid4()), "kind": "progress", "track_id": s["queue"][0]["track_id"], "position": 0,
            "seconds_played": 10**400, "occurred_at": timezone.now().isoformat()}
    r = api.post(f"/api/sessions/{s['id']}/events/", body, format="json")
    assert r.status_code == 400 and r.json()


def test_mood_input_overflow_is_a_mood_error():
    with pytest.raises(MoodError):
        MoodInput(valence=10**400, arousal=0)
    with pytest.raises(MoodError):
        MoodInput(gems=(10**400,) + (0,) * 8)


def test_admin_shows_only_consenting_participants_and_never_deletes(make_user, make_session, rf):
    from django.contrib.admin.sites import site

    from studies.listening.models import ListeningSession as LS

    admin = site._registry[LS]
    yes = make_user("participant", research_data=True)
    no = make_user("participant", research_data=False)
    s_yes, _ = make_session(yes), make_session(no)
    request = rf.get("/admin/")
    request.user = make_user("researcher")
    assert list(admin.get_queryset(request)) == [s_yes]
    assert admin.has_delete_permission(request, s_yes) is False


def test_history_provider_feeds_the_persona_card(participant, catalog):
    from recommender.selectors import listening_history

    session = session_start(user=participant, current=MoodInput(valence=-0.5, arousal=0.5),
                                     desired=MoodInput(valence=0.5, arousal=-0.5), length_tracks=2,
                                     length_minutes=None, strategy="iso")
    ListeningSession.objects.filter(pk=session.pk).update(started_at=timezone.now() - timedelta(minutes=10))
    queue = list(selectors.session_queue(session=session))
    for kind, seconds in (("started", None), ("progress", 30.0), ("completed", 118.0)):
        event_record(user=participant, session_id=session.pk, event_id=uuid.uuid4(), kind=kind,
                              track_id=queue[0].track_id, position=0, seconds_played=seconds,
                              occurred_at=timezone.now(), payload={})
    items, source = listening_history(user=participant)
    assert source == "sessions"
    assert [(i.track_id, i.seconds, i.session_key) for i in items] == [(queue[0].track_id, 118.0, f"session-{session.pk}")]


def test_someone_elses_session_is_a_domain_404(make_user, catalog):
    alice, mallory = make_user(), make_user()
    session = session_start(user=alice, current=MoodInput(valence=-0.5, arousal=0.5),
                                     desired=MoodInput(valence=0.5, arousal=-0.5), length_tracks=2,
                                     length_minutes=None, strategy="iso")
    with pytest.raises(SessionNotFound):
        session_complete(user=mallory, session_id=session.pk, post=MoodInput(valence=0, arousal=0),
                                  reflection_rating=None)
    api = APIClient()
    api.force_authenticate(mallory)
    for path, body in ((f"/api/sessions/{session.pk}/complete/", {"post": {"valence": 0, "arousal": 0}}),
                       (f"/api/sessions/{session.pk}/events/", {"event_id": str(uuid.uuid4()), "kind": "started",
                                                               "position": 0, "occurred_at": timezone.now().isoformat()})):
        r = api.post(path, body, format="json")
        assert r.status_code == 404 and r.json() == {"detail": "No such session."}
    session.refresh_from_db()
    assert session.status == "active" and not session.events.exists()


def test_assignments_are_in_the_data_export_and_go_on_erasure(assigned):
    from accounts.services import user_erase, user_export
    from therapy.models import Assignment

    therapist, client, _, _, _ = assigned
    rows = json_roundtrip(user_export(user=client))["therapy_assignments"]
    assert rows[0]["instructions"] == "Eyes closed" and rows[0]["role"] == "client"
    assert json_roundtrip(user_export(user=therapist))["therapy_assignments"][0]["role"] == "therapist"
    counts = user_erase(user=client)
    assert not Assignment.objects.filter(client=client).exists()
    assert "therapy_assignments" in counts


def json_roundtrip(data):
    import json

    return json.loads(json.dumps(data, default=str))


def test_assign_page_builds_from_the_stated_usual_mood(linked, catalog, client):
    from therapy.models import Assignment

    therapist, _, link = linked
    client.force_login(therapist)
    url = reverse("therapy:assignment-new", args=[link.pk])
    base = {"kind": "generated", "strategy": "iso", "length_value": "3", "length_kind": "tracks", "repeat": "once",
            "due_date": str(timezone.localdate()), "target_valence": "0.6", "target_arousal": "-0.5",
            "target_source": "va", "instructions": "Slow breathing"}
    bad = client.post(url, {**base, "start_valence": "0.2"})  # half a point
    assert bad.status_code == 400 and "Usual mood" in bad.content.decode()
    assert not Assignment.objects.exists()
    response = client.post(url, {**base, "start_valence": "-0.7", "start_arousal": "0.6", "start_source": "va"})
    assert response.status_code == 302
    a = Assignment.objects.get()
    assert a.playlist.start_va == [-0.7, 0.6] and a.playlist.target_va == [0.6, -0.5]
    assert a.playlist.items.count() == 3 and a.instructions == "Slow breathing"
