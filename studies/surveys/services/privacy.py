"""A participant's survey data in their export, and its erasure."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from studies.surveys.models import (
    LabelDataset,
    LabelRun,
    Rating,
    RepeatPlan,
    ResponseFormat,
    RunKind,
    Survey,
)

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------- privacy


def ratings_export(user) -> list[dict[str, Any]]:
    return [
        {
            "survey": r.survey.title,
            "track": str(r.track),
            "picks": r.picks if r.survey.response_format == ResponseFormat.PICK else None,
            "intensities": r.answer if r.survey.response_format == ResponseFormat.INTENSITY else None,
            "liking": r.liking,
            "familiarity": r.familiarity,
            "listened_seconds": r.listened_seconds,
            "attention_check": r.attention_kind or None,
            "at": r.created_at.isoformat(),
        }
        for r in Rating.objects.filter(user=user).select_related("survey", "track").order_by("created_at", "id")
    ]


def label_runs_forget_rater(user) -> int:
    """Research consent withdrawn: the person's row leaves every stored label run's rater table
    at once (it was there by participant code), and each run that had it says so, so a reader
    knows the run's aggregate figures still include answers that no longer count until the
    next run recomputes them. Returns the runs changed."""
    changed = []
    for run in LabelRun.objects.filter(kind=RunKind.AGGREGATE).only("id", "figures"):
        raters = (run.figures or {}).get("raters") or []
        kept = [r for r in raters if r.get("code") != user.participant_code]
        if len(kept) != len(raters):
            run.figures = {**run.figures, "raters": kept,
                           "raters_withdrawn": int(run.figures.get("raters_withdrawn", 0)) + len(raters) - len(kept)}
            changed.append(run)
    LabelRun.objects.bulk_update(changed, ["figures"])
    return len(changed)


def repeat_plans_export(user) -> list[dict[str, Any]]:
    """The repeat checks planned for this person (which rated tracks they will be asked again)."""
    return [
        {"survey": p.survey.title, "track": str(p.track), "answered": p.answered, "at": p.created_at.isoformat()}
        for p in RepeatPlan.objects.filter(user=user).select_related("survey", "track").order_by("created_at", "id")
    ]


def authored_export(user) -> dict[str, list[dict[str, Any]]]:
    """What a researcher created: surveys, label runs and imported label data sets."""
    return {
        "surveys": [{"id": s.pk, "title": s.title, "status": s.status}
                    for s in Survey.objects.filter(created_by=user).order_by("id")],
        "label_runs": [{"id": r.pk, "kind": r.kind, "status": r.status}
                       for r in LabelRun.objects.filter(created_by=user).order_by("id")],
        "label_datasets": [{"id": d.pk, "name": d.name, "status": d.status}
                           for d in LabelDataset.objects.filter(created_by=user).order_by("id")],
    }


def ratings_erase(user) -> int:
    with transaction.atomic():
        RepeatPlan.objects.filter(user=user).delete()
        deleted, _ = Rating.objects.filter(user=user).delete()
    return deleted
