"""Writes on surveys: status changes, answers, the next track, and the label runs.

Every participant-facing write checks `research_data` consent first: without it nothing is
stored. Labels are written through the recommender's own services (track_label_set /
track_labels_bulk_set), which validate them and bump the catalog version.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.selectors import has_consent
from emotion.vocab import GEMS, N_GEMS
from recommender.models import LabelSource, Track, TrackLabel
from recommender.selectors import resolve_label, resolve_labels
from recommender.services.labels import catalog_touch, track_labels_bulk_set
from studies.surveys import conf
from studies.surveys.models import (
    MAX_INTENSITY,
    MAX_PICKS,
    AttentionKind,
    Decision,
    LabelRun,
    LabelSetRole,
    LabelSetRow,
    NextTrackMode,
    Rating,
    RepeatPlan,
    ResponseFormat,
    RunKind,
    RunStatus,
    Survey,
    SurveyStatus,
)
from studies.surveys.selectors import (
    RESEARCH,
    catalog_feature_matrix,
    counting_ratings,
    eligible_tracks,
    survey_pool,
    track_in_survey,
)

logger = logging.getLogger(__name__)

CONSENT_REFUSAL = (
    "Your answers can only be stored if you allow research use of your ratings "
    "(Settings → Consent: “Use my ratings and sessions in research”). Nothing was stored."
)


# ---------------------------------------------------------------------------- survey status


def _survey_set_status(survey: Survey, status: str, allowed_from: Sequence[str]) -> Survey:
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if survey.status == status:
            return survey
        if survey.status not in allowed_from:
            raise ValidationError(
                f"A {survey.get_status_display().lower()} survey cannot be set to {SurveyStatus(status).label.lower()}."
            )
        fields = ["status"]
        if status == SurveyStatus.OPEN:
            if not survey_pool(survey=survey).exists():
                raise ValidationError("The survey has no tracks: choose tracks or a catalog filter that matches some.")
            if survey.opened_at is None:
                survey.opened_at = timezone.now()
                fields.append("opened_at")
        if status == SurveyStatus.CLOSED:
            survey.closed_at = timezone.now()
            fields.append("closed_at")
        survey.status = status
        survey.full_clean()
        survey.save(update_fields=fields)
    return survey


def survey_open(*, survey: Survey) -> Survey:
    """Draft or paused → open (needs a non-empty pool)."""
    return _survey_set_status(survey, SurveyStatus.OPEN, [SurveyStatus.DRAFT, SurveyStatus.PAUSED])


def survey_pause(*, survey: Survey) -> Survey:
    return _survey_set_status(survey, SurveyStatus.PAUSED, [SurveyStatus.OPEN])


def survey_close(*, survey: Survey) -> Survey:
    """Closing is final: a closed survey takes no more answers."""
    return _survey_set_status(survey, SurveyStatus.CLOSED, [SurveyStatus.DRAFT, SurveyStatus.OPEN, SurveyStatus.PAUSED])


# ---------------------------------------------------------------------------- answers


def _int_in(value: Any, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
        raise ValidationError({what: f"{what.capitalize()} is a whole number from {low} to {high}."})
    value = int(value)
    if not low <= value <= high:
        raise ValidationError({what: f"{what.capitalize()} is a whole number from {low} to {high}."})
    return value


def _answer_vector(survey: Survey, picks: Any, intensities: Any) -> list[int]:
    if survey.response_format == ResponseFormat.PICK:
        if intensities is not None:
            raise ValidationError({"intensities": "This survey asks you to pick emotions, not to rate intensities."})
        if not isinstance(picks, list | tuple) or not all(isinstance(p, str) for p in picks):
            raise ValidationError({"picks": "Send the picked emotions as a list of names."})
        if len(picks) == 0:
            raise ValidationError({"picks": "Pick at least one emotion."})
        if len(picks) > MAX_PICKS:
            raise ValidationError({"picks": f"Pick at most {MAX_PICKS} emotions (you picked {len(picks)})."})
        unknown = [p for p in picks if p not in GEMS]
        if unknown:
            raise ValidationError({"picks": f"Unknown emotion {unknown[0][:40]!r}; expected one of {', '.join(GEMS)}."})
        if len(set(picks)) != len(picks):
            raise ValidationError({"picks": "Each emotion can be picked once."})
        return [1 if name in picks else 0 for name in GEMS]
    if picks is not None:
        raise ValidationError({"picks": "This survey asks you to rate each emotion 0–4, not to pick."})
    if not isinstance(intensities, list | tuple) or len(intensities) != N_GEMS:
        raise ValidationError({"intensities": f"Rate each of the {N_GEMS} emotions from 0 to {MAX_INTENSITY}."})
    return [_int_in(v, 0, MAX_INTENSITY, "intensities") for v in intensities]


def _scale(value: Any, asked: bool, what: str) -> int | None:
    if not asked:
        return None
    if value is None:
        raise ValidationError({what: f"Please rate {what} from 1 to 5."})
    return _int_in(value, 1, 5, what)


def _lock_participant(user) -> None:
    """Lock this person's user row until the transaction ends (a no-op on SQLite, where the
    IMMEDIATE transaction already serialises writers)."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()


