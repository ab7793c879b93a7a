"""The survey admin for a researcher: create, open, runs, figures, codes never usernames; exports."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from studies.surveys.models import LabelRun, RunKind, RunStatus, Survey, SurveyStatus

SAD = ("sadness", "nostalgia")
POWER = ("power", "joyful_activation")


@pytest.fixture
def researcher_client(client, researcher):
    client.force_login(researcher)
    return client


@pytest.fixture
def raters(make_user):
    return [make_user("participant", username=f"secret-name-{i}", research_data=True) for i in range(3)]


@pytest.fixture
def rated(survey, tracks, raters, submit):
    for u in raters:
        for t in tracks[:6]:
            submit(u, survey, t, picks=SAD if t.pk % 2 else POWER)
    return survey


def _csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_researcher_creates_a_survey_with_every_option(researcher_client, researcher, tracks):
    url = reverse("admin:surveys_survey_add")
    assert researcher_client.get(url).status_code == 200
    data = {
        "title": "Film music", "instructions": "Listen, then answer.", "consent_text": "Research use.",
        "tracks": [tracks[0].pk, tracks[1].pk], "pool_from_catalog": "on", "filter_genres": "ambient",
        "filter_has_audio": "on", "response_format": "intensity", "emotion_focus": "expressed",
        "ask_liking": "on", "clip_seconds": "25", "min_listen_seconds": "8", "ratings_per_track": "4",
        "tracks_per_participant": "10", "next_track_mode": "active", "repeat_rate": "0.1",
        "gold_tracks": [tracks[11].pk],
    }
    response = researcher_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    survey = Survey.objects.get(title="Film music")
    assert survey.created_by == researcher and survey.status == SurveyStatus.DRAFT
    assert survey.response_format == "intensity" and not survey.ask_familiarity and survey.repeat_rate == 0.1
    assert list(survey.gold_tracks.all()) == [tracks[11]]


def test_minimum_listening_longer_than_the_clip_is_refused(researcher_client, tracks):
    data = {"title": "Bad", "response_format": "pick", "emotion_focus": "felt", "clip_seconds": "10",
            "min_listen_seconds": "20", "ratings_per_track": "3", "tracks_per_participant": "5",
            "next_track_mode": "least_rated", "repeat_rate": "0", "filter_has_audio": "on"}
    response = researcher_client.post(reverse("admin:surveys_survey_add"), data)
    assert response.status_code == 200 and "cannot exceed the clip length" in response.content.decode()
    assert not Survey.objects.filter(title="Bad").exists()


def test_open_pause_close_buttons(researcher_client, make_survey):
    survey = make_survey(open_it=False)
    url = lambda verb: reverse("admin:surveys_survey_status", args=[survey.pk, verb])  # noqa: E731
    assert researcher_client.get(url("open")).status_code == 405
    researcher_client.post(url("open"))
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.OPEN
    researcher_client.post(url("close"))
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.CLOSED
    response = researcher_client.post(url("open"), follow=True)
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.CLOSED and "cannot be set to open" in response.content.decode()


def test_survey_page_shows_figures_by_code_not_username(
    researcher_client, rated, raters, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        researcher_client.post(reverse("admin:surveys_survey_run", args=[rated.pk, RunKind.AGGREGATE]))
    run = LabelRun.objects.get(kind=RunKind.AGGREGATE)
    assert run.status == RunStatus.DONE, run.message
    page = researcher_client.get(reverse("admin:surveys_survey_change", args=[rated.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="alpha-bars"' in html and "Krippendorff" in html
    assert 'data-testid="rater-weights"' in html
    for u in raters:
        assert u.participant_code in html
        assert u.username not in html
    assert "18 of 30 wanted ratings" in html

    # The ratings list and the run list do not leak usernames either.
    for name in ("admin:surveys_rating_changelist", "admin:surveys_labelrun_changelist"):
        html = researcher_client.get(reverse(name)).content.decode()
        assert not any(u.username in html for u in raters)
    assert raters[0].participant_code in researcher_client.get(reverse("admin:surveys_rating_changelist")).content.decode()


def test_propagation_evaluation_appears_on_the_page(researcher_client, rated, tracks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        researcher_client.post(reverse("admin:surveys_survey_run", args=[rated.pk, RunKind.AGGREGATE]))
    with django_capture_on_commit_callbacks(execute=True):
        researcher_client.post(reverse("admin:surveys_survey_run", args=[rated.pk, RunKind.PROPAGATE]))
    html = researcher_client.get(reverse("admin:surveys_survey_change", args=[rated.pk])).content.decode()
    assert 'data-testid="evaluation-table"' in html
    for method in ("label spreading", "population prior", "supervised k-NN", "LabelSpreading"):
        assert method in html


def test_unknown_run_kind_is_refused_and_nothing_runs(researcher_client, survey):
    response = researcher_client.post(reverse("admin:surveys_survey_run", args=[survey.pk, "bogus"]), follow=True)
    assert "Unknown run kind" in response.content.decode()
    assert not LabelRun.objects.exists()


def test_participants_cannot_reach_the_survey_admin(client, rater, survey):
    client.force_login(rater)
    response = client.get(reverse("admin:surveys_survey_change", args=[survey.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    response = client.get(reverse("admin:surveys_survey_export", args=[survey.pk, "ratings"]))
    assert response.status_code == 302


def test_exports_are_keyed_by_participant_code(researcher_client, rated, raters, make_user, submit, tracks,
                                               django_capture_on_commit_callbacks):
    shy = make_user("participant", username="withdrawn-person", research_data=True)
    submit(shy, rated, tracks[0])
    from accounts.services import consent_set

    consent_set(user=shy, purpose="research_data", granted=False)
    response = researcher_client.get(reverse("admin:surveys_survey_export", args=[rated.pk, "ratings"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    assert len(rows) == 18
    assert {r["participant_code"] for r in rows} == {u.participant_code for u in raters}
    assert not any("username" in k or "user" == k for k in rows[0])
    body = "".join(",".join(r.values()) for r in rows)
    assert not any(u.username in body for u in [*raters, shy])
    assert rows[0]["sadness"] in {"0", "1"} and rows[0]["response_format"] == "pick"

    with django_capture_on_commit_callbacks(execute=True):
        researcher_client.post(reverse("admin:surveys_survey_run", args=[rated.pk, RunKind.AGGREGATE]))
    labels = _csv(researcher_client.get(reverse("admin:surveys_survey_export", args=[rated.pk, "labels"])))
    assert len(labels) == 6 and all(r["source"] == "survey" and r["resolved"] == "true" for r in labels)
    assert all(abs(sum(float(r[k]) for k in ("wonder", "transcendence", "tenderness", "nostalgia", "peacefulness",
                                             "power", "joyful_activation", "tension", "sadness")) - 1) < 1e-4
               for r in labels)
    assert researcher_client.get(reverse("admin:surveys_survey_export", args=[rated.pk, "users"])).status_code == 403


def test_exports_neutralise_formula_titles(researcher_client, rated, tracks):
    from recommender.models import Track

    Track.objects.filter(pk=tracks[0].pk).update(title='=HYPERLINK("http://evil","x")', artist="\t+1")
    rows = _csv(researcher_client.get(reverse("admin:surveys_survey_export", args=[rated.pk, "ratings"])))
    mine = [r for r in rows if r["track_id"] == str(tracks[0].pk)]
    assert len(mine) == 3
    assert all(r["track_title"] == "'=HYPERLINK(\"http://evil\",\"x\")" and r["track_artist"] == "'\t+1" for r in mine)
    assert all(r["listened_seconds"] == "12.0" for r in mine)  # numbers are left alone
    from studies.surveys.services.runs import label_run_now

    label_run_now(kind=RunKind.AGGREGATE, survey=rated)
    labels = _csv(researcher_client.get(reverse("admin:surveys_survey_export", args=[rated.pk, "labels"])))
    assert [r["track_title"] for r in labels if r["track_id"] == str(tracks[0].pk)] == [
        "'=HYPERLINK(\"http://evil\",\"x\")"
    ]


def test_export_action_from_the_list(researcher_client, rated, raters):
    response = researcher_client.post(
        reverse("admin:surveys_survey_changelist"),
        {"action": "export_ratings", "_selected_action": [rated.pk]},
    )
    assert response.status_code == 200
    assert {r["participant_code"] for r in _csv(response)} == {u.participant_code for u in raters}


def test_response_format_cannot_change_once_answers_exist(researcher_client, rated):
    from django.forms.models import model_to_dict

    data = {k: v for k, v in model_to_dict(rated).items() if v is not None}
    data["tracks"] = [t.pk for t in data["tracks"]]
    data["gold_tracks"] = []
    data["response_format"] = "intensity"
    response = researcher_client.post(reverse("admin:surveys_survey_change", args=[rated.pk]), data)
    assert response.status_code == 200 and "already has answers" in response.content.decode()
    rated.refresh_from_db()
    assert rated.response_format == "pick"


def test_view_only_staff_cannot_run_or_change_status(client, make_user, survey):
    from django.contrib.auth.models import Permission

    viewer = make_user("participant")
    viewer.is_staff = True
    viewer.save()
    viewer.user_permissions.add(Permission.objects.get(codename="view_survey"))
    client.force_login(viewer)
    assert client.post(reverse("admin:surveys_survey_status", args=[survey.pk, "close"])).status_code == 403
    assert client.post(reverse("admin:surveys_survey_run", args=[survey.pk, RunKind.AGGREGATE])).status_code == 403
    response = client.post(reverse("admin:surveys_survey_changelist"),
                           {"action": "run_aggregate", "_selected_action": [survey.pk]})
    assert response.status_code in (200, 302)
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.OPEN and not LabelRun.objects.exists()


def test_rating_admin_lists_counting_answers_only_and_deletes_nothing(researcher_client, rated, raters, make_user,
                                                                    submit, tracks):
    from accounts.services import consent_set
    from studies.surveys.models import Rating

    shy = make_user("participant", research_data=True)
    submit(shy, rated, tracks[0])
    consent_set(user=shy, purpose="research_data", granted=False)
    hidden = Rating.objects.get(user=shy)
    page = researcher_client.get(reverse("admin:surveys_rating_changelist")).content.decode()
    assert raters[0].participant_code in page and shy.participant_code not in page
    assert "18 ratings" in page or "18 rating" in page
    assert researcher_client.get(reverse("admin:surveys_rating_change", args=[hidden.pk])).status_code == 302
    shown = Rating.objects.filter(user=raters[0]).first()
    assert researcher_client.get(reverse("admin:surveys_rating_delete", args=[shown.pk])).status_code == 403
    researcher_client.post(reverse("admin:surveys_rating_changelist"),
                           {"action": "delete_selected", "_selected_action": [shown.pk], "post": "yes"})
    assert Rating.objects.filter(pk=shown.pk).exists() and Rating.objects.count() == 19


def test_a_survey_with_answers_cannot_be_deleted(researcher_client, rated, make_survey):
    from studies.surveys.models import Rating

    assert researcher_client.get(reverse("admin:surveys_survey_delete", args=[rated.pk])).status_code == 403
    assert researcher_client.post(reverse("admin:surveys_survey_delete", args=[rated.pk]), {"post": "yes"}).status_code == 403
    researcher_client.post(reverse("admin:surveys_survey_changelist"),
                           {"action": "delete_selected", "_selected_action": [rated.pk], "post": "yes"})
    assert Survey.objects.filter(pk=rated.pk).exists() and Rating.objects.filter(survey=rated).count() == 18
    empty = make_survey(title="No answers yet")
    assert researcher_client.post(reverse("admin:surveys_survey_delete", args=[empty.pk]), {"post": "yes"}).status_code == 302
    assert not Survey.objects.filter(pk=empty.pk).exists()


def test_one_action_runs_aggregation_propagation_and_mer_and_says_what_was_published(
    researcher_client, rated, tracks, django_capture_on_commit_callbacks
):
    from recommender.models import TrackLabel
    from studies.surveys.models import Decision

    with django_capture_on_commit_callbacks(execute=True):
        response = researcher_client.post(reverse("admin:surveys_survey_pipeline", args=[rated.pk]))
    assert response.status_code == 302
    runs = {r.kind: r for r in LabelRun.objects.all()}
    assert set(runs) == {RunKind.AGGREGATE, RunKind.PROPAGATE, RunKind.TRAIN_MER}
    assert runs[RunKind.AGGREGATE].decision == Decision.PUBLISHED
    # 6 survey-labelled tracks: below the propagation gate's minimum, so nothing is written.
    assert runs[RunKind.PROPAGATE].decision == Decision.NOT_PUBLISHED
    assert not TrackLabel.objects.filter(source="propagated").exists()
    html = researcher_client.get(reverse("admin:surveys_survey_change", args=[rated.pk])).content.decode()
    assert 'data-testid="label-sets"' in html and "Not published:" in html and "at least 10" in html
    assert 'data-testid="gate-settings"' in html and f'data-testid="rollback-{runs[RunKind.AGGREGATE].pk}"' in html
    assert 'data-testid="raters-per-track"' in html and "6 tracks with 3" in html
    assert 'data-testid="mer-not-run"' in html and "Not enough survey labels yet" in html  # no audio descriptors

    researcher_client.post(reverse("admin:surveys_labelrun_rollback", args=[rated.pk, runs[RunKind.AGGREGATE].pk]))
    assert not TrackLabel.objects.filter(source="survey").exists()
    runs[RunKind.AGGREGATE].refresh_from_db()
    assert runs[RunKind.AGGREGATE].decision == Decision.ROLLED_BACK


def test_alpha_na_says_why(researcher_client, survey, tracks, make_user, submit, django_capture_on_commit_callbacks):
    only = make_user("participant", research_data=True)
    for t in tracks[:4]:
        submit(only, survey, t, picks=SAD)
    with django_capture_on_commit_callbacks(execute=True):
        researcher_client.post(reverse("admin:surveys_survey_run", args=[survey.pk, RunKind.AGGREGATE]))
    html = researcher_client.get(reverse("admin:surveys_survey_change", args=[survey.pk])).content.decode()
    assert 'data-testid="alpha-na"' in html and "only one rater" in html
