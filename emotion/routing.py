"""Websocket routes of the emotion app."""

from django.urls import path

from emotion.consumers import EmotionConsumer

websocket_urlpatterns = [path("ws/emotion/", EmotionConsumer.as_asgi())]
