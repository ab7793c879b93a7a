"""A researcher creates an iso-vs-random experiment in the admin, starts it, simulated participants
take real sessions on the demo catalog, and the results page shows the analysis and its plots."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import DEMO_PASSWORD, log_in, shot, wait_until

pytestmark = pytest.mark.e2e


def test_researcher_runs_an_experiment_and_reads_the_results(page, e2e_server):
    e2e_server.manage("load_demo_catalog", "--count", "16")
    log_in(page, "demo-researcher", DEMO_PASSWORD)

    page.goto("/admin/experiments/experiment/add/")
    page.get_by_label("Name:", exact=True).fill("Iso principle vs random order")
    page.get_by_label("H0 (in words)").fill("Iso-principle playlists shift mood toward the target no more than random ones.")
    page.get_by_label("H1 (in words)").fill("Iso-principle playlists shift mood toward the target more than random ones.")
    page.get_by_label("Completion rate").check()
    page.get_by_label("Skip rate").check()
    # the power calculation follows the design as it is typed
    page.get_by_label("Minimum detectable effect").fill("0.15")
    page.get_by_label("Assumed standard deviation").fill("0.3")
    plan = page.locator("#power-plan")
    wait_until(page, "document.getElementById('power-plan').textContent.includes('128 participants in total')")
    assert "64 + 64 participants per variant" in plan.inner_text()
    # repeated sessions of correlated participants need more people: the design effect shows
    page.get_by_label("Expected sessions per participant").fill("5")
    wait_until(page, "document.getElementById('power-plan').textContent.includes('58 participants in total')")
    assert "Design effect 2.20" in plan.inner_text()
    page.get_by_label("Expected sessions per participant").fill("1")
    wait_until(page, "document.getElementById('power-plan').textContent.includes('128 participants in total')")
    page.locator("#id_variants-0-name").fill("iso")
    page.locator("#id_variants-0-strategy").select_option("iso")
    page.locator('input[name="_continue"]').click()
    page.wait_for_url(re.compile(r".*/admin/experiments/experiment/\d+/change/"))
    experiment_id = re.search(r"/experiment/(\d+)/change/", page.url).group(1)

    # starting with one variant is refused with a reason; the one-click random control fixes it
    page.get_by_test_id("start-experiment").click()
    expect(page.get_by_text("needs at least two variants")).to_be_visible()
    page.get_by_test_id("add-control").click()
    expect(page.get_by_text("given a random control")).to_be_visible()
    page.get_by_test_id("start-experiment").click()
    expect(page.get_by_test_id("experiment-status")).to_have_text("Running")
    expect(page.get_by_text("variants are frozen")).to_be_visible()
    assert page.locator("#id_variants-0-weight").count() == 0  # the variant rows are read-only now
    shot(page, "experiment-running")

    out = e2e_server.manage("simulate_experiment", experiment_id, "--participants", "60", "--tracks", "3")
    assert "60 participants took 60 sessions" in out

    page.get_by_test_id("results-link").click()
    page.wait_for_url(f"**/experiment/{experiment_id}/results/")
    page.get_by_test_id("recompute").click()
    expect(page.get_by_text("Analysis recomputed")).to_be_visible()
    verdict = page.get_by_test_id("verdict").inner_text()
    # 60 of the 128 planned participants: the always-valid result leads, nothing is a verdict yet
    assert verdict.startswith("Interim: 60 of 128 planned participants")
    assert "iso vs random (control): always-valid (mSPRT)" in verdict
    assert "reject H0 at α = 0.05" in verdict  # also matched by "not enough evidence to reject H0 at α = 0.05"
    assert re.search(r"confidence sequence -?\d", verdict)
    expect(page.get_by_test_id("interim-label").first).to_have_text("Fixed-horizon figures: interim, not a verdict.")
    expect(page.get_by_test_id("unit-of-analysis")).to_contain_text("participant")
    expect(page.get_by_test_id("n-participants")).to_contain_text("60 (planned 128)")
    expect(page.get_by_test_id("observed-icc")).to_be_visible()
    expect(page.get_by_test_id("effective-n")).to_be_visible()
    table = page.get_by_test_id("analysis-table").first
    for method in ("Per protocol: difference in means", "Intention to treat", "Mann–Whitney U", "Bootstrap",
                   "Hedges' g", "CUPED", "mSPRT"):
        expect(table.get_by_text(method).first).to_be_visible()
    assert "sample ratio mismatch" in page.get_by_test_id("srm-status").inner_text()
    rows = page.get_by_test_id("variant-table").locator("tbody tr")
    assert rows.count() == 2
    for key in ("distribution", "forest", "cumulative"):
        expect(page.get_by_test_id(f"plot-{key}").locator("svg[role=img]")).to_be_visible()
    assert page.locator("#series-iso, [id^=series-iso]").count() >= 1
    assert page.get_by_text("demo-participant").count() == 0
    shot(page, "experiment-results")

    with page.expect_download() as download:
        page.get_by_test_id("export-sessions").click()
    text = open(download.value.path(), encoding="utf-8").read()
    assert text.splitlines()[0].startswith("participant_code,session_id,variant")
    assert len(text.splitlines()) == 61 and "sim-" not in text
    assert page.js_errors == []
