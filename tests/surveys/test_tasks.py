"""Aggregation and propagation runs (Celery eager), through label_run_start."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.models import CatalogState, TrackLabel
from recommender.selectors import resolve_label
from studies.surveys.models import RunKind, RunStatus
from studies.surveys.tasks import label_run_start

SAD = ("sadness", "nostalgia")
POWER = ("power", "joyful_activation")


@pytest.fixture
def rated_survey(survey, tracks, make_user, submit):
    """Three consenting raters: tracks 0-2 sad, 3-5 powerful."""
    raters = [make_user("participant", research_data=True) for _ in range(3)]
    for u in raters:
        for t in tracks[:3]:
            submit(u, survey, t, picks=SAD)
        for t in tracks[3:6]:
            submit(u, survey, t, picks=POWER)
    survey.raters = raters
    return survey


def test_aggregation_writes_survey_labels_that_win_over_propagated(
    rated_survey, tracks, django_capture_on_commit_callbacks
):
    from recommender.services.labels import track_label_set

    track_label_set(track=tracks[0], source="propagated", gems=[0, 0, 0, 0, 0, 1, 0, 0, 0], confidence=0.9)
    version = CatalogState.objects.get(pk=1).version
    with django_capture_on_commit_callbacks(execute=True):
        run = label_run_start(kind=RunKind.AGGREGATE, survey=rated_survey)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.message
    assert run.figures["ratings_used"] == 18 and run.figures["tracks_labelled"] == 6
    label = TrackLabel.objects.get(track=tracks[0], source="survey")
    assert label.rater_count == 3 and label.entropy is not None and 0 < label.confidence < 1
    assert np.argmax(label.gems) in (3, 8)  # nostalgia or sadness
    power = TrackLabel.objects.get(track=tracks[4], source="survey")
    assert np.argmax(power.gems) in (5, 6)
    resolved = resolve_label(tracks[0].pk)
    assert resolved.source == "survey"  # survey beats the propagated label written before
    assert CatalogState.objects.get(pk=1).version > version
    alpha = run.figures["alpha"]
    assert set(alpha["per_category"]) >= {"sadness", "power"} and alpha["overall"] is not None and alpha["overall"] > 0.5
    codes = {r["code"] for r in run.figures["raters"]}
    assert codes == {u.participant_code for u in rated_survey.raters}


@pytest.mark.usefixtures("open_aggregate_gate")
def test_revoking_consent_removes_ratings_from_the_next_aggregation(
    make_survey, tracks, make_user, submit, django_capture_on_commit_callbacks
):
    from accounts.services import consent_set

    survey = make_survey()
    stay = make_user("participant", research_data=True)
    leave = make_user("participant", research_data=True)
    submit(stay, survey, tracks[0], picks=("sadness",))
    submit(leave, survey, tracks[0], picks=("power",))
    submit(leave, survey, tracks[1], picks=("power",))  # only `leave` rated track 1
    with django_capture_on_commit_callbacks(execute=True):
        label_run_start(kind=RunKind.AGGREGATE, survey=survey)
    assert TrackLabel.objects.get(track=tracks[0], source="survey").rater_count == 2
    assert TrackLabel.objects.filter(track=tracks[1], source="survey").exists()

    consent_set(user=leave, purpose="research_data", granted=False)
    with django_capture_on_commit_callbacks(execute=True):
        run = label_run_start(kind=RunKind.AGGREGATE, survey=survey)
    run.refresh_from_db()
    assert run.figures["ratings_excluded_no_consent"] == 2
    label = TrackLabel.objects.get(track=tracks[0], source="survey")
    assert label.rater_count == 1 and int(np.argmax(label.gems)) == 8  # only sadness is left
    assert not TrackLabel.objects.filter(track=tracks[1], source="survey").exists()
    assert {r["code"] for r in run.figures["raters"]} == {stay.participant_code}


def test_attention_failures_down_weight_with_reasons(make_survey, tracks, make_user, submit, django_capture_on_commit_callbacks):
    from recommender.services.labels import track_label_set

    survey = make_survey(n_tracks=4)
    survey.gold_tracks.set([tracks[10]])
    track_label_set(track=tracks[10], source="manual", gems=[0, 0, 0, 0, 1, 0, 0, 0, 0])  # peacefulness
    good = make_user("participant", research_data=True)
    careless = make_user("participant", research_data=True)
    for t in tracks[:4]:
        submit(good, survey, t, picks=SAD)
        submit(careless, survey, t, picks=SAD)
    submit(good, survey, tracks[10], picks=("peacefulness",))
    submit(careless, survey, tracks[10], picks=("tension",))
    with django_capture_on_commit_callbacks(execute=True):
        run = label_run_start(kind=RunKind.AGGREGATE, survey=survey)
    run.refresh_from_db()
    by_code = {r["code"]: r for r in run.figures["raters"]}
    assert by_code[careless.participant_code]["attention_failures"] == 1
    assert any("gold track" in reason for reason in by_code[careless.participant_code]["reasons"])
    assert by_code[careless.participant_code]["weight"] < by_code[good.participant_code]["weight"]
    assert not TrackLabel.objects.filter(track=tracks[10], source="survey").exists()  # gold answers judge, not label


@pytest.mark.usefixtures("open_propagation_gate")
def test_propagation_writes_labels_with_confidence_and_evaluation(
    make_survey, tracks, make_user, submit, django_capture_on_commit_callbacks
):
    from recommender.models import Track

    survey = make_survey(n_tracks=8)
    raters = [make_user("participant", research_data=True) for _ in range(2)]
    for u in raters:
        for t in tracks[:8]:
            submit(u, survey, t, picks=SAD if t.valence < 0.5 else POWER)
    with django_capture_on_commit_callbacks(execute=True):
        label_run_start(kind=RunKind.AGGREGATE, survey=survey)
    Track.objects.create(title="No features")  # left out of the graph, not a failure
    with django_capture_on_commit_callbacks(execute=True):
        run = label_run_start(kind=RunKind.PROPAGATE)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.message
    assert run.figures["labelled"] == 8 and run.figures["propagated"] == 4
    for t in tracks[8:]:
        label = TrackLabel.objects.get(track=t, source="propagated")
        assert 0 <= label.confidence <= 1 and abs(sum(label.gems) - 1) < 1e-6
    assert not TrackLabel.objects.filter(track__in=tracks[:8], source="propagated").exists()
    assert resolve_label(tracks[0].pk).source == "survey"
    methods = [s["method"] for s in run.figures["evaluation"]["scores"]]
    assert len(methods) == 4 and "population prior" in methods
    assert all(0 <= s["mean_jsd"] <= 1 and 0 <= s["top1"] <= 1 for s in run.figures["evaluation"]["scores"])


def test_propagation_without_survey_labels_fails_with_a_message(tracks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = label_run_start(kind=RunKind.PROPAGATE)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "aggregate a survey first" in run.message
    assert not TrackLabel.objects.filter(source="propagated").exists()


@pytest.mark.usefixtures("open_aggregate_gate")
def test_two_surveys_rating_one_track_make_one_label_from_both(make_survey, tracks, make_user, submit):
    """A track rated in surveys A and B: aggregating either gives the label of all raters of
    both (same format and focus), not only the last-aggregated survey's."""
    from studies.surveys.services.runs import label_run_now

    a, b = make_survey(title="A"), make_survey(title="B")
    in_a = [make_user("participant", research_data=True) for _ in range(2)]
    in_b = [make_user("participant", research_data=True) for _ in range(3)]
    both = make_user("participant", research_data=True)
    for u in in_a:
        submit(u, a, tracks[0], picks=("sadness",))
    for u in in_b:
        submit(u, b, tracks[0], picks=("power",))
    submit(both, a, tracks[0], picks=("power",))
    submit(both, b, tracks[0], picks=("sadness",))  # a person counts once: their latest answer
    submit(in_b[0], b, tracks[1], picks=("tension",))
    run_a = label_run_now(kind=RunKind.AGGREGATE, survey=a)
    assert run_a.status == RunStatus.DONE, run_a.message
    assert sorted(run_a.figures["surveys_pooled"]) == sorted([a.pk, b.pk]) and run_a.figures["answers_superseded"] == 1
    label = TrackLabel.objects.get(track=tracks[0], source="survey")
    assert label.rater_count == 6
    assert {r["code"] for r in run_a.figures["raters"]} == {u.participant_code for u in [*in_a, *in_b, both]}
    assert not TrackLabel.objects.filter(track=tracks[1], source="survey").exists()  # only rated in B

    run_b = label_run_now(kind=RunKind.AGGREGATE, survey=b)
    assert run_b.status == RunStatus.DONE, run_b.message
    assert TrackLabel.objects.get(track=tracks[0], source="survey").rater_count == 6  # B did not drop A's raters
    assert TrackLabel.objects.get(track=tracks[1], source="survey").rater_count == 1


