import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from emotion.vocab import GEMS_INFO, one_hot_gems
from studies.listening import hooks
from studies.listening.models import EmotionTraceSecond, ListeningSession, PlannedTrack, PlaybackEvent
from studies.listening.mood import MoodInput
from studies.listening.services.common import SessionClosed, SessionNotFound
from studies.listening.services.events import EventInput, event_record, events_record
from studies.listening.services.sessions import session_complete, session_start

SAD = MoodInput(valence=-0.6, arousal=-0.4)
CALM = MoodInput(gems=tuple(one_hot_gems("peacefulness")))


def start(user, **kw):
    args = {"current": SAD, "desired": CALM, "length_tracks": 5, "length_minutes": None, "strategy": "iso"}
    args.update(kw)
    return session_start(user=user, **args)


def ev(session, position=0, kind="started", seconds=None, at=None, event_id=None, track_id=None, payload=None):
    queue = {q.position: q.track_id for q in session.queue.all()}
    return {
        "user": session.user,
        "session_id": session.pk,
        "event_id": event_id or uuid.uuid4(),
        "kind": kind,
        "track_id": queue.get(position) if track_id is None else track_id,
        "position": position,
        "seconds_played": seconds,
        "occurred_at": at or timezone.now(),
        "payload": payload or {},
    }


# --- start -----------------------------------------------------------------------------------


def test_start_with_a_stated_target_builds_the_playlist(participant, catalog):
    s = start(participant)
    assert s.status == "active" and s.target_source == "stated" and s.strategy == "iso"
    peace = next(i for i in GEMS_INFO if i.name == "peacefulness")
    assert (s.target_valence, s.target_arousal) == pytest.approx((peace.valence, peace.arousal))
    assert (s.pre_valence, s.pre_arousal) == (-0.6, -0.4) and s.pre_gems is None and s.pre_source == "va"
    assert s.playlist is not None and s.playlist.owner == participant
    queue = list(s.queue.order_by("position").values_list("position", "track_id"))
    assert [p for p, _ in queue] == [0, 1, 2, 3, 4]
    assert [t for _, t in queue] == list(s.playlist.items.order_by("position").values_list("track_id", flat=True))
    assert s.assignment_ref is None and s.length_tracks == 5


def test_start_without_target_uses_the_mapping_strategys_therapeutic_target(participant, catalog):
    s = start(participant, desired=None, current=MoodInput(fer="sad"))
    # design 002 table: sadness -> uplifting (joyful activation)
    joy = next(i for i in GEMS_INFO if i.name == "joyful_activation")
    assert s.target_source == "mapping"
    assert (s.target_valence, s.target_arousal) == pytest.approx((joy.valence, joy.arousal))
    assert s.target_gems == pytest.approx(list(one_hot_gems("joyful_activation")))


def test_start_in_minutes_and_default_length(participant, catalog):
    assert start(participant, length_tracks=None, length_minutes=6.0).length_minutes == 6.0
    assert start(participant, length_tracks=None).length_tracks == 8


@pytest.mark.parametrize(
    "kw",
    [
        {"length_tracks": 0},
        {"length_tracks": 1000},
        {"length_tracks": 3, "length_minutes": 5.0},
        {"length_tracks": None, "length_minutes": float("nan")},
        {"length_tracks": True},
        {"strategy": "gan-of-doom"},
        {"mode": "party"},
        {"desired": MoodInput(valence=-0.6, arousal=-0.4)},
        {"current": {"valence": 3, "arousal": 0}},
    ],
)
def test_start_rejects_bad_requests_and_writes_nothing(participant, catalog, kw):
    with pytest.raises(ValidationError):
        start(participant, **kw)
    assert ListeningSession.objects.count() == 0


def test_a_registered_chooser_decides_the_strategy_and_sees_the_session_in_the_transaction(participant, catalog):
    seen = []

    def chooser(*, user, mode):
        assert user == participant and mode == "personal"
        return hooks.StrategyChoice(
            "random", {"x": 1}, "experiment:7/variant:2", on_session_started=lambda s: seen.append(s.pk)
        )

    old = hooks.install_strategy_chooser(chooser)
    try:
        s = start(participant, strategy="iso")
    finally:
        hooks.install_strategy_chooser(old)
    assert s.strategy == "random" and s.strategy_params == {"x": 1}
    assert s.assignment_ref == "experiment:7/variant:2"
    assert seen == [s.pk]


