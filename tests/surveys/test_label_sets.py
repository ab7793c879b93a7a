"""Label runs as candidates: gates, the published set, and one-step roll back."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.models import TrackLabel
from studies.surveys.models import Decision, LabelSetRole, RunKind, RunStatus
from studies.surveys.services.runs import label_run_now, label_run_rollback


def _labels(source: str) -> dict[int, tuple]:
    return {
        t: (tuple(g), v, a, c, n, e)
        for t, g, v, a, c, n, e in TrackLabel.objects.filter(source=source).values_list(
            "track_id", "gems", "valence", "arousal", "confidence", "rater_count", "entropy"
        )
    }


def _playlist():
    from recommender import index_cache
    from recommender.engine.core import build_playlist
    from recommender.engine.types import PlaylistRequest, State

    req = PlaylistRequest("iso", State.from_fer("sad"), State.from_fer("happy"), n_tracks=6, seed=0)
    return build_playlist(req, index_cache.get_index()).track_ids


def test_aggregation_from_one_rater_is_a_candidate_only(make_survey, tracks, rater, submit):
    survey = make_survey()
    for t in tracks[:4]:
        submit(rater, survey, t, picks=("sadness",))
    run = label_run_now(kind=RunKind.AGGREGATE, survey=survey)
    assert run.status == RunStatus.DONE and run.decision == Decision.NOT_PUBLISHED
    assert "only 1 rater" in run.gate["reasons"][0] and "Not published" in run.message
    assert run.gate["settings"]["aggregate_min_raters"] == 2
    assert run.figures["raters_per_track"] == {"1": 4} and run.figures["tracks_with_few_raters"] == 4
    assert run.label_rows.filter(role=LabelSetRole.CANDIDATE).count() == 4
    assert not TrackLabel.objects.filter(source="survey").exists()  # readers see nothing new


def test_propagation_on_labels_independent_of_features_does_not_publish(tracks, make_user):
    """Random survey labels on every track with features: the gate must refuse."""
    from recommender.services.labels import track_label_set

    rng = np.random.default_rng(0)
    for t in tracks:
        track_label_set(track=t, source="survey", gems=list(rng.dirichlet(np.ones(9))), confidence=0.8)
    for t in tracks[:3]:
        TrackLabel.objects.filter(track=t, source="survey").delete()  # three tracks to propagate to
    run = label_run_now(kind=RunKind.PROPAGATE)
    assert run.status == RunStatus.DONE, run.message
    assert run.decision == Decision.NOT_PUBLISHED and not TrackLabel.objects.filter(source="propagated").exists()
    assert any("9 survey-labelled" in r or "prior" in r for r in run.gate["reasons"])
    assert run.label_rows.filter(role=LabelSetRole.CANDIDATE).count() == 3


@pytest.mark.usefixtures("open_aggregate_gate", "open_propagation_gate")
def test_roll_back_restores_the_previous_labels_and_the_same_playlists(make_survey, tracks, make_user, submit):
    from recommender.services.labels import track_label_set

    survey = make_survey(n_tracks=8)
    raters = [make_user("participant", research_data=True) for _ in range(2)]
    for u in raters:
        for t in tracks[:8]:
            submit(u, survey, t, picks=("sadness", "nostalgia") if t.valence < 0.5 else ("power",))
    first = label_run_now(kind=RunKind.AGGREGATE, survey=survey)
    assert first.decision == Decision.PUBLISHED
    track_label_set(track=tracks[10], source="propagated", gems=[0, 0, 0, 0, 1, 0, 0, 0, 0], confidence=0.3)
    before = _labels("propagated"), _labels("survey")
    playlist_before = _playlist()

    run = label_run_now(kind=RunKind.PROPAGATE)
    assert run.decision == Decision.PUBLISHED, run.gate
    assert run.figures["propagated"] == 4 and _labels("propagated") != before[0]
    assert run.label_rows.filter(role=LabelSetRole.PREVIOUS).count() == 1

    # Aggregating again on top: the propagation run can only be rolled back after it.
    again = label_run_now(kind=RunKind.AGGREGATE, survey=survey)
    assert again.decision == Decision.PUBLISHED
    label_run_rollback(run=again)
    label_run_rollback(run=run)
    run.refresh_from_db()
    assert run.decision == Decision.ROLLED_BACK
    assert (_labels("propagated"), _labels("survey")) == before
    assert _playlist() == playlist_before
    with pytest.raises(Exception, match="not published"):
        label_run_rollback(run=run)


@pytest.mark.usefixtures("open_aggregate_gate", "open_propagation_gate")
def test_a_run_published_later_over_the_same_labels_must_be_rolled_back_first(make_survey, tracks, make_user, submit):
    from django.core.exceptions import ValidationError

    survey = make_survey(n_tracks=8)
    for u in [make_user("participant", research_data=True) for _ in range(2)]:
        for t in tracks[:8]:
            submit(u, survey, t, picks=("sadness",) if t.valence < 0.5 else ("power",))
    label_run_now(kind=RunKind.AGGREGATE, survey=survey)
    one = label_run_now(kind=RunKind.PROPAGATE)
    two = label_run_now(kind=RunKind.PROPAGATE)
    with pytest.raises(ValidationError, match=f"#{two.pk}"):
        label_run_rollback(run=one)
    label_run_rollback(run=two)
    label_run_rollback(run=one)
    assert not TrackLabel.objects.filter(source="propagated").exists()


def test_mer_on_labels_independent_of_the_audio_is_not_deployed(db, settings, tmp_path, monkeypatch):
    from emotion.audio import DESCRIPTOR_NAMES
    from recommender.models import Track
    from recommender.services.labels import track_label_set
    from studies.surveys import mer_bridge

    settings.MODELS_DIR = tmp_path
    settings.ATTUNE_SURVEYS_MER_FOLDS = 3
    rng = np.random.default_rng(5)
    for i in range(36):
        track = Track.objects.create(
            title=f"Audio {i}", artist=f"artist {i // 2}", audio_file=f"tracks/a{i}.wav",
            descriptors={n: float(v) for n, v in zip(DESCRIPTOR_NAMES, rng.normal(size=len(DESCRIPTOR_NAMES)), strict=True)},
        )
        gems = np.full(9, 0.02)
        gems[(4, 5, 8)[i % 3]] = 0.84  # the emotion cycles with the index; the audio is noise
        track_label_set(track=track, source="survey", gems=list(gems), confidence=0.8, rater_count=3)
    run = label_run_now(kind=RunKind.TRAIN_MER)
    assert run.status == RunStatus.DONE, run.message
    assert run.decision == Decision.NOT_PUBLISHED and "does not beat the population prior" in run.gate["reasons"][0]
    assert run.figures["cv"]["grouped"] and "Not published" in run.message
    assert not mer_bridge.model_path().exists()  # nothing deployed: labelling new audio still refuses


def test_consent_withdrawal_removes_labels_even_when_the_gate_refuses(make_survey, tracks, make_user, submit):
    from accounts.services import consent_set

    survey = make_survey()
    stay, leave = (make_user("participant", research_data=True) for _ in range(2))
    for t in tracks[:4]:
        submit(stay, survey, t, picks=("sadness",))
        submit(leave, survey, t, picks=("power",))
    assert label_run_now(kind=RunKind.AGGREGATE, survey=survey).decision == Decision.PUBLISHED
    consent_set(user=leave, purpose="research_data", granted=False)
    run = label_run_now(kind=RunKind.AGGREGATE, survey=survey)
    assert run.decision == Decision.NOT_PUBLISHED  # one rater left: below the gate
    assert run.figures["labels_withdrawn_no_consent"] == 4
    assert not TrackLabel.objects.filter(source="survey").exists()


def test_the_pipeline_runs_in_order_and_stops_after_a_failure(survey, django_capture_on_commit_callbacks):
    from studies.surveys.tasks import label_pipeline_start

    with django_capture_on_commit_callbacks(execute=True):
        runs = label_pipeline_start(survey=survey)
    for r in runs:
        r.refresh_from_db()
    aggregate, propagate, mer = runs
    assert aggregate.status == RunStatus.DONE and aggregate.decision == Decision.NOT_PUBLISHED  # no answers yet
    assert propagate.status == RunStatus.FAILED and "aggregate a survey first" in propagate.message
    assert mer.status == RunStatus.FAILED and f"run #{propagate.pk}" in mer.message
