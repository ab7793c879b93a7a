"""Listening sessions: one mood shift each (where the person is, where they want to be, the
playlist, what happened while it played, where they ended up), their playback events and the
per-second webcam emotion trace (only with `emotion_trace` consent; frames are never stored).

The field names of `ListeningSession` are a contract with studies.experiments (see
studies/listening/selectors.py: session_outcomes); change them only together.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

_VA = [MinValueValidator(-1.0), MaxValueValidator(1.0)]


def _va_check(prefix: str) -> models.CheckConstraint:
    v, a = f"{prefix}_valence", f"{prefix}_arousal"
    return models.CheckConstraint(
        condition=(Q(**{f"{v}__isnull": True}) | Q(**{f"{v}__gte": -1.0, f"{v}__lte": 1.0}))
        & (Q(**{f"{a}__isnull": True}) | Q(**{f"{a}__gte": -1.0, f"{a}__lte": 1.0})),
        name=f"listening_{prefix}_va_in_range",
    )


class SessionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    ABANDONED = "abandoned", _("Abandoned")


class TargetSource(models.TextChoices):
    STATED = "stated", _("Stated by the person")
    MAPPING = "mapping", _("Therapeutic target (mapping strategy)")


class SessionMode(models.TextChoices):
    PERSONAL = "personal", _("Personal use")
    THERAPY = "therapy", _("Therapy")


class ListeningSession(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="listening_sessions")
    status = models.CharField(max_length=16, choices=SessionStatus.choices, default=SessionStatus.ACTIVE, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    # current mood (pre): always valence/arousal; GEMS when the person gave (or it was derived from) buttons
    pre_valence = models.FloatField(validators=_VA)
    pre_arousal = models.FloatField(validators=_VA)
    pre_gems = models.JSONField(null=True, blank=True)
    pre_source = models.CharField(max_length=8, blank=True, help_text="gems, va or fer")

    target_valence = models.FloatField(validators=_VA)
    target_arousal = models.FloatField(validators=_VA)
    target_gems = models.JSONField(null=True, blank=True)
    target_source = models.CharField(max_length=8, choices=TargetSource.choices)

    post_valence = models.FloatField(null=True, blank=True, validators=_VA)
    post_arousal = models.FloatField(null=True, blank=True, validators=_VA)
    post_gems = models.JSONField(null=True, blank=True)

    strategy = models.CharField(max_length=32)
    strategy_params = models.JSONField(default=dict, blank=True)
    length_tracks = models.PositiveIntegerField(null=True, blank=True)
    length_minutes = models.FloatField(null=True, blank=True)
    playlist = models.ForeignKey(
        "recommender.Playlist", null=True, blank=True, on_delete=models.SET_NULL, related_name="listening_sessions"
    )
    reflection_rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    reflection_text = models.TextField(blank=True, max_length=4000)
    mode = models.CharField(max_length=16, choices=SessionMode.choices, default=SessionMode.PERSONAL)
    assignment_ref = models.CharField(max_length=100, null=True, blank=True, db_index=True)
    replan_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            _va_check("pre"),
            _va_check("target"),
            _va_check("post"),
            models.CheckConstraint(
                condition=Q(reflection_rating__isnull=True) | Q(reflection_rating__gte=1, reflection_rating__lte=5),
                name="listening_reflection_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"session #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == SessionStatus.ACTIVE

    @property
    def trace_ref(self) -> str:
        """The reference the player page sends over the webcam socket to attach this session."""
        return f"listening:{self.pk}"


class PlannedTrack(models.Model):
    """The session's queue: the playlist's tracks by position, rewritten from the next
    position on when the session is re-planned. Events are checked against it."""

    session = models.ForeignKey(ListeningSession, on_delete=models.CASCADE, related_name="queue")
    position = models.PositiveIntegerField()
    track = models.ForeignKey("recommender.Track", on_delete=models.PROTECT, related_name="+")
    waypoint_valence = models.FloatField(null=True, blank=True)
    waypoint_arousal = models.FloatField(null=True, blank=True)
    reason = models.TextField(blank=True)
    plan = models.PositiveSmallIntegerField(default=0, help_text="0 = the first playlist, k = the k-th re-plan")

    class Meta:
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(fields=["session", "position"], name="listening_one_track_per_position"),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.position}: {self.track_id}"


class EventKind(models.TextChoices):
    STARTED = "started", "Started"
    PROGRESS = "progress", "Progress (seconds played)"
    SKIPPED = "skipped", "Skipped"
    COMPLETED = "completed", "Completed"
    REACTION = "reaction", "Reaction (GEMS emoji)"
    LIKED = "liked", "Liked"
    REPLANNED = "replanned", "Re-planned"


class PlaybackEvent(models.Model):
    """One thing that happened during a session, identified by a client-generated UUID so a
    retried POST is recorded once."""

    session = models.ForeignKey(ListeningSession, on_delete=models.CASCADE, related_name="events")
    event_id = models.UUIDField()
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    track = models.ForeignKey("recommender.Track", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    position = models.PositiveIntegerField(null=True, blank=True)
    seconds_played = models.FloatField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["session", "occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "event_id"], name="listening_event_id_unique_per_session"),
            models.CheckConstraint(
                condition=Q(seconds_played__isnull=True) | Q(seconds_played__gte=0),
                name="listening_seconds_played_non_negative",
            ),
        ]
        indexes = [models.Index(fields=["session", "kind"], name="listening_event_session_kind")]

    def __str__(self) -> str:
        return f"{self.session_id}:{self.kind}@{self.position}"


class EmotionTraceSecond(models.Model):
    """One second of webcam expression probabilities for a session (emotion_trace consent).

    `t` is whole seconds since the session started; `second` the unix time of that second."""

    session = models.ForeignKey(ListeningSession, on_delete=models.CASCADE, related_name="trace")
    t = models.PositiveIntegerField()
    second = models.BigIntegerField()
    frames = models.PositiveSmallIntegerField(default=0)
    frames_with_face = models.PositiveSmallIntegerField(default=0)
    angry = models.FloatField(null=True, blank=True)
    disgust = models.FloatField(null=True, blank=True)
    fear = models.FloatField(null=True, blank=True)
    happy = models.FloatField(null=True, blank=True)
    sad = models.FloatField(null=True, blank=True)
    surprise = models.FloatField(null=True, blank=True)
    neutral = models.FloatField(null=True, blank=True)
    valence = models.FloatField(null=True, blank=True, validators=_VA)
    arousal = models.FloatField(null=True, blank=True, validators=_VA)
    stable_label = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["session", "t"]
        constraints = [models.UniqueConstraint(fields=["session", "t"], name="listening_one_trace_row_per_second")]

    def __str__(self) -> str:
        return f"{self.session_id}@{self.t}s {self.stable_label}"
