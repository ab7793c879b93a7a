"""Label sets: a run's candidate labels, publishing them past their gate, and rolling a published run back."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
from django.db import transaction
from django.utils import timezone

from emotion.vocab import N_GEMS, gems_distribution, gems_to_va
from recommender.models import TrackLabel
from studies.surveys import conf
from studies.surveys.models import (
    Decision,
    LabelRun,
    LabelSetRole,
    LabelSetRow,
)

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------- label sets: candidate, publish, roll back


def gate_record(reasons: Sequence[str], figures: dict, *, warnings: Sequence[str] = ()) -> dict:
    return {
        "passed": not reasons,
        "reasons": list(reasons),
        "warnings": list(warnings),
        "figures": _jsonable(figures),
        "settings": conf.gate_settings(),
    }


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def store_candidate(run: LabelRun, source: str, batches) -> int:
    """Keep what the run computed, published or not (role=candidate)."""
    rows = []
    for ids, gems, confidence, rater_count in batches:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            continue
        dist = gems_distribution(np.asarray(gems, dtype=np.float64).reshape(len(ids), N_GEMS))
        va = np.clip(gems_to_va(dist), -1.0, 1.0)
        conf_values = np.broadcast_to(np.asarray(confidence, dtype=np.float64), ids.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            ent = -np.where(dist > 0, dist * np.log(np.where(dist > 0, dist, 1.0)), 0.0).sum(axis=1)
        rows.extend(
            LabelSetRow(
                run=run, role=LabelSetRole.CANDIDATE, track_id=int(t), source=source, gems=[float(v) for v in dist[i]],
                valence=float(va[i, 0]), arousal=float(va[i, 1]), confidence=float(np.clip(conf_values[i], 0.0, 1.0)),
                rater_count=int(rater_count), entropy=float(ent[i]),
            )
            for i, t in enumerate(ids)
        )
    LabelSetRow.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def label_scope(sources: Sequence[str], track_ids: Sequence[int] | None):
    qs = TrackLabel.objects.filter(source__in=list(sources))
    return qs if track_ids is None else qs.filter(track_id__in=list(track_ids))


def publish_if(run: LabelRun, gate: dict, *, sources: Sequence[str], track_ids: Sequence[int] | None, write) -> bool:
    """Publish the run's labels when its gate passed: keep the labels in scope (role=previous),
    write the new ones, and record the decision, all in one transaction."""
    gate = {**gate, "scope": {"sources": list(sources), "track_ids": None if track_ids is None else list(track_ids)}}
    if not gate["passed"]:
        run.decision, run.gate = Decision.NOT_PUBLISHED, gate
        run.save(update_fields=["decision", "gate"])
        return False
    with transaction.atomic():
        previous = [
            LabelSetRow(
                run=run, role=LabelSetRole.PREVIOUS, track_id=lab.track_id, source=lab.source, gems=lab.gems,
                valence=lab.valence, arousal=lab.arousal, confidence=lab.confidence, rater_count=lab.rater_count,
                entropy=lab.entropy,
            )
            for lab in label_scope(sources, track_ids).iterator(chunk_size=2000)
        ]
        LabelSetRow.objects.bulk_create(previous, batch_size=2000)
        write()
        run.decision, run.gate, run.published_at = Decision.PUBLISHED, gate, timezone.now()
        run.save(update_fields=["decision", "gate", "published_at"])
    return True
