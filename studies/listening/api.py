"""Listening-session API: start, post playback events (one or a batch), complete, list own.

Errors: malformed input 400 (field messages), body over the limit 413, someone else's or an
unknown session 404, a session that is no longer active 409 (retries of events already stored
still answer 200 with the stored event), not logged in 403.
"""

from __future__ import annotations

import threading

from django.http import Http404
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_fields import FiniteFloatField
from emotion.vocab import FER
from studies.listening import conf, selectors
from studies.listening.mood import MoodError, MoodInput
from studies.listening.services.common import SessionClosed, SessionNotFound
from studies.listening.services.events import EventInput, events_record
from studies.listening.services.sessions import session_complete, session_start

MAX_BODY_BYTES = 256 * 1024


_VA = {"type": "number", "minimum": -1, "maximum": 1}
MOOD_SCHEMA = {
    "description": "Exactly one of: gems (9 intensities), valence + arousal (each in [-1, 1]), fer (an expression).",
    "oneOf": [
        {
            "type": "object",
            "properties": {
                "gems": {"type": "array", "items": {"type": "number", "minimum": 0}, "minItems": 9, "maxItems": 9}
            },
            "required": ["gems"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"valence": _VA, "arousal": _VA},
            "required": ["valence", "arousal"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"fer": {"type": "string", "enum": list(FER)}},
            "required": ["fer"],
            "additionalProperties": False,
        },
    ],
}


# Why the player changed the rest of the playlist, for the listener (the technical reason and the
# design-001 mode stay one click away, and in the event log for researchers).
REPLAN_MESSAGES = {
    ("away", "enhance"): gettext_lazy(
        "You seem to be moving away from how you wanted to feel, so the next pieces lead there more directly."),
    ("away", "modulate"): gettext_lazy(
        "You seem to be moving away from how you wanted to feel, so the next pieces stay closer to how you "
        "feel now and change more gently."),
    ("stalled", "enhance"): gettext_lazy(
        "Your mood has not changed much over the last few pieces, so the next ones take a clearer step "
        "toward how you want to feel."),
    ("stalled", "modulate"): gettext_lazy(
        "Your mood has not changed much over the last few pieces, so the next ones stay near how you feel "
        "now and move gently."),
}


def replan_message(decision) -> str:
    return str(REPLAN_MESSAGES.get((decision.trigger, decision.mode),
                                   gettext_lazy("The rest of the playlist was adapted to how you seem to feel.")))



@extend_schema_field(MOOD_SCHEMA)
class MoodField(serializers.Field):
    """A mood object: {"gems": [9 numbers]} | {"valence": v, "arousal": a} | {"fer": label}."""

    def to_internal_value(self, data):
        try:
            return MoodInput.from_dict(data)
        except MoodError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value):
        return value.as_dict()




