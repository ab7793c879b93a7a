"""The kept session plan on the events hot path (studies/listening/services/event_plans.py).

With the plan kept, an event costs one statement; the kept plan is never allowed to decide
against the database: a re-plan, completion or deletion made elsewhere (another web process,
simulated here by writing the rows directly), or an event that only looks wrong under the kept
plan, goes back to a fresh read. Nothing is stored twice, nothing acknowledged is lost."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from studies.listening.models import ListeningSession, PlannedTrack, PlaybackEvent, SessionStatus
from studies.listening.services.event_plans import PLANS, PlanCache, plan_read
from tests.listening.test_api import START, event


@pytest.fixture
def posting(participant, catalog, client_for):
    c = client_for(participant)
    s = c.post("/api/sessions/", START, format="json").json()

    def post(*bodies, expect=None):
        body = bodies[0] if len(bodies) == 1 else {"events": list(bodies)}
        r = c.post(f"/api/sessions/{s['id']}/events/", body, format="json")
        if expect is not None:
            assert r.status_code == expect, r.content
        return r

    return c, s, post


def _statements(fn):
    """The statements a call ran, leaving out PostgreSQL's once-per-connection PREPAREs."""
    with CaptureQueriesContext(connection) as queries:
        fn()
    return [q["sql"] for q in queries if not q["sql"].startswith("PREPARE")]


def test_with_the_plan_kept_an_event_is_one_statement(posting):
    c, s, post = posting
    post(event(s, 0), expect=201)  # reads the plan
    sql = _statements(lambda: post(event(s, 0, kind="progress", seconds_played=3.0), expect=201))
    # one statement: the INSERT that checks the plan (authentication is forced here)
    assert len(sql) == 1 and "playbackevent" in sql[0].lower(), sql
    assert PlaybackEvent.objects.filter(session_id=s["id"]).count() == 2


def test_a_replan_made_elsewhere_is_seen_and_the_new_queue_accepted(posting, catalog):
    c, s, post = posting
    post(event(s, 0), expect=201)
    session = ListeningSession.objects.get(pk=s["id"])
    old = PlannedTrack.objects.get(session=session, position=1)
    new_track = next(t for t in catalog if t.pk not in {q.track_id for q in session.queue.all()})
    PlannedTrack.objects.filter(pk=old.pk).update(track=new_track)  # another process re-planned
    ListeningSession.objects.filter(pk=session.pk).update(replan_count=1)
    body = event(s, 1, track_id=new_track.pk)
    r = post(body, expect=201)
    assert r.json()["refused"] == [] and r.json()["events"][0]["created"] is True
    assert PlaybackEvent.objects.get(event_id=body["event_id"]).track_id == new_track.pk
    # and the old track at that position is now refused, by the fresh plan
    r = post(event(s, 1, track_id=old.track_id), expect=400)
    assert "track" in r.json()["refused"][0]["errors"]


def test_a_replan_that_keeps_the_plan_right_in_this_process_is_forgotten_too(posting):
    c, s, post = posting
    post(event(s, 0), expect=201)
    assert PLANS.get(s["id"], ListeningSession.objects.get(pk=s["id"]).user_id) is not None
    ListeningSession.objects.filter(pk=s["id"]).update(replan_count=1)
    post(event(s, 0, kind="progress", seconds_played=1.0), expect=201)
    assert PLANS.get(s["id"], ListeningSession.objects.get(pk=s["id"]).user_id).replan_count == 1


def test_a_session_completed_elsewhere_refuses_new_events_and_keeps_retries(posting):
    c, s, post = posting
    first = event(s, 0)
    post(first, expect=201)
    ListeningSession.objects.filter(pk=s["id"]).update(status=SessionStatus.COMPLETED)
    r = post(event(s, 0, kind="progress", seconds_played=5.0), expect=409)
    assert r.json()["status"] == "completed"
    assert post(first, expect=200).json()["events"][0]["created"] is False
    assert PlaybackEvent.objects.filter(session_id=s["id"]).count() == 1