def rating_submit(
    *,
    user,
    survey_id: int,
    track_id: int,
    client_id: uuid.UUID | str,
    listened_seconds: float,
    picks: Sequence[str] | None = None,
    intensities: Sequence[int] | None = None,
    liking: int | None = None,
    familiarity: int | None = None,
) -> tuple[Rating, bool]:
    """Store one answer. Returns (rating, created); a retry with the same client id returns the
    stored answer with created=False. Raises PermissionDenied without `research_data`
    consent and ValidationError for anything else that is wrong; nothing is stored then."""
    if not has_consent(user, RESEARCH):
        raise PermissionDenied(CONSENT_REFUSAL)
    try:
        client_uuid = client_id if isinstance(client_id, uuid.UUID) else uuid.UUID(str(client_id))
    except (TypeError, ValueError):
        raise ValidationError({"client_id": "The answer id must be a UUID."}) from None

    existing = Rating.objects.filter(client_id=client_uuid).first()
    if existing is not None:
        if existing.user_id != user.pk or existing.survey_id != survey_id or existing.track_id != track_id:
            raise ValidationError({"client_id": "This answer id was already used for another answer."})
        return existing, False

    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None or survey.status == SurveyStatus.DRAFT:
        raise ValidationError({"survey": "There is no such survey."})
    if survey.status != SurveyStatus.OPEN:
        raise ValidationError({"survey": f"This survey is {survey.get_status_display().lower()}: it takes no answers now."})
    if not Track.objects.filter(pk=track_id).exists() or not track_in_survey(survey=survey, track_id=track_id):
        raise ValidationError({"track": "This track is not part of this survey."})

    if isinstance(listened_seconds, bool) or not isinstance(listened_seconds, int | float) or not math.isfinite(listened_seconds):
        raise ValidationError({"listened_seconds": "Listening time is a number of seconds."})
    if listened_seconds < 0 or listened_seconds > conf.MAX_LISTENED_SECONDS:
        raise ValidationError({"listened_seconds": f"Listening time must be between 0 and {conf.MAX_LISTENED_SECONDS} seconds."})
    if listened_seconds < survey.min_listen_seconds:
        raise ValidationError(
            {"listened_seconds": f"Please listen for at least {survey.min_listen_seconds} seconds before answering "
             f"(you listened {listened_seconds:.0f})."}
        )
    answer = _answer_vector(survey, picks, intensities)
    liking_value = _scale(liking, survey.ask_liking, "liking")
    familiarity_value = _scale(familiarity, survey.ask_familiarity, "familiarity")

    try:
        with transaction.atomic():
            # Parallel submits by one person (two tabs, a retried request) queue here, so the
            # checks below (already rated? quota reached?) see each other's answers.
            _lock_participant(user)
            previous = Rating.objects.filter(survey=survey, track_id=track_id, user=user).exclude(
                attention_kind=AttentionKind.REPEAT
            )
            kind = AttentionKind.NONE
            plan = None
            if previous.exists():
                plan = RepeatPlan.objects.select_for_update().filter(
                    survey=survey, user=user, track_id=track_id, answered=False
                ).first()
                if plan is None:
                    raise ValidationError({"track": "You have already rated this track in this survey."})
                kind = AttentionKind.REPEAT
            elif survey.gold_tracks.filter(pk=track_id).exists():
                kind = AttentionKind.GOLD
            elif survey.tracks_per_participant and (
                Rating.objects.filter(survey=survey, user=user, attention_kind=AttentionKind.NONE).count()
                >= survey.tracks_per_participant
            ):
                raise ValidationError(
                    {"track": f"You have already rated the {survey.tracks_per_participant} songs this survey asks for."}
                )
            rating = Rating(
                survey=survey,
                track_id=track_id,
                user=user,
                answer=answer,
                liking=liking_value,
                familiarity=familiarity_value,
                listened_seconds=float(listened_seconds),
                is_attention_check=kind != AttentionKind.NONE,
                attention_kind=kind,
                client_id=client_uuid,
            )
            rating.full_clean()
            rating.save()
            if plan is not None:
                plan.answered = True
                plan.save(update_fields=["answered"])
    except IntegrityError:
        # Two submissions raced: the same client id is an idempotent retry, anything else a duplicate.
        existing = Rating.objects.filter(client_id=client_uuid, user=user).first()
        if existing is not None:
            return existing, False
        raise ValidationError({"track": "You have already rated this track in this survey."}) from None
    return rating, True


