"""Pages of the recommender app."""

from django.urls import path

from recommender import history_views, views

app_name = "recommender"

urlpatterns = [
    path("playlists/", views.playlist_list_view, name="playlist-list"),
    path("playlists/new/", views.playlist_new_view, name="playlist-new"),
    path("playlists/<int:playlist_id>/", views.playlist_detail_view, name="playlist-detail"),
    path("playlists/<int:playlist_id>/export.<str:fmt>", views.playlist_export_view, name="playlist-export"),
    path("history/", history_views.history_view, name="history"),
    path("history/delete/", history_views.history_delete_view, name="history-delete"),
    path("tracks/<int:track_id>/audio", views.track_audio_view, name="track-audio"),
    path("tracks/<int:track_id>/audio/<str:token>", views.track_audio_link_view, name="track-audio-link"),
]
