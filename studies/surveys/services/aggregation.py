"""Aggregation runs: survey answers -> one soft GEMS label per track (studies/labels.py), behind its publish gate."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
from django.db import transaction

from recommender.models import LabelSource, TrackLabel
from recommender.selectors import resolve_label
from recommender.services.labels import catalog_touch, track_labels_bulk_set
from studies import labels as science
from studies.surveys import conf
from studies.surveys.models import (
    AttentionKind,
    LabelRun,
    Rating,
    Survey,
)
from studies.surveys.selectors import (
    counting_ratings,
)
from studies.surveys.services.label_sets import gate_record, publish_if, store_candidate

logger = logging.getLogger(__name__)


def _nan_to_none(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _survey_confidence(effective_raters: np.ndarray) -> np.ndarray:
    """Confidence of a survey label from the weight of the answers behind it: w / (w + 2)
    (2 effective raters → 0.5, 8 → 0.8)."""
    w = np.maximum(np.asarray(effective_raters, dtype=np.float64), 0.0)
    return w / (w + conf.CONFIDENCE_HALF_RATERS)


def pooled_surveys(survey: Survey):
    """The surveys whose answers make one survey label together with this survey's.

    The rule: a track has ONE survey label (TrackLabel source=survey), so aggregating a survey
    pools every counting answer (rater's `research_data` consent on) about the tracks rated in
    it from ALL surveys that asked the same question the same way: the same response format
    (picks and 0-4 intensities are not on one scale) and the same emotion focus (felt and
    expressed emotion differ). A person who rated a track in two such surveys counts once, with
    their latest answer. Aggregating a survey of another format or focus later replaces the
    label with that group's answers: the label is the latest aggregated group's."""
    return Survey.objects.filter(response_format=survey.response_format, emotion_focus=survey.emotion_focus)


def _alpha_na_reason(agreement, n_raters: int) -> str:
    """Why Krippendorff's alpha is undefined, in words ("" when it is defined)."""
    if math.isfinite(agreement.overall):
        return ""
    if n_raters < 2:
        return "only one rater: agreement needs at least two people answering the same track"
    if agreement.n_units == 0:
        return "no track has answers from two raters yet (too few overlapping raters)"
    return "every answer gave the same value, so agreement is undefined (not perfect)"


def aggregate_run(run: LabelRun) -> tuple[dict, str]:
    survey = run.survey
    fmt = survey.response_format
    all_rated_tracks = set(Rating.objects.filter(survey=survey).values_list("track_id", flat=True))
    pooled = pooled_surveys(survey)
    pooled_ids = sorted(pooled.values_list("id", flat=True))
    this_surveys_tracks = Rating.objects.filter(survey=survey).values("track_id")  # a subquery, any pool size
    pooled_ratings = Rating.objects.filter(survey__in=pooled, track_id__in=this_surveys_tracks)
    rows = list(
        counting_ratings()
        .filter(survey__in=pooled, track_id__in=this_surveys_tracks)
        .select_related("user")
        .order_by("id")
        .values_list("id", "user_id", "user__participant_code", "track_id", "answer", "attention_kind", "survey_id")
    )
    excluded = pooled_ratings.count() - len(rows)
    # One answer per (rater, track): a person's latest regular answer over the pooled surveys.
    latest: dict[tuple[int, int], tuple] = {}
    for r in rows:
        if r[5] == AttentionKind.NONE:
            latest[(r[1], r[3])] = r
    regular = sorted(latest.values(), key=lambda r: r[0])
    duplicates = sum(1 for r in rows if r[5] == AttentionKind.NONE) - len(regular)
    users = sorted({r[1] for r in rows})
    rater_of = {u: i for i, u in enumerate(users)}
    codes = [""] * len(users)
    for r in rows:
        codes[rater_of[r[1]]] = r[2]
    track_ids = sorted({r[3] for r in regular})
    track_of = {t: i for i, t in enumerate(track_ids)}

    # Attention checks: repeats against the rater's first answer, gold tracks against their label.
    # (A repeat is compared with the first answer in its own survey.)
    checks = _attention_checks(rows, fmt, rater_of)

    figures: dict[str, Any] = {
        "format": fmt,
        "ratings_used": len(regular),
        "attention_answers": len(rows) - len(regular),
        "ratings_excluded_no_consent": excluded,
        "surveys_pooled": pooled_ids,
        "answers_superseded": duplicates,
    }
    written = 0
    labelled_ids: set[int] = set()
    to_write: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []
    if regular:
        rater = np.array([rater_of[r[1]] for r in regular], dtype=np.int64)
        track = np.array([track_of[r[3]] for r in regular], dtype=np.int64)
        answers = np.array([r[4] for r in regular], dtype=np.float64)
        agg = science.aggregate(
            rater, track, answers, fmt, n_raters=len(users), n_tracks=len(track_ids), rater_codes=codes, attention=checks
        )
        agreement = science.agreement(rater, track, answers, fmt, n_raters=len(users), n_tracks=len(track_ids))
        labelled = np.flatnonzero(agg.n_raters > 0)
        confidence = _survey_confidence(agg.effective_raters)
        ids = np.array(track_ids, dtype=np.int64)
        for n in sorted(set(int(agg.n_raters[i]) for i in labelled)):
            sel = labelled[agg.n_raters[labelled] == n]
            to_write.append((ids[sel], agg.soft_labels[sel], confidence[sel], n))
        figures["alpha"] = _alpha_figures(agreement, len(users))
        figures["raters"] = _rater_figures(agg)
        figures["iterations"] = agg.iterations
        figures["converged"] = agg.converged
        labelled_ids = {int(ids[i]) for i in labelled}
    else:
        figures["alpha"] = None
        figures["raters"] = []

    # Tracks this survey labelled before whose answers no longer count (consent revoked):
    # their survey label goes unless another survey still has counting answers for them.
    gone: set[int] = set()
    orphaned = all_rated_tracks - labelled_ids
    if orphaned:
        still_rated = set(
            counting_ratings().filter(track_id__in=orphaned, is_attention_check=False)
            .exclude(survey__in=pooled_ids).values_list("track_id", flat=True)
        )
        gone = orphaned - still_rated

    # The gate: enough raters and tracks; tracks with few raters are listed.
    distribution = {str(n): int(len(sel_ids)) for sel_ids, _, _, n in to_write}
    few = sum(int(len(sel_ids)) for sel_ids, _, _, n in to_write if n <= conf.AGGREGATE_WARN_RATERS)
    figures["raters_per_track"] = distribution
    figures["tracks_with_few_raters"] = few
    n_labelled = len(labelled_ids)
    reasons = _gate_reasons(len(users), n_labelled)
    warnings = []
    if few:
        warnings.append(f"{few} of {n_labelled} tracks have {conf.AGGREGATE_WARN_RATERS} raters or fewer: their labels are fragile")
    candidate = [(sel_ids, gems, conf_values, n) for sel_ids, gems, conf_values, n in to_write]
    store_candidate(run, LabelSource.SURVEY, candidate)

    def write() -> None:
        nonlocal written
        # One transaction (the caller's): readers never see new survey labels next to the MER
        # guesses they replace, nor a half-removed set of orphans.
        for sel_ids, gems, conf_values, n in to_write:
            written += track_labels_bulk_set(
                track_ids=sel_ids, source=LabelSource.SURVEY, gems=gems, confidence=conf_values, rater_count=n,
            )
        if labelled_ids:
            # Survey labels replace machine guesses from audio (the human/machine feedback loop).
            replaced, _ = TrackLabel.objects.filter(track_id__in=labelled_ids, source=LabelSource.MER).delete()
            if replaced:
                catalog_touch()
            figures["mer_labels_replaced"] = replaced
        if gone:
            removed, _ = TrackLabel.objects.filter(track_id__in=gone, source=LabelSource.SURVEY).delete()
            if removed:
                catalog_touch()
            figures["labels_removed"] = removed

    gate = gate_record(reasons, {"raters": len(users), "tracks": n_labelled, "warnings": warnings}, warnings=warnings)
    published = publish_if(
        run, gate, sources=[LabelSource.SURVEY, LabelSource.MER], track_ids=sorted(labelled_ids | gone), write=write
    )
    if not published:
        # Consent withdrawals apply whatever the gate says: a published survey label that rests on
        # answers that no longer count (no counting answer left, or fewer raters than it was built
        # from) is withdrawn now rather than kept until a run passes the gate.
        removed = _withdraw_stale(to_write, gone)
        if removed is not None:
            figures["labels_withdrawn_no_consent"] = removed
    figures["tracks_labelled"] = written
    figures["candidate_tracks"] = n_labelled
    message = (
        f"{written} tracks labelled from {len(regular)} answers by {len(users)} rater{'' if len(users) == 1 else 's'}."
        if published
        else f"Not published: {'; '.join(reasons)}. The {n_labelled} candidate labels are kept on this run."
    )
    if warnings:
        message += " " + " ".join(w[0].upper() + w[1:] + "." for w in warnings)
    if excluded:
        message += f" {excluded} answers left out (no research consent)."
    return figures, message


def _attention_checks(rows: list[tuple[Any, ...]], fmt: str, rater_of: dict[int, int]) -> list[Any]:
    """Repeats against the rater's first answer (in the same survey), gold tracks against their
    known label (manual or survey)."""
    first_answer = {(r[6], r[1], r[3]): r[4] for r in rows if r[5] != AttentionKind.REPEAT}
    checks: list[Any] = []
    gold_labels: dict[int, Any] = {}
    for _, user_id, _, track_id, answer, kind, survey_id in rows:
        if kind == AttentionKind.REPEAT and (survey_id, user_id, track_id) in first_answer:
            passed = science.repeat_check_passed(first_answer[(survey_id, user_id, track_id)], answer, fmt)
            checks.append(science.AttentionCheck(rater_of[user_id], passed, f"repeated track #{track_id} answered inconsistently"))
        elif kind == AttentionKind.GOLD:
            if track_id not in gold_labels:
                label = resolve_label(track_id)
                known = label is not None and label.source in (LabelSource.MANUAL, LabelSource.SURVEY)
                gold_labels[track_id] = label.gems if known else None
            if gold_labels[track_id] is not None:
                passed = science.gold_check_passed(answer, gold_labels[track_id], fmt)
                checks.append(science.AttentionCheck(rater_of[user_id], passed, f"gold track #{track_id} answered far from its known label"))
    return checks


def _alpha_figures(agreement: Any, n_raters: int) -> dict[str, Any]:
    return {
        "why_na": _alpha_na_reason(agreement, n_raters),
        "overall": _nan_to_none(agreement.overall),
        "per_category": {k: _nan_to_none(v) for k, v in agreement.per_category.items()},
        "level": agreement.level,
        "n_units": agreement.n_units,
    }


def _rater_figures(agg: Any) -> list[dict[str, Any]]:
    return [
        {
            "code": rep.code,
            "n_ratings": rep.n_ratings,
            "reliability": round(rep.reliability, 4),
            "weight": round(rep.weight, 4),
            "attention_checks": rep.attention_checks,
            "attention_failures": rep.attention_failures,
            "reasons": list(rep.reasons),
        }
        for rep in sorted(agg.raters, key=lambda r: r.weight)
    ]


def _gate_reasons(n_raters: int, n_labelled: int) -> list[str]:
    """Why the aggregation gate holds the labels back (empty: it passes)."""
    reasons = []
    if n_raters < conf.AGGREGATE_MIN_RATERS:
        reasons.append(f"only {n_raters} rater{'' if n_raters == 1 else 's'} (the gate needs at least {conf.AGGREGATE_MIN_RATERS})")
    if n_labelled < conf.AGGREGATE_MIN_TRACKS:
        reasons.append(f"only {n_labelled} labelled track{'' if n_labelled == 1 else 's'} (the gate needs at least {conf.AGGREGATE_MIN_TRACKS})")
    return reasons


def _withdraw_stale(to_write: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]], gone: set[int]) -> int | None:
    """Consent withdrawals apply whatever the gate says: a published survey label that rests on
    answers that no longer count (none left, or fewer raters than it was built from) goes now.
    Returns how many labels went (None when none was stale)."""
    current = {int(t): int(n) for sel_ids, _, _, n in to_write for t in sel_ids}
    stale = set(gone) | {
        t for t, n in TrackLabel.objects.filter(source=LabelSource.SURVEY, track_id__in=list(current))
        .values_list("track_id", "rater_count") if n > current[t]
    }
    if not stale:
        return None
    with transaction.atomic():
        removed, _ = TrackLabel.objects.filter(track_id__in=stale, source=LabelSource.SURVEY).delete()
        if removed:
            catalog_touch()
    return int(removed)
