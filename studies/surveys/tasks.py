"""Celery tasks of studies.surveys: thin wrappers around services.runs.label_run_execute, and the
two use cases that queue them (label_run_start, label_pipeline_start): tasks import services,
never the other way round.

`ml_*` tasks are routed to the `ml` queue (CELERY_TASK_ROUTES)."""

from __future__ import annotations

from celery import shared_task
from django.core.exceptions import ValidationError
from django.db import transaction

from studies.surveys.datasets import dataset_evaluate, dataset_import_run
from studies.surveys.models import LabelDataset, LabelRun, RunKind, Survey
from studies.surveys.services.runs import PIPELINE, label_pipeline_execute, label_run_execute, label_run_now


@shared_task
def aggregate_survey(run_id: int) -> str:
    return label_run_execute(run_id=run_id).status


@shared_task
def ml_propagate_labels(run_id: int) -> str:
    return label_run_execute(run_id=run_id).status


@shared_task
def ml_train_mer(run_id: int) -> str:
    return label_run_execute(run_id=run_id).status


@shared_task
def ml_label_new_tracks_mer(run_id: int | None = None) -> str:
    """Without a run id (e.g. from a django-celery-beat schedule) it creates its own run."""
    if run_id is None:
        return label_run_now(kind=RunKind.LABEL_MER).status
    return label_run_execute(run_id=run_id).status


@shared_task
def ml_label_pipeline(run_ids: list[int]) -> list[str]:
    """Aggregation -> propagation -> MER training, in order (label_pipeline_start below)."""
    return [run.status for run in label_pipeline_execute(run_ids=run_ids)]


@shared_task
def surveys_dataset_import(dataset_id: int) -> str:
    """Import one uploaded song-emotion data set (studies/surveys/datasets.py)."""
    return dataset_import_run(dataset_id=dataset_id).status


@shared_task
def ml_evaluate_dataset(dataset_id: int) -> dict:
    """Hold one imported data set out and score Attune's methods on it (ml queue: it trains)."""
    return dataset_evaluate(dataset=LabelDataset.objects.get(pk=dataset_id))


# The task that executes each kind of run.
RUN_TASKS = {
    RunKind.AGGREGATE: aggregate_survey,
    RunKind.PROPAGATE: ml_propagate_labels,
    RunKind.TRAIN_MER: ml_train_mer,
    RunKind.LABEL_MER: ml_label_new_tracks_mer,
}


def label_run_start(*, kind: str, survey: Survey | None = None, created_by=None) -> LabelRun:
    """Create a run and queue its Celery task once the transaction commits."""
    if kind not in RunKind.values:
        raise ValidationError({"kind": f"Unknown run kind {kind!r}."})
    if kind == RunKind.AGGREGATE and survey is None:
        raise ValidationError({"survey": "Aggregation runs on one survey."})
    task = RUN_TASKS[kind]
    with transaction.atomic():
        run = LabelRun(kind=kind, survey=survey, created_by=created_by)
        run.full_clean()
        run.save()
        transaction.on_commit(lambda: task.delay(run.pk))
    return run


def label_pipeline_start(*, survey: Survey, created_by=None) -> list[LabelRun]:
    """Aggregation -> propagation -> MER training as one action: three queued runs (each with its
    own progress and gate), executed in order by one task once the transaction commits."""
    with transaction.atomic():
        runs = []
        for kind in PIPELINE:
            run = LabelRun(kind=kind, survey=survey, created_by=created_by)
            run.full_clean()
            run.save()
            runs.append(run)
        ids = [r.pk for r in runs]
        transaction.on_commit(lambda: ml_label_pipeline.delay(ids))
    return runs
