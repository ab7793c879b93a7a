"""Signal receivers of studies.listening (connected in ListeningConfig.ready)."""

from __future__ import annotations

import logging

from studies.listening.services import trace_second_store

logger = logging.getLogger(__name__)


def store_trace_second(sender, *, user, session_ref, aggregate, **kwargs) -> None:
    """emotion.signals.second_aggregated -> one EmotionTraceSecond row, only for the user's own
    active session and only with the `emotion_trace` consent (checked in the service)."""
    trace_second_store(user=user, session_ref=session_ref, aggregate=aggregate)
