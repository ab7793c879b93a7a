"""Survey status: open, pause, close (only from the states that allow it)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from studies.surveys.models import (
    Survey,
    SurveyStatus,
)
from studies.surveys.selectors import (
    survey_pool,
)

logger = logging.getLogger(__name__)


def _survey_set_status(survey: Survey, status: str, allowed_from: Sequence[str]) -> Survey:
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if survey.status == status:
            return survey
        if survey.status not in allowed_from:
            raise ValidationError(
                f"A {survey.get_status_display().lower()} survey cannot be set to {SurveyStatus(status).label.lower()}."
            )
        fields = ["status"]
        if status == SurveyStatus.OPEN:
            if not survey_pool(survey=survey).exists():
                raise ValidationError("The survey has no tracks: choose tracks or a catalog filter that matches some.")
            if survey.opened_at is None:
                survey.opened_at = timezone.now()
                fields.append("opened_at")
        if status == SurveyStatus.CLOSED:
            survey.closed_at = timezone.now()
            fields.append("closed_at")
        survey.status = status
        survey.full_clean()
        survey.save(update_fields=fields)
    return survey


def survey_open(*, survey: Survey) -> Survey:
    """Draft or paused → open (needs a non-empty pool)."""
    return _survey_set_status(survey, SurveyStatus.OPEN, [SurveyStatus.DRAFT, SurveyStatus.PAUSED])


def survey_pause(*, survey: Survey) -> Survey:
    return _survey_set_status(survey, SurveyStatus.PAUSED, [SurveyStatus.OPEN])


def survey_close(*, survey: Survey) -> Survey:
    """Closing is final: a closed survey takes no more answers."""
    return _survey_set_status(survey, SurveyStatus.CLOSED, [SurveyStatus.DRAFT, SurveyStatus.OPEN, SurveyStatus.PAUSED])
