"""Browser test: the recruitment round trip. A participant arrives on a Prolific-style entry
link, consents, answers STAI-6, SAM (pictorial) and a VAS (with the keyboard) before a short
listening session and STAI-6 and SAM after it, and is sent to the completion URL with the
right code; a second visit with the same id resumes where they were, and a visit after
finishing gets a clear page. The experiment's primary metric is the STAI-6 change."""

from __future__ import annotations

import json

import pytest

from tests.e2e.browser import shot

pytestmark = pytest.mark.e2e

PID = "60d5ec49f1b2c8a1e4d3c2b1"
COMPLETION = "https://app.prolific.com/submissions/complete"

SETUP = """
from studies.experiments import services as x
from studies.recruitment.models import RecruitmentLink
e = x.experiment_create(name="Iso vs random before a procedure (e2e)", hypothesis_null="No difference in STAI-6 change.",
                        hypothesis_alt="Iso lowers STAI-6 more.", primary_metric="instrument:stai6:total",
                        minimum_detectable_effect=5, outcome_sd=10)
x.variant_add_random_control(experiment=e)
x.variant_add(experiment=e, name="iso", strategy="iso")
link = RecruitmentLink(name="Prolific wave 1", service="prolific", experiment=e,
    consent_text="You will listen to music for a few minutes and answer short questions.",
    pre_instruments=["stai6", "sam", "vas_anxiety"], post_instruments=["stai6", "sam"],
    completion_url="https://app.prolific.com/submissions/complete", completion_code="C7K2Q9",
    screenout_url="https://app.prolific.com/submissions/complete", screenout_code="NOCONSENT")
link.full_clean(); link.save()
x.experiment_start(experiment=e)
print(link.token)
"""

# The browser tests share one server: stop this study's experiment afterwards so it does not claim
# the sessions of experiments other tests run.
STOP = """
from studies.experiments import services as x
from studies.experiments.models import Experiment
for e in Experiment.objects.filter(name="Iso vs random before a procedure (e2e)", status="running"):
    x.experiment_stop(experiment=e)
"""

CHECK = """
import json
from studies.recruitment.models import Enrollment, EntryLog, InstrumentResponse, AnalysisPlan
from studies.recruitment import services
e = Enrollment.objects.get(link__token="{token}")
print(json.dumps({{"status": e.status, "n": Enrollment.objects.filter(link__token="{token}").count(),
  "hash_ok": e.external_id_hash == services.hash_external_id(salt=e.link.salt, external_id="{pid}"),
  "log": list(EntryLog.objects.filter(link=e.link).values_list("kind", "code")),
  "responses": sorted((r.phase, r.instrument, r.session_id == e.task_session_id) for r in e.responses.all()),
  "change": services.instrument_change_by_session(session_ids=[e.task_session_id], metric="instrument:stai6:total"),
  "plan": AnalysisPlan.objects.filter(experiment=e.link.experiment).exists()}}))
"""


def _enter(page, token: str) -> None:
    page.goto(f"/r/{token}/?PROLIFIC_PID={PID}&STUDY_ID=60d5ec49f1b2c8a1e4d3c2aa&SESSION_ID=s1")
    page.get_by_test_id("start-study").click()


def _stai(page, answers: dict[str, int]) -> None:
    page.get_by_test_id("instrument-name").and_(page.locator("[data-instrument=stai6]")).wait_for()
    for item, value in answers.items():
        page.get_by_test_id(f"stai6-{item}-{value}").check()
    page.get_by_test_id("instrument-submit").click()


def _sam(page, pleasure: int, arousal: int, dominance: int) -> None:
    page.locator("[data-instrument=sam]").wait_for()
    assert page.locator("svg.sam-figure").count() == 27
    for item, value in (("pleasure", pleasure), ("arousal", arousal), ("dominance", dominance)):
        page.get_by_test_id(f"sam-{item}-{value}").check()
    page.get_by_test_id("instrument-submit").click()


