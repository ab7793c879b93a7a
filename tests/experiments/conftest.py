"""Fixtures for the experiment tests: experiments with variants, consenting participants and
listening sessions built directly (without the playlist engine)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone


@pytest.fixture
def make_experiment(db):
    from studies.experiments import services

    counter = {"n": 0}

    def make(*, variants=(("iso", "iso", 1.0),), control=True, start=False, **fields):
        counter["n"] += 1
        fields.setdefault("name", f"Experiment {counter['n']}")
        fields.setdefault("hypothesis_null", "The strategy does not change the mood shift.")
        fields.setdefault("hypothesis_alt", "The strategy changes the mood shift.")
        experiment = services.experiment_create(**fields)
        if control:
            services.variant_add_random_control(experiment=experiment)
        for name, strategy, weight in variants:
            services.variant_add(experiment=experiment, name=name, strategy=strategy, weight=weight)
        if start:
            experiment = services.experiment_start(experiment=experiment)
        experiment.refresh_from_db()
        return experiment

    return make


@pytest.fixture
def consenting(make_user):
    """A participant with the research_data consent on."""

    def make(**kw):
        return make_user("participant", research_data=True, **kw)

    return make


@pytest.fixture
def make_session(db):
    from studies.listening.models import ListeningSession, PlaybackEvent

    def make(user, *, pre=(-0.5, -0.4), target=(0.5, 0.5), post=None, status="active", events=(), **fields):
        now = timezone.now()
        session = ListeningSession.objects.create(
            user=user, status=status, started_at=now - timedelta(minutes=30),
            completed_at=now if status == "completed" else None, pre_valence=pre[0], pre_arousal=pre[1],
            target_valence=target[0], target_arousal=target[1], target_source="stated",
            post_valence=post[0] if post else None, post_arousal=post[1] if post else None,
            strategy=fields.pop("strategy", "iso"), **fields)
        for kind, position in events:
            PlaybackEvent.objects.create(session=session, event_id=uuid.uuid4(), kind=kind, position=position,
                                         occurred_at=now - timedelta(minutes=10))
        return session

    return make


@pytest.fixture
def catalog(db):
    """48 labelled tracks spread over the valence/arousal plane (enough for short sessions)."""
    import numpy as np

    from emotion.vocab import va_to_gems
    from recommender.models import Track
    from recommender.services.labels import track_labels_bulk_set

    rng = np.random.default_rng(0)
    va = rng.uniform(-0.9, 0.9, size=(48, 2))
    tracks = [Track.objects.create(title=f"Piece {i}", artist=f"Composer {i % 12}", genre="classical", duration_s=120.0,
                                   external_id=f"exp-test-{i}", valence=float((v + 1) / 2), energy=float((a + 1) / 2),
                                   tempo=float(80 + 30 * (a + 1)), mode=int(v > 0))
              for i, (v, a) in enumerate(va)]
    track_labels_bulk_set(track_ids=[t.pk for t in tracks], source="survey", gems=va_to_gems(va))
    return tracks
