"""Websocket routes of the emotion app."""

websocket_urlpatterns: list = []
