"""Pages of the therapy app. The paths are those the pages had when they lived in accounts and
studies.listening; the names gained the `therapy:` namespace."""

from django.urls import path

from therapy import assignment_views, views

app_name = "therapy"
urlpatterns = [
    # links, invites, notes (the participant's side sits in Settings)
    path("settings/therapist/", views.my_therapist_view, name="my-therapist"),
    path("clients/", views.clients_view, name="therapist-clients"),
    path("clients/<int:link_id>/", views.client_detail_view, name="therapist-client"),
    # assigned playlists and outcomes
    path("therapy/clients/<int:link_id>/assign/", assignment_views.assignment_new_view, name="assignment-new"),
    path("therapy/clients/<int:link_id>/outcomes.csv", assignment_views.client_outcomes_csv_view, name="client-outcomes-csv"),
    path("therapy/assignments/<int:assignment_id>/cancel/", assignment_views.assignment_cancel_view, name="assignment-cancel"),
    path("therapy/tracks/search/", assignment_views.track_search_view, name="track-search"),
    path("assigned/<int:occurrence_id>/start/", assignment_views.assignment_start_view, name="assignment-start"),
]
