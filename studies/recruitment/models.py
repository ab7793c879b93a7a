"""Recruitment links, enrolments, their append-only entry log, instrument answers and the
frozen analysis plan of an experiment.

A `RecruitmentLink` is one entry point a researcher pastes into Prolific, MTurk or SONA: it
names the study (an experiment or a survey), which instruments are asked before and after,
and where the participant goes when they finish (completion URL + code) or are screened out
(screen-out URL + code). An `Enrollment` is one recruited person in one link, recognised by
the HMAC of their service id under the link's own salt (never the id itself). `EntryLog`
rows record who (participant code) did what (entered, resumed, completed, screened out) when
and with which code: the payment reconciliation export. `InstrumentResponse` is one scored
answer to a validated instrument (studies/instruments.py), before or after, per session when
there is one. `AnalysisPlan` is written once when an experiment first starts and never again.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models

from studies import instruments


def new_link_token() -> str:
    return secrets.token_urlsafe(12)


def new_study_salt() -> str:
    return secrets.token_hex(16)


def validate_https_url(value: str) -> None:
    if not value:
        return
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise ValidationError(f"{value!r} is not an https:// URL; recruitment services only accept https "
                              "(e.g. https://app.prolific.com/submissions/complete).")


def validate_instrument_keys(value) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("Instruments must be a list of instrument keys, e.g. [\"stai6\", \"sam\"].")
    unknown = sorted(set(value) - set(instruments.INSTRUMENTS))
    if unknown:
        raise ValidationError(f"Unknown instrument(s) {', '.join(unknown)}; "
                              f"expected some of {', '.join(instruments.INSTRUMENTS)}.")
    if len(set(value)) != len(value):
        raise ValidationError("An instrument is listed twice.")


class Service(models.TextChoices):
    PROLIFIC = "prolific", "Prolific (PROLIFIC_PID, STUDY_ID, SESSION_ID)"
    MTURK = "mturk", "Amazon MTurk (workerId, assignmentId, hitId)"
    SONA = "sona", "SONA Systems (id)"


class RecruitmentLink(models.Model):
    name = models.CharField(max_length=200)
    service = models.CharField(max_length=16, choices=Service.choices, default=Service.PROLIFIC)
    token = models.CharField(max_length=32, unique=True, default=new_link_token, editable=False)
    salt = models.CharField(max_length=32, default=new_study_salt, editable=False,
                            help_text="Per-study salt of the external-id hash (HMAC-SHA256).")
    experiment = models.ForeignKey("experiments.Experiment", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="recruitment_links")
    survey = models.ForeignKey("surveys.Survey", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="recruitment_links")
    consent_text = models.TextField(max_length=20000, help_text="The study information and consent statement.")
    eligibility_statement = models.CharField(
        max_length=500, blank=True,
        help_text="Optional: a statement the participant must confirm (e.g. 'I am 18 or older and have normal "
                  "hearing'); not confirming screens them out.")
    pre_instruments = models.JSONField(default=list, blank=True, validators=[validate_instrument_keys],
                                       help_text='Asked before the task, e.g. ["stai6", "sam"].')
    post_instruments = models.JSONField(default=list, blank=True, validators=[validate_instrument_keys],
                                        help_text="Asked after the task.")
    min_survey_ratings = models.PositiveSmallIntegerField(default=5, help_text="Survey studies: ratings needed.")
    completion_url = models.URLField(max_length=500, validators=[validate_https_url],
                                     help_text="https only. The completion code is added as ?cc=CODE, or replaces "
                                               "{code} in the URL.")
    completion_code = models.CharField(max_length=64)
    screenout_url = models.URLField(max_length=500, validators=[validate_https_url])
    screenout_code = models.CharField(max_length=64)
    is_open = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(experiment__isnull=False, survey__isnull=True)
                           | models.Q(experiment__isnull=True, survey__isnull=False)),
                name="recruitment_link_one_study"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if bool(self.experiment_id) == bool(self.survey_id):
            raise ValidationError("A recruitment link runs exactly one study: pick an experiment or a survey.")
        for field in ("completion_code", "screenout_code"):
            code = getattr(self, field) or ""
            if not code.replace("-", "").replace("_", "").isalnum():
                raise ValidationError({field: "Use letters, digits, '-' and '_' only."})
        if self.completion_code and self.completion_code == self.screenout_code:
            raise ValidationError("The completion and screen-out codes must differ (payment depends on it).")

    @property
    def study_label(self) -> str:
        return f"experiment {self.experiment}" if self.experiment_id else f"survey {self.survey}"


class EnrollmentStatus(models.TextChoices):
    ENTERED = "entered", "Entered"
    CONSENTED = "consented", "Consented"
    COMPLETED = "completed", "Completed"
    SCREENED_OUT = "screened_out", "Screened out"


class Enrollment(models.Model):
    link = models.ForeignKey(RecruitmentLink, on_delete=models.PROTECT, related_name="enrollments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    external_id_hash = models.CharField(max_length=64)
    participant_code = models.CharField(max_length=12, db_index=True)
    service_study_id = models.CharField(max_length=64, blank=True,
                                        help_text="The service's study / HIT id (not personal).")
    status = models.CharField(max_length=16, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ENTERED)
    screenout_reason = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    task_session_id = models.PositiveBigIntegerField(null=True, blank=True,
                                                     help_text="The listening session that was the task.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["link", "external_id_hash"],
                                               name="recruitment_one_enrollment_per_external_id")]

    def __str__(self) -> str:
        return f"{self.participant_code} in {self.link_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (EnrollmentStatus.COMPLETED, EnrollmentStatus.SCREENED_OUT)


class EntryKind(models.TextChoices):
    ENTERED = "entered", "Entered (new)"
    RESUMED = "resumed", "Resumed (same id again)"
    REPLAYED = "replayed", "Came back after finishing"
    CONSENTED = "consented", "Consented"
    COMPLETED = "completed", "Completed (sent to the completion URL)"
    SCREENED_OUT = "screened_out", "Screened out (sent to the screen-out URL)"


class EntryLogQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: ARG002
        raise PermissionDenied("The entry log is append-only.")


class EntryLog(models.Model):
    """Append-only: who (participant code) did what, when, with which code."""

    link = models.ForeignKey(RecruitmentLink, on_delete=models.PROTECT, related_name="log")
    enrollment = models.ForeignKey(Enrollment, null=True, blank=True, on_delete=models.SET_NULL, related_name="log")
    participant_code = models.CharField(max_length=12, db_index=True)
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    code = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = EntryLogQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.participant_code} {self.kind} {self.code}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionDenied("The entry log is append-only.")
        super().save(*args, **kwargs)


class Phase(models.TextChoices):
    PRE = "pre", "Before"
    POST = "post", "After"


class InstrumentResponse(models.Model):
    """One scored answer to one instrument, before or after a session / study."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="instrument_responses")
    participant_code = models.CharField(max_length=12, db_index=True)
    enrollment = models.ForeignKey(Enrollment, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="responses")
    session_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True,
                                                help_text="The listening session measured (a plain id).")
    instrument = models.CharField(max_length=32, choices=[(k, i.name) for k, i in instruments.INSTRUMENTS.items()])
    phase = models.CharField(max_length=8, choices=Phase.choices)
    answers = models.JSONField(help_text="item key -> answer")
    scores = models.JSONField(help_text="scale key -> score")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "instrument", "phase"],
                                    condition=models.Q(enrollment__isnull=False),
                                    name="recruitment_one_response_per_enrollment_phase"),
        ]

    def __str__(self) -> str:
        return f"{self.participant_code} {self.instrument} {self.phase}"


class AnalysisPlanQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: ARG002
        raise PermissionDenied("A frozen analysis plan cannot be changed.")


class AnalysisPlan(models.Model):
    """The experiment's design as it was when it first started: immutable, with a content hash."""

    experiment = models.OneToOneField("experiments.Experiment", on_delete=models.PROTECT,
                                      related_name="frozen_plan")
    plan = models.JSONField()
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical JSON of the plan.")
    frozen_at = models.DateTimeField(auto_now_add=True)

    objects = AnalysisPlanQuerySet.as_manager()

    def __str__(self) -> str:
        return f"plan of {self.experiment_id} ({self.content_hash[:12]})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionDenied("A frozen analysis plan cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied("A frozen analysis plan cannot be deleted.")
