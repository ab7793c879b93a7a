"""Celery tasks of studies.surveys: thin wrappers around services.label_run_execute.

`ml_*` tasks are routed to the `ml` queue (CELERY_TASK_ROUTES)."""

from __future__ import annotations

from celery import shared_task


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
def ml_label_new_tracks_mer(run_id: int) -> str:
    from studies.surveys.services import label_run_execute

    return label_run_execute(run_id=run_id).status