def skip_check(*, user, survey: Survey, track_id: int) -> None:
    """May this person pass over this track? (Same refusals as an answer, nothing stored.)"""
    if not has_consent(user, RESEARCH):
        raise PermissionDenied(CONSENT_REFUSAL)
    if survey.status != SurveyStatus.OPEN:
        raise ValidationError({"survey": f"This survey is {survey.get_status_display().lower()}: it takes no answers now."})
    if not track_in_survey(survey=survey, track_id=track_id):
        raise ValidationError({"track": "This track is not part of this survey."})


# ---------------------------------------------------------------------------- next track


@dataclass(frozen=True)
class NextTrack:
    track: Track | None  # None: nothing left for this person
    is_repeat: bool
    is_gold: bool
    answered: int  # answers this person gave in this survey
    total: int  # answered + what is still planned for them

    @property
    def done(self) -> bool:
        return self.track is None


def _stable_unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts (spreads raters over tied tracks)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def label_uncertainty(track_ids: Sequence[int]) -> dict[int, float]:
    """How little we know about each track's emotion, in [0, 1]: 1 - confidence x (1 - H/H_max)
    of the label a reader sees now (after propagation); 1 for a track with no label."""
    if not track_ids:
        return {}
    resolved = resolve_labels(list(track_ids))
    out: dict[int, float] = {}
    h_max = math.log(N_GEMS)
    for i, tid in enumerate(resolved.track_ids):
        if not resolved.labelled[i]:
            out[int(tid)] = 1.0
            continue
        p = resolved.gems[i]
        nz = p[p > 0]
        h = float(-(nz * np.log(nz)).sum()) / h_max
        c = float(np.clip(resolved.confidence[i], 0.0, 1.0))
        out[int(tid)] = 1.0 - c * (1.0 - h)
    return out


