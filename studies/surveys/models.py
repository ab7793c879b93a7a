"""Song-emotion surveys, the ratings people give, and the runs that turn ratings into labels.

A `Survey` is set up by a researcher in the admin; participants with `research_data` consent
rate tracks from its pool (`Rating`); `LabelRun`s aggregate the ratings into soft GEMS labels
(source=survey), spread them to unrated tracks (source=propagated), or train and apply the
music-emotion-recognition model (source=mer). Writes go through studies/surveys/services.py.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from emotion.vocab import GEMS, N_GEMS
from recommender.models import RunStatus, Track

MAX_PICKS = 3
MAX_INTENSITY = 4


class ResponseFormat(models.TextChoices):
    # The values are studies.labels.PICK / INTENSITY.
    PICK = "pick", _("Pick up to three GEMS emotions")
    INTENSITY = "intensity", _("Rate each GEMS emotion 0–4")


class EmotionFocus(models.TextChoices):
    FELT = "felt", _("Felt (induced): what the music makes you feel")
    EXPRESSED = "expressed", _("Expressed (perceived): what the music expresses")


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    PAUSED = "paused", _("Paused")
    CLOSED = "closed", _("Closed")


class NextTrackMode(models.TextChoices):
    LEAST_RATED = "least_rated", "Least-rated first"
    ACTIVE = "active", "Active learning: most uncertain label first"


class Survey(models.Model):
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    consent_text = models.TextField(blank=True, help_text="Shown to participants before they start.")

    # Track pool: the chosen tracks, plus (optionally) every catalog track matching the filter.
    tracks = models.ManyToManyField(Track, blank=True, related_name="surveys", help_text="Chosen tracks.")
    pool_from_catalog = models.BooleanField(
        default=False, help_text="Also include every catalog track matching the filter below."
    )
    filter_genres = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated genres (empty: any genre). Used with the catalog filter."
    )
    filter_has_audio = models.BooleanField(default=True, help_text="Catalog filter: only tracks with playable audio.")

    response_format = models.CharField(max_length=16, choices=ResponseFormat.choices, default=ResponseFormat.PICK)
    emotion_focus = models.CharField(max_length=16, choices=EmotionFocus.choices, default=EmotionFocus.FELT)
    ask_liking = models.BooleanField(default=True)
    ask_familiarity = models.BooleanField(default=True)
    clip_seconds = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(5), MaxValueValidator(600)], help_text="Length of the clip played."
    )
    min_listen_seconds = models.PositiveSmallIntegerField(
        default=10, validators=[MaxValueValidator(600)], help_text="Listening time before an answer counts."
    )
    ratings_per_track = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(1000)], help_text="Ratings wanted per track."
    )
    tracks_per_participant = models.PositiveSmallIntegerField(
        default=20, validators=[MaxValueValidator(1000)], help_text="At most this many tracks per person (0: no limit)."
    )
    next_track_mode = models.CharField(max_length=16, choices=NextTrackMode.choices, default=NextTrackMode.LEAST_RATED)

    # Attention checks.
    repeat_rate = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="Share of answers (after the first three) that re-ask an already rated track (0 to 0.5).",
    )
    gold_tracks = models.ManyToManyField(
        Track, blank=True, related_name="+",
        help_text="Tracks with a known label (their manual or current label); each rater gets each once.",
    )

    status = models.CharField(max_length=16, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(repeat_rate__gte=0.0, repeat_rate__lte=0.5), name="survey_repeat_rate_range"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.min_listen_seconds is not None and self.clip_seconds is not None and self.min_listen_seconds > self.clip_seconds:
            raise ValidationError({"min_listen_seconds": "The minimum listening time cannot exceed the clip length."})
        if self.pk is not None:
            stored = Survey.objects.filter(pk=self.pk).values_list("response_format", flat=True).first()
            if stored is not None and stored != self.response_format and self.ratings.exists():
                raise ValidationError(
                    {"response_format": "This survey already has answers in the other format; create a new survey instead."}
                )

    @property
    def genre_list(self) -> list[str]:
        return [g.strip() for g in self.filter_genres.split(",") if g.strip()]

    @property
    def is_open(self) -> bool:
        return self.status == SurveyStatus.OPEN


class AttentionKind(models.TextChoices):
    NONE = "", "—"
    REPEAT = "repeat", "Repeated track"
    GOLD = "gold", "Gold track"


def validate_answer(value) -> None:
    if not isinstance(value, list) or len(value) != N_GEMS:
        raise ValidationError(f"An answer holds one value per GEMS emotion ({N_GEMS}).")
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_INTENSITY for v in value):
        raise ValidationError(f"Answer values are whole numbers from 0 to {MAX_INTENSITY}.")


class Rating(models.Model):
    """One person's answer about one track in one survey.

    `answer` holds nine whole numbers in GEMS order: 0/1 per emotion in the pick format, 0–4
    in the intensity format. Attention-check answers (a planned repeat, a gold track) are kept
    apart from the label and only judge the rater.
    """

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="ratings")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="survey_ratings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="survey_ratings")
    answer = models.JSONField(validators=[validate_answer])
    liking = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)])
    familiarity = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    listened_seconds = models.FloatField(validators=[MinValueValidator(0.0)])
    is_attention_check = models.BooleanField(default=False)
    attention_kind = models.CharField(max_length=8, choices=AttentionKind.choices, blank=True, default="")
    client_id = models.UUIDField(unique=True, default=uuid.uuid4, help_text="Client-generated idempotency id.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "track", "user"], condition=~Q(attention_kind="repeat"), name="one_rating_per_track"
            ),
            models.UniqueConstraint(
                fields=["survey", "track", "user"], condition=Q(attention_kind="repeat"), name="one_repeat_per_track"
            ),
            models.CheckConstraint(
                condition=Q(liking__isnull=True) | Q(liking__gte=1, liking__lte=5), name="rating_liking_1_5"
            ),
            models.CheckConstraint(
                condition=Q(familiarity__isnull=True) | Q(familiarity__gte=1, familiarity__lte=5),
                name="rating_familiarity_1_5",
            ),
            models.CheckConstraint(condition=Q(listened_seconds__gte=0), name="rating_listened_non_negative"),
        ]
        indexes = [models.Index(fields=["survey", "track"])]

    def __str__(self) -> str:
        return f"rating {self.pk}: survey {self.survey_id} track {self.track_id}"

    @property
    def picks(self) -> list[str]:
        return [GEMS[i] for i, v in enumerate(self.answer or []) if v]


class RepeatPlan(models.Model):
    """A planned repeat check: `next_track_for` decided to re-ask this person about a track
    they already rated. Only a planned repeat lets a second answer about a track in."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="repeat_plans")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    answered = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["survey", "user", "track"], name="one_repeat_plan_per_track")]

    def __str__(self) -> str:
        return f"repeat of track {self.track_id} for user {self.user_id}"


