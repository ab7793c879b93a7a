"""The JSON API behind the survey page and the participant pages, through the HTTP client."""

from __future__ import annotations

import json
import uuid

import pytest
from django.urls import reverse

from studies.surveys.models import Rating
from studies.surveys.services.status import survey_close


@pytest.fixture
def rater_client(client, rater):
    client.force_login(rater)
    return client


def _post(client, survey, **payload):
    body = {"client_id": str(uuid.uuid4()), "listened_seconds": 12, "liking": 4, "familiarity": 1, **payload}
    return client.post(
        reverse("api-surveys-rating-submit", args=[survey.pk]), data=json.dumps(body), content_type="application/json"
    )


def _message(response) -> str:
    return json.dumps(response.json())


def test_next_then_submit_then_done(rater_client, make_survey):
    survey = make_survey(n_tracks=2)
    url = reverse("api-surveys-next", args=[survey.pk])
    first = rater_client.get(url).json()
    assert first["done"] is False and first["answered"] == 0 and first["total"] == 2
    assert first["track"]["audio_url"].startswith("https://example.org/")
    response = _post(rater_client, survey, track_id=first["track"]["id"], picks=["wonder", "power"])
    assert response.status_code == 201 and response.json()["answered"] == 1
    second = rater_client.get(url).json()
    assert second["track"]["id"] != first["track"]["id"]
    _post(rater_client, survey, track_id=second["track"]["id"], picks=["tension"])
    done = rater_client.get(url).json()
    assert done == {"done": True, "answered": 2, "total": 2, "track": None}


def test_retry_with_the_same_client_id_is_200_and_stores_once(rater_client, survey, tracks):
    cid = str(uuid.uuid4())
    assert _post(rater_client, survey, client_id=cid, track_id=tracks[0].pk, picks=["wonder"]).status_code == 201
    again = _post(rater_client, survey, client_id=cid, track_id=tracks[0].pk, picks=["wonder"])
    assert again.status_code == 200 and again.json()["created"] is False
    assert Rating.objects.count() == 1


@pytest.mark.parametrize(
    "payload, needle",
    [
        ({"track_id": "TRACK_OUTSIDE", "picks": ["wonder"]}, "not part of this survey"),
        ({"track_id": "TRACK0", "picks": ["wonder", "power", "tension", "sadness"]}, "at most 3"),
        ({"track_id": "TRACK0", "picks": ["joy"]}, "not a valid choice"),
        ({"track_id": "TRACK0", "picks": []}, "at least one"),
        ({"track_id": "TRACK0", "picks": ["wonder"] * 20}, "no more than"),
        ({"track_id": "TRACK0", "picks": ["wonder"], "listened_seconds": 2}, "at least 5 seconds"),
        ({"track_id": "TRACK0", "picks": ["wonder"], "listened_seconds": "lots"}, "valid number"),
        ({"track_id": "TRACK0", "picks": ["wonder"], "liking": 9}, "liking"),
        ({"track_id": "TRACK0", "picks": ["wonder"], "client_id": "nope"}, "UUID"),
        ({"track_id": "TRACK0", "intensities": [1] * 9}, "pick emotions"),
        ({"picks": ["wonder"]}, "required"),
    ],
)
def test_bad_answers_are_400_with_a_reason_and_store_nothing(rater_client, survey, tracks, payload, needle):
    ids = {"TRACK_OUTSIDE": tracks[-1].pk, "TRACK0": tracks[0].pk}
    if "track_id" in payload:
        payload = {**payload, "track_id": ids[payload["track_id"]]}
    response = _post(rater_client, survey, **payload)
    assert response.status_code == 400
    assert needle.lower() in _message(response).lower()
    assert Rating.objects.count() == 0


@pytest.mark.parametrize("intensities", [[5, 0, 0, 0, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0, 0, 0, 0], [1] * 8])
def test_intensities_outside_0_4_are_400(rater_client, make_survey, tracks, intensities):
    survey = make_survey(response_format="intensity")
    response = _post(rater_client, survey, track_id=tracks[0].pk, intensities=intensities)
    assert response.status_code == 400 and "intensit" in _message(response).lower()
    assert Rating.objects.count() == 0
    assert _post(rater_client, survey, track_id=tracks[0].pk, intensities=[0, 1, 2, 3, 4, 0, 0, 0, 0]).status_code == 201