class StrictSerializer(serializers.Serializer):
    """Unknown keys are an error, not silently ignored."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"detail": "Expected a JSON object."})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({"detail": f"Unknown field(s): {', '.join(str(k)[:40] for k in unknown)}."})
        return super().to_internal_value(data)


def _too_large(request) -> Response | None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return Response(
            {"detail": f"The request body is {length} bytes; the limit is {MAX_BODY_BYTES}."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    return None


def _closed(exc: SessionClosed) -> Response:
    return Response({"detail": str(exc), "status": exc.session.status}, status=status.HTTP_409_CONFLICT)


class QueueItemSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    track_id = serializers.IntegerField()
    title = serializers.CharField(source="track.title")
    artist = serializers.CharField(source="track.artist")
    duration_s = serializers.FloatField(source="track.duration_s", allow_null=True)
    audio_url = serializers.SerializerMethodField()
    preview_url = serializers.CharField(source="track.preview_url")
    reason = serializers.CharField()
    plan = serializers.IntegerField()

    def get_audio_url(self, item) -> str:
        return item.track.audio_url if item.track.audio_file else ""


class SessionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    strategy = serializers.CharField()
    chosen_by_experiment = serializers.SerializerMethodField()
    mode = serializers.CharField()
    pre = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()
    target_source = serializers.CharField()
    post = serializers.SerializerMethodField()
    length_tracks = serializers.IntegerField(allow_null=True)
    length_minutes = serializers.FloatField(allow_null=True)
    reflection_rating = serializers.IntegerField(allow_null=True)
    replan_count = serializers.IntegerField()
    trace_ref = serializers.CharField()

    def get_chosen_by_experiment(self, s) -> bool:
        return bool(s.assignment_ref)

    def get_pre(self, s) -> dict:
        return {"valence": s.pre_valence, "arousal": s.pre_arousal, "gems": s.pre_gems}

    def get_target(self, s) -> dict:
        return {"valence": s.target_valence, "arousal": s.target_arousal, "gems": s.target_gems}

    def get_post(self, s) -> dict | None:
        if s.post_valence is None:
            return None
        return {"valence": s.post_valence, "arousal": s.post_arousal, "gems": s.post_gems}


class SessionWithQueueOutputSerializer(SessionOutputSerializer):
    queue = QueueItemSerializer(many=True)


class SessionListOutputSerializer(serializers.Serializer):
    sessions = SessionOutputSerializer(many=True)


def _session_payload(session, *, with_queue: bool = True) -> dict:
    data = dict(SessionOutputSerializer(session).data)
    if with_queue:
        data["queue"] = QueueItemSerializer(selectors.session_queue(session=session), many=True).data
    return data


class SessionListStartApi(APIView):
    class InputSerializer(StrictSerializer):
        current = MoodField()
        desired = MoodField(required=False, allow_null=True, default=None)
        length_tracks = serializers.IntegerField(required=False, allow_null=True, default=None)
        length_minutes = FiniteFloatField(required=False, allow_null=True, default=None)
        strategy = serializers.CharField(required=False, allow_null=True, default=None, max_length=32)
        mode = serializers.CharField(required=False, allow_null=True, default=None, max_length=16)

    @extend_schema(operation_id="sessions_list", responses=SessionListOutputSerializer)
    def get(self, request):
        sessions = selectors.sessions_of(viewer=request.user).order_by("-created_at", "-id")[:100]
        return Response({"sessions": [_session_payload(s, with_queue=False) for s in sessions]})

    @extend_schema(request=InputSerializer, responses={201: SessionWithQueueOutputSerializer})
    def post(self, request):
        if (response := _too_large(request)) is not None:
            return response
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = session_start(user=request.user, **serializer.validated_data)
        return Response(_session_payload(session), status=status.HTTP_201_CREATED)


class SessionDetailApi(APIView):
    @extend_schema(responses=SessionWithQueueOutputSerializer)
    def get(self, request, session_id: int):
        session = selectors.session_get(viewer=request.user, session_id=session_id)
        if session is None:
            raise Http404("No such session.")
        return Response(_session_payload(session))


class EventInputSerializer(StrictSerializer):
    event_id = serializers.UUIDField()
    kind = serializers.CharField(max_length=16)
    track_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    position = serializers.IntegerField(min_value=0)
    seconds_played = FiniteFloatField(required=False, allow_null=True, default=None)
    occurred_at = serializers.DateTimeField()
    payload = serializers.DictField(required=False, default=dict)


_EVENT_INPUT = threading.local()


def event_input_check(item) -> tuple[dict, None] | tuple[None, dict]:
    """(validated data, None) or (None, errors), as EventInputSerializer(data=item).is_valid() gives.

    One serializer per thread checks every event, as DRF's ListSerializer checks each item
    with one child: a new serializer per event deep-copied its seven fields each time, a third
    of the events API's validation cost (issue 16). Anything but a JSON object goes the usual
    way, for DRF's own wording of those errors. tests/listening/test_api.py compares the two."""
    if not isinstance(item, dict):
        serializer = EventInputSerializer(data=item)
        serializer.is_valid()
        return None, serializer.errors
    checker = getattr(_EVENT_INPUT, "serializer", None)
    if checker is None:
        checker = _EVENT_INPUT.serializer = EventInputSerializer()
    try:
        return checker.run_validation(item), None
    except serializers.ValidationError as exc:
        return None, exc.detail


class EventOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.UUIDField()
    kind = serializers.CharField()
    track_id = serializers.IntegerField(allow_null=True)
    position = serializers.IntegerField(allow_null=True)
    seconds_played = serializers.FloatField(allow_null=True)
    occurred_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()


class EventRecordedSerializer(EventOutputSerializer):
    created = serializers.BooleanField(help_text="false when the event was a retry of one already stored")


_DATETIME_OUT = serializers.DateTimeField()


def event_recorded(event, created: bool) -> dict:
    """EventRecordedSerializer's output, written out: the events API's hot path answers every
    request with it, and building a serializer per event cost more than the INSERT (issue 16).
    tests/listening/test_events_batch.py checks that both give the same JSON."""
    return {
        "id": event.pk,
        "event_id": str(event.event_id),
        "kind": event.kind,
        "track_id": event.track_id,
        "position": event.position,
        "seconds_played": None if event.seconds_played is None else float(event.seconds_played),
        "occurred_at": _DATETIME_OUT.to_representation(event.occurred_at),
        "received_at": _DATETIME_OUT.to_representation(event.received_at),
        "created": created,
    }


