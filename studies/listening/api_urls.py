"""API routes of studies.listening (mounted under /api/)."""

from django.urls import path

from studies.listening.api import SessionCompleteApi, SessionDetailApi, SessionEventsApi, SessionListStartApi

urlpatterns = [
    path("sessions/", SessionListStartApi.as_view(), name="api-listening-sessions"),
    path("sessions/<int:session_id>/", SessionDetailApi.as_view(), name="api-listening-session"),
    path("sessions/<int:session_id>/events/", SessionEventsApi.as_view(), name="api-listening-session-events"),
    path("sessions/<int:session_id>/complete/", SessionCompleteApi.as_view(), name="api-listening-session-complete"),
]
