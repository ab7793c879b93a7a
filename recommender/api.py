"""Playlist API: create one, list and read one's own. Thin: parse, call the service, shape."""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_fields import FiniteFloatField
from emotion.vocab import FER, GEMS
from recommender import conf
from recommender.engine.types import STRATEGIES, Constraints, EngineError, State
from recommender.selectors import playlist_get, playlists_visible_to
from recommender.services.playlists import playlist_create


class StateSerializer(serializers.Serializer):
    """One of: {"gems": [9 numbers]}, {"emotion": "<GEMS name>"}, {"valence": v, "arousal": a}, {"fer": "<label>"}."""

    gems = serializers.ListField(child=FiniteFloatField(min_value=0), min_length=9, max_length=9, required=False)
    emotion = serializers.ChoiceField(choices=GEMS, required=False)
    valence = FiniteFloatField(min_value=-1, max_value=1, required=False)
    arousal = FiniteFloatField(min_value=-1, max_value=1, required=False)
    fer = serializers.ChoiceField(choices=FER, required=False)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                'A state is an object: {"gems": [...9]}, {"emotion": name}, {"valence": v, "arousal": a} or {"fer": label}.'
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(f"Unknown state field(s): {', '.join(map(str, unknown))}.")
        values = super().to_internal_value(data)
        forms = [k for k in ("gems", "emotion", "fer") if k in values]
        if "valence" in values or "arousal" in values:
            if not ("valence" in values and "arousal" in values):
                raise serializers.ValidationError("Give both valence and arousal.")
            forms.append("va")
        if len(forms) != 1:
            raise serializers.ValidationError("Give the state in exactly one form: gems, emotion, valence/arousal or fer.")
        try:
            if "gems" in values:
                return State.from_gems(values["gems"])
            if "emotion" in values:
                return State.from_gems([1.0 if g == values["emotion"] else 0.0 for g in GEMS])
            if "fer" in values:
                return State.from_fer(values["fer"])
            return State.from_va(values["valence"], values["arousal"])
        except EngineError as exc:
            raise serializers.ValidationError(str(exc)) from None


class ConstraintsSerializer(serializers.Serializer):
    exclude_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=10_000, required=False)
    max_per_artist = serializers.IntegerField(min_value=1, max_value=1000, required=False, allow_null=True)
    allow_explicit = serializers.BooleanField(required=False, default=True)
    preferred_genres = serializers.ListField(child=serializers.CharField(max_length=100), max_length=50, required=False)
    disliked_genres = serializers.ListField(child=serializers.CharField(max_length=100), max_length=50, required=False)
    max_minutes = FiniteFloatField(min_value=0.1, max_value=conf.MAX_PLAYLIST_MINUTES, required=False, allow_null=True)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(f"Unknown constraint(s): {', '.join(map(str, unknown))}.")
        values = super().to_internal_value(data)
        return Constraints(
            exclude_ids=frozenset(values.get("exclude_ids", ())),
            max_per_artist=values.get("max_per_artist"),
            allow_explicit=values.get("allow_explicit", True),
            preferred_genres=tuple(values.get("preferred_genres", ())),
            disliked_genres=tuple(values.get("disliked_genres", ())),
            max_minutes=values.get("max_minutes"),
        )


class PlaylistInputSerializer(serializers.Serializer):
    strategy = serializers.ChoiceField(
        choices=STRATEGIES,
        error_messages={"invalid_choice": f'Unknown strategy "{{input}}"; choose one of: {", ".join(STRATEGIES)}.'},
    )
    start = StateSerializer()
    target = StateSerializer(required=False, allow_null=True)
    n_tracks = serializers.IntegerField(min_value=1, max_value=conf.MAX_PLAYLIST_TRACKS, required=False, allow_null=True)
    minutes = FiniteFloatField(min_value=0.1, max_value=conf.MAX_PLAYLIST_MINUTES, required=False, allow_null=True)
    constraints = ConstraintsSerializer(required=False)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, default=0)
    seed_track_id = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if attrs.get("n_tracks") is None and attrs.get("minutes") is None:
            attrs["n_tracks"] = 10
        if attrs["strategy"] not in ("mapping", "random", "seed_track") and attrs.get("target") is None:
            raise serializers.ValidationError({"target": f"The {attrs['strategy']} strategy needs a target state."})
        if attrs["strategy"] == "seed_track" and not attrs.get("seed_track_id"):
            raise serializers.ValidationError({"seed_track_id": "The seed_track strategy needs seed_track_id."})
        return attrs


