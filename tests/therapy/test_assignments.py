"""Therapist assignments: creation (generated and curated), schedules, statuses, permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from recommender.models import Playlist, PlaylistItem
from therapy import assignments as svc
from therapy import privacy as therapy_privacy
from therapy import selectors as therapy_selectors
from therapy.assignments import Schedule, TargetMood
from therapy.models import Assignment, AssignmentOccurrence


@pytest.fixture
def linked(make_user):
    from therapy import links

    therapist = make_user("therapist")
    client = make_user("participant", therapist_sharing=True)
    invite = links.invite_create(therapist=therapist)
    link = links.invite_accept(client=client, code=invite.code)
    return therapist, client, link


def _today():
    return timezone.localdate()


def _once(days=3):
    return Schedule(repeat="once", due_date=_today() + timedelta(days=days))


def test_generated_assignment_builds_the_client_playlist_with_profile(linked, labelled_catalog):
    from therapy import links

    therapist, client, _ = linked
    links.client_profile_update(
        editor=therapist, client=client, preferred_genres="", disliked_genres="jazz", max_listening_minutes=None
    )
    a = svc.assignment_create_generated(
        therapist=therapist,
        client=client,
        strategy="iso",
        target=TargetMood(valence=0.6, arousal=-0.5),
        length_tracks=5,
        length_minutes=None,
        instructions="  Lie down, eyes closed.  ",
        schedule=_once(),
    )
    assert a.playlist.owner == client
    assert a.kind == "generated" and a.status == "pending"
    assert a.instructions == "Lie down, eyes closed."
    assert (a.target_valence, a.target_arousal) == (0.6, -0.5)
    items = list(a.playlist.items.select_related("track"))
    assert len(items) == 5
    assert all(i.track.genre != "jazz" for i in items)
    assert "jazz" in a.playlist.constraints["disliked_genres"]
    occ = list(a.occurrences.all())
    assert len(occ) == 1 and occ[0].due_date == _today() + timedelta(days=3) and occ[0].available_from == _today()


def test_curated_assignment_keeps_order_and_has_no_waypoints(linked, labelled_catalog):
    therapist, client, _ = linked
    ids = [labelled_catalog[4].pk, labelled_catalog[1].pk, labelled_catalog[9].pk]
    a = svc.assignment_create_curated(
        therapist=therapist, client=client, track_ids=ids, instructions="", schedule=_once(0),
        target=TargetMood(valence=0.2, arousal=-0.6),
    )
    items = list(a.playlist.items.order_by("position"))
    assert [i.track_id for i in items] == ids
    assert all(i.waypoint_valence is None and i.waypoint_gems is None for i in items)
    assert all(i.reason == "chosen by your therapist" for i in items)
    assert a.playlist.owner == client and a.playlist.strategy == "curated"


@pytest.mark.parametrize(
    "track_ids,message",
    [([], "at least one"), (["x"], "whole numbers"), ([10**30], "whole numbers"), ("dup", "twice"), ([999999], "No track")],
)
def test_curated_refuses_bad_track_lists_and_writes_nothing(linked, labelled_catalog, track_ids, message):
    therapist, client, _ = linked
    if track_ids == "dup":
        track_ids = [labelled_catalog[0].pk, labelled_catalog[0].pk]
    if track_ids == [10**30]:
        track_ids = [float("inf")]
    with pytest.raises(ValidationError) as exc:
        svc.assignment_create_curated(therapist=therapist, client=client, track_ids=track_ids, instructions="", schedule=_once())
    assert message in str(exc.value)
    assert not Assignment.objects.exists() and not Playlist.objects.exists()


def test_daily_and_weekly_schedules_make_one_occurrence_per_due_date(linked, labelled_catalog):
    therapist, client, _ = linked
    start = _today() + timedelta(days=1)
    daily = svc.assignment_create_curated(
        therapist=therapist, client=client, track_ids=[labelled_catalog[0].pk], instructions="",
        schedule=Schedule(repeat="daily", start_date=start, days=14),
    )
    assert daily.occurrences.count() == 14
    assert daily.end_date == start + timedelta(days=13)
    weekly = svc.assignment_create_curated(
        therapist=therapist, client=client, track_ids=[labelled_catalog[0].pk], instructions="",
        schedule=Schedule(repeat="weekly", start_date=start, days=14),
    )
    spans = [(o.available_from, o.due_date) for o in weekly.occurrences.all()]
    assert spans == [(start, start + timedelta(days=6)), (start + timedelta(days=7), start + timedelta(days=13))]


@pytest.mark.parametrize(
    "schedule,field",
    [
        (Schedule(repeat="once"), "due_date"),
        (Schedule(repeat="once", due_date=timezone.localdate() - timedelta(days=1)), "due_date"),
        (Schedule(repeat="once", due_date=timezone.localdate() + timedelta(days=4000)), "due_date"),
        (Schedule(repeat="daily", start_date=timezone.localdate(), days=0), "days"),
        (Schedule(repeat="daily", start_date=timezone.localdate(), days=10**6), "days"),
        (Schedule(repeat="hourly", start_date=timezone.localdate(), days=3), "repeat"),
        (Schedule(repeat="weekly", days=3), "start_date"),
    ],
)
def test_bad_schedules_are_refused(linked, labelled_catalog, schedule, field):
    therapist, client, _ = linked
    with pytest.raises(ValidationError) as exc:
        svc.assignment_create_curated(therapist=therapist, client=client, track_ids=[labelled_catalog[0].pk], instructions="", schedule=schedule)
    assert field in exc.value.message_dict
    assert not Assignment.objects.exists()


def test_generated_refuses_bad_targets_and_too_long_instructions(linked, labelled_catalog):
    therapist, client, _ = linked
    kwargs = dict(therapist=therapist, client=client, strategy="iso", length_tracks=4, length_minutes=None, schedule=_once())
    for target in (TargetMood(valence=2.0, arousal=0.0), TargetMood(valence=float("nan"), arousal=0), TargetMood(gems=(1.0, 2.0))):
        with pytest.raises(ValidationError):
            svc.assignment_create_generated(target=target, instructions="", **kwargs)
    with pytest.raises(ValidationError):
        svc.assignment_create_generated(target=None, instructions="", **kwargs)
    with pytest.raises(ValidationError):
        svc.assignment_create_generated(target=TargetMood(valence=0.5, arousal=0.5), instructions="x" * 2001, **kwargs)
    with pytest.raises(ValidationError):
        svc.assignment_create_generated(target=TargetMood(valence=0.5, arousal=0.5), instructions="", **{**kwargs, "strategy": "nope"})
    assert not Assignment.objects.exists() and not Playlist.objects.exists()


def test_only_an_actively_linked_therapist_may_assign(linked, make_user, labelled_catalog):
    from therapy import links

    therapist, client, link = linked
    other = make_user("therapist")
    researcher = make_user("researcher")
    for who in (other, researcher, client):
        with pytest.raises(PermissionDenied):
            svc.assignment_create_curated(therapist=who, client=client, track_ids=[labelled_catalog[0].pk], instructions="", schedule=_once())
    links.link_end(user=client, link_id=link.pk)
    with pytest.raises(PermissionDenied):
        svc.assignment_create_curated(therapist=therapist, client=client, track_ids=[labelled_catalog[0].pk], instructions="", schedule=_once())
    assert not Assignment.objects.exists()


def test_status_moves_pending_started_done_and_open_list_follows(linked, labelled_catalog):
    therapist, client, _ = linked
    a = svc.assignment_create_curated(therapist=therapist, client=client, track_ids=[labelled_catalog[0].pk], instructions="Go", schedule=_once())
    occ = a.occurrences.get()
    assert list(therapy_selectors.occurrences_open_for(client=client)) == [occ]
    svc.occurrence_start(client=client, occurrence_id=occ.pk, session_id=77)
    a.refresh_from_db()
    occ.refresh_from_db()
    assert occ.status == "started" and occ.session_id == 77 and a.status == "started"
    assert not therapy_selectors.occurrences_open_for(client=client).exists()
    with pytest.raises(ValidationError):  # out of order: starting it twice
        svc.occurrence_start(client=client, occurrence_id=occ.pk, session_id=78)
    assert svc.occurrence_complete(session_id=77).status == "done"
    a.refresh_from_db()
    assert a.status == "done"
    assert svc.occurrence_complete(session_id=77) is None  # duplicate completion changes nothing


def test_another_client_cannot_start_someone_elses_occurrence(linked, make_user, labelled_catalog):
    therapist, client, _ = linked
    a = svc.assignment_create_curated(therapist=therapist, client=client, track_ids=[labelled_catalog[0].pk], instructions="", schedule=_once())
    stranger = make_user("participant")
    with pytest.raises(ValidationError):
        svc.occurrence_start(client=stranger, occurrence_id=a.occurrences.get().pk, session_id=1)
    assert a.occurrences.get().status == "pending"


def test_overdue_occurrences_become_missed_and_future_ones_stay(linked, labelled_catalog):
    therapist, client, _ = linked
    a = svc.assignment_create_curated(
        therapist=therapist, client=client, track_ids=[labelled_catalog[0].pk], instructions="",
        schedule=Schedule(repeat="daily", start_date=_today(), days=3),
    )
    assert svc.occurrences_mark_missed(today=_today() + timedelta(days=2)) == 2
    statuses = list(a.occurrences.values_list("status", flat=True))
    assert statuses == ["missed", "missed", "pending"]
    a.refresh_from_db()
    assert a.status == "pending"
    assert svc.occurrences_mark_missed(today=_today() + timedelta(days=3)) == 1
    a.refresh_from_db()
    assert a.status == "missed"


def test_missed_task_runs_the_service(linked, labelled_catalog):
    from therapy.assignments import occurrences_mark_missed

    therapist, client, _ = linked
    a = svc.assignment_create_curated(therapist=therapist, client=client, track_ids=[labelled_catalog[0].pk], instructions="", schedule=_once(0))
    AssignmentOccurrence.objects.filter(assignment=a).update(due_date=_today() - timedelta(days=1), available_from=_today() - timedelta(days=1))
    assert occurrences_mark_missed() == 1


def test_cancel_hides_it_from_the_client_and_only_its_therapist_may(linked, make_user, labelled_catalog):
    therapist, client, _ = linked
    a = svc.assignment_create_curated(therapist=therapist, client=client, track_ids=[labelled_catalog[0].pk], instructions="", schedule=_once())
    with pytest.raises(PermissionDenied):
        svc.assignment_cancel(therapist=make_user("therapist"), assignment_id=a.pk)
    svc.assignment_cancel(therapist=therapist, assignment_id=a.pk)
    assert not therapy_selectors.occurrences_open_for(client=client).exists()
    assert a.occurrences.get().status == "cancelled"
    with pytest.raises(ValidationError):
        svc.assignment_cancel(therapist=therapist, assignment_id=a.pk)


def test_ending_the_link_hides_assignments_from_both_sides(linked, labelled_catalog):
    from therapy import links

    therapist, client, link = linked
    svc.assignment_create_curated(therapist=therapist, client=client, track_ids=[labelled_catalog[0].pk], instructions="", schedule=_once())
    assert therapy_selectors.assignments_of(therapist=therapist, client=client).count() == 1
    links.link_end(user=therapist, link_id=link.pk)
    assert not therapy_selectors.assignments_of(therapist=therapist, client=client).exists()
    assert not therapy_selectors.occurrences_open_for(client=client).exists()


def test_export_lists_assignments_for_both_roles(linked, labelled_catalog):
    therapist, client, _ = linked
    svc.assignment_create_curated(therapist=therapist, client=client, track_ids=[labelled_catalog[0].pk], instructions="Calm", schedule=_once())
    assert therapy_privacy.assignments_export(user=client)[0]["role"] == "client"
    assert therapy_privacy.assignments_export(user=therapist)[0]["instructions"] == "Calm"
    assert PlaylistItem.objects.count() == 1
