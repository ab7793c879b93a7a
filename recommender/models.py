"""The track catalog, soft GEMS labels per source, import runs and saved playlists.

Feature conventions follow Spotify's (now closed) audio-features endpoint: valence, energy,
danceability, acousticness, instrumentalness, speechiness, liveness in 0..1, loudness in dB
(about -60..0, a little above 0 happens), tempo in BPM, key 0..11 (pitch class, -1 unknown is
stored as empty), mode 1 major / 0 minor, time signature 3..7. A feature a track lacks stays
NULL, never 0: 0 is a real value (a silent track has energy 0). Audio-derived descriptors
(emotion/audio.py) live in the `descriptors` JSON object, keyed by descriptor name.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse

from emotion.vocab import N_GEMS
from recommender.uploads import TrackAudioField, import_upload_to, track_audio_upload_to, validate_audio_file

UNIT_FEATURES: tuple[str, ...] = (
    "valence",
    "energy",
    "danceability",
    "acousticness",
    "instrumentalness",
    "speechiness",
    "liveness",
)
SCALAR_FEATURES: tuple[str, ...] = (*UNIT_FEATURES, "loudness", "tempo", "key", "mode", "time_signature")

# Ranges accepted for the non-unit features (checked by the CSV parser and by the database).
LOUDNESS_RANGE = (-80.0, 10.0)
TEMPO_RANGE = (0.0, 400.0)
KEY_RANGE = (0, 11)
TIME_SIGNATURE_RANGE = (0, 12)


def _unit_check(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__gte": 0.0, f"{name}__lte": 1.0}),
        name=f"track_{name}_in_unit_range",
    )


class Track(models.Model):
    """One piece of music in the catalog, with metadata and whatever features are known."""

    title = models.CharField(max_length=300)
    artist = models.CharField(max_length=300, blank=True)
    album = models.CharField(max_length=300, blank=True)
    genre = models.CharField(max_length=100, blank=True, db_index=True)
    duration_s = models.FloatField(null=True, blank=True)
    explicit = models.BooleanField(default=False)
    # Unique when present: a Spotify id, "music21:<corpus path>" for the demo catalog or
    # "audio:<sha1 of the file>" for imported audio. Several NULLs are allowed.
    external_id = models.CharField(max_length=128, unique=True, null=True, blank=True)
    # Checked by content and stored under a generated name (recommender/uploads.py).
    audio_file = TrackAudioField(
        upload_to=track_audio_upload_to, max_length=300, blank=True, validators=[validate_audio_file]
    )
    preview_url = models.URLField(max_length=500, blank=True)
    popularity = models.PositiveSmallIntegerField(null=True, blank=True)

    valence = models.FloatField(null=True, blank=True)
    energy = models.FloatField(null=True, blank=True)
    danceability = models.FloatField(null=True, blank=True)
    acousticness = models.FloatField(null=True, blank=True)
    instrumentalness = models.FloatField(null=True, blank=True)
    speechiness = models.FloatField(null=True, blank=True)
    liveness = models.FloatField(null=True, blank=True)
    loudness = models.FloatField(null=True, blank=True, help_text="dB")
    tempo = models.FloatField(null=True, blank=True, help_text="BPM")
    key = models.SmallIntegerField(null=True, blank=True, help_text="pitch class 0..11")
    mode = models.SmallIntegerField(null=True, blank=True, help_text="1 major, 0 minor")
    time_signature = models.SmallIntegerField(null=True, blank=True)

    descriptors = models.JSONField(default=dict, blank=True, help_text="librosa audio descriptors by name")

    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["artist", "title", "id"]
        constraints = [
            *[_unit_check(name) for name in UNIT_FEATURES],
            models.CheckConstraint(
                condition=Q(loudness__isnull=True) | Q(loudness__gte=LOUDNESS_RANGE[0], loudness__lte=LOUDNESS_RANGE[1]),
                name="track_loudness_in_range",
            ),
            models.CheckConstraint(
                condition=Q(tempo__isnull=True) | Q(tempo__gte=TEMPO_RANGE[0], tempo__lte=TEMPO_RANGE[1]),
                name="track_tempo_in_range",
            ),
            models.CheckConstraint(
                condition=Q(key__isnull=True) | Q(key__gte=KEY_RANGE[0], key__lte=KEY_RANGE[1]), name="track_key_in_range"
            ),
            models.CheckConstraint(condition=Q(mode__isnull=True) | Q(mode__in=[0, 1]), name="track_mode_0_or_1"),
            models.CheckConstraint(
                condition=Q(time_signature__isnull=True)
                | Q(time_signature__gte=TIME_SIGNATURE_RANGE[0], time_signature__lte=TIME_SIGNATURE_RANGE[1]),
                name="track_time_signature_in_range",
            ),
            models.CheckConstraint(
                condition=Q(duration_s__isnull=True) | Q(duration_s__gte=0), name="track_duration_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.artist} – {self.title}" if self.artist else self.title

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_file) or bool(self.preview_url)

    @property
    def audio_url(self) -> str:
        """Where a browser plays this track: our login-checked audio view (media files are
        never served publicly), else the external preview link, else nothing."""
        if self.audio_file:
            return reverse("recommender:track-audio", args=[self.pk])
        return self.preview_url or ""


class LabelSource(models.TextChoices):
    MANUAL = "manual", "Manual (researcher)"
    SURVEY = "survey", "Survey (aggregated ratings)"
    DATASET = "dataset", "Imported data set (e.g. Emotify, DEAM)"
    PROPAGATED = "propagated", "Propagated from rated neighbours"
    MER = "mer", "Music emotion recognition from audio"
    PRIOR = "prior", "Heuristic prior from descriptors"


# The one resolution order (see recommender/selectors.py:resolve_labels). Lower wins.
# `manual` comes first: a researcher writes one only to correct a label they know is wrong
# (e.g. a track whose survey raters misread the task), so it must beat every automatic source.
# `dataset` (a published data set's human ratings, imported) ranks below Attune's own surveys,
# whose raters heard the catalog's clips in Attune's task, and above every model's prediction.
SOURCE_PRIORITY: tuple[str, ...] = (
    LabelSource.MANUAL,
    LabelSource.SURVEY,
    LabelSource.DATASET,
    LabelSource.PROPAGATED,
    LabelSource.MER,
    LabelSource.PRIOR,
)


def validate_gems(value) -> None:
    """Nine finite non-negative numbers summing to 1 (within 1e-6)."""
    if not isinstance(value, list | tuple) or len(value) != N_GEMS:
        raise ValidationError(f"A GEMS label is a list of {N_GEMS} numbers.")
    try:
        numbers = [float(v) for v in value]
    except (TypeError, ValueError):
        raise ValidationError("A GEMS label holds numbers only.") from None
    if any(isinstance(v, bool) for v in value):
        raise ValidationError("A GEMS label holds numbers only.")
    if not all(math.isfinite(v) and v >= 0 for v in numbers):
        raise ValidationError("GEMS values must be finite and non-negative.")
    if abs(sum(numbers) - 1.0) > 1e-6:
        raise ValidationError(f"GEMS values must sum to 1 (they sum to {sum(numbers):.6f}).")


class TrackLabel(models.Model):
    """A soft GEMS label for one track from one source. Read through selectors.resolve_labels."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="labels")
    source = models.CharField(max_length=16, choices=LabelSource.choices)
    gems = models.JSONField(validators=[validate_gems])
    valence = models.FloatField()
    arousal = models.FloatField()
    confidence = models.FloatField(default=1.0)
    rater_count = models.PositiveIntegerField(default=0)
    entropy = models.FloatField(null=True, blank=True, help_text="Shannon entropy of the label, in nats")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["track", "source"], name="one_label_per_track_and_source"),
            models.CheckConstraint(condition=Q(valence__gte=-1.0, valence__lte=1.0), name="label_valence_in_range"),
            models.CheckConstraint(condition=Q(arousal__gte=-1.0, arousal__lte=1.0), name="label_arousal_in_range"),
            models.CheckConstraint(
                condition=Q(confidence__gte=0.0, confidence__lte=1.0), name="label_confidence_in_unit_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.track_id}/{self.source}"


class CatalogState(models.Model):
    """A single row whose `version` every catalog or label write bumps (index_cache reads it)."""

    version = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"catalog v{self.version}"


class ImportKind(models.TextChoices):
    CSV = "csv", "CSV (Spotify tracks layout)"
    AUDIO = "audio", "Folder of audio files"
    DEMO = "demo", "Demo catalog (music21 corpus)"


class RunStatus(models.TextChoices):
    """The states of any long-running job with progress (catalog imports here, survey label
    runs in studies.surveys): one vocabulary, so admin filters and progress pages agree."""

    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportRun(models.Model):
    """One catalog import with its progress and its row- or file-level error report."""

    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING)
    source_name = models.CharField(max_length=500, help_text="file name or folder")
    upload = models.FileField(upload_to=import_upload_to, blank=True, max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.source_name} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == RunStatus.DONE:
            return 100
        return int(100 * self.processed / self.total) if self.total else 0


