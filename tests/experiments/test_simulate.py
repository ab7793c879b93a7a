"""simulate_experiment: real sessions through listening.services, assigned by the experiment."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from studies.experiments.models import AnalysisResult, Exposure
from studies.experiments.simulation import USERNAME_PREFIX
from studies.listening.models import ListeningSession, PlaybackEvent


def test_simulated_participants_take_real_sessions(make_experiment, catalog, settings, capsys):
    settings.DEBUG = False
    exp = make_experiment(start=True, secondary_metrics=["completion_rate", "skip_rate"])
    call_command("simulate_experiment", exp.pk, "--participants", "16", "--tracks", "3", "--seed", "1", "--yes")
    out = capsys.readouterr().out
    assert "16 participants took 16 sessions" in out and "Analysis #" in out
    sessions = ListeningSession.objects.filter(user__username__startswith=USERNAME_PREFIX)
    assert sessions.count() == 16
    exposures = Exposure.objects.filter(experiment=exp)
    assert exposures.count() == 16
    assert {e.session_id for e in exposures} == set(sessions.values_list("id", flat=True))
    # the experiment decided each strategy, and the session carries its reference
    for session in sessions:
        exposure = exposures.get(session_id=session.pk)
        assert session.strategy == exposure.variant.strategy
        assert session.assignment_ref == f"experiment:{exp.pk}/variant:{exposure.variant_id}"
    assert sessions.filter(status="completed", post_valence__isnull=False).exists()
    assert PlaybackEvent.objects.filter(session__in=sessions, kind="started").count() >= 16
    snapshot = AnalysisResult.objects.get(experiment=exp)
    assert snapshot.result["n_sessions"] == 16


def test_refuses_without_debug_or_yes_and_when_not_running(make_experiment, settings):
    settings.DEBUG = False
    running = make_experiment(start=True)
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("simulate_experiment", running.pk, "--participants", "3")
    settings.DEBUG = True
    draft = make_experiment()
    with pytest.raises(CommandError, match="start it first"):
        call_command("simulate_experiment", draft.pk, "--participants", "3")
    with pytest.raises(CommandError, match="between 1 and"):
        call_command("simulate_experiment", running.pk, "--participants", "0")
    with pytest.raises(CommandError, match="No experiment"):
        call_command("simulate_experiment", 999999, "--participants", "3")
    assert not ListeningSession.objects.exists() and not Exposure.objects.exists()


def test_demo_step_creates_a_paused_experiment_with_results(catalog, db, monkeypatch):
    from studies.experiments import demo
    from studies.experiments.demo import DEMO_NAME, demo_step
    from studies.experiments.models import Experiment

    monkeypatch.setattr(demo, "DEMO_PARTICIPANTS", 10)  # speed only; load_demo simulates 40

    message = demo_step(None)
    exp = Experiment.objects.get(name=DEMO_NAME)
    assert exp.status == "paused" and exp.variants.count() == 2
    assert Exposure.objects.filter(experiment=exp).count() == 10
    assert AnalysisResult.objects.filter(experiment=exp).exists() and "simulated sessions" in message
    assert "exists already" in demo_step(None)
    assert Experiment.objects.filter(name=DEMO_NAME).count() == 1


def test_session_start_is_decided_by_the_experiment_and_exposed_once(make_experiment, catalog, make_user):
    from studies.listening.mood import MoodInput
    from studies.listening.services.sessions import session_start

    exp = make_experiment(start=True)
    consenting = make_user("participant", research_data=True)
    refusing = make_user("participant")
    kw = {"current": MoodInput(valence=-0.5, arousal=-0.4), "desired": MoodInput(valence=0.5, arousal=0.3),
          "length_tracks": 3, "length_minutes": None, "strategy": "mapping"}
    s1 = session_start(user=consenting, **kw)
    s2 = session_start(user=consenting, **kw)
    exposures = Exposure.objects.filter(experiment=exp, user=consenting)
    assert exposures.count() == 2
    variant = exposures.first().variant
    assert s1.strategy == s2.strategy == variant.strategy  # the person's "mapping" is overridden
    assert s1.assignment_ref == s2.assignment_ref == f"experiment:{exp.pk}/variant:{variant.pk}"
    own = session_start(user=refusing, **kw)
    assert own.strategy == "mapping" and own.assignment_ref is None
    assert not Exposure.objects.filter(user=refusing).exists()


def test_sessions_per_participant_range_and_icc(make_experiment, catalog, settings, capsys):
    settings.DEBUG = True
    exp = make_experiment(start=True, assumed_icc=0.3, sessions_per_participant=2)
    call_command("simulate_experiment", exp.pk, "--participants", "6", "--sessions-per-participant", "1-3",
                 "--icc", "0.5", "--tracks", "2", "--seed", "3")
    out = capsys.readouterr().out
    per_person = {}
    for e in Exposure.objects.filter(experiment=exp):
        per_person[e.participant_code] = per_person.get(e.participant_code, 0) + 1
    assert len(per_person) == 6 and set(per_person.values()) <= {1, 2, 3}
    assert f"6 participants took {sum(per_person.values())} sessions" in out
    snapshot = AnalysisResult.objects.get(experiment=exp)
    assert snapshot.result["n_participants"] == 6
    for bad, message in ((["--icc", "1"], r"\[0, 1\)"), (["--sessions-per-participant", "3-1"], "LO ≤ HI"),
                         (["--sessions-per-participant", "a-b"], "look like"),
                         (["--sessions", "2", "--sessions-per-participant", "1-2"], "not both")):
        with pytest.raises(CommandError, match=message):
            call_command("simulate_experiment", exp.pk, "--participants", "2", *bad)
    assert Exposure.objects.filter(experiment=exp).count() == sum(per_person.values())  # nothing half-written
