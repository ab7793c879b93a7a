"""Reads on surveys: pools, progress, counting ratings, run figures, catalog features.

Only ratings from people whose `research_data` consent is on *count* (aggregation, progress,
exports). Researchers see participant codes, never usernames: every read model here that
names a person names them by `participant_code`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Q, QuerySet

from accounts.selectors import has_consent, users_with_consent
from recommender.models import SCALAR_FEATURES, Track, TrackLabel
from studies.surveys.models import LabelRun, LabelSetRole, Rating, RunKind, RunStatus, Survey, SurveyStatus

RESEARCH = "research_data"


def _has_audio_q() -> Q:
    return ~Q(audio_file="") | ~Q(preview_url="")


def survey_pool(*, survey: Survey) -> QuerySet[Track]:
    """The tracks a survey asks about (gold tracks excluded: they are served as checks)."""
    q = Q(pk__in=survey.tracks.values("pk"))
    if survey.pool_from_catalog:
        catalog = Q()
        if survey.genre_list:
            catalog &= Q(genre__in=survey.genre_list)
        if survey.filter_has_audio:
            catalog &= _has_audio_q()
        q |= catalog
    gold = survey.gold_tracks.values("pk")
    return Track.objects.filter(q).exclude(pk__in=gold).order_by("id")


def track_in_survey(*, survey: Survey, track_id: int) -> bool:
    return (
        survey_pool(survey=survey).filter(pk=track_id).exists()
        or survey.gold_tracks.filter(pk=track_id).exists()
    )


def surveys_open() -> QuerySet[Survey]:
    return Survey.objects.filter(status=SurveyStatus.OPEN).order_by("-opened_at", "-id")


def surveys_open_for(*, viewer) -> QuerySet[Survey]:
    """Open surveys, each annotated with `mine`: how many answers this viewer gave in it."""
    return surveys_open().annotate(mine=Count("ratings", filter=Q(ratings__user=viewer)))


def surveys_panel_for(*, viewer) -> dict:
    """The dashboard panel's content for a participant: open surveys with their own counts."""

    surveys = list(surveys_open_for(viewer=viewer)[:5])
    return {
        "surveys": surveys,
        "rated": Rating.objects.filter(user=viewer).count(),
        "consented": has_consent(viewer, RESEARCH),
    }


def survey_for_participant(*, survey_id: int) -> Survey | None:
    """A survey a participant may look at (open or paused; drafts and closed ones are hidden)."""
    return Survey.objects.filter(pk=survey_id, status__in=[SurveyStatus.OPEN, SurveyStatus.PAUSED]).first()


def counting_ratings(*, survey: Survey | None = None) -> QuerySet[Rating]:
    """Ratings whose rater's `research_data` consent is on right now."""
    qs = Rating.objects.filter(user__in=users_with_consent(purpose=RESEARCH))
    return qs.filter(survey=survey) if survey is not None else qs


def rating_counts(*, survey: Survey) -> dict[int, int]:
    """Counting, non-attention ratings per track id."""
    rows = (
        counting_ratings(survey=survey)
        .filter(is_attention_check=False)
        .values("track_id")
        .annotate(n=Count("id"))
        .values_list("track_id", "n")
    )
    return dict(rows)


def eligible_tracks(*, survey: Survey, exclude: set[int] | frozenset[int] = frozenset()) -> QuerySet[Track]:
    """Pool tracks (minus `exclude`) that still lack ratings, annotated with `n_ratings`:
    counting (consenting, non-attention) ratings in this survey."""
    counted = Count(
        "survey_ratings",
        filter=Q(
            survey_ratings__survey=survey,
            survey_ratings__is_attention_check=False,
            survey_ratings__user__in=users_with_consent(purpose=RESEARCH).values("pk"),
        ),
    )
    return (
        survey_pool(survey=survey)
        .exclude(pk__in=exclude)
        .annotate(n_ratings=counted)
        .filter(n_ratings__lt=survey.ratings_per_track)
    )


def answers_given(*, user, survey: Survey) -> int:
    return Rating.objects.filter(survey=survey, user=user).count()


@dataclass(frozen=True)
class TrackProgress:
    track_id: int
    title: str
    ratings: int
    wanted: int

    @property
    def percent(self) -> int:
        return min(100, int(round(100 * self.ratings / self.wanted))) if self.wanted else 100


@dataclass(frozen=True)
class SurveyProgress:
    tracks: tuple[TrackProgress, ...]
    ratings: int
    wanted: int
    raters: int

    @property
    def percent(self) -> int:
        return min(100, int(round(100 * self.ratings / self.wanted))) if self.wanted else 0

    @property
    def complete_tracks(self) -> int:
        return sum(1 for t in self.tracks if t.ratings >= t.wanted)


