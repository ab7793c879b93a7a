"""API routes of studies.experiments (mounted under /api/)."""

from django.urls import path

from studies.experiments.api import ExperimentResultsApi

urlpatterns = [
    path("experiments/<int:experiment_id>/results/", ExperimentResultsApi.as_view(), name="experiment-results-api"),
]
