import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from studies.listening.models import ListeningSession, PlaybackEvent

START = {"current": {"valence": -0.6, "arousal": -0.4}, "desired": {"valence": 0.5, "arousal": -0.5},
         "length_tracks": 4, "strategy": "iso"}


@pytest.fixture
def started(participant, catalog, client_for):
    c = client_for(participant)
    r = c.post("/api/sessions/", START, format="json")
    assert r.status_code == 201, r.content
    return c, r.json()


def event(session, position=0, **kw):
    body = {
        "event_id": str(uuid.uuid4()),
        "kind": "started",
        "track_id": session["queue"][position]["track_id"],
        "position": position,
        "occurred_at": timezone.now().isoformat(),
    }
    body.update(kw)
    return body


def test_start_returns_the_queue(started):
    _, s = started
    assert s["status"] == "active" and len(s["queue"]) == 4 and s["chosen_by_experiment"] is False
    assert s["queue"][0]["preview_url"].startswith("https://")
    assert s["trace_ref"] == f"listening:{s['id']}"


def test_start_without_desired_uses_mapping(participant, catalog, client_for):
    r = client_for(participant).post("/api/sessions/", {**START, "desired": None}, format="json")
    assert r.status_code == 201 and r.json()["target_source"] == "mapping"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {**START, "current": {"valence": 2, "arousal": 0}},
        {**START, "current": "sad"},
        {**START, "length_tracks": -3},
        {**START, "strategy": "nope"},
        {**START, "surprise": 1},
        [START],
    ],
)
def test_start_malformed_is_400_and_nothing_changes(participant, catalog, client_for, body):
    r = client_for(participant).post("/api/sessions/", body, format="json")
    assert r.status_code == 400, r.content
    assert r.json()
    assert ListeningSession.objects.count() == 0


def test_unauthenticated_is_refused(catalog):
    r = APIClient().post("/api/sessions/", START, format="json")
    assert r.status_code in (401, 403)
    assert ListeningSession.objects.count() == 0


def test_event_single_and_duplicate(started):
    c, s = started
    body = event(s)
    r1 = c.post(f"/api/sessions/{s['id']}/events/", body, format="json")
    r2 = c.post(f"/api/sessions/{s['id']}/events/", body, format="json")
    assert r1.status_code == 201 and r1.json()["events"][0]["created"] is True
    assert r2.status_code == 200 and r2.json()["events"][0]["created"] is False
    assert r2.json()["events"][0]["id"] == r1.json()["events"][0]["id"]
    assert PlaybackEvent.objects.count() == 1


def test_event_batch(started):
    c, s = started
    batch = {"events": [event(s, 0), event(s, 0, kind="progress", seconds_played=0.5), event(s, 1, kind="liked")]}
    r = c.post(f"/api/sessions/{s['id']}/events/", batch, format="json")
    assert r.status_code == 201 and [e["kind"] for e in r.json()["events"]] == ["started", "progress", "liked"]
    assert PlaybackEvent.objects.count() == 3


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: {**event(s), "event_id": "not-a-uuid"},
        lambda s: {**event(s), "kind": "teleported"},
        lambda s: {**event(s), "track_id": 999999},
        lambda s: {**event(s), "occurred_at": (timezone.now() + timedelta(hours=1)).isoformat()},
        lambda s: {**event(s), "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat()},
        lambda s: {**event(s), "seconds_played": 10_000},
        lambda s: {**event(s), "extra": 1},
        lambda s: {"events": []},
        lambda s: {"events": [event(s)] * 2},
        lambda s: {"events": [event(s) for _ in range(101)]},
        lambda s: {"events": "x"},
        lambda s: [1, 2],
    ],
)
def test_bad_events_are_400_and_nothing_changes(started, mutate):
    c, s = started
    r = c.post(f"/api/sessions/{s['id']}/events/", mutate(s), format="json")
    assert r.status_code == 400, r.content
    assert PlaybackEvent.objects.count() == 0