@pytest.mark.usefixtures("open_aggregate_gate")
def test_surveys_of_another_format_or_focus_are_not_pooled(make_survey, tracks, make_user, submit):
    from studies.surveys.services.runs import label_run_now

    felt = make_survey(title="felt")
    expressed = make_survey(title="expressed", emotion_focus="expressed")
    intensity = make_survey(title="intensity", response_format="intensity")
    for s in (felt, expressed, intensity):
        for _ in range(2):
            submit(make_user("participant", research_data=True), s, tracks[0])
    run = label_run_now(kind=RunKind.AGGREGATE, survey=felt)
    assert run.figures["surveys_pooled"] == [felt.pk]
    assert TrackLabel.objects.get(track=tracks[0], source="survey").rater_count == 2


@pytest.mark.usefixtures("open_aggregate_gate")
def test_label_writes_roll_back_together(make_survey, tracks, make_user, submit, monkeypatch):
    """The label upsert, the MER-label delete and the orphan delete are one transaction: a
    failure in the last leaves the earlier ones undone."""
    from recommender.services.labels import track_label_set
    from studies.surveys.services import aggregation
    from studies.surveys.services.runs import label_run_now

    survey = make_survey()
    rater = make_user("participant", research_data=True)
    submit(rater, survey, tracks[0], picks=("sadness",))
    track_label_set(track=tracks[0], source="mer", gems=[0, 0, 0, 0, 0, 1, 0, 0, 0], confidence=0.5)
    real_touch = aggregation.catalog_touch

    def boom():
        real_touch()
        raise RuntimeError("database went away")

    monkeypatch.setattr(aggregation, "catalog_touch", boom)
    run = label_run_now(kind=RunKind.AGGREGATE, survey=survey)
    assert run.status == RunStatus.FAILED and "database went away" in run.message
    assert not TrackLabel.objects.filter(track=tracks[0], source="survey").exists()
    assert TrackLabel.objects.filter(track=tracks[0], source="mer").exists()


