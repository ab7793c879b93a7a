"""A/B experiments on playlist strategies: experiments, variants, exposures, analysis snapshots.

An experiment compares strategies of the playlist engine on the outcomes of listening
sessions. Variants are frozen once the experiment has started (changing them would reshuffle
participants, see studies/experiments/variants.py). An exposure records, once per session, which
variant a session was assigned to; analysis only ever reads exposures, never recomputes the
assignment.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from recommender.engine.types import STRATEGIES
from studies.experiments.variants import new_salt


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    STOPPED = "stopped", "Stopped"


class EligibleModes(models.TextChoices):
    ANY = "any", "Personal use and therapy"
    PERSONAL = "personal", "Personal use only"
    THERAPY = "therapy", "Therapy only"


class PrimaryMetric(models.TextChoices):
    SHIFT = "shift_toward_target", "Mood shift toward the target (reduction of valence/arousal distance)"
    VALENCE = "valence_change", "Valence change (post − pre)"
    REFLECTION = "reflection_rating", "Reflection rating (1–5)"
    # Instrument changes (post − pre, per session; studies/instruments.py, answers in studies.recruitment).
    STAI6_CHANGE = "instrument:stai6:total", "STAI-6 state anxiety change (post − pre; lower is better)"
    VAS_ANXIETY_CHANGE = "instrument:vas_anxiety:anxiety", "VAS anxiety change (post − pre, mm; lower is better)"
    SAM_PLEASURE_CHANGE = "instrument:sam:pleasure", "SAM pleasure change (post − pre; higher is better)"


class Design(models.TextChoices):
    BETWEEN = "between", "Between-subject (each participant stays in one variant)"
    WITHIN = "within", "Within-subject crossover (each participant's sessions cycle through every variant)"


def validate_icc(value) -> None:
    """The assumed intra-class correlation lies in [0, 1): 1 would make every session of a
    participant identical, so more sessions would add no information."""
    if value is None or not 0.0 <= float(value) < 1.0:
        raise ValidationError(f"The assumed ICC must lie in [0, 1) (0 = sessions of one participant are "
                              f"independent; 0.99 = nearly identical); got {value}.")


class SecondaryMetric(models.TextChoices):
    COMPLETION = "completion_rate", "Completion rate"
    SKIPS = "skip_rate", "Skip rate"
    REFLECTION = "reflection_rating", "Reflection rating"
    STAI6_CHANGE = "instrument:stai6:total", "STAI-6 state anxiety change (post − pre; lower is better)"
    VAS_ANXIETY_CHANGE = "instrument:vas_anxiety:anxiety", "VAS anxiety change (post − pre, mm; lower is better)"
    SAM_PLEASURE_CHANGE = "instrument:sam:pleasure", "SAM pleasure change (post − pre; higher is better)"


# Once an experiment has started, its design is its pre-registration: only the name may change.
FROZEN_AFTER_START = ("hypothesis_null", "hypothesis_alt", "eligible_modes", "primary_metric", "secondary_metrics",
                      "alpha", "minimum_detectable_effect", "outcome_sd", "power", "design", "assumed_icc",
                      "sessions_per_participant")
STRATEGY_CHOICES = [(s, s.replace("_", " ")) for s in STRATEGIES]


def validate_secondary_metrics(value) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("Secondary metrics must be a list of metric names.")
    unknown = sorted(set(value) - set(SecondaryMetric.values))
    if unknown:
        raise ValidationError(f"Unknown secondary metric(s): {', '.join(unknown)}; "
                              f"expected some of {', '.join(SecondaryMetric.values)}.")
    if len(set(value)) != len(value):
        raise ValidationError("A secondary metric is listed twice.")


def validate_params(value) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Strategy parameters must be a JSON object, e.g. {\"easing\": \"linear\"}.")
    if len(str(value)) > 4000:
        raise ValidationError("Strategy parameters are too large (at most 4000 characters).")


class Experiment(models.Model):
    name = models.CharField(max_length=200, unique=True)
    hypothesis_null = models.TextField("H0 (in words)", max_length=2000)
    hypothesis_alt = models.TextField("H1 (in words)", max_length=2000)
    eligible_modes = models.CharField("who may enter", max_length=16, choices=EligibleModes.choices,
                                      default=EligibleModes.ANY,
                                      help_text="Participants also always need the research_data consent.")
    salt = models.CharField(max_length=32, default=new_salt, editable=False)
    primary_metric = models.CharField(max_length=32, choices=PrimaryMetric.choices, default=PrimaryMetric.SHIFT)
    secondary_metrics = models.JSONField(default=list, blank=True, validators=[validate_secondary_metrics])
    alpha = models.FloatField("significance level α", default=0.05, validators=[MinValueValidator(0.001), MaxValueValidator(0.2)])
    minimum_detectable_effect = models.FloatField(
        default=0.1, validators=[MinValueValidator(1e-6), MaxValueValidator(10.0)],
        help_text="Smallest difference in the primary metric worth detecting, in the metric's own units.")
    outcome_sd = models.FloatField(
        "assumed standard deviation", default=0.3, validators=[MinValueValidator(1e-6), MaxValueValidator(10.0)],
        help_text="Expected standard deviation of the primary metric (from a pilot), used by the power calculation.")
    power = models.FloatField(default=0.8, validators=[MinValueValidator(0.5), MaxValueValidator(0.99)])
    design = models.CharField(max_length=16, choices=Design.choices, default=Design.BETWEEN,
                              help_text="Between-subject is the default. Within-subject: every participant meets "
                                        "every variant, in a counterbalanced order.")
    assumed_icc = models.FloatField(
        "assumed ICC", default=0.3, validators=[validate_icc],
        help_text="Assumed intra-class correlation of the primary metric between sessions of one participant, "
                  "in [0, 1) (from a pilot; 0.3 is a cautious default for repeated mood ratings).")
    sessions_per_participant = models.FloatField(
        "expected sessions per participant", default=1.0, validators=[MinValueValidator(1.0), MaxValueValidator(365.0)],
        help_text="How many sessions a participant is expected to take during the experiment.")
    planned_sample_size = models.PositiveIntegerField(
        null=True, blank=True, editable=False,
        help_text="Expected sessions in total (planned participants × expected sessions per participant).")
    planned_participants = models.PositiveIntegerField(
        null=True, blank=True, editable=False,
        help_text="Participants needed in total, from the power calculation with the design effect of "
                  "repeated sessions and the variants' weights.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    stopped_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_started(self) -> bool:
        return self.started_at is not None

    def accepts_mode(self, mode: str) -> bool:
        return self.eligible_modes == EligibleModes.ANY or self.eligible_modes == mode

    def clean(self) -> None:
        super().clean()
        if self.pk and self.has_started:
            frozen = ("salt", *FROZEN_AFTER_START)
            old = type(self).objects.filter(pk=self.pk).values(*frozen).first()
            changed = [f for f in frozen if old and old[f] != getattr(self, f)]
            if changed:
                raise ValidationError(f"The design is frozen once the experiment has started (its pre-registration); "
                                      f"cannot change {', '.join(changed)}.")


class Variant(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=100)
    strategy = models.CharField(max_length=32, choices=STRATEGY_CHOICES)
    params = models.JSONField("strategy parameters", default=dict, blank=True, validators=[validate_params])
    weight = models.FloatField("allocation weight", default=1.0,
                               validators=[MinValueValidator(0.01), MaxValueValidator(1000.0)])
    is_control = models.BooleanField("control", default=False)

    class Meta:
        ordering = ["experiment", "id"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "name"], name="experiments_variant_unique_name"),
            models.UniqueConstraint(fields=["experiment"], condition=models.Q(is_control=True),
                                    name="experiments_one_control"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.strategy})"

    def save(self, *args, **kwargs):
        if self._frozen():
            raise ValidationError("Variants are frozen once the experiment has started.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._frozen():
            raise ValidationError("Variants are frozen once the experiment has started.")
        return super().delete(*args, **kwargs)

    @property
    def key(self) -> str:
        """The stable key assignment hashes into (independent of the editable name)."""
        return f"v{self.pk}"

    def _frozen(self) -> bool:
        if self.experiment_id is None:
            return False
        return Experiment.objects.filter(pk=self.experiment_id, started_at__isnull=False).exists()

    def clean(self) -> None:
        super().clean()
        if self._frozen():
            raise ValidationError("Variants are frozen once the experiment has started: create a new experiment "
                                  "to compare other variants.")


class Exposure(models.Model):
    """One listening session assigned to one variant; written once, when the session starts."""

    experiment = models.ForeignKey(Experiment, on_delete=models.PROTECT, related_name="exposures")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="exposures")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exposures")
    # The listening session's id (a plain value: experiments reads sessions only through
    # listening's selectors, and listening never imports experiments).
    session_id = models.PositiveBigIntegerField(unique=True)
    participant_code = models.CharField(max_length=12, db_index=True)
    reason = models.CharField(max_length=32, blank=True, help_text="why this experiment claimed the session")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["experiment", "variant"])]

    def __str__(self) -> str:
        return f"{self.participant_code} session {self.session_id} → {self.variant_id}"


class AnalysisResult(models.Model):
    """A stored snapshot of one analysis run (numbers, verdicts and plots)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="analyses")
    computed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    result = models.JSONField(default=dict)

    class Meta:
        ordering = ["-computed_at", "-id"]
        get_latest_by = "computed_at"

    def __str__(self) -> str:
        return f"analysis of {self.experiment_id} at {self.computed_at:%Y-%m-%d %H:%M}"