def test_a_failing_exposure_rolls_the_session_back(participant, catalog):
    def boom(session):
        raise RuntimeError("exposure store down")

    old = hooks.install_strategy_chooser(lambda *, user, mode: hooks.StrategyChoice("iso", {}, "e:1", boom))
    try:
        with pytest.raises(RuntimeError):
            start(participant)
    finally:
        hooks.install_strategy_chooser(old)
    assert ListeningSession.objects.count() == 0


def test_chooser_returning_none_leaves_the_persons_choice(participant, catalog):
    old = hooks.install_strategy_chooser(lambda *, user, mode: None)
    try:
        s = start(participant, strategy="random")
    finally:
        hooks.install_strategy_chooser(old)
    assert s.strategy == "random" and s.assignment_ref is None


# --- events ----------------------------------------------------------------------------------


def test_event_is_idempotent_on_the_client_id(participant, catalog):
    s = start(participant)
    args = ev(s, seconds=0.0)
    first, created = event_record(**args)
    again, created_again = event_record(**{**args, "kind": "skipped"})
    assert created and not created_again and again.pk == first.pk and again.kind == "started"
    assert PlaybackEvent.objects.filter(session=s).count() == 1


def test_a_mixed_batch_stores_the_valid_events_and_names_the_refused(participant, catalog):
    """Issue 16: a batch is no longer all-or-nothing; each event stands on its own."""
    s = start(participant)
    good, bad, good2 = ev(s), ev(s, position=1, track_id=-5), ev(s, position=2, kind="liked")
    events = [
        EventInput(**{k: v for k, v in e.items() if k not in ("user", "session_id")})
        for e in (good, bad, good2)
    ]
    result = events_record(user=participant, session_id=s.pk, events=events)
    assert list(result.refused) == [1] and "track" in result.refused[1]
    assert [(e.event_id, created) for e, created in result.events] == [
        (good["event_id"], True),
        (good2["event_id"], True),
    ]
    assert set(PlaybackEvent.objects.values_list("event_id", flat=True)) == {good["event_id"], good2["event_id"]}
    again = events_record(user=participant, session_id=s.pk, events=events)  # the client retries it all
    assert [created for _, created in again.events] == [False, False] and list(again.refused) == [1]
    assert PlaybackEvent.objects.count() == 2


def test_batch_level_errors_store_nothing(participant, catalog, settings):
    s = start(participant)
    settings.ATTUNE_LISTENING_MAX_BATCH = 3
    make = lambda **kw: EventInput(  # noqa: E731
        **{k: v for k, v in ev(s, **kw).items() if k not in ("user", "session_id")}
    )
    with pytest.raises(ValidationError, match="At most 3"):
        events_record(user=participant, session_id=s.pk, events=[make() for _ in range(4)])
    twice = make()
    with pytest.raises(ValidationError, match="twice"):
        events_record(user=participant, session_id=s.pk, events=[twice, make(), twice])
    assert PlaybackEvent.objects.count() == 0


def test_events_for_someone_elses_session_are_404(make_user, catalog):
    alice, mallory = make_user(), make_user()
    s = start(alice)
    with pytest.raises(SessionNotFound):
        event_record(**{**ev(s), "user": mallory})
    assert PlaybackEvent.objects.count() == 0


def test_events_after_completion_are_refused_but_retries_of_old_ones_answer(participant, catalog):
    s = start(participant)
    old = ev(s)
    event_record(**old)
    session_complete(user=participant, session_id=s.pk, post=CALM, reflection_rating=4, reflection_text="ok")
    with pytest.raises(SessionClosed):
        event_record(**ev(s, position=1))
    _, created = event_record(**old)
    assert created is False
    assert PlaybackEvent.objects.count() == 1