def create_from_validated(*, owner, data: dict):
    return playlist_create(
        owner=owner,
        strategy=data["strategy"],
        start=data["start"],
        target=data.get("target"),
        n_tracks=data.get("n_tracks"),
        minutes=data.get("minutes"),
        constraints=data.get("constraints") or Constraints(),
        seed=data.get("seed", 0),
        seed_track_id=data.get("seed_track_id"),
        title=data.get("title", ""),
    )


class TrackOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    artist = serializers.CharField()
    album = serializers.CharField()
    genre = serializers.CharField()
    duration_s = serializers.FloatField(allow_null=True)
    audio_url = serializers.SerializerMethodField()

    def get_audio_url(self, track) -> str | None:
        # One place decides where audio plays from (the login-checked view): Track.audio_url.
        return track.audio_url or None


class ItemOutput(serializers.Serializer):
    position = serializers.IntegerField()
    track = TrackOutput()
    waypoint = serializers.SerializerMethodField()
    distance = serializers.FloatField(allow_null=True)
    reason = serializers.CharField()

    def get_waypoint(self, item) -> dict:
        return {"valence": item.waypoint_valence, "arousal": item.waypoint_arousal, "gems": item.waypoint_gems}


class PlaylistOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    strategy = serializers.CharField()
    start = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()
    requested_tracks = serializers.IntegerField(allow_null=True)
    requested_minutes = serializers.FloatField(allow_null=True)
    constraints = serializers.JSONField()
    seed = serializers.IntegerField()
    notes = serializers.JSONField()
    quality = serializers.JSONField()
    created_at = serializers.DateTimeField()
    items = ItemOutput(many=True)
    links = serializers.SerializerMethodField()

    def get_start(self, p) -> dict:
        return {"valence": p.start_va[0], "arousal": p.start_va[1], "gems": p.start_gems}

    def get_target(self, p) -> dict | None:
        if p.target_va is None:
            return None
        return {"valence": p.target_va[0], "arousal": p.target_va[1], "gems": p.target_gems}

    def get_links(self, p) -> dict:
        return {
            "page": reverse("recommender:playlist-detail", args=[p.pk]),
            "csv": reverse("recommender:playlist-export", args=[p.pk, "csv"]),
            "m3u": reverse("recommender:playlist-export", args=[p.pk, "m3u"]),
        }


class PlaylistSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    strategy = serializers.CharField()
    track_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class PlaylistCreateApi(APIView):
    """POST a playlist request; the playlist is built, saved for you and returned."""

    @extend_schema(request=PlaylistInputSerializer, responses={201: PlaylistOutput})
    def post(self, request):
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"detail": "Expected a JSON object."})
        serializer = PlaylistInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        playlist = create_from_validated(owner=request.user, data=serializer.validated_data)
        playlist = playlist_get(viewer=request.user, playlist_id=playlist.pk)
        return Response(PlaylistOutput(playlist).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=PlaylistSummaryOutput(many=True))
    def get(self, request):
        from django.db.models import Count

        playlists = playlists_visible_to(viewer=request.user).annotate(track_count=Count("items"))[:200]
        return Response(PlaylistSummaryOutput(playlists, many=True).data)


class PlaylistDetailApi(APIView):
    @extend_schema(responses=PlaylistOutput)
    def get(self, request, playlist_id: int):
        playlist = playlist_get(viewer=request.user, playlist_id=playlist_id)
        if playlist is None:
            raise Http404("No such playlist.")
        return Response(PlaylistOutput(playlist).data)
