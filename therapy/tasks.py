"""Celery tasks of therapy."""

from __future__ import annotations

from celery import shared_task

from therapy.assignments import occurrences_mark_missed


@shared_task
def assignment_occurrences_mark_missed() -> int:
    """Pending occurrences past their due date become missed (therapy.assignments.
    occurrences_mark_missed). Scheduled by migration listening 0003, pointed here by this
    app's migration 0003."""
    return occurrences_mark_missed()