def test_second_rating_of_the_same_track_is_400(rater_client, survey, tracks):
    assert _post(rater_client, survey, track_id=tracks[0].pk, picks=["wonder"]).status_code == 201
    response = _post(rater_client, survey, track_id=tracks[0].pk, picks=["power"])
    assert response.status_code == 400 and "already rated" in _message(response)
    assert Rating.objects.count() == 1


def test_closed_survey_is_400_and_draft_is_404(rater_client, survey, make_survey, tracks):
    survey_close(survey=survey)
    response = _post(rater_client, survey, track_id=tracks[0].pk, picks=["wonder"])
    assert response.status_code == 400 and "closed" in _message(response)
    draft = make_survey(open_it=False)
    assert _post(rater_client, draft, track_id=tracks[0].pk, picks=["wonder"]).status_code == 404
    assert rater_client.get(reverse("api-surveys-next", args=[draft.pk])).status_code == 404
    assert Rating.objects.count() == 0


def test_without_consent_403_with_the_reason(client, make_user, survey, tracks):
    client.force_login(make_user("participant"))
    response = _post(client, survey, track_id=tracks[0].pk, picks=["wonder"])
    assert response.status_code == 403 and "research use" in _message(response)
    assert client.get(reverse("api-surveys-next", args=[survey.pk])).status_code == 403
    assert Rating.objects.count() == 0


def test_anonymous_is_refused(client, survey, tracks):
    assert _post(client, survey, track_id=tracks[0].pk, picks=["wonder"]).status_code == 403
    assert Rating.objects.count() == 0


def test_malformed_bodies(rater_client, survey):
    url = reverse("api-surveys-rating-submit", args=[survey.pk])
    assert rater_client.post(url, data="[1, 2]", content_type="application/json").status_code == 400
    assert rater_client.post(url, data="{not json", content_type="application/json").status_code == 400
    assert rater_client.get(url).status_code == 405
    assert Rating.objects.count() == 0


def test_csrf_is_enforced_for_the_browser_session(survey, tracks, rater):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(rater)
    assert _post(csrf_client, survey, track_id=tracks[0].pk, picks=["wonder"]).status_code == 403
    assert Rating.objects.count() == 0


# ---------------------------------------------------------------------------- pages


def test_survey_list_shows_open_surveys_only(rater_client, survey, make_survey):
    make_survey(title="Hidden draft", open_it=False)
    html = rater_client.get(reverse("surveys:survey-list")).content.decode()
    assert survey.title in html and "Hidden draft" not in html
    assert 'data-testid="consent-needed"' not in html


def test_take_page_without_consent_asks_for_it(client, make_user, survey):
    client.force_login(make_user("participant"))
    html = client.get(reverse("surveys:survey-take", args=[survey.pk])).content.decode()
    assert 'data-testid="consent-needed"' in html and reverse("consent") in html
    assert "survey-app" not in html and "surveys-take.js" not in html


def test_take_page_renders_the_nine_emotions(rater_client, survey):
    from emotion.vocab import GEMS_INFO

    html = rater_client.get(reverse("surveys:survey-take", args=[survey.pk])).content.decode()
    for e in GEMS_INFO:
        assert f'data-emotion="{e.name}"' in html and e.emoji in html and e.description in html
    assert "surveys-take.js" in html and 'data-min-listen="5"' in html


def test_take_page_for_a_draft_is_404_and_closed_says_so(rater_client, make_survey, survey):
    assert rater_client.get(reverse("surveys:survey-take", args=[make_survey(open_it=False).pk])).status_code == 404
    survey_close(survey=survey)
    html = rater_client.get(reverse("surveys:survey-take", args=[survey.pk])).content.decode()
    assert 'data-testid="survey-not-open"' in html and "closed" in html


