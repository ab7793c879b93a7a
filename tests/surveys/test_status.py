"""studies/surveys/services/status.py against the database: opening, pausing and closing a
survey, and the pool it opens with."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from studies.surveys.models import SurveyStatus
from studies.surveys.services.status import survey_close, survey_open, survey_pause


class TestSurveyStatus:
    def test_open_pause_close(self, make_survey):
        survey = make_survey(open_it=False)
        assert survey.status == SurveyStatus.DRAFT
        survey = survey_open(survey=survey)
        assert survey.status == SurveyStatus.OPEN and survey.opened_at is not None
        assert survey_pause(survey=survey).status == SurveyStatus.PAUSED
        assert survey_open(survey=survey).status == SurveyStatus.OPEN
        closed = survey_close(survey=survey)
        assert closed.status == SurveyStatus.CLOSED and closed.closed_at is not None
        with pytest.raises(ValidationError, match="cannot be set to open"):
            survey_open(survey=closed)

    def test_empty_pool_cannot_open(self, make_survey):
        survey = make_survey(n_tracks=0, open_it=False)
        with pytest.raises(ValidationError, match="no tracks"):
            survey_open(survey=survey)
        survey.refresh_from_db()
        assert survey.status == SurveyStatus.DRAFT

    def test_catalog_filter_pool(self, make_survey, tracks):
        from studies.surveys.selectors import survey_pool

        survey = make_survey(n_tracks=0, open_it=False, pool_from_catalog=True, filter_genres="ambient")
        pool = set(survey_pool(survey=survey).values_list("id", flat=True))
        assert pool == {t.pk for t in tracks if t.genre == "ambient"}
        survey.filter_genres = ""
        tracks[0].preview_url = ""
        tracks[0].save()
        assert tracks[0].pk not in set(survey_pool(survey=survey).values_list("id", flat=True))