class ReplannedSerializer(SessionWithQueueOutputSerializer):
    replan_reason = serializers.CharField()
    replan_mode = serializers.CharField()
    replan_message = serializers.CharField(help_text="why the rest of the playlist changed, in the listener's words")


class EventsOutputSerializer(serializers.Serializer):
    events = EventRecordedSerializer(many=True)
    replanned = ReplannedSerializer(allow_null=True, help_text="the re-planned session, when a finished track re-planned it")


class SessionEventsApi(APIView):
    """POST one event object, or {"events": [...]} (at most ATTUNE_LISTENING_MAX_BATCH).

    Each event is checked on its own: the valid ones are stored, the others are listed in
    "refused" ({"index", "event_id", "errors"}) and stored nowhere, so a client drops them
    instead of retrying. 201 when something new was stored, 200 when every accepted event was
    a retry of a stored one, 400 when nothing was accepted (or the batch as a whole is wrong:
    empty, over the limit, an event_id twice), 404 for someone else's session, 409 for a
    session that has ended (a late page-hide beacon), 413 for a body over 256 KB."""

    @extend_schema(
        request=EventInputSerializer,
        responses={201: EventsOutputSerializer, 200: EventsOutputSerializer, 409: OpenApiResponse(
            response=OpenApiTypes.OBJECT,
            description="The session is no longer active (retries of stored events still answer 200).")},
    )
    def post(self, request, session_id: int):
        if (response := _too_large(request)) is not None:
            return response
        data = request.data
        single = isinstance(data, dict) and "events" not in data
        raw = [data] if single else (data.get("events") if isinstance(data, dict) else None)
        if not isinstance(raw, list):
            return Response(
                {"detail": 'Send one event object or {"events": [...]}.'}, status=status.HTTP_400_BAD_REQUEST
            )
        if isinstance(data, dict) and not single and set(data) != {"events"}:
            return Response(
                {"detail": 'A batch is {"events": [...]} and nothing else.'}, status=status.HTTP_400_BAD_REQUEST
            )
        if not raw or len(raw) > conf.MAX_BATCH:
            return Response(
                {"detail": f"Send between 1 and {conf.MAX_BATCH} events."}, status=status.HTTP_400_BAD_REQUEST
            )
        refused: dict[int, dict] = {}
        valid: list[tuple[int, EventInput]] = []
        for i, item in enumerate(raw):
            checked, problems = event_input_check(item)
            if problems is None:
                valid.append((i, EventInput(**checked)))
            else:
                refused[i] = problems
        result = None
        if valid:
            try:
                result = events_record(user=request.user, session_id=session_id, events=[e for _, e in valid])
            except SessionNotFound as exc:
                return Response({"detail": str(exc)}, status=status.HTTP_404_NOT_FOUND)
            except SessionClosed as exc:
                return _closed(exc)
            for k, problems in result.refused.items():
                refused[valid[k][0]] = problems
        refusals = [
            {
                "index": i,
                "event_id": raw[i].get("event_id") if isinstance(raw[i], dict) else None,
                "errors": refused[i],
            }
            for i in sorted(refused)
        ]
        if result is None or not result.events:
            return Response(
                {"detail": "No event was stored: every event was refused.", "refused": refusals},
                status=status.HTTP_400_BAD_REQUEST,
            )
        body = {
            "events": [event_recorded(e, c) for e, c in result.events],
            "refused": refusals,
            "replanned": None,
        }
        if result.replan is not None:
            body["replanned"] = {
                **_session_payload(result.session),
                "replan_reason": result.replan.reason,
                "replan_mode": result.replan.mode,
                "replan_message": replan_message(result.replan),
            }
        created = any(c for _, c in result.events)
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SessionCompleteApi(APIView):
    class InputSerializer(StrictSerializer):
        post = MoodField()
        reflection_rating = serializers.IntegerField(required=False, allow_null=True, default=None)
        reflection_text = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)

    @extend_schema(request=InputSerializer, responses={200: SessionOutputSerializer, 409: OpenApiResponse(
        response=OpenApiTypes.OBJECT, description="The session is no longer active.")})
    def post(self, request, session_id: int):
        if (response := _too_large(request)) is not None:
            return response
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            session = session_complete(user=request.user, session_id=session_id, **serializer.validated_data)
        except SessionNotFound as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_404_NOT_FOUND)
        except SessionClosed as exc:
            return _closed(exc)
        return Response(_session_payload(session, with_queue=False))