def test_a_mixed_batch_stores_the_valid_events_and_says_which_were_refused(started):
    c, s = started
    good, good2 = event(s, 0), event(s, 1, kind="liked")
    future = event(s, 2, occurred_at=(timezone.now() + timedelta(hours=1)).isoformat())
    malformed = {**event(s, 3), "position": "third"}
    batch = {"events": [good, future, good2, malformed]}
    r = c.post(f"/api/sessions/{s['id']}/events/", batch, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert [e["event_id"] for e in body["events"]] == [good["event_id"], good2["event_id"]]
    assert [(x["index"], x["event_id"]) for x in body["refused"]] == [(1, future["event_id"]), (3, malformed["event_id"])]
    assert "future" in json.dumps(body["refused"][0]["errors"]) and "position" in body["refused"][1]["errors"]
    assert set(PlaybackEvent.objects.values_list("event_id", flat=True)) == {
        uuid.UUID(good["event_id"]),
        uuid.UUID(good2["event_id"]),
    }
    retry = c.post(f"/api/sessions/{s['id']}/events/", batch, format="json")  # the same batch again: nothing twice
    assert retry.status_code == 200 and [e["created"] for e in retry.json()["events"]] == [False, False]
    assert PlaybackEvent.objects.count() == 2


def test_a_batch_of_only_refused_events_is_400_and_names_each(started):
    c, s = started
    batch = {"events": [event(s, 0, kind="teleported"), event(s, 1, track_id=999999)]}
    r = c.post(f"/api/sessions/{s['id']}/events/", batch, format="json")
    assert r.status_code == 400
    assert [x["index"] for x in r.json()["refused"]] == [0, 1]
    assert PlaybackEvent.objects.count() == 0


def test_a_batch_over_the_size_limit_is_400_and_stores_nothing(started, settings):
    c, s = started
    settings.ATTUNE_LISTENING_MAX_BATCH = 5
    r = c.post(f"/api/sessions/{s['id']}/events/", {"events": [event(s) for _ in range(6)]}, format="json")
    assert r.status_code == 400 and "between 1 and 5" in r.json()["detail"]
    assert PlaybackEvent.objects.count() == 0


def test_a_page_hide_flush_after_the_session_ended_is_409_and_stores_nothing(started):
    """The player's last flush on page hide (fetch with keepalive: it carries the CSRF header,
    which sendBeacon cannot) can arrive after the session completed."""
    c, s = started
    sent = event(s, 0)
    assert c.post(f"/api/sessions/{s['id']}/events/", sent, format="json").status_code == 201
    done = c.post(f"/api/sessions/{s['id']}/complete/", {"post": {"fer": "happy"}}, format="json")
    assert done.status_code == 200
    beacon = {"events": [sent, event(s, 0, kind="progress", seconds_played=3.0)]}
    r = c.post(f"/api/sessions/{s['id']}/events/", beacon, format="json")
    assert r.status_code == 409 and "completed" in r.json()["detail"]
    assert PlaybackEvent.objects.count() == 1
    # a beacon that only repeats what was stored is answered as retries
    r = c.post(f"/api/sessions/{s['id']}/events/", sent, format="json")
    assert r.status_code == 200 and r.json()["events"][0]["created"] is False


def test_malformed_json_is_400(started):
    c, s = started
    r = c.post(f"/api/sessions/{s['id']}/events/", data="{not json", content_type="application/json")
    assert r.status_code == 400


def test_oversized_body_is_413(started):
    c, s = started
    body = json.dumps({**event(s), "payload": {"x": "y" * 300_000}})
    r = c.post(f"/api/sessions/{s['id']}/events/", data=body, content_type="application/json")
    assert r.status_code == 413
    assert PlaybackEvent.objects.count() == 0


def test_other_peoples_sessions_are_404(started, make_user, client_for):
    _, s = started
    mallory = client_for(make_user())
    assert mallory.post(f"/api/sessions/{s['id']}/events/", event(s), format="json").status_code == 404
    assert mallory.get(f"/api/sessions/{s['id']}/").status_code == 404
    r = mallory.post(f"/api/sessions/{s['id']}/complete/", {"post": {"fer": "happy"}}, format="json")
    assert r.status_code == 404
    assert mallory.get("/api/sessions/").json()["sessions"] == []
    assert PlaybackEvent.objects.count() == 0 and ListeningSession.objects.get().status == "active"


def test_complete_then_events_are_409(started):
    c, s = started
    done = c.post(f"/api/sessions/{s['id']}/complete/", {"post": {"valence": 0.4, "arousal": -0.4},
                                                         "reflection_rating": 4, "reflection_text": "calmer"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert done.json()["post"]["valence"] == 0.4
    r = c.post(f"/api/sessions/{s['id']}/events/", event(s), format="json")
    assert r.status_code == 409 and "completed" in r.json()["detail"]
    again = c.post(f"/api/sessions/{s['id']}/complete/", {"post": {"fer": "happy"}}, format="json")
    assert again.status_code == 409
    assert PlaybackEvent.objects.count() == 0


@pytest.mark.parametrize("body", [{"post": {}}, {"post": {"fer": "happy"}, "reflection_rating": 9}, {}])
def test_complete_malformed_is_400(started, body):
    c, s = started
    assert c.post(f"/api/sessions/{s['id']}/complete/", body, format="json").status_code == 400
    assert ListeningSession.objects.get().status == "active"


def test_list_own_sessions(started):
    c, s = started
    r = c.get("/api/sessions/")
    assert r.status_code == 200 and [x["id"] for x in r.json()["sessions"]] == [s["id"]]
    assert c.get(f"/api/sessions/{s['id']}/").json()["queue"][0]["position"] == 0


def test_a_finished_track_that_triggers_a_replan_returns_the_new_queue(started, settings):
    from studies.listening.models import EmotionTraceSecond

    settings.ATTUNE_LISTENING_REPLAN_AFTER_TRACKS = 1
    c, s = started
    EmotionTraceSecond.objects.bulk_create(
        [EmotionTraceSecond(session_id=s["id"], t=t, second=t, valence=-0.6, arousal=-0.4) for t in range(30)]
    )
    r = c.post(f"/api/sessions/{s['id']}/events/", event(s, 0, kind="skipped", seconds_played=1.0), format="json")
    assert r.status_code == 201
    replanned = r.json()["replanned"]
    assert replanned is not None and replanned["replan_count"] == 1 and replanned["replan_mode"] in ("modulate", "enhance")
    assert "target feels" in replanned["replan_reason"]
    # The listener reads why in plain words: no numbers, no jargon (the technical reason stays above).
    message = replanned["replan_message"]
    assert message.startswith(("Your mood has not changed", "You seem to be moving away")), message
    assert not any(ch.isdigit() for ch in message) and "webcam" not in message and "target" not in message
    assert [q["position"] for q in replanned["queue"]] == [0, 1, 2, 3]
    assert [q["plan"] for q in replanned["queue"]] == [0, 1, 1, 1]
    assert replanned["queue"][0]["track_id"] == s["queue"][0]["track_id"]


def test_the_replan_message_is_in_the_listeners_language(started, settings):
    from studies.listening.models import EmotionTraceSecond

    settings.ATTUNE_LISTENING_REPLAN_AFTER_TRACKS = 1
    c, s = started
    EmotionTraceSecond.objects.bulk_create(
        [EmotionTraceSecond(session_id=s["id"], t=t, second=t, valence=-0.6, arousal=-0.4) for t in range(30)]
    )
    r = c.post(f"/api/sessions/{s['id']}/events/", event(s, 0, kind="skipped", seconds_played=1.0), format="json",
               HTTP_ACCEPT_LANGUAGE="nb")
    message = r.json()["replanned"]["replan_message"]
    assert message.startswith(("Humøret ditt har ikke endret seg", "Det ser ut til at du beveger deg bort")), message


def test_every_trigger_and_mode_has_a_listener_message():
    from studies.listening.api import REPLAN_MESSAGES, replan_message
    from studies.listening.mood import ReplanDecision

    for trigger in ("away", "stalled"):
        for mode in ("modulate", "enhance"):
            decision = ReplanDecision(True, "technical", 0.0, (0.0, 0.0), (0.1, 0.1), mode, trigger)
            assert replan_message(decision) == str(REPLAN_MESSAGES[(trigger, mode)])


def test_the_written_out_event_answer_is_what_the_serializer_gives(started):
    """The hot path writes EventRecordedSerializer's output by hand (issue 16); they must agree."""
    from studies.listening.api import EventRecordedSerializer, event_recorded

    c, s = started
    c.post(f"/api/sessions/{s['id']}/events/", {"events": [
        event(s, 0), event(s, 0, kind="progress", seconds_played=12.5), event(s, 1, kind="progress", seconds_played=3)]},
        format="json")
    stored = list(PlaybackEvent.objects.filter(session_id=s["id"]))
    assert len(stored) == 3 and any(e.seconds_played is None for e in stored)
    for e, created in zip(stored, (True, False, True), strict=True):
        by_hand = json.loads(json.dumps(event_recorded(e, created)))
        by_serializer = json.loads(json.dumps(EventRecordedSerializer({**vars(e), "id": e.pk, "created": created}).data))
        assert by_hand == by_serializer


@pytest.mark.parametrize("item", [
    {"event_id": str(uuid.uuid4()), "kind": "started", "track_id": 3, "position": 0, "occurred_at": "2026-01-01T10:00:00Z"},
    {"event_id": "not-a-uuid", "kind": "x" * 40, "position": -1, "occurred_at": "yesterday", "seconds_played": "NaN"},
    {"event_id": str(uuid.uuid4()), "kind": "progress", "position": 1, "occurred_at": "2026-01-01T10:00:00+02:00",
     "seconds_played": 1e400, "payload": [1]},
    {"unknown": 1, "kind": "started"},
    {},
    [],
    None,
    "event",
    7,
])
def test_the_reused_event_checker_answers_as_a_new_serializer_would(item):
    """The events API checks every event with one serializer per thread (issue 16)."""
    from studies.listening.api import EventInputSerializer, event_input_check

    for _ in range(2):  # and the second use of the same checker too
        checked, problems = event_input_check(item)
        serializer = EventInputSerializer(data=item)
        if serializer.is_valid():
            assert problems is None and checked == serializer.validated_data
        else:
            assert checked is None and json.loads(json.dumps(problems)) == json.loads(json.dumps(serializer.errors))
