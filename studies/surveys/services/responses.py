"""A participant's answers: a rating (checked against the survey's format and the person's research consent), a skip, and the next track to rate (active learning).

Every participant-facing write checks `research_data` consent first: without it nothing is stored."""

from __future__ import annotations

import hashlib
import logging
import math
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts.selectors import has_consent
from emotion.vocab import GEMS, N_GEMS
from recommender.models import Track
from recommender.selectors import resolve_labels
from studies.surveys import conf
from studies.surveys.models import (
    MAX_INTENSITY,
    MAX_PICKS,
    AttentionKind,
    NextTrackMode,
    Rating,
    RepeatPlan,
    ResponseFormat,
    Survey,
    SurveyStatus,
)
from studies.surveys.selectors import (
    RESEARCH,
    eligible_tracks,
    track_in_survey,
)

logger = logging.getLogger(__name__)


CONSENT_REFUSAL = (
    "Your answers can only be stored if you allow research use of your ratings "
    "(Settings → Consent: “Use my ratings and sessions in research”). Nothing was stored."
)


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
