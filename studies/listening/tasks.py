"""Celery tasks of studies.listening."""

from __future__ import annotations

from celery import shared_task

from studies.listening.services import sessions as session_services


@shared_task
def sessions_abandon_stale(hours: float | None = None) -> int:
    """Mark active sessions untouched for `hours` (default ATTUNE_LISTENING_STALE_HOURS) as
    abandoned, so completion rates count them. Schedule it with django-celery-beat."""
    return session_services.sessions_abandon_stale(hours=hours)