@pytest.mark.parametrize(
    "change, field",
    [
        ({"track_id": -1}, "track"),
        ({"position": 99}, "position"),
        ({"position": -1}, "position"),
        ({"kind": "replanned"}, "kind"),
        ({"kind": "exploded"}, "kind"),
        ({"occurred_at": "before"}, "occurred_at"),
        ({"occurred_at": "future"}, "occurred_at"),
        ({"seconds_played": 500.0}, "seconds_played"),
        ({"seconds_played": -1.0}, "seconds_played"),
        ({"kind": "progress"}, "seconds_played"),
        ({"kind": "reaction", "payload": {"gems": "boredom"}}, "payload"),
        ({"payload": {"x": "y" * 5000}}, "payload"),
    ],
)
def test_impossible_events_are_rejected(participant, catalog, change, field):
    s = start(participant)
    args = ev(s)
    if change.get("occurred_at") == "before":
        change = {"occurred_at": s.started_at - timedelta(minutes=5)}
    elif change.get("occurred_at") == "future":
        change = {"occurred_at": timezone.now() + timedelta(minutes=5)}
    args.update(change)
    with pytest.raises(ValidationError) as err:
        event_record(**args)
    assert field in str(err.value)
    assert PlaybackEvent.objects.count() == 0


def test_seconds_played_cannot_exceed_the_time_the_session_has_run(participant, catalog):
    s = start(participant)
    ListeningSession.objects.filter(pk=s.pk).update(started_at=timezone.now() - timedelta(seconds=120))
    s.refresh_from_db()
    # 100 s of a 120 s track, 1 s after the start (30 s skew allowed): impossible
    with pytest.raises(ValidationError, match="more time than the session"):
        event_record(**ev(s, kind="progress", seconds=100.0, at=s.started_at + timedelta(seconds=1)))
    _, created = event_record(**ev(s, kind="progress", seconds=100.0))
    assert created


def test_reaction_and_like_are_stored(participant, catalog):
    s = start(participant)
    event_record(**ev(s, kind="reaction", payload={"gems": "tenderness"}))
    event_record(**ev(s, kind="liked"))
    assert sorted(s.events.values_list("kind", flat=True)) == ["liked", "reaction"]


# --- completion ------------------------------------------------------------------------------


def test_complete_stores_post_mood_and_reflection(participant, catalog):
    s = start(participant)
    done = session_complete(
        user=participant, session_id=s.pk, post=CALM, reflection_rating=5, reflection_text="  lovely  "
    )
    assert done.status == "completed" and done.completed_at is not None
    assert done.post_gems == pytest.approx(list(one_hot_gems("peacefulness")))
    assert done.reflection_rating == 5 and done.reflection_text == "lovely"
    with pytest.raises(SessionClosed):
        session_complete(user=participant, session_id=s.pk, post=CALM, reflection_rating=5)


@pytest.mark.parametrize("rating", [0, 6, "4", True, 2.5])
def test_complete_rejects_bad_ratings(participant, catalog, rating):
    s = start(participant)
    with pytest.raises(ValidationError):
        session_complete(user=participant, session_id=s.pk, post=CALM, reflection_rating=rating)
    s.refresh_from_db()
    assert s.status == "active"


def test_complete_someone_elses_session_is_404(make_user, catalog):
    alice, bob = make_user(), make_user()
    s = start(alice)
    with pytest.raises(SessionNotFound):
        session_complete(user=bob, session_id=s.pk, post=CALM, reflection_rating=3)


# --- trace -----------------------------------------------------------------------------------


def aggregate(session, t, valence=0.1, arousal=0.1, label="happy"):
    return {
        "second": int(session.started_at.timestamp()) + t,
        "frames": 3,
        "frames_with_face": 3,
        "mean_probabilities": {"angry": 0.1, "disgust": 0.0, "fear": 0.0, "happy": 0.7, "sad": 0.1,
                               "surprise": 0.0, "neutral": 0.1},
        "valence": valence,
        "arousal": arousal,
        "stable_label": label,
    }


def test_trace_is_stored_only_with_consent_and_only_for_own_active_session(make_user, catalog):
    """Through the sink the webcam consumer calls (installed by config/wiring.py)."""
    from emotion import consumers
    from studies.listening.services.trace import trace_second_store

    sink = consumers._trace_sink
    assert sink is trace_second_store

    with_consent = make_user(emotion_trace=True)
    without = make_user()
    other = make_user(emotion_trace=True)
    s1, s2 = start(with_consent), start(without)
    sink(user=with_consent, session_ref=s1.trace_ref, aggregate=aggregate(s1, 3))
    sink(user=without, session_ref=s2.trace_ref, aggregate=aggregate(s2, 3))
    sink(user=other, session_ref=s1.trace_ref, aggregate=aggregate(s1, 4))
    sink(user=with_consent, session_ref="nonsense", aggregate=aggregate(s1, 5))
    sink(user=with_consent, session_ref=s1.trace_ref, aggregate=aggregate(s1, 3))
    rows = list(EmotionTraceSecond.objects.all())
    assert [(r.session_id, r.t, r.stable_label) for r in rows] == [(s1.pk, 3, "happy")]
    assert rows[0].happy == pytest.approx(0.7)