def next_track_for(*, user, survey: Survey, skipped: Collection[int] = ()) -> NextTrack:
    """The track to ask this person about next (never one of `skipped`: tracks the person
    passed over in this browser session, e.g. a clip that would not play).

    Order: an unanswered planned repeat; a gold track they have not answered (after their
    first two answers); a new planned repeat (at the survey's repeat rate, after three answers,
    decided deterministically per answer count); otherwise a pool track they have not rated
    that still lacks ratings — least-rated first, or in active-learning mode the one whose
    current label is most uncertain (among the NEXT_TRACK_CANDIDATES least-rated). Never the
    same track twice except planned repeats.
    """
    if not has_consent(user, RESEARCH):
        raise PermissionDenied(CONSENT_REFUSAL)
    if survey.status != SurveyStatus.OPEN:
        raise ValidationError({"survey": f"This survey is {survey.get_status_display().lower()}: it takes no answers now."})

    mine = list(Rating.objects.filter(survey=survey, user=user).values_list("track_id", "attention_kind"))
    answered = len(mine)
    regular_rated = [t for t, kind in mine if kind == AttentionKind.NONE]
    rated_ids = {t for t, kind in mine if kind != AttentionKind.REPEAT}
    cap = survey.tracks_per_participant or None

    skipped = set(skipped)
    eligible_qs = eligible_tracks(survey=survey, exclude=rated_ids | skipped)
    n_eligible = eligible_qs.count()
    regular_left = n_eligible if cap is None else max(0, min(n_eligible, cap - len(regular_rated)))
    gold_left = list(
        survey.gold_tracks.exclude(pk__in=rated_ids | skipped).order_by("id").values_list("id", flat=True)
    )
    pending = RepeatPlan.objects.filter(survey=survey, user=user, answered=False).order_by("id").first()

    def result(track_id: int | None, *, repeat: bool = False, gold: bool = False) -> NextTrack:
        total = answered + regular_left + len(gold_left) + (1 if pending is not None or repeat else 0)
        track = Track.objects.get(pk=track_id) if track_id is not None else None
        return NextTrack(track=track, is_repeat=repeat, is_gold=gold, answered=answered, total=max(total, answered))

    if pending is not None:
        return result(pending.track_id, repeat=True)
    if regular_left == 0 and not gold_left:
        return result(None)
    if gold_left and (answered >= 2 or regular_left == 0):
        return result(gold_left[0], gold=True)
    if survey.repeat_rate > 0 and len(regular_rated) >= 3 and regular_left > 0:
        if _stable_unit("repeat", survey.pk, user.pk, answered) < survey.repeat_rate:
            planned = set(RepeatPlan.objects.filter(survey=survey, user=user).values_list("track_id", flat=True))
            candidates = [t for t in regular_rated if t not in planned]
            if candidates:
                track_id = min(candidates, key=lambda t: _stable_unit("which", survey.pk, user.pk, t))
                RepeatPlan.objects.get_or_create(survey=survey, user=user, track_id=track_id)
                return result(track_id, repeat=True)
    if regular_left == 0:
        return result(None)

    def tie(t: int) -> float:
        return _stable_unit("tie", survey.pk, user.pk, t)

    # The least-rated candidates, bounded so a catalog-wide pool stays one indexed query.
    counts = dict(eligible_qs.order_by("n_ratings", "id").values_list("id", "n_ratings")[: conf.NEXT_TRACK_CANDIDATES])
    if survey.next_track_mode == NextTrackMode.ACTIVE:
        uncertainty = label_uncertainty(list(counts))
        best = min(counts, key=lambda t: (-round(uncertainty.get(t, 1.0), 6), counts[t], tie(t)))
    else:
        best = min(counts, key=lambda t: (counts[t], tie(t)))
    return result(best)


# ---------------------------------------------------------------------------- runs


_RUN_TASKS = {
    RunKind.AGGREGATE: "aggregate_survey",
    RunKind.PROPAGATE: "ml_propagate_labels",
    RunKind.TRAIN_MER: "ml_train_mer",
    RunKind.LABEL_MER: "ml_label_new_tracks_mer",
}


