"""Celery tasks of studies.experiments: recompute analyses (periodically and on demand)."""

from __future__ import annotations

import logging

from celery import shared_task

from studies.experiments.models import Experiment, Status
from studies.experiments.services import analysis_compute

logger = logging.getLogger(__name__)


@shared_task
def analysis_recompute(experiment_id: int) -> int | None:
    """Recompute and store one experiment's analysis; returns the snapshot id."""
    experiment = Experiment.objects.filter(pk=experiment_id).first()
    if experiment is None:
        logger.warning("analysis_recompute: experiment %s does not exist", experiment_id)
        return None
    return analysis_compute(experiment=experiment).pk


@shared_task
def analyses_recompute_running() -> list[int]:
    """Scheduled by django-celery-beat (migration 0002): every running or paused experiment."""
    done = []
    for experiment_id in Experiment.objects.filter(status__in=[Status.RUNNING, Status.PAUSED]).values_list("id", flat=True):
        try:
            snapshot_id = analysis_recompute(experiment_id)
        except Exception:  # one broken experiment must not block the others
            logger.exception("analysis of experiment %s failed", experiment_id)
            continue
        if snapshot_id is not None:
            done.append(snapshot_id)
    return done