# --- re-plan ---------------------------------------------------------------------------------


def _trace(session, values):
    EmotionTraceSecond.objects.bulk_create(
        [
            EmotionTraceSecond(session=session, t=t, second=t, valence=v, arousal=a, stable_label="sad")
            for t, (v, a) in enumerate(values)
        ]
    )


def _finish(session, position):
    event_record(**ev(session, position=position, kind="skipped", seconds=1.0))


def test_no_progress_after_configured_tracks_replans_the_rest(participant, catalog, settings):
    settings.ATTUNE_LISTENING_REPLAN_AFTER_TRACKS = 2
    s = start(participant, length_tracks=6)
    before = list(s.queue.order_by("position").values_list("track_id", flat=True))
    _trace(s, [(-0.6, -0.4)] * 40)  # the face stays sad: no progress toward calm
    _finish(s, 0)
    assert s.events.filter(kind="replanned").count() == 0  # one track is not enough
    _finish(s, 1)
    replans = list(s.events.filter(kind="replanned"))
    assert len(replans) == 1
    r = replans[0]
    assert r.position == 2 and r.payload["mode"] in ("modulate", "enhance")
    assert r.payload["replaced_track_ids"] == before[2:]
    after = list(s.queue.order_by("position").values_list("position", "track_id", "plan"))
    assert [p for p, _, _ in after] == [0, 1, 2, 3, 4, 5]
    assert [t for _, t, _ in after[:2]] == before[:2]
    assert all(plan == 1 for _, _, plan in after[2:])
    assert not set(before[:2]) & {t for _, t, _ in after[2:]}
    s.refresh_from_db()
    assert s.replan_count == 1


def test_progress_toward_target_keeps_the_plan(participant, catalog, settings):
    settings.ATTUNE_LISTENING_REPLAN_AFTER_TRACKS = 1
    s = start(participant, length_tracks=4)
    _trace(s, [(-0.6, -0.4)] * 20 + [(0.3, -0.5)] * 20)
    _finish(s, 0)
    assert s.events.filter(kind="replanned").count() == 0


def test_moving_away_replans_after_one_track(participant, catalog, settings):
    settings.ATTUNE_LISTENING_REPLAN_AFTER_TRACKS = 5
    s = start(participant, length_tracks=4)
    _trace(s, [(-0.2, -0.3)] * 20 + [(-0.8, 0.6)] * 20)
    _finish(s, 0)
    assert s.events.filter(kind="replanned").count() == 1


def test_without_webcam_trace_nothing_is_replanned(participant, catalog, settings):
    settings.ATTUNE_LISTENING_REPLAN_AFTER_TRACKS = 1
    s = start(participant, length_tracks=4)
    _finish(s, 0)
    _finish(s, 1)
    assert s.events.filter(kind="replanned").count() == 0
    assert PlannedTrack.objects.filter(session=s, plan=0).count() == 4


def test_a_retry_of_an_event_whose_track_was_replanned_still_answers_with_the_original(participant, catalog):
    s = start(participant)
    args = ev(s, position=3)
    original, _ = event_record(**args)
    PlannedTrack.objects.filter(session=s, position=3).update(track=catalog[-1] if catalog[-1].pk != args["track_id"] else catalog[0])
    again, created = event_record(**args)
    assert created is False and again.pk == original.pk
    with pytest.raises(ValidationError):
        event_record(**{**args, "event_id": uuid.uuid4()})


def test_mapping_target_equal_to_the_current_mood_asks_for_a_target(participant, catalog):
    joyful = MoodInput(gems=tuple(one_hot_gems("joyful_activation")))  # read as happy -> joyful activation
    with pytest.raises(ValidationError, match="suggestion"):
        start(participant, current=joyful, desired=None)
    assert ListeningSession.objects.count() == 0
