"""Survey API used by the survey page's JavaScript: the next track, and submitting an answer.

Bad input gets a 4xx with a message: 403 without `research_data` consent, 404 for a survey
that does not exist (or is still a draft), 400 for everything the service refuses (closed
survey, track outside the survey, second answer, > 3 picks, intensities outside 0-4, too
little listening). Nothing is stored when the answer is refused.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from emotion.vocab import GEMS_INFO, N_GEMS
from studies.surveys import conf
from studies.surveys.models import Survey, SurveyStatus
from studies.surveys.selectors import answers_given
from studies.surveys.services.responses import next_track_for, rating_submit, skip_check

# (name, label) pairs: OpenAPI names this choice set "PicksEnum", distinct from the recommender's
# plain-name GEMS choice ("EmotionEnum"), so the schema has no two names for one choice set.
PICK_CHOICES = [(e.name, e.label) for e in GEMS_INFO]


def _survey_or_404(survey_id: int) -> Survey:
    survey = Survey.objects.exclude(status=SurveyStatus.DRAFT).filter(pk=survey_id).first()
    if survey is None:
        raise Http404("There is no such survey.")
    return survey


def _audio_url(track) -> str:
    return track.audio_url


@extend_schema_serializer(component_name="SurveyTrack")
class TrackSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    artist = serializers.CharField()
    audio_url = serializers.CharField()


SKIPPED_KEY = "surveys.skipped"


def _skipped(request, survey_id: int) -> list[int]:
    """Tracks this browser session passed over in the survey (kept in the session only)."""
    return list(request.session.get(SKIPPED_KEY, {}).get(str(survey_id), []))


class SurveyNextApi(APIView):
    """GET the next track to rate (or done=true with the number of answers given)."""

    @extend_schema_serializer(component_name="SurveyNextTrack")
    class OutputSerializer(serializers.Serializer):
        done = serializers.BooleanField()
        answered = serializers.IntegerField()
        total = serializers.IntegerField()
        track = TrackSerializer(allow_null=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request, survey_id: int):
        survey = _survey_or_404(survey_id)
        nxt = next_track_for(user=request.user, survey=survey, skipped=_skipped(request, survey.pk))
        track = None
        if nxt.track is not None:
            t = nxt.track
            track = {"id": t.pk, "title": t.title, "artist": t.artist, "audio_url": _audio_url(t)}
        payload = {"done": nxt.done, "answered": nxt.answered, "total": nxt.total, "track": track}
        return Response(self.OutputSerializer(payload).data)


class RatingSubmitApi(APIView):
    """POST one answer. A retry with the same client_id returns the stored answer (200)."""

    throttle_classes = [UserRateThrottle]

    @extend_schema_serializer(component_name="SurveyRatingInput")
    class InputSerializer(serializers.Serializer):
        client_id = serializers.UUIDField()
        track_id = serializers.IntegerField(min_value=1)
        picks = serializers.ListField(
            child=serializers.ChoiceField(choices=PICK_CHOICES), required=False, allow_null=True, max_length=N_GEMS
        )
        intensities = serializers.ListField(
            child=serializers.IntegerField(), required=False, allow_null=True, max_length=N_GEMS + 1
        )
        liking = serializers.IntegerField(required=False, allow_null=True)
        familiarity = serializers.IntegerField(required=False, allow_null=True)
        listened_seconds = serializers.FloatField()

    @extend_schema_serializer(component_name="SurveyRatingOutput")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        client_id = serializers.UUIDField()
        track_id = serializers.IntegerField()
        created = serializers.BooleanField()
        answered = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request, survey_id: int):
        survey = _survey_or_404(survey_id)
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"detail": "Send the answer as a JSON object."})
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rating, created = rating_submit(
            user=request.user,
            survey_id=survey.pk,
            track_id=data["track_id"],
            client_id=data["client_id"],
            listened_seconds=data["listened_seconds"],
            picks=data.get("picks"),
            intensities=data.get("intensities"),
            liking=data.get("liking"),
            familiarity=data.get("familiarity"),
        )
        payload = {
            "id": rating.pk, "client_id": rating.client_id, "track_id": rating.track_id, "created": created,
            "answered": answers_given(user=request.user, survey=survey),
        }
        return Response(self.OutputSerializer(payload).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SurveySkipApi(APIView):
    """POST {"track_id"}: pass over a track for the rest of this browser session (a clip that
    will not play, a song one would rather not rate). Nothing is stored in the database."""

    class InputSerializer(serializers.Serializer):
        track_id = serializers.IntegerField(min_value=1)

    @extend_schema_serializer(component_name="SurveySkipOutput")
    class OutputSerializer(serializers.Serializer):
        skipped = serializers.ListField(child=serializers.IntegerField())

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request, survey_id: int):
        survey = _survey_or_404(survey_id)
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"detail": "Send a JSON object with track_id."})
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        track_id = serializer.validated_data["track_id"]
        skip_check(user=request.user, survey=survey, track_id=track_id)
        store = dict(request.session.get(SKIPPED_KEY, {}))
        skipped = _skipped(request, survey.pk)
        if track_id not in skipped:
            skipped.append(track_id)
        store[str(survey.pk)] = skipped[-conf.MAX_SKIPS :]
        request.session[SKIPPED_KEY] = store
        return Response(self.OutputSerializer({"skipped": store[str(survey.pk)]}).data)