def test_prolific_round_trip(demo_catalog, browser):
    server = demo_catalog
    token = server.manage("shell", "-c", SETUP).strip().splitlines()[-1]

    def new_page():
        context = browser.new_context(base_url=server.url, viewport={"width": 1200, "height": 900})
        context.set_default_timeout(20_000)
        # The recruitment service is outside the test: answer its completion page locally.
        context.route("https://app.prolific.com/**", lambda route: route.fulfill(
            status=200, content_type="text/html", body="<h1>Prolific: submission complete</h1>"))
        return context, context.new_page()

    # --- first visit: entry, consent, STAI-6 before, then the browser is closed
    context, page = new_page()
    _enter(page, token)
    page.wait_for_url(f"**/r/{token}/study/")
    assert page.get_by_test_id("consent-text").is_visible()
    assert PID not in page.content()  # the service id is never shown
    page.get_by_test_id("consent-yes").click()
    page.wait_for_url("**/study/pre/stai6/")
    # a missing item is refused with a clear message
    page.get_by_test_id("stai6-calm-1").check()
    page.get_by_test_id("instrument-submit").click()
    assert "missing answer(s): tense, upset, relaxed, content, worried" in page.get_by_test_id(
        "instrument-errors").inner_text()
    _stai(page, {"calm": 1, "tense": 4, "upset": 3, "relaxed": 2, "content": 1, "worried": 4})
    page.wait_for_url("**/study/pre/sam/")
    context.close()

    # --- second visit with the same id (another browser): resumes at SAM
    context, page = new_page()
    _enter(page, token)
    page.wait_for_url("**/study/pre/sam/")
    shot(page, "recruitment-sam")
    _sam(page, 4, 7, 4)
    # the VAS, operated with the keyboard only
    page.wait_for_url("**/study/pre/vas_anxiety/")
    page.get_by_test_id("instrument-submit").click()  # untouched line = missing, not a silent 50
    assert "missing answer(s): anxiety" in page.get_by_test_id("instrument-errors").inner_text()
    line = page.get_by_test_id("vas_anxiety-anxiety-slider")
    line.focus()
    line.press("End")
    for _ in range(10):
        line.press("ArrowLeft")
    assert page.locator("#vas-anxiety").input_value() == "95"
    assert line.get_attribute("aria-valuetext") == "95 of 100"
    page.get_by_test_id("instrument-submit").click()

    # --- the task: a short listening session in the experiment
    page.wait_for_url(f"**/r/{token}/study/")
    page.get_by_test_id("task-link").click()
    page.wait_for_url("**/sessions/new/")
    page.get_by_test_id("current-gems-tension").check()
    page.get_by_test_id("length-value").fill("2")
    page.get_by_test_id("start-session").click()
    page.wait_for_url("**/sessions/*/")
    page.get_by_test_id("finish").click()
    page.wait_for_url("**/finish/")
    page.get_by_test_id("post-gems-peacefulness").check()
    page.get_by_test_id("rating-4").check()
    page.get_by_test_id("complete-session").click()
    page.wait_for_url("**/sessions/history/")

    # --- back to the study: STAI-6 and SAM after, then the completion URL with the code
    page.goto("/dashboard/")
    page.get_by_test_id("continue-study").click()
    page.wait_for_url("**/study/post/stai6/")
    _stai(page, {"calm": 3, "tense": 2, "upset": 1, "relaxed": 3, "content": 3, "worried": 2})
    page.wait_for_url("**/study/post/sam/")
    _sam(page, 7, 3, 6)
    page.get_by_test_id("finish-study").click()
    page.wait_for_url(f"{COMPLETION}?cc=C7K2Q9")
    assert "submission complete" in page.content()
    context.close()

    # --- a third visit after finishing: a clear page, nothing new
    context, page = new_page()
    _enter(page, token)
    page.get_by_role("heading", name="You have already finished this study").wait_for()
    assert "Nothing new was recorded" in page.get_by_test_id("replayed").inner_text()
    context.close()

    stored = json.loads(server.manage("shell", "-c", CHECK.format(token=token, pid=PID)).strip().splitlines()[-1])
    server.manage("shell", "-c", STOP)
    assert stored["status"] == "completed" and stored["n"] == 1 and stored["hash_ok"] and stored["plan"]
    assert [k for k, _ in stored["log"]] == ["entered", "consented", "resumed", "completed", "replayed"]
    assert ["completed", "C7K2Q9"] in stored["log"]
    assert stored["responses"] == [["post", "sam", True], ["post", "stai6", True], ["pre", "sam", True],
                                   ["pre", "stai6", True], ["pre", "vas_anxiety", True]]
    # STAI-6: pre 22 -> 73.33, post calm 2,tense 2,upset 1,relaxed 2,content 2,worried 2 = 11 -> 36.67
    (change,) = stored["change"].values()
    assert change == pytest.approx((11 - 22) * 20 / 6)
