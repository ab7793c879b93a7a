"""Celery tasks of studies.surveys: thin wrappers around services.label_run_execute.

`ml_*` tasks are routed to the `ml` queue (CELERY_TASK_ROUTES)."""

from __future__ import annotations

from celery import shared_task

from studies.surveys.datasets import dataset_evaluate, dataset_import_run
from studies.surveys.models import LabelDataset


@shared_task
def aggregate_survey(run_id: int) -> str:
    from studies.surveys.services import label_run_execute

    return label_run_execute(run_id=run_id).status


@shared_task
def ml_propagate_labels(run_id: int) -> str:
    from studies.surveys.services import label_run_execute

    return label_run_execute(run_id=run_id).status


@shared_task
def ml_train_mer(run_id: int) -> str:
    from studies.surveys.services import label_run_execute

    return label_run_execute(run_id=run_id).status


@shared_task
def ml_label_new_tracks_mer(run_id: int | None = None) -> str:
    """Without a run id (e.g. from a django-celery-beat schedule) it creates its own run."""
    from studies.surveys.models import RunKind
    from studies.surveys.services import label_run_execute, label_run_now

    if run_id is None:
        return label_run_now(kind=RunKind.LABEL_MER).status
    return label_run_execute(run_id=run_id).status


@shared_task
def ml_label_pipeline(run_ids: list[int]) -> list[str]:
    """Aggregation -> propagation -> MER training, in order (services.label_pipeline_start)."""
    from studies.surveys.services import label_pipeline_execute

    return [run.status for run in label_pipeline_execute(run_ids=run_ids)]


@shared_task
def surveys_dataset_import(dataset_id: int) -> str:
    """Import one uploaded song-emotion data set (studies/surveys/datasets.py)."""
    return dataset_import_run(dataset_id=dataset_id).status


@shared_task
def ml_evaluate_dataset(dataset_id: int) -> dict:
    """Hold one imported data set out and score Attune's methods on it (ml queue: it trains)."""
    return dataset_evaluate(dataset=LabelDataset.objects.get(pk=dataset_id))