class Playlist(models.Model):
    """A saved playlist for one person: the request that made it and the engine's notes."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playlists")
    title = models.CharField(max_length=200, blank=True)
    strategy = models.CharField(max_length=32)
    start_gems = models.JSONField(validators=[validate_gems])
    target_gems = models.JSONField(null=True, blank=True, validators=[validate_gems])
    start_va = models.JSONField(help_text="[valence, arousal]")
    target_va = models.JSONField(null=True, blank=True, help_text="[valence, arousal]")
    requested_tracks = models.PositiveIntegerField(null=True, blank=True)
    requested_minutes = models.FloatField(null=True, blank=True)
    constraints = models.JSONField(default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True)
    seed = models.BigIntegerField(default=0)
    notes = models.JSONField(default=list, blank=True)
    diagnostics = models.JSONField(default=dict, blank=True)
    quality = models.JSONField(default=dict, blank=True)
    catalog_version = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title or f"{self.strategy} playlist #{self.pk}"


class PlaylistItem(models.Model):
    """One step of a playlist: the waypoint it aimed at, the track chosen and why."""

    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="+")
    # Empty for hand-curated playlists (a therapist picks tracks; no waypoint was aimed at).
    waypoint_valence = models.FloatField(null=True, blank=True)
    waypoint_arousal = models.FloatField(null=True, blank=True)
    waypoint_gems = models.JSONField(null=True, blank=True)
    distance = models.FloatField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["playlist", "position"]
        constraints = [models.UniqueConstraint(fields=["playlist", "position"], name="one_item_per_position")]

    def __str__(self) -> str:
        return f"{self.playlist_id}#{self.position}: {self.track_id}"


# --- The listener's own streaming history (issue 17, design 003) ----------------------------


class HistoryPlay(models.Model):
    """One play from a streaming-service data export, matched to a catalog track.

    Only what design 003 needs is kept (track, when, how long, skipped); the uploaded file and
    the service's artist/title strings are never stored. The person's own data: it serves them
    without research consent, is in their export, and goes with their account."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="history_plays")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+")
    played_at = models.DateTimeField(help_text="when the play ended (UTC, as the service recorded it)")
    ms_played = models.PositiveIntegerField()
    skipped = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["user", "played_at", "id"]
        constraints = [
            # Uploading the same export twice (or overlapping ones) stores each play once.
            models.UniqueConstraint(fields=["user", "track", "played_at"], name="one_history_play_per_moment"),
        ]
        indexes = [models.Index(fields=["user", "played_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.track_id} at {self.played_at:%Y-%m-%d %H:%M}"


class HistoryUpload(models.Model):
    """What one upload read and matched (the match report's counts). Neither the file nor the
    names of unmatched songs are kept: those are shown once, on the page that answers the upload."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="history_uploads")
    created_at = models.DateTimeField(auto_now_add=True)
    files = models.JSONField(default=list, blank=True)
    plays_read = models.PositiveIntegerField(default=0)
    plays_matched = models.PositiveIntegerField(default=0)
    plays_new = models.PositiveIntegerField(default=0)
    tracks_matched = models.PositiveIntegerField(default=0)
    rows_skipped = models.PositiveIntegerField(default=0)
    by_uri = models.PositiveIntegerField(default=0)
    by_name = models.PositiveIntegerField(default=0)
    by_fuzzy = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True, help_text="row-level reasons for rows left out")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.plays_matched} of {self.plays_read} plays matched"

    @property
    def match_rate(self) -> float:
        return self.plays_matched / self.plays_read if self.plays_read else 0.0
