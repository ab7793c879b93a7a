"""The recruitment round trip through the HTTP client: entry, consent, instruments, task, finish."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import User
from studies.recruitment import services
from studies.recruitment.models import Enrollment, EntryLog, InstrumentResponse
from tests.recruitment.conftest import COMPLETE, PID, SAM_ANSWER, STAI_ANXIOUS, STAI_CALM

UA = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}
QS = f"?PROLIFIC_PID={PID}&STUDY_ID=64aa00bb11cc22dd33ee44ff&SESSION_ID=abc123"


def enter(client, link, pid=PID):
    return client.post(f"/r/{link.token}/", {"PROLIFIC_PID": pid, "STUDY_ID": "64aa00bb11cc22dd33ee44ff",
                                             "SESSION_ID": "abc123"}, **UA)


@pytest.mark.django_db
class TestEntry:
    def test_get_shows_a_start_page_and_creates_nothing(self, client, running_experiment, make_link):
        link = make_link(running_experiment)
        response = client.get(f"/r/{link.token}/{QS}", **UA)
        assert response.status_code == 200
        assert b"Start the study" in response.content and PID.encode() in response.content
        assert not Enrollment.objects.exists() and not User.objects.filter(username__startswith="r-").exists()

    def test_post_creates_a_pseudonymous_account_and_stores_only_the_hash(self, client, running_experiment, make_link):
        link = make_link(running_experiment)
        response = enter(client, link)
        assert response.status_code == 302 and response["Location"] == f"/r/{link.token}/study/"
        enrollment = Enrollment.objects.get()
        assert enrollment.external_id_hash == services.hash_external_id(salt=link.salt, external_id=PID)
        assert enrollment.external_id_hash != PID and len(enrollment.external_id_hash) == 64
        user = enrollment.user
        assert user.username.startswith("r-") and not user.email and not user.has_usable_password()
        assert int(client.session["_auth_user_id"]) == user.pk
        # the raw id is nowhere in the database rows of the round trip
        for row in [*Enrollment.objects.values(), *EntryLog.objects.values(), *User.objects.values()]:
            assert PID not in str(row)
        assert list(EntryLog.objects.values_list("kind", flat=True)) == ["entered"]

    def test_same_id_resumes_instead_of_creating_a_second_participant(self, client, running_experiment, make_link):
        link = make_link(running_experiment)
        enter(client, link)
        client.logout()
        response = enter(client, link)
        assert response.status_code == 302
        assert Enrollment.objects.count() == 1 and User.objects.filter(username__startswith="r-").count() == 1
        assert list(EntryLog.objects.values_list("kind", flat=True)) == ["entered", "resumed"]

    def test_the_same_id_in_another_study_is_not_linkable(self, client, running_experiment, make_link):
        a = make_link(running_experiment)
        b = make_link(running_experiment, name="another study")
        enter(client, a)
        enter(client, b)
        hashes = set(Enrollment.objects.values_list("external_id_hash", flat=True))
        assert len(hashes) == 2  # per-study salt

    @pytest.mark.parametrize("query, reason", [
        ({}, b"missing_id"),
        ({"PROLIFIC_PID": "not-an-id"}, b"malformed_id"),
        ({"PROLIFIC_PID": PID, "STUDY_ID": "<script>"}, b"malformed_id"),
    ])
    def test_missing_or_malformed_ids_get_a_clear_page(self, client, running_experiment, make_link, query, reason):
        link = make_link(running_experiment)
        response = client.post(f"/r/{link.token}/", query, **UA)
        assert response.status_code == 400 and reason in response.content
        assert not Enrollment.objects.exists() and not User.objects.filter(username__startswith="r-").exists()

    def test_bots_and_link_unfurlers_get_a_page_not_an_account(self, client, running_experiment, make_link):
        link = make_link(running_experiment)
        for agent in ("Slackbot-LinkExpanding 1.0", "python-requests/2.32", ""):
            response = client.post(f"/r/{link.token}/", {"PROLIFIC_PID": PID}, HTTP_USER_AGENT=agent)
            assert response.status_code == 403 and b'data-reason="bot"' in response.content
        assert not Enrollment.objects.exists()

    def test_mturk_preview_and_ids(self, client, running_experiment, make_link):
        link = make_link(running_experiment, service="mturk")
        response = client.post(f"/r/{link.token}/", {"workerId": "A1B2C3D4E5F6G7", "hitId": "3XYZ",
                                                     "assignmentId": services.MTURK_PREVIEW}, **UA)
        assert response.status_code == 400 and b"preview" in response.content
        response = client.post(f"/r/{link.token}/", {"workerId": "A1B2C3D4E5F6G7", "hitId": "3XYZ",
                                                     "assignmentId": "3ABC"}, **UA)
        assert response.status_code == 302
        assert Enrollment.objects.get().service_study_id == "3XYZ"

    def test_entry_is_rate_limited(self, client, running_experiment, make_link, settings):
        settings.ATTUNE_RECRUITMENT_ENTRY_RATE = "3/min"
        link = make_link(running_experiment)
        codes = [client.get(f"/r/{link.token}/{QS}", **UA).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]

    def test_closed_link_refuses(self, client, running_experiment, make_link):
        link = make_link(running_experiment, is_open=False)
        assert enter(client, link).status_code == 403
        assert not Enrollment.objects.exists()


@pytest.mark.django_db
class TestLinkValidation:
    def test_completion_url_must_be_https(self, running_experiment, make_link):
        with pytest.raises(ValidationError, match="https"):
            make_link(running_experiment, completion_url="http://app.prolific.com/submissions/complete")
        with pytest.raises(ValidationError, match="https"):
            make_link(running_experiment, screenout_url="javascript:alert(1)")

    def test_codes_differ_and_exactly_one_study(self, running_experiment, make_link):
        with pytest.raises(ValidationError, match="must differ"):
            make_link(running_experiment, screenout_code="C1A2B3")
        with pytest.raises(ValidationError, match="exactly one study"):
            make_link(None)
        with pytest.raises(ValidationError, match="Unknown instrument"):
            make_link(running_experiment, pre_instruments=["stai7"])

    def test_code_goes_into_the_url(self):
        assert services.with_code(COMPLETE, "AB12") == COMPLETE + "?cc=AB12"
        assert services.with_code("https://x.org/done?cc=old&a=1", "AB12") == "https://x.org/done?a=1&cc=AB12"
        assert services.with_code("https://x.org/{code}/done", "AB12") == "https://x.org/AB12/done"


def _answer(client, link, phase, key, answers):
    return client.post(f"/r/{link.token}/study/{phase}/{key}/", {k: str(v) for k, v in answers.items()})


@pytest.mark.django_db
class TestStudyFlow:
    def test_full_round_trip_to_the_completion_url(self, client, running_experiment, make_link, play_session):
        link = make_link(running_experiment)
        enter(client, link)
        response = client.get(f"/r/{link.token}/study/")
        assert response.status_code == 200 and b"Information and consent" in response.content
        response = client.post(f"/r/{link.token}/study/", {"consent": "yes"})
        assert response.status_code == 302
        assert client.get(f"/r/{link.token}/study/")["Location"] == f"/r/{link.token}/study/pre/stai6/"
        page = client.get(f"/r/{link.token}/study/pre/stai6/")
        assert b"I feel calm" in page.content and b"Very much" in page.content
        # out of range and missing items: 400, nothing stored
        bad = _answer(client, link, "pre", "stai6", {**STAI_ANXIOUS, "calm": 7, "worried": ""})
        assert bad.status_code == 400
        assert b"missing answer(s): worried" in bad.content
        assert not InstrumentResponse.objects.exists()
        assert _answer(client, link, "pre", "stai6", STAI_ANXIOUS).status_code == 302
        sam_page = client.get(f"/r/{link.token}/study/pre/sam/")
        assert sam_page.content.count(b'class="sam-figure"') == 27  # 9 figures per scale
        assert _answer(client, link, "pre", "sam", SAM_ANSWER).status_code == 302
        # the task: a listening session
        task = client.get(f"/r/{link.token}/study/")
        assert task.status_code == 200 and b"/sessions/new/" in task.content
        # answering the post questions before the session is refused (redirected back)
        assert client.get(f"/r/{link.token}/study/post/stai6/")["Location"] == f"/r/{link.token}/study/"
        enrollment = Enrollment.objects.get()
        session = play_session(enrollment.user, running_experiment)
        assert client.get(f"/r/{link.token}/study/")["Location"] == f"/r/{link.token}/study/post/stai6/"
        assert _answer(client, link, "post", "stai6", STAI_CALM).status_code == 302
        assert _answer(client, link, "post", "sam", {**SAM_ANSWER, "pleasure": 8}).status_code == 302
        assert b"Finish and return" in client.get(f"/r/{link.token}/study/").content
        done = client.post(f"/r/{link.token}/finish/")
        assert done.status_code == 302 and done["Location"] == COMPLETE + "?cc=C1A2B3"
        enrollment.refresh_from_db()
        assert enrollment.status == "completed" and enrollment.task_session_id == session.pk
        # the answers are per-session measures now
        assert set(InstrumentResponse.objects.values_list("session_id", flat=True)) == {session.pk}
        log = list(EntryLog.objects.values_list("kind", "code"))
        assert log == [("entered", ""), ("consented", ""), ("completed", "C1A2B3")]
        # the change as a metric: 20 − 73.33
        change = services.instrument_change_by_session(session_ids=[session.pk], metric="instrument:stai6:total")
        assert change == {session.pk: pytest.approx(20 - 22 * 20 / 6)}
        # a replay of the finished participant's link: a clear page, nothing new
        client.logout()
        replay = enter(client, link)
        assert replay.status_code == 200 and b"already finished" in replay.content
        assert b"cc=C1A2B3" in replay.content
        assert Enrollment.objects.count() == 1 and InstrumentResponse.objects.count() == 4
        assert EntryLog.objects.last().kind == "replayed"

    def test_declining_consent_screens_out_with_the_screenout_code(self, client, running_experiment, make_link):
        link = make_link(running_experiment)
        enter(client, link)
        response = client.post(f"/r/{link.token}/study/", {"consent": "no"})
        assert response.status_code == 302 and response["Location"].endswith("cc=SCREEN9")
        enrollment = Enrollment.objects.get()
        assert enrollment.status == "screened_out" and enrollment.screenout_reason == "no_consent"
        assert not enrollment.user.consents.filter(granted=True).exists()
        assert EntryLog.objects.last().code == "SCREEN9"

    def test_failing_eligibility_screens_out(self, client, running_experiment, make_link):
        link = make_link(running_experiment, eligibility_statement="I am 18 or older.")
        enter(client, link)
        response = client.post(f"/r/{link.token}/study/", {"consent": "yes"})
        assert response["Location"].endswith("cc=SCREEN9")
        assert Enrollment.objects.get().screenout_reason == "not_eligible"

    def test_finishing_early_is_refused(self, client, running_experiment, make_link):
        link = make_link(running_experiment)
        enter(client, link)
        client.post(f"/r/{link.token}/study/", {"consent": "yes"})
        response = client.post(f"/r/{link.token}/finish/")
        assert response.status_code == 400 and b"not finished yet" in response.content
        assert Enrollment.objects.get().status == "consented"

    def test_another_person_cannot_use_someone_elses_study_pages(self, client, running_experiment, make_link,
                                                                 participant):
        link = make_link(running_experiment)
        client.force_login(participant)
        assert client.get(f"/r/{link.token}/study/").status_code == 403

    def test_resume_keeps_the_place(self, client, running_experiment, make_link):
        link = make_link(running_experiment)
        enter(client, link)
        client.post(f"/r/{link.token}/study/", {"consent": "yes"})
        _answer(client, link, "pre", "stai6", STAI_ANXIOUS)
        client.logout()
        enter(client, link)  # e.g. another browser, same Prolific id
        assert client.get(f"/r/{link.token}/study/")["Location"] == f"/r/{link.token}/study/pre/sam/"


@pytest.mark.django_db
class TestPrivacy:
    def test_export_and_erasure_cover_instrument_answers(self, client, running_experiment, make_link):
        from accounts.services import consent_set, user_erase, user_export

        link = make_link(running_experiment)
        enter(client, link)
        client.post(f"/r/{link.token}/study/", {"consent": "yes"})
        _answer(client, link, "pre", "stai6", STAI_ANXIOUS)
        user = Enrollment.objects.get().user
        data = user_export(user=user)
        assert data["instrument_responses"][0]["scores"]["total"] == pytest.approx(73.3333, abs=1e-3)
        assert data["study_enrollments"][0]["status"] == "consented"
        consent_set(user=user, purpose="research_data", granted=False)
        deleted = user_erase(user=user)
        assert deleted["instrument_responses"] == 1 and deleted["study_enrollments"] == 1
        assert not InstrumentResponse.objects.exists() and not Enrollment.objects.exists()
        # the payment log keeps the participant code only
        assert EntryLog.objects.filter(participant_code=user.participant_code).exists()

    def test_with_research_consent_answers_stay_but_the_hashed_id_goes(self, client, running_experiment, make_link):
        from accounts.services import user_erase

        link = make_link(running_experiment)
        enter(client, link)
        client.post(f"/r/{link.token}/study/", {"consent": "yes"})
        _answer(client, link, "pre", "stai6", STAI_ANXIOUS)
        user = Enrollment.objects.get().user
        user_erase(user=user)
        assert InstrumentResponse.objects.count() == 1
        assert not Enrollment.objects.exists()


@pytest.mark.django_db
def test_dashboard_leads_back_to_an_unfinished_study(client, running_experiment, make_link):
    link = make_link(running_experiment)
    enter(client, link)
    page = client.get("/dashboard/")
    assert f'/r/{link.token}/study/'.encode() in page.content
    client.post(f"/r/{link.token}/study/", {"consent": "no"})  # screened out: finished
    assert f'/r/{link.token}/study/'.encode() not in client.get("/dashboard/").content


@pytest.mark.django_db
def test_licensed_wording_setting_replaces_the_items(client, running_experiment, make_link, settings):
    settings.ATTUNE_INSTRUMENT_WORDING = {"stai6": {"calm": "Je me sens calme"}}
    link = make_link(running_experiment)
    enter(client, link)
    client.post(f"/r/{link.token}/study/", {"consent": "yes"})
    page = client.get(f"/r/{link.token}/study/pre/stai6/")
    assert "Je me sens calme" in page.content.decode() and "I feel calm" not in page.content.decode()


@pytest.mark.django_db
def test_admin_shows_the_entry_url_and_exports(client, researcher, running_experiment, make_link):
    link = make_link(running_experiment)
    client.force_login(researcher)
    page = client.get(f"/admin/recruitment/recruitmentlink/{link.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert f"/r/{link.token}/?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}" in body
    assert f"/research/links/{link.pk}/entries.csv" in body and "data.sav" in body
    assert client.get("/admin/recruitment/recruitmentlink/add/").status_code == 200


@pytest.mark.django_db
def test_a_lapsed_visit_points_back_to_the_study_link(client, running_experiment, make_link):
    link = make_link(running_experiment)
    enter(client, link)
    client.logout()
    for response in (client.get(f"/r/{link.token}/study/"), client.post(f"/r/{link.token}/finish/")):
        assert response.status_code == 403 and b"open the study again" in response.content


@pytest.mark.django_db
def test_a_recruited_participant_belongs_to_their_study_not_another_running_experiment(
    client, running_experiment, make_experiment, make_link
):
    """Two experiments run at once: a person who entered study A by its link is only ever
    assigned to A (rendezvous hashing would otherwise send some of their sessions to B)."""
    from studies.experiments.services import eligible_experiments, variant_plan_for

    other = make_experiment(start=True, name="Another study running at the same time")
    link = make_link(running_experiment)
    enter(client, link)
    client.post(f"/r/{link.token}/study/", {"consent": "yes"})
    user = Enrollment.objects.get().user
    mode = "personal"
    assert [e.pk for e in eligible_experiments(user=user, mode=mode)] == [running_experiment.pk]
    assert variant_plan_for(user=user, mode=mode).experiment.pk == running_experiment.pk
    # once the study is finished, the pin is gone: both experiments are open to the person again
    Enrollment.objects.filter(user=user).update(status="completed")
    assert {e.pk for e in eligible_experiments(user=user, mode=mode)} == {running_experiment.pk, other.pk}
