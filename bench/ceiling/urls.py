"""Attune's routes plus /bench/ceiling/<session>/: the cheapest view that stores one playback event.

It goes through the same server, handler and middleware as the events API (sessions, CSRF,
auth, WhiteNoise, ...) but does nothing a real endpoint must: it does not load the user, check
the session's owner, parse or validate the event, or answer with the stored row. One ORM
INSERT and a tiny JSON answer. What Attune's endpoint costs beyond it is the price of its
guarantees; bench/events.py prints the ratio.
"""

import uuid

from django.http import JsonResponse
from django.urls import path
from django.utils import timezone

from config.urls import urlpatterns as attune_urlpatterns
from studies.listening.models import PlaybackEvent


def ceiling(request, session_id: int):
    event = PlaybackEvent.objects.create(
        session_id=session_id, event_id=uuid.uuid4(), kind="progress", occurred_at=timezone.now(), payload={}
    )
    return JsonResponse({"id": event.pk}, status=201)


urlpatterns = [*attune_urlpatterns, path("bench/ceiling/<int:session_id>/", ceiling)]