def label_run_start(*, kind: str, survey: Survey | None = None, created_by=None) -> LabelRun:
    """Create a run and queue its Celery task once the transaction commits."""
    if kind not in RunKind.values:
        raise ValidationError({"kind": f"Unknown run kind {kind!r}."})
    if kind == RunKind.AGGREGATE and survey is None:
        raise ValidationError({"survey": "Aggregation runs on one survey."})
    from studies.surveys import tasks

    task = getattr(tasks, _RUN_TASKS[kind])
    with transaction.atomic():
        run = LabelRun(kind=kind, survey=survey, created_by=created_by)
        run.full_clean()
        run.save()
        transaction.on_commit(lambda: task.delay(run.pk))
    return run


PIPELINE = (RunKind.AGGREGATE, RunKind.PROPAGATE, RunKind.TRAIN_MER)


def label_pipeline_start(*, survey: Survey, created_by=None) -> list[LabelRun]:
    """Aggregation -> propagation -> MER training as one action: three queued runs (each with its
    own progress and gate), executed in order by one task once the transaction commits."""
    from studies.surveys import tasks

    with transaction.atomic():
        runs = []
        for kind in PIPELINE:
            run = LabelRun(kind=kind, survey=survey, created_by=created_by)
            run.full_clean()
            run.save()
            runs.append(run)
        ids = [r.pk for r in runs]
        transaction.on_commit(lambda: tasks.ml_label_pipeline.delay(ids))
    return runs


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


