from datetime import timedelta

from django.utils import timezone

from accounts.services import user_erase, user_export
from studies.listening.models import EmotionTraceSecond, ListeningSession, PlaybackEvent
from studies.listening.tasks import sessions_abandon_stale


def _with_data(make_session, user):
    s = make_session(user, status="completed", post=(0.1, 0.1), reflection_text="my private note",
                     events=[("started", 0), ("skipped", 0)])
    EmotionTraceSecond.objects.create(session=s, t=1, second=1, valence=0.2, arousal=0.1, happy=0.8)
    return s


def test_export_holds_sessions_events_and_trace(make_user, make_session):
    user = make_user()
    s = _with_data(make_session, user)
    data = user_export(user=user)
    assert [x["id"] for x in data["listening_sessions"]] == [s.pk]
    assert [e["kind"] for e in data["listening_events"]] == ["started", "skipped"]
    assert data["listening_traces"][0]["happy"] == 0.8
    assert data["listening_reflections"] == [{"session_id": s.pk, "reflection_text": "my private note"}]


def test_erasure_without_research_consent_deletes_everything(make_user, make_session):
    user, other = make_user(), make_user()
    _with_data(make_session, user)
    keep = _with_data(make_session, other)
    user_erase(user=user)
    assert list(ListeningSession.objects.values_list("pk", flat=True)) == [keep.pk]
    assert PlaybackEvent.objects.filter(session__user=user).count() == 0
    assert EmotionTraceSecond.objects.filter(session__user=user).count() == 0


def test_erasure_with_research_consent_keeps_rows_but_not_free_text(make_user, make_session):
    user = make_user(research_data=True)
    s = _with_data(make_session, user)
    user_erase(user=user)
    s.refresh_from_db()
    assert s.reflection_text == "" and s.events.count() == 2 and s.trace.count() == 1


def test_stale_sessions_are_abandoned(participant, make_session):
    old = make_session(participant)
    ListeningSession.objects.filter(pk=old.pk).update(started_at=timezone.now() - timedelta(hours=20))
    fresh = make_session(participant)
    assert sessions_abandon_stale.delay(hours=12).get() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == "abandoned" and fresh.status == "active"


def test_demo_step_makes_one_finished_session(make_user, catalog):
    from studies.listening.demo import demo_step

    assert "no demo-participant" in demo_step()
    user = make_user(username="demo-participant")
    assert "finished demo session of 4 tracks" in demo_step()
    s = ListeningSession.objects.get(user=user)
    assert s.status == "completed" and s.events.filter(kind="skipped").count() == 1
    assert "already" in demo_step()
