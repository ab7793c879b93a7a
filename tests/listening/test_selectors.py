import math

import pytest

from studies.listening.selectors import session_get, session_history, session_outcomes


def test_session_outcomes_values_on_constructed_sessions(participant, make_session):
    done = make_session(
        participant,
        pre=(-0.6, -0.2),
        target=(0.4, 0.5),
        post=(0.1, 0.2),
        status="completed",
        reflection_rating=4,
        assignment_ref="experiment:1/variant:2",
        events=[("started", 0), ("completed", 0), ("started", 1), ("skipped", 1), ("started", 2),
                ("progress", 2), ("reaction", 2), ("liked", 3), ("skipped", 1)],
    )
    open_ = make_session(participant, pre=(0.0, 0.0), target=(0.5, 0.5))
    rows = {o.session_id: o for o in session_outcomes()}
    o = rows[done.pk]
    assert o.completed is True
    assert o.participant_code == participant.participant_code
    assert o.assignment_ref == "experiment:1/variant:2"
    assert o.tracks_played == 3  # positions 0, 1, 2 (a like alone is not a play)
    assert o.skips == 1  # position 1, counted once
    assert o.skip_rate == pytest.approx(1 / 3)
    assert o.pre_distance == pytest.approx(math.hypot(1.0, 0.7))
    assert o.post_distance == pytest.approx(math.hypot(0.3, 0.3))
    assert o.shift_toward_target == pytest.approx(math.hypot(1.0, 0.7) - math.hypot(0.3, 0.3))
    assert o.valence_change == pytest.approx(0.7)
    assert o.reflection_rating == 4
    assert (o.pre_valence, o.pre_arousal) == (-0.6, -0.2)

    u = rows[open_.pk]
    assert u.completed is False and u.tracks_played == 0 and u.skip_rate is None
    assert u.post_distance is None and u.shift_toward_target is None and u.valence_change is None

    assert [o.session_id for o in session_outcomes(session_ids=[open_.pk])] == [open_.pk]


def test_session_outcomes_since(participant, make_session):
    from datetime import timedelta

    from django.utils import timezone

    s = make_session(participant)
    assert [o.session_id for o in session_outcomes(since=timezone.now() - timedelta(hours=1))] == [s.pk]
    assert session_outcomes(since=timezone.now() + timedelta(hours=1)) == []


def test_history_and_get_are_scoped_to_the_owner(make_user, make_session):
    alice, bob = make_user(), make_user()
    mine = make_session(alice)
    theirs = make_session(bob)
    assert [s.session.pk for s in session_history(viewer=alice)] == [mine.pk]
    assert session_get(viewer=alice, session_id=mine.pk) == mine
    assert session_get(viewer=alice, session_id=theirs.pk) is None
    assert session_get(viewer=alice, session_id="abc") is None