class RunKind(models.TextChoices):
    AGGREGATE = "aggregate", "Aggregate ratings (survey labels, agreement)"
    PROPAGATE = "propagate", "Propagate labels to unrated tracks"
    TRAIN_MER = "train_mer", "Train music emotion recognition"
    LABEL_MER = "label_mer", "Label new audio with the MER model"


class Decision(models.TextChoices):
    PENDING = "", "—"
    PUBLISHED = "published", "Published"
    NOT_PUBLISHED = "not_published", "Not published (failed its gate)"
    ROLLED_BACK = "rolled_back", "Rolled back"


class LabelRun(models.Model):
    """One aggregation / propagation / MER run with its progress and its figures.

    `figures` by kind:
    - aggregate: {"alpha": {"overall", "per_category": {emotion: alpha}, "level", "n_units"},
      "raters": [{"code", "n_ratings", "reliability", "weight", "attention_checks",
      "attention_failures", "reasons"}], "tracks_labelled", "tracks_unlabelled", "ratings_used",
      "ratings_excluded_no_consent"}
      (+ "raters_per_track": {n raters: n tracks}, "tracks_with_few_raters", "candidate_tracks")
    - propagate: {"cv": {tuning grid, chosen k/alpha, gate figures, "uncertainty_spearman"},
      "evaluation": {"folds", "n_tracks", "n_labelled", "scores": [{"method",
      "mean_jsd", "top1", "seconds"}]}, "propagated", "labelled", "iterations", "converged"}
    - train_mer: {"cv": {... grouped held-out figures ...}, "confusion": [[..]], "classes": [..]}
    - label_mer: {"labelled": n}
    """

    kind = models.CharField(max_length=16, choices=RunKind.choices)
    survey = models.ForeignKey(Survey, null=True, blank=True, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING)
    progress = models.FloatField(default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    message = models.TextField(blank=True)
    figures = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The candidate label set is kept in LabelSetRow(role=candidate); it becomes what readers see
    # only when `gate["passed"]`. Publishing keeps the labels it replaced (role=previous) so the
    # run can be rolled back exactly. gate = {"passed", "reasons": [..], "figures": {..},
    # "settings": {..}, "scope": {"sources": [..], "track_ids": [..] | None}}.
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True, default=Decision.PENDING)
    gate = models.JSONField(default=dict, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    rolled_back_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if self.status == RunStatus.DONE else int(round(100 * self.progress))


class LabelSetRole(models.TextChoices):
    CANDIDATE = "candidate", "Candidate (what the run computed)"
    PREVIOUS = "previous", "Previous (what publishing replaced)"


class LabelSetRow(models.Model):
    """One track label held by a run: its candidate, or the published label it replaced."""

    run = models.ForeignKey(LabelRun, on_delete=models.CASCADE, related_name="label_rows")
    role = models.CharField(max_length=16, choices=LabelSetRole.choices)
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=16)
    gems = models.JSONField()
    valence = models.FloatField()
    arousal = models.FloatField()
    confidence = models.FloatField()
    rater_count = models.PositiveIntegerField(default=0)
    entropy = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["run", "role"])]

    def __str__(self) -> str:
        return f"run {self.run_id} {self.role} {self.track_id}/{self.source}"

    @property
    def percent(self) -> int:
        return 100 if self.status == RunStatus.DONE else int(round(100 * self.progress))


