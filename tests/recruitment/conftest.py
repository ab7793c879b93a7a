"""Fixtures for the recruitment tests: a running experiment with a Prolific link, and a helper
that plays a participant's listening session (built directly, as tests/experiments does)."""

from __future__ import annotations

import pytest

from tests.experiments.conftest import consenting, make_experiment, make_session  # noqa: F401 - fixtures

PID = "5f1c2a3b4d5e6f7a8b9c0d1e"
COMPLETE = "https://app.prolific.com/submissions/complete"


@pytest.fixture
def make_link(db):
    from studies.recruitment.models import RecruitmentLink

    def make(experiment=None, survey=None, **fields):
        fields.setdefault("name", "Iso vs random before a procedure")
        fields.setdefault("consent_text", "You will listen to music for a few minutes and answer short questions.")
        fields.setdefault("pre_instruments", ["stai6", "sam"])
        fields.setdefault("post_instruments", ["stai6", "sam"])
        fields.setdefault("completion_url", COMPLETE)
        fields.setdefault("completion_code", "C1A2B3")
        fields.setdefault("screenout_url", "https://app.prolific.com/submissions/complete")
        fields.setdefault("screenout_code", "SCREEN9")
        link = RecruitmentLink(experiment=experiment, survey=survey, **fields)
        link.full_clean()
        link.save()
        return link

    return make


@pytest.fixture
def running_experiment(make_experiment):  # noqa: F811 - the imported fixture
    return make_experiment(start=True, primary_metric="instrument:stai6:total")


@pytest.fixture
def play_session(make_session):  # noqa: F811 - the imported fixture
    """A completed listening session of `user`, exposed in `experiment` (as session_start would)."""
    from studies.experiments.models import Exposure

    def play(user, experiment, *, variant=None, post=(0.3, -0.2)):
        session = make_session(user, status="completed", post=post)
        variant = variant or experiment.variants.order_by("id").first()
        Exposure.objects.create(experiment=experiment, variant=variant, user=user, session_id=session.pk,
                                participant_code=user.participant_code, reason="test")
        return session

    return play


STAI_CALM = {"calm": 4, "tense": 1, "upset": 1, "relaxed": 4, "content": 4, "worried": 1}  # 20
STAI_ANXIOUS = {"calm": 1, "tense": 4, "upset": 3, "relaxed": 2, "content": 1, "worried": 4}  # 73.33
SAM_ANSWER = {"pleasure": 6, "arousal": 3, "dominance": 5}
