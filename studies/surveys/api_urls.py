"""API routes of studies.surveys (mounted under /api/)."""

from django.urls import path

from studies.surveys.api import RatingSubmitApi, SurveyNextApi, SurveySkipApi

urlpatterns = [
    path("surveys/<int:survey_id>/next/", SurveyNextApi.as_view(), name="api-surveys-next"),
    path("surveys/<int:survey_id>/ratings/", RatingSubmitApi.as_view(), name="api-surveys-rating-submit"),
    path("surveys/<int:survey_id>/skip/", SurveySkipApi.as_view(), name="api-surveys-skip"),
]
