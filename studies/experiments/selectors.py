"""Reads on experiments, scoped by who asks. Researchers see participant codes, never usernames."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied

from studies.experiments.models import AnalysisResult, Experiment, Exposure
from studies.listening.models import PlaybackEvent
from studies.listening.selectors import session_outcomes


def _require_researcher(viewer: Any) -> None:
    if viewer is None or not getattr(viewer, "is_authenticated", False) or not getattr(viewer, "is_staff", False) \
            or not viewer.has_perm("experiments.view_experiment"):
        raise PermissionDenied("Only researchers may read experiment data.")


def analysable_exposures(*, experiment: Experiment):
    """Exposures whose participant still holds the research_data consent (a revocation removes the
    person's sessions from every later analysis and export)."""
    return Exposure.objects.filter(experiment=experiment, user__consents__purpose="research_data",
                                   user__consents__granted=True)


def experiment_get(*, viewer: Any, experiment_id: int) -> Experiment | None:
    _require_researcher(viewer)
    return Experiment.objects.prefetch_related("variants").filter(pk=experiment_id).first()


def latest_analysis(*, viewer: Any, experiment: Experiment) -> AnalysisResult | None:
    _require_researcher(viewer)
    return AnalysisResult.objects.filter(experiment=experiment).order_by("-computed_at", "-id").first()


@dataclass(frozen=True)
class ExposureCounts:
    sessions: int
    participants: int


def exposure_counts(*, viewer: Any, experiment: Experiment) -> dict[int, ExposureCounts]:
    _require_researcher(viewer)
    out: dict[int, ExposureCounts] = {}
    rows = analysable_exposures(experiment=experiment).values_list("variant_id", "participant_code")
    sessions: dict[int, int] = {}
    codes: dict[int, set[str]] = {}
    for variant_id, code in rows:
        sessions[variant_id] = sessions.get(variant_id, 0) + 1
        codes.setdefault(variant_id, set()).add(code)
    for variant_id, n in sessions.items():
        out[variant_id] = ExposureCounts(sessions=n, participants=len(codes[variant_id]))
    return out


SESSION_COLUMNS = ("participant_code", "session_id", "variant", "strategy", "exposed_at", "completed",
                   "tracks_played", "skips", "skip_rate", "pre_valence", "pre_arousal", "pre_distance",
                   "post_distance", "shift_toward_target", "valence_change", "reflection_rating")
EVENT_COLUMNS = ("participant_code", "session_id", "variant", "event_id", "kind", "track_id", "position",
                 "seconds_played", "occurred_at", "payload")


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def session_rows(*, viewer: Any, experiment: Experiment) -> Iterator[tuple]:
    """One row per exposed session, keyed by participant code (SESSION_COLUMNS)."""

    _require_researcher(viewer)
    exposures = {e.session_id: e for e in analysable_exposures(experiment=experiment).select_related("variant")}
    for o in session_outcomes(session_ids=list(exposures)) if exposures else []:
        e = exposures[o.session_id]
        yield (e.participant_code, o.session_id, e.variant.name, e.variant.strategy, _iso(e.created_at), o.completed,
               o.tracks_played, o.skips, o.skip_rate, o.pre_valence, o.pre_arousal, o.pre_distance, o.post_distance,
               o.shift_toward_target, o.valence_change, o.reflection_rating)


def event_rows(*, viewer: Any, experiment: Experiment) -> Iterator[tuple]:
    """Every playback event of the exposed sessions, keyed by participant code (EVENT_COLUMNS)."""
    import json


    _require_researcher(viewer)
    exposures = {e.session_id: e for e in analysable_exposures(experiment=experiment).select_related("variant")}
    events = (PlaybackEvent.objects.filter(session_id__in=list(exposures)).order_by("session_id", "occurred_at", "id")
              .values_list("session_id", "event_id", "kind", "track_id", "position", "seconds_played", "occurred_at",
                           "payload"))
    for session_id, event_id, kind, track_id, position, seconds, occurred_at, payload in events.iterator():
        e = exposures[session_id]
        yield (e.participant_code, session_id, e.variant.name, str(event_id), kind, track_id, position, seconds,
               _iso(occurred_at), json.dumps(payload, sort_keys=True, ensure_ascii=False))


@dataclass(frozen=True)
class PanelRow:
    experiment: Experiment
    sessions: int
    participants: int
    verdict: str | None
    computed_at: datetime | None


def experiments_panel_for(*, viewer: Any) -> dict[str, Any]:
    """The researcher's dashboard panel: running and paused experiments with their latest verdict."""
    _require_researcher(viewer)
    rows = []
    for experiment in Experiment.objects.filter(status__in=["running", "paused"]).order_by("-started_at")[:10]:
        latest = AnalysisResult.objects.filter(experiment=experiment).order_by("-computed_at", "-id").first()
        exposed = analysable_exposures(experiment=experiment)
        rows.append(PanelRow(experiment=experiment, sessions=exposed.count(),
                             participants=exposed.values("participant_code").distinct().count(),
                             verdict=(latest.result or {}).get("verdict") if latest else None,
                             computed_at=latest.computed_at if latest else None))
    return {"rows": rows, "drafts": Experiment.objects.filter(status="draft").count()}
