"""The listener's own survey answers as the recommender's ListenerProfile (personal strategy)."""

from __future__ import annotations

import numpy as np
import pytest

from emotion.vocab import GEMS, one_hot_gems
from recommender.selectors import listener_profile
from studies.surveys.providers import survey_profile


def test_no_answers_no_profile(rater, make_user):
    from django.contrib.auth.models import AnonymousUser

    assert survey_profile(rater) is None and survey_profile(AnonymousUser()) is None


def test_profile_holds_only_the_persons_own_answers(make_survey, tracks, rater, make_user, submit):
    survey = make_survey()
    intensity = make_survey(title="Intensities", response_format="intensity")
    other = make_user("participant", research_data=True)
    submit(rater, survey, tracks[0], picks=("sadness", "nostalgia"), liking=5)
    submit(rater, survey, tracks[1], picks=("power",), liking=1)
    submit(rater, intensity, tracks[0], intensities=[0, 0, 0, 0, 0, 0, 0, 0, 4], liking=3)
    submit(rater, intensity, tracks[2], intensities=[0] * 9, liking=4)  # says nothing about emotion
    submit(other, survey, tracks[3], picks=("wonder",), liking=5)
    profile = survey_profile(rater)
    assert list(profile.track_ids) == [tracks[0].pk, tracks[1].pk]
    sad, nostalgia, power = GEMS.index("sadness"), GEMS.index("nostalgia"), GEMS.index("power")
    first = profile.gems[0]  # mean of {sadness .5, nostalgia .5} and {sadness 1}
    assert first[sad] == pytest.approx(0.75) and first[nostalgia] == pytest.approx(0.25)
    assert profile.gems[1][power] == pytest.approx(1.0)
    assert profile.liked_ids == (tracks[2].pk,)  # the latest liking of track 0 was 3
    assert profile.disliked_ids == (tracks[1].pk,)
    assert tracks[3].pk not in set(profile.track_ids) | set(profile.liked_ids)
    assert profile.validated().gems.shape == (2, 9)
    assert survey_profile(other).track_ids.tolist() == [tracks[3].pk]


def test_no_research_consent_still_uses_own_answers(make_survey, tracks, rater, submit):
    from accounts.services import consent_set

    submit(rater, make_survey(), tracks[0], picks=("tension",))
    consent_set(user=rater, purpose="research_data", granted=False)
    profile = listener_profile(user=rater)  # registered in SurveysConfig.ready()
    assert profile is not None and int(np.argmax(profile.gems[0])) == GEMS.index("tension")


def test_the_personal_strategy_learns_from_the_answers(make_survey, tracks, rater, make_user, submit):
    from recommender.engine.types import State
    from recommender.services.labels import track_label_set
    from recommender.services.playlists import playlist_create

    for i, t in enumerate(tracks):
        track_label_set(track=t, source="manual", gems=list(one_hot_gems(GEMS[i % 9])), confidence=0.9)
    survey = make_survey(n_tracks=12, tracks_per_participant=0)
    for t in tracks[:6]:
        submit(rater, survey, t, picks=("sadness",) if t.energy < 0.5 else ("power",))
    start, target = State.from_gems(one_hot_gems("sadness")), State.from_gems(one_hot_gems("joyful_activation"))
    mine = playlist_create(owner=rater, strategy="personal", start=start, target=target, n_tracks=4)
    assert any("Personal model from 6 of the listener's ratings" in note for note in mine.notes), mine.notes
    stranger = make_user("participant")
    theirs = playlist_create(owner=stranger, strategy="personal", start=start, target=target, n_tracks=4)
    assert any("No ratings from this listener yet" in note for note in theirs.notes), theirs.notes
