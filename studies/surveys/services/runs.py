"""Label runs: claim, execute (one table of what each kind of run does), the aggregate -> propagate -> MER pipeline, and runs executed in this process."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from emotion import mer
from recommender.models import TrackLabel
from recommender.services.labels import catalog_touch
from studies.surveys import mer_bridge
from studies.surveys.models import (
    Decision,
    LabelRun,
    LabelSetRole,
    RunKind,
    RunStatus,
    Survey,
)
from studies.surveys.services.aggregation import aggregate_run
from studies.surveys.services.label_sets import label_scope
from studies.surveys.services.progress import RunProgress
from studies.surveys.services.propagation import propagate_run

logger = logging.getLogger(__name__)


PIPELINE = (RunKind.AGGREGATE, RunKind.PROPAGATE, RunKind.TRAIN_MER)

def label_pipeline_execute(*, run_ids: Sequence[int]) -> list[LabelRun]:
    """Run the pipeline's runs in order. A run whose predecessor failed is marked failed with
    the reason; one whose predecessor was not published still runs (it reads what is
    published) and says so."""
    done: list[LabelRun] = []
    for run_id in run_ids:
        if done and done[-1].status == RunStatus.FAILED:
            run = LabelRun.objects.get(pk=run_id)
            if label_run_claim(run_id=run_id):
                run.refresh_from_db()
                _run_fail(run, f"Not run: run #{done[-1].pk} ({done[-1].get_kind_display().lower()}) failed.")
            done.append(run)
            continue
        run = label_run_execute(run_id=run_id)
        if done and done[-1].decision == Decision.NOT_PUBLISHED:
            run.message = (
                f"Run #{done[-1].pk} was not published, so this run used the labels published before it. "
                + run.message
            )[:2000]
            run.save(update_fields=["message"])
        done.append(run)
    return done


def label_run_now(*, kind: str, survey: Survey | None = None, created_by=None) -> LabelRun:
    """Create a run and execute it in this process (periodic tasks, commands)."""
    if kind not in RunKind.values:
        raise ValidationError({"kind": f"Unknown run kind {kind!r}."})
    run = LabelRun(kind=kind, survey=survey, created_by=created_by)
    run.full_clean()
    run.save()
    return label_run_execute(run_id=run.pk)




def label_run_claim(*, run_id: int) -> bool:
    """Move a pending run to running in one conditional UPDATE: exactly one caller gets True,
    however many workers were handed the same run."""
    changed = LabelRun.objects.filter(pk=run_id, status=RunStatus.PENDING).update(
        status=RunStatus.RUNNING, started_at=timezone.now(), progress=0.0
    )
    return changed == 1


def _run_finish(run: LabelRun, *, figures: dict, message: str) -> LabelRun:
    run.status = RunStatus.DONE
    run.progress = 1.0
    run.figures = figures
    run.message = message
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "progress", "figures", "message", "finished_at"])
    return run


def _run_fail(run: LabelRun, message: str) -> LabelRun:
    run.status = RunStatus.FAILED
    run.message = message
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "message", "finished_at"])
    return run


def label_run_execute(*, run_id: int) -> LabelRun:
    """Run a queued LabelRun (called by the Celery tasks). Failures are recorded on the run."""
    run = LabelRun.objects.select_related("survey").get(pk=run_id)
    if not label_run_claim(run_id=run.pk):
        # Done, failed, or another worker has it (Celery acks_late redelivers tasks).
        run.refresh_from_db()
        return run
    run.refresh_from_db()
    work: dict[str, Callable[[LabelRun], tuple[dict, str]]] = {
        RunKind.AGGREGATE: aggregate_run,
        RunKind.PROPAGATE: propagate_run,
        RunKind.TRAIN_MER: _train_mer,
        RunKind.LABEL_MER: _label_mer,
    }
    try:
        figures, message = work[run.kind](run)
    except (ValidationError, ValueError) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        return _run_fail(run, text)
    except Exception as exc:  # recorded for the researcher; the traceback goes to the log
        logger.exception("Label run %s failed", run.pk)
        return _run_fail(run, f"{type(exc).__name__}: {exc}")
    return _run_finish(run, figures=figures, message=message)


def _train_mer(run: LabelRun) -> tuple[dict, str]:
    return mer_bridge.train(run, mer, RunProgress(run))


def _label_mer(run: LabelRun) -> tuple[dict, str]:
    return mer_bridge.label_new(run, mer, RunProgress(run))


def label_run_rollback(*, run: LabelRun) -> LabelRun:
    """Undo a published run: the labels it replaced come back exactly, its own go. Only the
    latest published run over the same labels can be rolled back (roll back later ones first)."""
    with transaction.atomic():
        run = LabelRun.objects.select_for_update().get(pk=run.pk)
        if run.decision != Decision.PUBLISHED:
            raise ValidationError(f"Run #{run.pk} is not published: there is nothing to roll back.")
        scope = run.gate.get("scope") or {}
        sources = set(scope.get("sources") or [])
        for later in LabelRun.objects.filter(decision=Decision.PUBLISHED, published_at__gt=run.published_at):
            if sources & set((later.gate.get("scope") or {}).get("sources") or []):
                raise ValidationError(
                    f"Run #{later.pk} was published after this one over the same labels: roll it back first."
                )
        if run.kind == RunKind.TRAIN_MER:
            mer_bridge.model_rollback(run)
            sources = set()
        label_scope(sorted(sources), scope.get("track_ids")).delete()
        TrackLabel.objects.bulk_create(
            [
                TrackLabel(
                    track_id=row.track_id, source=row.source, gems=row.gems, valence=row.valence,
                    arousal=row.arousal, confidence=row.confidence, rater_count=row.rater_count, entropy=row.entropy,
                )
                for row in run.label_rows.filter(role=LabelSetRole.PREVIOUS).iterator(chunk_size=2000)
            ],
            batch_size=2000,
        )
        catalog_touch()
        run.decision, run.rolled_back_at = Decision.ROLLED_BACK, timezone.now()
        run.message = (run.message + f" Rolled back at {run.rolled_back_at:%Y-%m-%d %H:%M} UTC.").strip()
        run.save(update_fields=["decision", "rolled_back_at", "message"])
    return run
