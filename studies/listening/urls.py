"""Pages of studies.listening."""

from django.urls import path

from studies.listening import therapy_views, views

app_name = "listening"
urlpatterns = [
    path("sessions/new/", views.session_new_view, name="session-new"),
    path("sessions/history/", views.session_history_view, name="session-history"),
    path("sessions/<int:session_id>/", views.session_play_view, name="session-play"),
    path("sessions/<int:session_id>/finish/", views.session_finish_view, name="session-finish"),
    # Therapy (issue 7): assignments and outcomes.
    path("therapy/clients/<int:link_id>/assign/", therapy_views.assignment_new_view, name="assignment-new"),
    path("therapy/clients/<int:link_id>/outcomes.csv", therapy_views.client_outcomes_csv_view, name="client-outcomes-csv"),
    path("therapy/assignments/<int:assignment_id>/cancel/", therapy_views.assignment_cancel_view, name="assignment-cancel"),
    path("therapy/tracks/search/", therapy_views.track_search_view, name="track-search"),
    path("assigned/<int:occurrence_id>/start/", therapy_views.assignment_start_view, name="assignment-start"),
]