def test_pages_need_log_in(client, survey):
    response = client.get(reverse("surveys:survey-take", args=[survey.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


# ---------------------------------------------------------------------------- privacy


def test_export_and_erasure_of_a_persons_ratings(make_user, survey, tracks, submit):
    from accounts.services import user_erase, user_export

    keeps = make_user("participant", research_data=True)
    submit(keeps, survey, tracks[0], picks=("wonder",))
    exported = user_export(user=keeps)
    assert exported["survey_ratings"][0]["picks"] == ["wonder"]
    user_erase(user=keeps)  # research_data on: answers stay, keyed by code
    assert Rating.objects.filter(user=keeps).count() == 1

    leaves = make_user("participant", research_data=True)
    submit(leaves, survey, tracks[1], picks=("power",))
    from accounts.services import consent_set

    consent_set(user=leaves, purpose="research_data", granted=False)
    user_erase(user=leaves)
    assert Rating.objects.filter(user=leaves).count() == 0


def test_dashboard_panel_lists_open_surveys(rater_client, survey, tracks, rater, submit):
    submit(rater, survey, tracks[0])
    html = rater_client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="survey-panel-list"' in html and survey.title in html and "1 rated" in html


def test_skip_passes_over_a_track_for_the_session_only(rater_client, make_survey, tracks):
    survey = make_survey(n_tracks=2)
    next_url = reverse("api-surveys-next", args=[survey.pk])
    skip_url = reverse("api-surveys-skip", args=[survey.pk])
    first = rater_client.get(next_url).json()["track"]["id"]
    response = rater_client.post(skip_url, data={"track_id": first}, content_type="application/json")
    assert response.status_code == 200 and response.json()["skipped"] == [first]
    after = rater_client.get(next_url).json()
    assert after["track"]["id"] != first and after["total"] == 1
    rater_client.post(skip_url, data={"track_id": after["track"]["id"]}, content_type="application/json")
    assert rater_client.get(next_url).json()["done"] is True
    assert Rating.objects.count() == 0


def test_skip_refuses_bad_input(rater_client, client, make_user, survey, tracks):
    skip_url = reverse("api-surveys-skip", args=[survey.pk])
    outside = rater_client.post(skip_url, data={"track_id": tracks[-1].pk}, content_type="application/json")
    assert outside.status_code == 400 and "not part of this survey" in _message(outside)
    assert rater_client.post(skip_url, data={"track_id": "x"}, content_type="application/json").status_code == 400
    assert rater_client.post(skip_url, data="[]", content_type="application/json").status_code == 400
    client.force_login(make_user("participant"))
    assert client.post(skip_url, data={"track_id": tracks[0].pk}, content_type="application/json").status_code == 403


def test_take_page_in_the_intensity_format_has_a_0_to_4_scale_per_emotion(rater_client, make_survey):
    survey = make_survey(response_format="intensity", emotion_focus="expressed", ask_familiarity=False)
    html = rater_client.get(reverse("surveys:survey-take", args=[survey.pk])).content.decode()
    assert html.count("data-intensity=") == 9 and 'name="intensity-sadness" value="4"' in html
    assert "<em>express</em>" in html and 'name="familiarity"' not in html and 'name="liking"' in html


def test_openapi_schema_names_the_picks_choice_set_once(db):
    """`check --deploy` warned "multiple names for the same choice set (PicksEnum)": the
    surveys' picks and the recommender's emotion must not be one choice set with two names."""
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    warnings = [w for w in GENERATOR_STATS._warn_cache if "choice set" in w or "Picks" in w or "survey" in w.lower()]
    GENERATOR_STATS.reset()
    assert warnings == []
    picks = schema["components"]["schemas"]["PicksEnum"]
    assert picks["enum"][0] == "wonder" and len(picks["enum"]) == 9


def test_surveys_open_for_counts_only_the_viewers_answers(make_survey, tracks, rater, make_user, submit):
    from studies.surveys.selectors import surveys_open_for

    survey = make_survey()
    make_survey(title="Draft", open_it=False)
    other = make_user("participant", research_data=True)
    submit(rater, survey, tracks[0])
    submit(rater, survey, tracks[1])
    submit(other, survey, tracks[2])
    assert [(s.pk, s.mine) for s in surveys_open_for(viewer=rater)] == [(survey.pk, 2)]
    assert [s.mine for s in surveys_open_for(viewer=other)] == [1]
