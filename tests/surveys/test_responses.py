"""studies/surveys/services/responses.py against the database: rating_submit (quota, locks,
bad input) and next_track_for."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from studies.surveys.models import Rating, RepeatPlan
from studies.surveys.services.responses import next_track_for
from studies.surveys.services.status import survey_close, survey_pause


def _refused(call, exc=ValidationError, match: str | None = None):
    before = Rating.objects.count()
    with pytest.raises(exc, match=match):
        call()
    assert Rating.objects.count() == before


class TestRatingSubmit:
    def test_stores_a_valid_answer(self, survey, tracks, rater, submit):
        rating, created = submit(rater, survey, tracks[0], picks=("sadness", "nostalgia"))
        assert created
        assert rating.picks == ["nostalgia", "sadness"]
        assert rating.answer == [0, 0, 0, 1, 0, 0, 0, 0, 1]
        assert rating.liking == 3 and rating.familiarity == 2 and not rating.is_attention_check

    def test_same_client_id_is_idempotent(self, survey, tracks, rater, submit):
        cid = uuid.uuid4()
        first, created = submit(rater, survey, tracks[0], client_id=cid)
        again, created_again = submit(rater, survey, tracks[0], client_id=str(cid))
        assert created and not created_again and first.pk == again.pk
        assert Rating.objects.count() == 1

    def test_client_id_reused_for_another_track_is_refused(self, survey, tracks, rater, submit):
        cid = uuid.uuid4()
        submit(rater, survey, tracks[0], client_id=cid)
        _refused(lambda: submit(rater, survey, tracks[1], client_id=cid), match="already used")

    def test_without_consent_nothing_is_stored(self, survey, tracks, make_user, submit):
        shy = make_user("participant")
        _refused(lambda: submit(shy, survey, tracks[0]), PermissionDenied, "research use")
        revoked = make_user("participant", research_data=True)
        from accounts.services import consent_set

        consent_set(user=revoked, purpose="research_data", granted=False)
        _refused(lambda: submit(revoked, survey, tracks[0]), PermissionDenied)

    def test_track_outside_the_survey(self, survey, tracks, rater, submit):
        _refused(lambda: submit(rater, survey, tracks[-1]), match="not part of this survey")
        _refused(lambda: submit(rater, survey, 999_999), match="not part of this survey")

    @pytest.mark.parametrize("action", [survey_close, survey_pause])
    def test_closed_or_paused_survey(self, survey, tracks, rater, submit, action):
        survey = action(survey=survey)
        _refused(lambda: submit(rater, survey, tracks[0]), match="takes no answers")

    def test_draft_survey_is_unknown(self, make_survey, tracks, rater, submit):
        draft = make_survey(open_it=False)
        _refused(lambda: submit(rater, draft, tracks[0]), match="no such survey")

    def test_second_rating_of_the_same_track(self, survey, tracks, rater, submit):
        submit(rater, survey, tracks[0])
        _refused(lambda: submit(rater, survey, tracks[0]), match="already rated")

    def test_more_than_three_picks(self, survey, tracks, rater, submit):
        _refused(lambda: submit(rater, survey, tracks[0], picks=("wonder", "power", "tension", "sadness")),
                 match="at most 3")

    @pytest.mark.parametrize(
        "picks, match",
        [((), "at least one"), (("joy",), "Unknown emotion"), (("power", "power"), "once"), ("power", "list")],
    )
    def test_malformed_picks(self, survey, tracks, rater, submit, picks, match):
        _refused(lambda: submit(rater, survey, tracks[0], picks=picks if picks != "power" else None), match=match)

    @pytest.mark.parametrize(
        "intensities", [[0, 0, 0, 0, 0, 0, 0, 0, 5], [-1, 0, 0, 0, 0, 0, 0, 0, 0], [1] * 8, [1] * 10, ["a"] * 9, [0.5] * 9]
    )
    def test_intensities_outside_0_4(self, make_survey, tracks, rater, submit, intensities):
        survey = make_survey(response_format="intensity")
        _refused(lambda: submit(rater, survey, tracks[0], intensities=intensities))

    def test_intensities_within_0_4_are_stored(self, make_survey, tracks, rater, submit):
        survey = make_survey(response_format="intensity")
        rating, _ = submit(rater, survey, tracks[0], intensities=[4, 0, 0, 1, 2, 3, 0, 0, 0])
        assert rating.answer == [4, 0, 0, 1, 2, 3, 0, 0, 0]

    def test_answer_before_the_minimum_listening_time(self, make_survey, tracks, rater, submit):
        survey = make_survey(min_listen_seconds=20)
        _refused(lambda: submit(rater, survey, tracks[0], listened_seconds=19.5), match="at least 20 seconds")
        assert submit(rater, survey, tracks[0], listened_seconds=20)[1]

    @pytest.mark.parametrize("seconds", [-1, float("nan"), 10**9, "12", True])
    def test_malformed_listening_time(self, survey, tracks, rater, submit, seconds):
        _refused(lambda: submit(rater, survey, tracks[0], listened_seconds=seconds))

    @pytest.mark.parametrize("liking", [0, 6, None, 2.5, "3"])
    def test_liking_must_be_1_to_5_when_asked(self, survey, tracks, rater, submit, liking):
        _refused(lambda: submit(rater, survey, tracks[0], liking=liking), match="liking")

    def test_liking_not_asked_is_not_stored(self, make_survey, tracks, rater, submit):
        survey = make_survey(ask_liking=False, ask_familiarity=False)
        rating, _ = submit(rater, survey, tracks[0], liking=None, familiarity=None)
        assert rating.liking is None and rating.familiarity is None

    def test_bad_client_id(self, survey, tracks, rater, submit):
        _refused(lambda: submit(rater, survey, tracks[0], client_id="not-a-uuid"), match="UUID")


class TestNextTrack:
    def test_never_the_same_track_twice_and_least_rated_first(self, survey, tracks, rater, make_user, submit):
        others = [make_user("participant", research_data=True) for _ in range(2)]
        # tracks 0..3 get ratings from others; 4 and 5 have none
        for u in others:
            for t in tracks[:4]:
                submit(u, survey, t)
        seen = []
        for _ in range(6):
            nxt = next_track_for(user=rater, survey=survey)
            assert nxt.track is not None and nxt.track.pk not in seen
            seen.append(nxt.track.pk)
            submit(rater, survey, nxt.track)
        assert set(seen[:2]) == {tracks[4].pk, tracks[5].pk}  # unrated first
        done = next_track_for(user=rater, survey=survey)
        assert done.done and done.answered == 6

    def test_tracks_with_enough_ratings_are_not_served(self, make_survey, tracks, make_user, submit, rater):
        survey = make_survey(n_tracks=3, ratings_per_track=1)
        other = make_user("participant", research_data=True)
        submit(other, survey, tracks[0])
        submit(other, survey, tracks[1])
        assert next_track_for(user=rater, survey=survey).track.pk == tracks[2].pk

    def test_cap_per_participant(self, make_survey, rater, submit, tracks):
        survey = make_survey(tracks_per_participant=2)
        for _ in range(2):
            submit(rater, survey, next_track_for(user=rater, survey=survey).track)
        assert next_track_for(user=rater, survey=survey).done
        rated = set(Rating.objects.values_list("track_id", flat=True))
        other = next(t for t in tracks[:6] if t.pk not in rated)
        _refused(lambda: submit(rater, survey, other), match="already rated the 2 songs")

    def test_active_learning_asks_about_the_most_uncertain_label(self, make_survey, tracks, rater):
        from recommender.services.labels import track_label_set

        survey = make_survey(n_tracks=4, next_track_mode="active")
        sure = [0.92] + [0.01] * 8
        spread = [1 / 9] * 9
        track_label_set(track=tracks[0], source="propagated", gems=sure, confidence=0.95)
        track_label_set(track=tracks[1], source="propagated", gems=spread, confidence=0.9)
        track_label_set(track=tracks[2], source="survey", gems=sure, confidence=0.9)
        track_label_set(track=tracks[3], source="propagated", gems=sure, confidence=0.2)
        assert next_track_for(user=rater, survey=survey).track.pk == tracks[1].pk

    def test_planned_repeat_is_the_only_second_answer_allowed(self, make_survey, rater, submit):
        survey = make_survey(n_tracks=12, repeat_rate=0.5)
        repeats = []
        for _ in range(14):
            nxt = next_track_for(user=rater, survey=survey)
            if nxt.done:
                break
            if nxt.is_repeat:
                repeats.append(nxt.track.pk)
                # the plan survives a reload: asked again until answered
                assert next_track_for(user=rater, survey=survey).track.pk == nxt.track.pk
            rating, _ = submit(rater, survey, nxt.track)
            assert rating.is_attention_check == nxt.is_repeat
        assert repeats, "a repeat rate of 0.5 over a dozen answers plans at least one repeat"
        assert RepeatPlan.objects.filter(survey=survey, user=rater, answered=True).count() == len(repeats)
        # A third answer on a repeated track is refused.
        with pytest.raises(ValidationError, match="already rated"):
            submit(rater, survey, repeats[0])

    def test_gold_tracks_are_served_once_as_checks(self, make_survey, tracks, rater, submit):
        survey = make_survey(n_tracks=4)
        survey.gold_tracks.set([tracks[10]])
        kinds = []
        while not (nxt := next_track_for(user=rater, survey=survey)).done:
            kinds.append(nxt.is_gold)
            rating, _ = submit(rater, survey, nxt.track)
            assert rating.attention_kind == ("gold" if nxt.is_gold else "")
        assert kinds.count(True) == 1 and kinds.index(True) == 2

    def test_needs_consent_and_an_open_survey(self, survey, make_user):
        with pytest.raises(PermissionDenied):
            next_track_for(user=make_user("participant"), survey=survey)
        survey = survey_pause(survey=survey)
        with pytest.raises(ValidationError):
            next_track_for(user=make_user("participant", research_data=True), survey=survey)


class TestParallelSubmits:
    def test_quota_is_counted_after_the_participant_lock(self, make_survey, tracks, rater, submit, monkeypatch):
        """Two submits racing past the quota: the second one's count runs after it has the
        person's lock, so it sees the answer the first committed while it waited."""
        from studies.surveys.services import responses

        survey = make_survey(tracks_per_participant=2)
        submit(rater, survey, tracks[0])
        real_lock = responses._lock_participant
        raced = {}

        def lock_while_another_submit_commits(user):
            if not raced:  # the parallel request commits its answer first
                raced["done"] = True
                Rating.objects.create(survey=survey, track=tracks[1], user=user, answer=[0] * 8 + [1],
                                      listened_seconds=12.0)
            real_lock(user)

        monkeypatch.setattr(responses, "_lock_participant", lock_while_another_submit_commits)
        with pytest.raises(ValidationError, match="already rated the 2 songs"):
            submit(rater, survey, tracks[2])
        # (the simulated parallel answer lived in our transaction, so it rolled back with it)
        assert raced and not Rating.objects.filter(survey=survey, user=rater, track=tracks[2]).exists()

    def test_the_lock_is_taken_inside_the_answer_transaction(self, survey, tracks, rater, submit, monkeypatch):
        from django.db import connection

        from studies.surveys.services import responses

        seen = []
        real_lock = responses._lock_participant
        monkeypatch.setattr(responses, "_lock_participant",
                            lambda user: (seen.append((user.pk, connection.in_atomic_block)), real_lock(user)))
        submit(rater, survey, tracks[0])
        assert seen == [(rater.pk, True)]
