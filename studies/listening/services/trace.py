"""The per-second webcam emotion trace: storing one aggregate on the user's own active session."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction

from accounts.selectors import has_consent
from emotion import vocab
from studies.listening.models import (
    EmotionTraceSecond,
    ListeningSession,
    SessionStatus,
)
from studies.listening.services.common import TRACE_REF_PREFIX

# --- webcam trace ---------------------------------------------------------------------------


def session_from_trace_ref(session_ref: str) -> int | None:
    if not isinstance(session_ref, str) or not session_ref.startswith(TRACE_REF_PREFIX):
        return None
    rest = session_ref[len(TRACE_REF_PREFIX) :]
    return int(rest) if rest.isdigit() else None


def _probability(value) -> float | None:
    try:
        p = float(value)
    except (TypeError, ValueError):
        return None
    return p if math.isfinite(p) and 0.0 <= p <= 1.0 else None


def trace_second_store(*, user, session_ref: str, aggregate: dict[str, Any]) -> EmotionTraceSecond | None:
    """Store one per-second webcam aggregate on the user's own active session, only with the
    `emotion_trace` consent. Returns None (and stores nothing) otherwise. Frames never reach here."""
    session_id = session_from_trace_ref(session_ref)
    if session_id is None or not has_consent(user, "emotion_trace"):
        return None
    session = ListeningSession.objects.filter(pk=session_id, user_id=user.pk, status=SessionStatus.ACTIVE).first()
    if session is None or not isinstance(aggregate, dict):
        return None
    try:
        second = int(aggregate["second"])
    except (KeyError, TypeError, ValueError):
        return None
    t = second - int(session.started_at.timestamp())
    if t < 0:
        return None
    probs = aggregate.get("mean_probabilities") or {}
    values = {name: _probability(probs.get(name)) if isinstance(probs, dict) else None for name in vocab.FER}
    valence, arousal = _probability_va(aggregate.get("valence")), _probability_va(aggregate.get("arousal"))
    label = aggregate.get("stable_label")
    row = EmotionTraceSecond(
        session=session,
        t=t,
        second=second,
        frames=max(0, min(int(aggregate.get("frames") or 0), 10_000)),
        frames_with_face=max(0, min(int(aggregate.get("frames_with_face") or 0), 10_000)),
        valence=valence,
        arousal=arousal,
        stable_label=label if label in vocab.FER else "",
        **values,
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        return None  # that second is already stored
    return row


def _probability_va(value) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return float(np.clip(x, -1.0, 1.0)) if math.isfinite(x) else None