class _RunProgress:
    """Progress callback for the pure modules: writes at most every 0.5 s."""

    def __init__(self, run: LabelRun, start: float = 0.0, span: float = 1.0):
        self.run, self.start, self.span, self.last = run, start, span, 0.0

    def __call__(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - self.last < 0.5 and fraction < 1.0:
            return
        self.last = now
        value = float(np.clip(self.start + self.span * fraction, 0.0, 1.0))
        LabelRun.objects.filter(pk=self.run.pk).update(progress=value, message=message[:500])


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
        RunKind.AGGREGATE: _aggregate,
        RunKind.PROPAGATE: _propagate,
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


def _aggregate(run: LabelRun) -> tuple[dict, str]:
    from studies import labels as science

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
    first_answer = {(r[6], r[1], r[3]): r[4] for r in rows if r[5] != AttentionKind.REPEAT}
    checks: list = []
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
        figures["alpha"] = {
            "why_na": _alpha_na_reason(agreement, len(users)),
            "overall": _nan_to_none(agreement.overall),
            "per_category": {k: _nan_to_none(v) for k, v in agreement.per_category.items()},
            "level": agreement.level,
            "n_units": agreement.n_units,
        }
        figures["raters"] = [
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
    reasons = []
    if len(users) < conf.AGGREGATE_MIN_RATERS:
        reasons.append(f"only {len(users)} rater{'' if len(users) == 1 else 's'} (the gate needs at least {conf.AGGREGATE_MIN_RATERS})")
    if n_labelled < conf.AGGREGATE_MIN_TRACKS:
        reasons.append(f"only {n_labelled} labelled track{'' if n_labelled == 1 else 's'} (the gate needs at least {conf.AGGREGATE_MIN_TRACKS})")
    warnings = []
    if few:
        warnings.append(f"{few} of {n_labelled} tracks have {conf.AGGREGATE_WARN_RATERS} raters or fewer: their labels are fragile")
    candidate = [(sel_ids, gems, conf_values, n) for sel_ids, gems, conf_values, n in to_write]
    _store_candidate(run, LabelSource.SURVEY, candidate)

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

    gate = _gate_record(reasons, {"raters": len(users), "tracks": n_labelled, "warnings": warnings}, warnings=warnings)
    published = _publish_if(
        run, gate, sources=[LabelSource.SURVEY, LabelSource.MER], track_ids=sorted(labelled_ids | gone), write=write
    )
    if not published:
        # Consent withdrawals apply whatever the gate says: a published survey label that rests on
        # answers that no longer count (no counting answer left, or fewer raters than it was built
        # from) is withdrawn now rather than kept until a run passes the gate.
        current = {int(t): int(n) for sel_ids, _, _, n in to_write for t in sel_ids}
        stale = set(gone) | {
            t for t, n in TrackLabel.objects.filter(source=LabelSource.SURVEY, track_id__in=list(current))
            .values_list("track_id", "rater_count") if n > current[t]
        }
        if stale:
            with transaction.atomic():
                removed, _ = TrackLabel.objects.filter(track_id__in=stale, source=LabelSource.SURVEY).delete()
                if removed:
                    catalog_touch()
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


def _propagate(run: LabelRun) -> tuple[dict, str]:
    from studies import propagation as science

    matrix = catalog_feature_matrix()
    if len(matrix.track_ids) < 2 or matrix.features.shape[1] == 0:
        raise ValidationError("Propagation needs at least two tracks with audio features.")
    position = {int(t): i for i, t in enumerate(matrix.track_ids)}
    survey_labels = [
        (position[t], g)
        for t, g in TrackLabel.objects.filter(source=LabelSource.SURVEY).values_list("track_id", "gems")
        if t in position
    ]
    if not survey_labels:
        raise ValidationError("No survey labels yet: aggregate a survey first.")
    labelled_index = np.array([i for i, _ in survey_labels], dtype=np.int64)
    labels = np.array([g for _, g in survey_labels], dtype=np.float64)
    n_tracks = len(matrix.track_ids)
    figures: dict[str, Any] = {
        "tracks": int(n_tracks),
        "labelled": int(len(labelled_index)),
        "features": list(matrix.columns),
    }
    # 1. Tune k and alpha by cross-validation and decide whether the result may be published.
    cv = None
    if len(labelled_index) >= 2:
        cv = science.cross_validate(
            matrix.features, labelled_index, labels, ks=conf.PROPAGATION_KS, alphas=conf.PROPAGATION_ALPHAS,
            folds=conf.EVALUATION_FOLDS, min_labelled=conf.PROPAGATION_MIN_LABELLED, n_boot=conf.BOOTSTRAP_SAMPLES,
            baselines=conf.PROPAGATION_GATE_BASELINES, progress=_RunProgress(run, 0.0, 0.6),
        )
        figures["cv"] = {**cv.gate.figures, "grid": list(cv.grid), "knn_grid": list(cv.knn_grid)}
        reasons = list(cv.gate.reasons)
        k, alpha = cv.k, cv.alpha
    else:
        reasons = [f"only {len(labelled_index)} survey-labelled track: nothing to cross-validate"]
        k, alpha = min(conf.PROPAGATION_K, n_tracks - 1), 0.8
    # 2. The candidate: spread with the chosen settings; confidence = 1 - predicted held-out JSD.
    result = science.propagate(
        matrix.features, labelled_index, labels, k=min(k, n_tracks - 1), alpha=alpha,
        progress=_RunProgress(run, 0.6, 0.3),
    )
    targets = np.flatnonzero(~result.labelled)
    if cv is not None and len(targets):
        X = science.prepare_features(matrix.features)
        disagree = science.neighbour_disagreement(
            X, labelled_index, labels / labels.sum(axis=1, keepdims=True), targets, result.soft_labels[targets], cv.knn_k
        )
        predicted_jsd = cv.uncertainty.predict(result.soft_labels[targets], result.confidence[targets], disagree)
        confidence = 1.0 - predicted_jsd
        figures["predicted_jsd_mean"] = float(predicted_jsd.mean())
    else:
        confidence = np.clip(result.confidence[targets], 0.0, 1.0)
    figures.update(
        {"iterations": result.iterations, "converged": result.converged, "k": int(k), "alpha": float(alpha),
         "mean_confidence": float(confidence.mean()) if len(targets) else None}
    )
    _store_candidate(run, LabelSource.PROPAGATED, [(matrix.track_ids[targets], result.soft_labels[targets], confidence, 0)])
    written = 0

    def write() -> None:
        nonlocal written
        TrackLabel.objects.filter(source=LabelSource.PROPAGATED).delete()
        if len(targets):
            written = track_labels_bulk_set(
                track_ids=matrix.track_ids[targets], source=LabelSource.PROPAGATED,
                gems=result.soft_labels[targets], confidence=np.clip(confidence, 0.0, 1.0),
            )
        else:
            catalog_touch()

    gate_figures = dict(cv.gate.figures) if cv is not None else {}
    published = _publish_if(
        run, _gate_record(reasons, gate_figures), sources=[LabelSource.PROPAGATED], track_ids=None, write=write
    )
    figures["propagated"] = written
    figures["candidate_tracks"] = int(len(targets))
    # 3. The earlier fixed-k comparison, with sklearn's LabelSpreading as an outside reference.
    if len(labelled_index) >= conf.EVALUATION_MIN_LABELLED:
        folds = min(conf.EVALUATION_FOLDS, len(labelled_index))
        evaluation = science.evaluate(
            matrix.features, labelled_index, labels, folds=folds, k=min(k, n_tracks - 1), alpha=alpha,
            progress=_RunProgress(run, 0.9, 0.1),
        )
        figures["evaluation"] = {
            "folds": evaluation.folds,
            "n_tracks": evaluation.n_tracks,
            "n_labelled": evaluation.n_labelled,
            "scores": [
                {"method": s.method, "mean_jsd": s.mean_jsd, "top1": s.top1, "seconds": s.seconds}
                for s in evaluation.scores
            ],
        }
    else:
        figures["evaluation"] = None
        figures["evaluation_note"] = (
            f"Held-out evaluation needs at least {conf.EVALUATION_MIN_LABELLED} survey-labelled tracks "
            f"({len(labelled_index)} so far)."
        )
    if published:
        return figures, f"{written} tracks got a propagated label from {len(labelled_index)} survey-labelled tracks."
    return figures, f"Not published: {'; '.join(reasons)}. The {len(targets)} candidate labels are kept on this run."


# ---------------------------------------------------------------------------- label sets: candidate, publish, roll back


def _gate_record(reasons: Sequence[str], figures: dict, *, warnings: Sequence[str] = ()) -> dict:
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


def _store_candidate(run: LabelRun, source: str, batches) -> int:
    """Keep what the run computed, published or not (role=candidate)."""
    from emotion.vocab import gems_distribution, gems_to_va

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


def _label_scope(sources: Sequence[str], track_ids: Sequence[int] | None):
    qs = TrackLabel.objects.filter(source__in=list(sources))
    return qs if track_ids is None else qs.filter(track_id__in=list(track_ids))


def _publish_if(run: LabelRun, gate: dict, *, sources: Sequence[str], track_ids: Sequence[int] | None, write) -> bool:
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
            for lab in _label_scope(sources, track_ids).iterator(chunk_size=2000)
        ]
        LabelSetRow.objects.bulk_create(previous, batch_size=2000)
        write()
        run.decision, run.gate, run.published_at = Decision.PUBLISHED, gate, timezone.now()
        run.save(update_fields=["decision", "gate", "published_at"])
    return True


def publish_model_if(run: LabelRun, reasons: Sequence[str], figures: dict, model) -> bool:
    """The MER training run's gate: deploy the model file only if it passed."""
    from studies.surveys import mer_bridge

    gate = {**_gate_record(reasons, figures), "scope": {"sources": [mer_bridge.MODEL_SCOPE], "track_ids": []}}
    if reasons:
        run.decision, run.gate = Decision.NOT_PUBLISHED, gate
        run.save(update_fields=["decision", "gate"])
        return False
    with transaction.atomic():
        mer_bridge.model_save(model, run)
        run.decision, run.gate, run.published_at = Decision.PUBLISHED, gate, timezone.now()
        run.save(update_fields=["decision", "gate", "published_at"])
    return True


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
            from studies.surveys import mer_bridge

            mer_bridge.model_rollback(run)
            sources = set()
        _label_scope(sorted(sources), scope.get("track_ids")).delete()
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


def _mer_module():
    try:
        from emotion import mer
    except ImportError as exc:
        raise ValidationError(f"Music emotion recognition (emotion/mer.py) is not available: {exc}.") from None
    return mer


def _train_mer(run: LabelRun) -> tuple[dict, str]:
    from studies.surveys import mer_bridge

    return mer_bridge.train(run, _mer_module(), _RunProgress(run))


def _label_mer(run: LabelRun) -> tuple[dict, str]:
    from studies.surveys import mer_bridge

    return mer_bridge.label_new(run, _mer_module(), _RunProgress(run))


# ---------------------------------------------------------------------------- privacy


def ratings_export(user) -> list[dict[str, Any]]:
    return [
        {
            "survey": r.survey.title,
            "track": str(r.track),
            "picks": r.picks if r.survey.response_format == ResponseFormat.PICK else None,
            "intensities": r.answer if r.survey.response_format == ResponseFormat.INTENSITY else None,
            "liking": r.liking,
            "familiarity": r.familiarity,
            "listened_seconds": r.listened_seconds,
            "attention_check": r.attention_kind or None,
            "at": r.created_at.isoformat(),
        }
        for r in Rating.objects.filter(user=user).select_related("survey", "track").order_by("created_at", "id")
    ]


def label_runs_forget_rater(user) -> int:
    """Research consent withdrawn: the person's row leaves every stored label run's rater table
    at once (it was there by participant code), and each run that had it says so, so a reader
    knows the run's aggregate figures still include answers that no longer count until the
    next run recomputes them. Returns the runs changed."""
    changed = []
    for run in LabelRun.objects.filter(kind=RunKind.AGGREGATE).only("id", "figures"):
        raters = (run.figures or {}).get("raters") or []
        kept = [r for r in raters if r.get("code") != user.participant_code]
        if len(kept) != len(raters):
            run.figures = {**run.figures, "raters": kept,
                           "raters_withdrawn": int(run.figures.get("raters_withdrawn", 0)) + len(raters) - len(kept)}
            changed.append(run)
    LabelRun.objects.bulk_update(changed, ["figures"])
    return len(changed)


def repeat_plans_export(user) -> list[dict[str, Any]]:
    """The repeat checks planned for this person (which rated tracks they will be asked again)."""
    return [
        {"survey": p.survey.title, "track": str(p.track), "answered": p.answered, "at": p.created_at.isoformat()}
        for p in RepeatPlan.objects.filter(user=user).select_related("survey", "track").order_by("created_at", "id")
    ]


def authored_export(user) -> dict[str, list[dict[str, Any]]]:
    """What a researcher created: surveys, label runs and imported label data sets."""
    from studies.surveys.models import LabelDataset, LabelRun

    return {
        "surveys": [{"id": s.pk, "title": s.title, "status": s.status}
                    for s in Survey.objects.filter(created_by=user).order_by("id")],
        "label_runs": [{"id": r.pk, "kind": r.kind, "status": r.status}
                       for r in LabelRun.objects.filter(created_by=user).order_by("id")],
        "label_datasets": [{"id": d.pk, "name": d.name, "status": d.status}
                           for d in LabelDataset.objects.filter(created_by=user).order_by("id")],
    }


def ratings_erase(user) -> int:
    with transaction.atomic():
        RepeatPlan.objects.filter(user=user).delete()
        deleted, _ = Rating.objects.filter(user=user).delete()
    return deleted
