"""Browser test (issue 14, item 12): axe-core (vendored, tests/e2e/vendor/axe.min.js) finds no
violation of impact serious or critical on the main pages of every role: a visitor, a
participant, a therapist and a researcher, on real data (a playlist, sessions, a linked client)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser import DEMO_PASSWORD, log_in

pytestmark = pytest.mark.e2e

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
BLOCKING = ("serious", "critical")

RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ") + " :: " + (n.failureSummary || "").split("\\n").slice(0, 2).join(" "))}));
}"""


def _violations(page, url: str, status: int = 200) -> list[str]:
    if url:
        response = page.goto(url)
        assert response is not None and response.status == status, (url, response and response.status)
    page.add_script_tag(content=AXE)
    found = page.evaluate(RUN_AXE)
    return [f"{page.url} [{v['impact']}] {v['id']}: {v['help']} {v['nodes']}" for v in found if v["impact"] in BLOCKING]


def _new_page(browser, server):
    # bypass_csp: axe-core is injected as a script by the test; the site's CSP (tested on its own in
    # tests/security/test_csp.py) rightly refuses inline scripts.
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.set_default_timeout(20_000)
    return context.new_page()


def test_no_serious_or_critical_violations_for_any_role(demo_catalog, browser):
    server = demo_catalog
    server.manage("shell", "-c", "from studies.listening.demo import demo_step; from therapy.demo import demo_step as therapy_demo_step; "
                                 "from studies.surveys.demo import demo_step as survey; "
                                 "from studies.experiments.demo import demo_step as experiment; "
                                 "print(demo_step()); print(therapy_demo_step(client_name='axe-client')); "
                                 "print(survey(None)); print(experiment(None))")
    ids = server.manage("shell", "-c", "from studies.experiments.models import Experiment; "
                                       "from studies.surveys.models import Survey; "
                                       "print(Experiment.objects.latest('pk').pk, Survey.objects.latest('pk').pk)")
    experiment_id, survey_id = ids.strip().splitlines()[-1].split()
    problems: list[str] = []

    visitor = _new_page(browser, server)
    for url in ("/", "/accounts/login/", "/accounts/signup/"):
        problems += _violations(visitor, url)
    visitor.context.close()

    participant = _new_page(browser, server)
    log_in(participant, "demo-participant", DEMO_PASSWORD)
    for url in ("/dashboard/", "/mood-check/", "/playlists/new/", "/surveys/", "/sessions/new/", "/sessions/history/",
                "/settings/", "/settings/consent/", "/settings/therapist/", "/history/"):
        problems += _violations(participant, url)
    problems += _violations(participant, "/clients/", status=403)
    participant.goto("/playlists/new/")
    participant.get_by_test_id("make-playlist").click()
    participant.wait_for_url("**/playlists/*/")
    problems += _violations(participant, "")
    problems += _violations(participant, "/playlists/")
    participant.goto("/sessions/new/")
    participant.get_by_test_id("current-gems-sadness").check()
    participant.get_by_test_id("length-value").fill("2")
    participant.get_by_test_id("start-session").click()
    participant.wait_for_url("**/sessions/*/")
    problems += _violations(participant, "")
    participant.get_by_test_id("finish").click()
    participant.wait_for_url("**/finish/")
    problems += _violations(participant, "")
    participant.get_by_test_id("complete-session").click()  # an error page: the summary and marked instrument
    participant.get_by_test_id("form-errors").wait_for()
    problems += _violations(participant, "")
    participant.context.close()

    therapist = _new_page(browser, server)
    log_in(therapist, "demo-therapist", DEMO_PASSWORD)
    problems += _violations(therapist, "/dashboard/")
    problems += _violations(therapist, "/clients/")
    therapist.get_by_role("link", name="axe-client").click()
    therapist.get_by_test_id("outcomes-table").wait_for()
    problems += _violations(therapist, "")
    therapist.get_by_test_id("assign-generated").click()
    problems += _violations(therapist, "")
    therapist.go_back()
    therapist.get_by_test_id("assign-curated").click()
    problems += _violations(therapist, "")
    therapist.context.close()

    researcher = _new_page(browser, server)
    log_in(researcher, "demo-researcher", DEMO_PASSWORD)
    for url in ("/dashboard/", "/admin/", "/admin/surveys/survey/", "/admin/surveys/survey/add/",
                "/admin/recommender/track/", "/admin/experiments/experiment/", "/admin/experiments/experiment/add/",
                f"/admin/surveys/survey/{survey_id}/change/", f"/admin/experiments/experiment/{experiment_id}/change/",
                f"/admin/experiments/experiment/{experiment_id}/results/", "/admin/listening/listeningsession/"):
        problems += _violations(researcher, url)
    researcher.context.close()

    assert problems == [], "\n".join(problems)