# --- External song-emotion data sets (issue 17) ---------------------------------------------


class DatasetShape(models.TextChoices):
    SOFT = "soft", "Soft GEMS distributions (nine columns)"
    RATERS = "raters", "Per-rater GEMS answers (Emotify layout)"
    VA = "va", "Valence/arousal on a stated scale (DEAM, PMEmo)"
    TAGS = "tags", "Categorical tags (happy, sad, calm, …)"


class LabelDataset(models.Model):
    """An imported, published song-emotion data set: its provenance, its import's progress and
    row-level report, and (per-rater data sets) the same agreement figures as a survey.

    Its labels (`DatasetLabel`) are pooled into the catalog's one `dataset` label per track
    (see studies/surveys/datasets.py); removing the data set removes its part of that pool."""

    name = models.CharField(max_length=120, unique=True, help_text="e.g. Emotify, DEAM, PMEmo")
    licence_note = models.CharField(max_length=300, blank=True, help_text="the data set's licence and citation")
    shape = models.CharField(max_length=8, choices=DatasetShape.choices)
    scale_low = models.FloatField(default=1.0, help_text="valence/arousal shape: the scale's lowest value")
    scale_high = models.FloatField(default=9.0, help_text="valence/arousal shape: the scale's highest value")
    tag_map = models.JSONField(default=dict, blank=True, help_text="tags shape: {tag: {gems name: weight}}; empty = the default map")
    source_name = models.CharField(max_length=300, blank=True)
    upload = models.FileField(upload_to="imports/datasets/", blank=True, max_length=300)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING)
    progress = models.FloatField(default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    message = models.TextField(blank=True)
    rows = models.PositiveIntegerField(default=0)
    songs = models.PositiveIntegerField(default=0)
    songs_matched = models.PositiveIntegerField(default=0)
    rater_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="row-level problems; any refuses the whole file")
    unmatched = models.JSONField(default=list, blank=True, help_text="songs the catalog lacks (the first few)")
    figures = models.JSONField(default=dict, blank=True, help_text="per-rater data sets: agreement and rater figures")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def match_rate(self) -> float:
        return self.songs_matched / self.songs if self.songs else 0.0

    @property
    def percent(self) -> int:
        return 100 if self.status == RunStatus.DONE else int(round(100 * self.progress))


class DatasetLabel(models.Model):
    """One data set's soft GEMS label for one catalog track."""

    dataset = models.ForeignKey(LabelDataset, on_delete=models.CASCADE, related_name="labels")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="dataset_labels")
    gems = models.JSONField()
    rater_count = models.PositiveIntegerField(default=0, help_text="raters behind the label, where the data set says")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "track"], name="one_label_per_dataset_track")]

    def __str__(self) -> str:
        return f"{self.dataset_id}: track {self.track_id}"