def test_a_session_deleted_elsewhere_is_404_and_stores_nothing(posting):
    c, s, post = posting
    post(event(s, 0), expect=201)
    ListeningSession.objects.filter(pk=s["id"]).delete()
    post(event(s, 0, kind="progress", seconds_played=5.0), expect=404)
    assert not PlaybackEvent.objects.exists()


def test_someone_else_never_uses_the_owners_kept_plan(posting, make_user, client_for):
    c, s, post = posting
    post(event(s, 0), expect=201)
    r = client_for(make_user("participant")).post(f"/api/sessions/{s['id']}/events/", event(s, 0), format="json")
    assert r.status_code == 404
    assert PlaybackEvent.objects.filter(session_id=s["id"]).count() == 1


def test_retries_and_new_events_together_under_the_kept_plan(posting):
    c, s, post = posting
    a, b = event(s, 0), event(s, 0, kind="progress", seconds_played=2.0)
    post(a, expect=201)
    r = post(a, b, expect=201)
    assert [e["created"] for e in r.json()["events"]] == [False, True]
    r = post(a, b, expect=200)  # all retries: the guarded INSERT stores nothing, the fresh path answers
    assert [e["created"] for e in r.json()["events"]] == [False, False]
    assert PlaybackEvent.objects.filter(session_id=s["id"]).count() == 2


def test_an_event_that_looks_wrong_under_the_kept_plan_is_checked_again(posting, catalog):
    c, s, post = posting
    post(event(s, 0), expect=201)
    session = ListeningSession.objects.get(pk=s["id"])
    PlannedTrack.objects.create(session=session, position=9, track=catalog[-1], reason="added elsewhere", plan=0)
    body = {**event(s, 0), "position": 9, "track_id": catalog[-1].pk}  # position 9 is not in the kept queue
    r = post(body, expect=201)
    assert r.json()["refused"] == []


def test_the_cache_is_bounded_expires_and_can_be_switched_off(posting, settings, monkeypatch):
    c, s, post = posting
    settings.ATTUNE_LISTENING_PLAN_CACHE_SESSIONS = 2
    cache = PlanCache()
    session = ListeningSession.objects.get(pk=s["id"])
    plan = plan_read(user=session.user, session_id=session.pk)
    cache.put(plan)
    others = [plan.__class__(**{**plan.__dict__, "session_pk": plan.session_pk + k}) for k in (1, 2)]
    for o in others:
        cache.put(o)
    assert cache.get(plan.session_pk, plan.user_id) is None  # least recently used: out
    assert cache.get(others[1].session_pk, plan.user_id) is not None
    assert cache.get(others[1].session_pk, plan.user_id + 1) is None  # another person: never
    settings.ATTUNE_LISTENING_PLAN_CACHE_SECONDS = 0.0
    assert cache.get(others[0].session_pk, plan.user_id) is None  # expired
    settings.ATTUNE_LISTENING_PLAN_CACHE_SESSIONS = 0
    cache.put(plan)
    assert cache.get(plan.session_pk, plan.user_id) is None
    closed = plan.__class__(**{**plan.__dict__, "status": SessionStatus.COMPLETED})
    settings.ATTUNE_LISTENING_PLAN_CACHE_SESSIONS = 5
    settings.ATTUNE_LISTENING_PLAN_CACHE_SECONDS = 60.0
    cache.put(closed)
    assert cache.get(plan.session_pk, plan.user_id) is None  # only active sessions are kept


def test_the_kept_plan_holds_no_personal_data(posting):
    c, s, post = posting
    post(event(s, 0), expect=201)
    plan = PLANS.get(s["id"], ListeningSession.objects.get(pk=s["id"]).user_id)
    text = repr(plan)
    user = ListeningSession.objects.get(pk=s["id"]).user
    assert user.username not in text and user.participant_code not in text


@pytest.mark.parametrize("bad", [-1, 2**63, "12abc"])
def test_impossible_session_ids_are_not_found(participant, bad):
    from studies.listening.services.common import SessionNotFound
    from studies.listening.services.events import EventInput, events_record

    e = EventInput(uuid.uuid4(), "started", None, 0, None, timezone.now())
    with pytest.raises(SessionNotFound):
        events_record(user=participant, session_id=bad, events=[e])