def test_aggregation_needs_a_survey(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        label_run_start(kind=RunKind.AGGREGATE)


# ---------------------------------------------------------------------------- music emotion recognition


@pytest.fixture
def descriptor_catalog(db, settings, tmp_path, monkeypatch):
    """Tracks whose audio descriptors separate three emotions; the first 15 carry survey labels."""
    pytest.importorskip("emotion.mer")
    from emotion.audio import DESCRIPTOR_NAMES
    from recommender.models import Track
    from recommender.services.labels import track_label_set

    settings.MODELS_DIR = tmp_path
    settings.ATTUNE_SURVEYS_MER_FOLDS = 3  # speed only
    rng = np.random.default_rng(3)
    centres = rng.normal(0, 3, size=(3, len(DESCRIPTOR_NAMES)))
    emotions = (8, 5, 4)  # sadness, power, peacefulness
    out = []
    for i in range(21):
        cls = i % 3
        values = centres[cls] + rng.normal(0, 0.6, size=len(DESCRIPTOR_NAMES))
        track = Track.objects.create(
            title=f"Audio {i}", audio_file=f"tracks/a{i}.wav",
            descriptors={n: float(v) for n, v in zip(DESCRIPTOR_NAMES, values, strict=True)},
        )
        if i < 15:
            gems = np.full(9, 0.02)
            gems[emotions[cls]] = 1 - 0.02 * 8
            track_label_set(track=track, source="survey", gems=list(gems), confidence=0.8, rater_count=3)
        out.append((track, emotions[cls]))
    return out


@pytest.mark.usefixtures("open_aggregate_gate")
def test_mer_training_reports_held_out_figures_and_labels_new_audio(
    descriptor_catalog, make_survey, make_user, submit, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = label_run_start(kind=RunKind.TRAIN_MER)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.message
    cv = run.figures["cv"]
    assert cv["folds"] >= 2 and cv["n_tracks"] == 15 and 0 <= cv["accuracy"] <= 1
    assert sum(map(sum, run.figures["confusion"])) == 15
    assert set(run.figures["classes"]) == {"sadness", "power", "peacefulness"}
    assert "Held-out" in run.message

    with django_capture_on_commit_callbacks(execute=True):
        run = label_run_start(kind=RunKind.LABEL_MER)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.figures["labelled"] == 6
    new = [(t, e) for t, e in descriptor_catalog[15:]]
    hits = sum(int(np.argmax(TrackLabel.objects.get(track=t, source="mer").gems)) == e for t, e in new)
    assert hits >= 4  # well-separated descriptors: the model gets most unseen tracks right
    assert not TrackLabel.objects.filter(track__in=[t for t, _ in descriptor_catalog[:15]], source="mer").exists()

    # Ratings arrive for one of them: the survey label replaces the machine's.
    track = new[0][0]
    from studies.surveys.services.status import survey_open

    survey = make_survey(n_tracks=0, open_it=False)
    survey.tracks.add(track)
    survey = survey_open(survey=survey)
    submit(make_user("participant", research_data=True), survey, track, picks=("tension",))
    with django_capture_on_commit_callbacks(execute=True):
        label_run_start(kind=RunKind.AGGREGATE, survey=survey)
    assert not TrackLabel.objects.filter(track=track, source="mer").exists()
    assert resolve_label(track.pk).source == "survey"


def test_labelling_without_a_model_fails_with_a_message(descriptor_catalog, django_capture_on_commit_callbacks):
    from studies.surveys.models import LabelRun
    from studies.surveys.tasks import ml_label_new_tracks_mer

    with django_capture_on_commit_callbacks(execute=True):
        run = label_run_start(kind=RunKind.LABEL_MER)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "Train music emotion recognition" in run.message
    assert ml_label_new_tracks_mer.delay().get() == RunStatus.FAILED  # the scheduled form makes its own run
    assert LabelRun.objects.filter(kind=RunKind.LABEL_MER).count() == 2
    assert not TrackLabel.objects.filter(source="mer").exists()


def test_a_run_is_claimed_once_however_often_its_task_is_delivered(survey, tracks, make_user, submit, monkeypatch):
    """Celery acks_late may deliver a task twice (even while the first is running): only the
    worker whose UPDATE moved the run from pending to running does the work."""
    from studies.surveys import tasks
    from studies.surveys.models import LabelRun
    from studies.surveys.services import runs

    submit(make_user("participant", research_data=True), survey, tracks[0])
    run = LabelRun.objects.create(kind=RunKind.AGGREGATE, survey=survey)
    calls = []
    real = runs.aggregate_run

    def aggregate_and_get_redelivered(r):
        calls.append(r.pk)
        assert tasks.aggregate_survey(r.pk) == RunStatus.RUNNING  # the second delivery backs off
        return real(r)

    monkeypatch.setattr(runs, "aggregate_run", aggregate_and_get_redelivered)
    assert tasks.aggregate_survey(run.pk) == RunStatus.DONE
    assert tasks.aggregate_survey(run.pk) == RunStatus.DONE  # a late redelivery does nothing
    assert calls == [run.pk]
    assert runs.label_run_claim(run_id=run.pk) is False
    fresh = LabelRun.objects.create(kind=RunKind.AGGREGATE, survey=survey)
    assert runs.label_run_claim(run_id=fresh.pk) is True and runs.label_run_claim(run_id=fresh.pk) is False


def test_a_deployed_mer_model_rolls_back_to_the_one_before(descriptor_catalog):
    from studies.surveys import mer_bridge
    from studies.surveys.models import Decision
    from studies.surveys.services.runs import label_run_now, label_run_rollback

    first = label_run_now(kind=RunKind.TRAIN_MER)
    assert first.decision == Decision.PUBLISHED, first.gate
    before = mer_bridge.model_path().read_bytes()
    second = label_run_now(kind=RunKind.TRAIN_MER)
    assert second.decision == Decision.PUBLISHED
    label_run_rollback(run=second)
    assert mer_bridge.model_path().read_bytes() == before
    label_run_rollback(run=first)
    assert not mer_bridge.model_path().exists()


def test_mer_trains_on_an_imported_data_set_and_reports_grouped_held_out_figures(
    descriptor_catalog, django_capture_on_commit_callbacks
):
    """Labels imported from a published data set (no survey) are enough to train MER; prior
    labels on the other tracks are never used."""
    from emotion.vocab import GEMS
    from recommender.services.labels import track_labels_bulk_set
    from studies.surveys.datasets import dataset_import_create, dataset_import_run

    TrackLabel.objects.filter(source="survey").delete()
    lines = ["external_id," + ",".join(GEMS)]
    for i, (track, emotion) in enumerate(descriptor_catalog[:15]):
        track.external_id, track.artist = f"ds-{i}", f"Composer {i % 5}"
        track.save(update_fields=["external_id", "artist"])
        lines.append(f"ds-{i}," + ",".join("1" if k == emotion else "0" for k in range(9)))
    rest = [t.pk for t, _ in descriptor_catalog[15:]]
    track_labels_bulk_set(track_ids=rest, source="prior", gems=np.full((len(rest), 9), 1 / 9))
    dataset = dataset_import_run(
        dataset_id=dataset_import_create(name="Imported", shape="soft", data="\n".join(lines).encode()).pk
    )
    assert dataset.songs_matched == 15
    with django_capture_on_commit_callbacks(execute=True):
        run = label_run_start(kind=RunKind.TRAIN_MER)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.message
    assert run.figures["n_tracks"] == 15 and "dataset" in run.figures["training_sources"]
    assert run.figures["cv"]["grouped"] and run.figures["cv"]["groups"] == 5
