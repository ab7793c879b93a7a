"""CSV exports for R or pandas: ratings and labels, people keyed only by participant code.

Ratings: one row per answer from a person whose `research_data` consent is on, a column per
GEMS emotion (0/1 picks or 0-4 intensities). Labels: one row per (track, source) for the
surveys' tracks, with `resolved` true for the label readers see (recommender.selectors).
Both are plain UTF-8 CSV with a header row, "" for missing values, ISO 8601 times.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.http import StreamingHttpResponse
from django.utils import timezone

from emotion.vocab import GEMS
from recommender.csv_export import csv_lines as _safe_csv_lines
from recommender.models import TrackLabel
from recommender.selectors import source_rank
from studies.surveys import conf
from studies.surveys.models import Survey
from studies.surveys.selectors import counting_ratings, survey_pool

KINDS = ("ratings", "labels")

RATING_COLUMNS = (
    "survey_id", "survey_title", "response_format", "emotion_focus", "participant_code", "track_id", "track_title",
    "track_artist", *GEMS, "liking", "familiarity", "listened_seconds", "attention_check", "created_at",
)
LABEL_COLUMNS = (
    "track_id", "track_title", "track_artist", "source", "resolved", *GEMS, "valence", "arousal", "confidence",
    "rater_count", "entropy_nats", "updated_at",
)


def _blank(value) -> object:
    return "" if value is None else value


def rating_rows(surveys: Sequence[Survey]) -> Iterator[list[object]]:
    qs = (
        counting_ratings()
        .filter(survey__in=surveys)
        .select_related("survey", "track", "user")
        .order_by("survey_id", "created_at", "id")
    )
    for r in qs.iterator(chunk_size=conf.EXPORT_CHUNK):
        yield [
            r.survey_id, r.survey.title, r.survey.response_format, r.survey.emotion_focus, r.user.participant_code,
            r.track_id, r.track.title, r.track.artist, *r.answer, _blank(r.liking), _blank(r.familiarity),
            round(r.listened_seconds, 2), r.attention_kind, r.created_at.isoformat(),
        ]


def label_rows(surveys: Sequence[Survey]) -> Iterator[list[object]]:
    track_ids: set[int] = set()
    for survey in surveys:
        track_ids.update(survey_pool(survey=survey).values_list("id", flat=True))
        track_ids.update(survey.gold_tracks.values_list("id", flat=True))
    labels = list(TrackLabel.objects.filter(track_id__in=track_ids).select_related("track").order_by("track_id"))
    best: dict[int, int] = {}
    for label in labels:
        rank = source_rank(label.source)
        if label.track_id not in best or rank < best[label.track_id]:
            best[label.track_id] = rank
    for label in sorted(labels, key=lambda x: (x.track_id, source_rank(x.source))):
        yield [
            label.track_id, label.track.title, label.track.artist, label.source,
            "true" if source_rank(label.source) == best[label.track_id] else "false",
            *(round(float(v), 6) for v in label.gems), round(label.valence, 6), round(label.arousal, 6),
            round(label.confidence, 6), label.rater_count, _blank(label.entropy), label.updated_at.isoformat(),
        ]


def csv_lines(which: str, surveys: Sequence[Survey]) -> Iterator[str]:
    if which not in KINDS:
        raise ValueError(f"Unknown export {which!r}; expected one of {', '.join(KINDS)}")
    header = RATING_COLUMNS if which == "ratings" else LABEL_COLUMNS
    rows = rating_rows(surveys) if which == "ratings" else label_rows(surveys)
    # Titles and artists come from catalog imports: every cell goes through safe_cell.
    yield from _safe_csv_lines(header, rows)


def csv_response(which: str, *, surveys: Sequence[Survey]) -> StreamingHttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    name = f"attune-{which}-{'-'.join(str(s.pk) for s in surveys[:5]) or 'none'}-{stamp}.csv"
    response = StreamingHttpResponse(csv_lines(which, surveys), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