def survey_progress(*, survey: Survey, limit: int = 500) -> SurveyProgress:
    """Ratings per track (counting ones) against the number wanted."""
    counts = rating_counts(survey=survey)
    pool = list(survey_pool(survey=survey).values_list("id", "title")[:limit])
    wanted = survey.ratings_per_track
    tracks = tuple(
        sorted(
            (TrackProgress(tid, title, counts.get(tid, 0), wanted) for tid, title in pool),
            key=lambda t: (t.ratings, t.track_id),
        )
    )
    raters = counting_ratings(survey=survey).values("user_id").distinct().count()
    return SurveyProgress(
        tracks=tracks,
        ratings=sum(min(t.ratings, wanted) for t in tracks),
        wanted=wanted * len(tracks),
        raters=raters,
    )


def latest_run(*, kind: str, survey: Survey | None = None, done_only: bool = True) -> LabelRun | None:
    qs = LabelRun.objects.filter(kind=kind)
    if survey is not None and kind == RunKind.AGGREGATE:
        qs = qs.filter(survey=survey)
    if done_only:
        qs = qs.filter(status=RunStatus.DONE)
    return qs.order_by("-created_at", "-id").first()


def label_set_summary(*, run: LabelRun) -> dict:
    """Candidate vs published for one run: how many labels each holds and their mean confidence."""
    from django.db.models import Avg, Count


    cand = run.label_rows.filter(role=LabelSetRole.CANDIDATE).aggregate(n=Count("id"), conf=Avg("confidence"))
    source = run.label_rows.filter(role=LabelSetRole.CANDIDATE).values_list("source", flat=True).first()
    pub = (
        TrackLabel.objects.filter(source=source).aggregate(n=Count("id"), conf=Avg("confidence"))
        if source
        else {"n": 0, "conf": None}
    )
    return {
        "run": run,
        "source": source or "",
        "candidate": cand["n"],
        "candidate_confidence": cand["conf"],
        "published": pub["n"],
        "published_confidence": pub["conf"],
        "reasons": (run.gate or {}).get("reasons") or [],
        "warnings": (run.gate or {}).get("warnings") or [],
        "figures": (run.gate or {}).get("figures") or {},
    }


def runs_for(*, survey: Survey, limit: int = 10) -> list[LabelRun]:
    return list(LabelRun.objects.filter(Q(survey=survey) | Q(survey__isnull=True)).order_by("-created_at", "-id")[:limit])


# ---------------------------------------------------------------------------- catalog features


@dataclass(frozen=True)
class FeatureMatrix:
    track_ids: np.ndarray  # (n,) int64
    features: np.ndarray  # (n, d) float64, no NaN (missing values imputed with the column median)
    columns: tuple[str, ...]


def catalog_feature_matrix(*, min_coverage: float = 0.5) -> FeatureMatrix:
    """Every track's audio features: the scalar catalog features plus the librosa descriptors
    (emotion/audio.py), keeping columns known for at least `min_coverage` of the tracks and
    tracks that have at least one kept column. Standardisation is left to the caller
    (studies/propagation.py standardises)."""
    rows = list(Track.objects.order_by("id").values_list("id", *SCALAR_FEATURES, "descriptors"))
    if not rows:
        return FeatureMatrix(np.zeros(0, dtype=np.int64), np.zeros((0, 0)), ())
    descriptor_names: list[str] = []
    seen: set[str] = set()
    for row in rows:
        for name, value in (row[-1] or {}).items():
            if name not in seen and isinstance(value, int | float):
                seen.add(name)
                descriptor_names.append(name)
    columns = list(SCALAR_FEATURES) + descriptor_names
    X = np.full((len(rows), len(columns)), np.nan)
    for i, row in enumerate(rows):
        for j, value in enumerate(row[1 : 1 + len(SCALAR_FEATURES)]):
            if value is not None:
                X[i, j] = float(value)
        descriptors = row[-1] or {}
        for j, name in enumerate(descriptor_names, start=len(SCALAR_FEATURES)):
            value = descriptors.get(name)
            if isinstance(value, int | float) and np.isfinite(value):
                X[i, j] = float(value)
    known = ~np.isnan(X)
    keep_cols = known.mean(axis=0) >= min_coverage
    X = X[:, keep_cols]
    keep_rows = (~np.isnan(X)).any(axis=1) if X.shape[1] else np.zeros(len(rows), dtype=bool)
    X = X[keep_rows]
    if X.size:
        medians = np.nanmedian(X, axis=0)
        X = np.where(np.isnan(X), medians[None, :], X)
    ids = np.array([r[0] for r in rows], dtype=np.int64)[keep_rows]
    return FeatureMatrix(ids, X, tuple(c for c, k in zip(columns, keep_cols, strict=True) if k))
