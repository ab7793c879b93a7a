"""Accounts API: who am I, and my consents."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.consent import PURPOSES
from accounts.selectors import consents_of
from accounts.services import consents_set


class ConsentsSerializer(serializers.Serializer):
    research_data = serializers.BooleanField()
    webcam_inference = serializers.BooleanField()
    emotion_trace = serializers.BooleanField()
    therapist_sharing = serializers.BooleanField()


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        pseudonym = serializers.CharField(source="username")
        participant_code = serializers.CharField()
        role = serializers.CharField()
        mode = serializers.CharField()
        consents = ConsentsSerializer()

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        user = request.user
        payload = {
            "username": user.username,
            "participant_code": user.participant_code,
            "role": user.role,
            "mode": user.mode,
            "consents": consents_of(user=user),
        }
        return Response(self.OutputSerializer(payload).data)


class MeConsentsApi(APIView):
    """PATCH any subset of the four consents; unknown purposes are rejected, nothing changes."""

    class InputSerializer(serializers.Serializer):
        research_data = serializers.BooleanField(required=False)
        webcam_inference = serializers.BooleanField(required=False)
        emotion_trace = serializers.BooleanField(required=False)
        therapist_sharing = serializers.BooleanField(required=False)

        def to_internal_value(self, data):
            if not isinstance(data, dict):
                raise serializers.ValidationError({"detail": "Expected a JSON object of purpose: true/false."})
            unknown = sorted(set(data) - set(PURPOSES))
            if unknown:
                raise serializers.ValidationError(
                    {"detail": f"Unknown consent purpose(s): {', '.join(map(str, unknown))}."}
                )
            for key, value in data.items():
                if not isinstance(value, bool):
                    raise serializers.ValidationError({key: "Must be true or false."})
            if not data:
                raise serializers.ValidationError({"detail": "Nothing to change."})
            return super().to_internal_value(data)

    @extend_schema(request=InputSerializer, responses=ConsentsSerializer)
    def patch(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consents = consents_set(user=request.user, changes=dict(serializer.validated_data))
        return Response(ConsentsSerializer(consents).data, status=status.HTTP_200_OK)
