"""API routes of the recommender app (mounted under /api/)."""

from django.urls import path

from recommender.api import PlaylistCreateApi, PlaylistDetailApi

urlpatterns = [
    path("playlists/", PlaylistCreateApi.as_view(), name="api-recommender-playlists"),
    path("playlists/<int:playlist_id>/", PlaylistDetailApi.as_view(), name="api-recommender-playlist-detail"),
]
