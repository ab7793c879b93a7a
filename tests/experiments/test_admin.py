"""The researcher's admin: create, start, results with plots, CSV exports; participants kept out."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse

from studies.experiments import services
from studies.experiments.models import AnalysisResult, Experiment, Exposure, Status
from studies.listening.hooks import choose_strategy


@pytest.fixture
def researcher_client(client, researcher):
    client.force_login(researcher)
    return client


def _run_sessions(experiment, users, make_session, *, effect=0.3):
    """Sessions through the hook, completed with a post mood; the iso arm moves further."""
    import numpy as np

    rng = np.random.default_rng(1)
    for user in users:
        choice = choose_strategy(user=user, mode="personal")
        assert choice is not None
        shift = 0.2 + (effect if choice.strategy == "iso" else 0.0) + float(rng.normal(0, 0.15))
        pre = (-0.5, -0.4)
        post = (min(1.0, pre[0] + shift), min(1.0, pre[1] + shift))
        session = make_session(user, pre=pre, target=(0.5, 0.5), post=post, status="completed",
                               strategy=choice.strategy, assignment_ref=choice.assignment_ref,
                               reflection_rating=int(rng.integers(1, 6)),
                               events=[("started", 0), ("completed", 0), ("started", 1), ("skipped", 1)])
        choice.on_session_started(session)


def test_create_experiment_with_variants_through_the_admin(researcher_client):
    url = reverse("admin:experiments_experiment_add")
    assert researcher_client.get(url).status_code == 200
    data = {
        "name": "iso vs random", "hypothesis_null": "iso shifts mood no more than random",
        "hypothesis_alt": "iso shifts mood more than random", "eligible_modes": "any",
        "primary_metric": "shift_toward_target", "secondary_metrics": ["completion_rate", "skip_rate"],
        "alpha": "0.05", "minimum_detectable_effect": "0.1", "outcome_sd": "0.3", "power": "0.8",
        "design": "between", "assumed_icc": "0.3", "sessions_per_participant": "4",
        "variants-TOTAL_FORMS": "2", "variants-INITIAL_FORMS": "0", "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
        "variants-0-name": "iso", "variants-0-strategy": "iso", "variants-0-params": "{}", "variants-0-weight": "1",
        "variants-1-name": "random", "variants-1-strategy": "random", "variants-1-params": "{}",
        "variants-1-weight": "1", "variants-1-is_control": "on",
    }
    response = researcher_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    exp = Experiment.objects.get(name="iso vs random")
    assert exp.secondary_metrics == ["completion_rate", "skip_rate"]
    assert exp.variants.count() == 2 and exp.planned_participants is not None
    # d = 1/3 needs 143 per arm at one session each; 4 sessions at ICC 0.3: design effect 1.9
    assert exp.planned_participants == 2 * 68 and exp.planned_sample_size == 4 * exp.planned_participants
    change = researcher_client.get(reverse("admin:experiments_experiment_change", args=[exp.pk]))
    body = change.content.decode()
    assert f"{exp.planned_participants} participants in total" in body and "Design effect 1.90" in body
    assert 'data-testid="power-curve"' in body and "Power against effective sample size" in body

    # an ICC outside [0, 1) is refused with a message, nothing saved
    for icc in ("1", "-0.1", "1.5"):
        response = researcher_client.post(url, {**data, "name": f"icc {icc}", "assumed_icc": icc})
        assert response.status_code == 200 and "[0, 1)" in response.content.decode()
        assert not Experiment.objects.filter(name=f"icc {icc}").exists()

    # oversized input is refused with a message, nothing saved
    huge = {**data, "name": "x" * 500}
    assert researcher_client.post(url, huge).status_code == 200
    big_params = {**data, "name": "big params", "variants-0-params": '{"k": "' + "y" * 5000 + '"}'}
    response = researcher_client.post(url, big_params)
    assert response.status_code == 200 and "too large" in response.content.decode()
    assert Experiment.objects.count() == 1

    # malformed params JSON and a bad strategy: the form says so, nothing saved
    bad = {**data, "name": "broken", "variants-0-params": "{not json", "variants-1-strategy": "nope"}
    response = researcher_client.post(url, bad)
    assert response.status_code == 200
    assert not Experiment.objects.filter(name="broken").exists()
    # duplicate name
    response = researcher_client.post(url, data)
    assert response.status_code == 200 and Experiment.objects.filter(name="iso vs random").count() == 1


def test_power_endpoint(researcher_client):
    url = reverse("admin:experiments_experiment_power")
    ok = researcher_client.get(url, {"alpha": 0.05, "mde": 0.15, "sd": 0.3, "power": 0.8, "weights": "1,1"})
    assert ok.status_code == 200 and ok.json()["participants"] == 128  # d = 0.5: 64 per arm, one session each
    clustered = researcher_client.get(url, {"alpha": 0.05, "mde": 0.15, "sd": 0.3, "power": 0.8, "weights": "1,1",
                                            "icc": 0.3, "sessions": 5})
    body = clustered.json()
    assert body["design_effect"] == pytest.approx(2.2)
    assert body["participants"] == 2 * 29 and body["sessions"] == 5 * 58  # ceil(64 · 2.2 / 5) per arm
    within = researcher_client.get(url, {"alpha": 0.05, "mde": 0.15, "sd": 0.3, "power": 0.8, "weights": "1,1",
                                         "icc": 0.3, "sessions": 4, "design": "within"})
    assert within.status_code == 200 and "every participant meeting every variant" in within.json()["text"]
    bad_icc = researcher_client.get(url, {"alpha": 0.05, "mde": 0.15, "sd": 0.3, "power": 0.8, "icc": 1})
    assert bad_icc.status_code == 400 and "[0, 1)" in bad_icc.json()["error"]
    for bad in ({"alpha": "x", "mde": 0.1, "sd": 0.3, "power": 0.8}, {"alpha": 0.05, "mde": 0.1, "sd": 0.3,
                "power": 0.8, "weights": "1,-2"}, {"alpha": 0.05, "mde": 0.1, "sd": 0.3, "power": 0.8,
                                                   "weights": "1," * 100}):
        response = researcher_client.get(url, bad)
        assert response.status_code == 400 and response.json()["error"]


def test_start_pause_stop_buttons_and_their_errors(researcher_client, make_experiment, catalog):
    exp = make_experiment(variants=(), control=False)
    do = lambda action: researcher_client.post(  # noqa: E731
        reverse("admin:experiments_experiment_do", args=[exp.pk, action]), follow=True)
    page = do("start").content.decode()
    assert "needs at least two variants" in page
    exp.refresh_from_db()
    assert exp.status == Status.DRAFT
    do("add-control")
    services.variant_add(experiment=exp, name="iso", strategy="iso")
    assert "started" in do("start").content.decode()
    exp.refresh_from_db()
    assert exp.status == Status.RUNNING
    page = researcher_client.get(reverse("admin:experiments_experiment_change", args=[exp.pk])).content.decode()
    assert "variants are frozen" in page and 'name="variants-0-weight"' not in page
    assert researcher_client.get(reverse("admin:experiments_experiment_do", args=[exp.pk, "stop"])).status_code == 405
    assert researcher_client.post(reverse("admin:experiments_experiment_do", args=[exp.pk, "explode"])).status_code == 404
    do("stop")
    exp.refresh_from_db()
    assert exp.status == Status.STOPPED


def test_results_page_and_exports_show_codes_only(researcher_client, make_experiment, consenting, make_session):
    exp = make_experiment(start=True, secondary_metrics=["completion_rate", "reflection_rating"])
    # participant codes are random: enrol until each arm has 12 (past the mSPRT burn-in of 10)
    users, per_arm = [], {}
    while len(per_arm) < 2 or min(per_arm.values()) < 12:
        user = consenting(username=f"secret-name-{len(users)}")
        planned = services.variant_plan_for(user=user, mode="personal")
        per_arm[planned.variant.pk] = per_arm.get(planned.variant.pk, 0) + 1
        users.append(user)
    _run_sessions(exp, users, make_session)
    results = reverse("admin:experiments_experiment_results", args=[exp.pk])
    assert "No analysis yet" in researcher_client.get(results).content.decode()
    response = researcher_client.post(reverse("admin:experiments_experiment_recompute", args=[exp.pk]), follow=True)
    page = response.content.decode()
    assert AnalysisResult.objects.filter(experiment=exp).count() == 1
    assert 'data-testid="verdict"' in page and ("reject H0" in page or "not enough evidence" in page)
    assert "participant-clustered" in page and "Mann–Whitney U" in page and "CUPED" in page and "mSPRT" in page
    # the unit of analysis, participant counts, observed ICC and effective sample size are stated
    assert 'data-testid="unit-of-analysis"' in page and "Unit</dt><dd>participant" in page
    n_people = len(users)
    assert f'data-testid="n-participants">{n_people} (planned {exp.planned_participants})' in page
    assert 'data-testid="observed-icc"' in page and 'data-testid="effective-n"' in page
    # one session per participant here: the ICC is not estimable, and the page says so instead of 0.000
    assert "not estimable yet" in page
    assert "Intention to treat" in page and 'data-testid="attrition"' in page
    # fewer participants than planned: the sequential result leads, fixed-horizon figures are interim
    assert n_people < exp.planned_participants
    assert "Interim result" in page and "interim, not a verdict" in page and 'data-testid="interim-label"' in page
    results_csv = b"".join(researcher_client.get(
        reverse("admin:experiments_experiment_export", args=[exp.pk, "results"])).streaming_content).decode()
    table = {(r["comparison"], r["quantity"]): r["value"] for r in csv.DictReader(io.StringIO(results_csv))}
    assert table[("", "unit of analysis")].startswith("participant")
    assert table[("", "participants")] == str(n_people) and table[("", "status")] == "interim, not a verdict"
    assert ("", "observed ICC") in table and ("", "effective sample size") in table
    assert "secret-name" not in results_csv
    api = researcher_client.get(reverse("experiment-results-api", args=[exp.pk]))
    assert api.status_code == 200 and api.json()["result"]["n_participants"] == n_people
    assert api.json()["result"]["unit_of_analysis"].startswith("participant") and "plots" not in api.json()["result"]
    assert "no sample ratio mismatch" in page.lower()
    for key in ("distribution", "forest", "cumulative"):
        assert f'data-testid="plot-{key}"' in page
    assert page.count('role="img" aria-labelledby="plot-') == 3
    assert "secret-name" not in page

    for url in (reverse("admin:experiments_experiment_changelist"),
                reverse("admin:experiments_exposure_changelist"),
                reverse("admin:experiments_experiment_change", args=[exp.pk])):
        body = researcher_client.get(url).content.decode()
        assert "secret-name" not in body
    exposure_page = researcher_client.get(reverse("admin:experiments_exposure_changelist")).content.decode()
    assert users[0].participant_code in exposure_page

    sessions_csv = b"".join(researcher_client.get(
        reverse("admin:experiments_experiment_export", args=[exp.pk, "sessions"])).streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(sessions_csv)))
    assert len(rows) == len(users) and "secret-name" not in sessions_csv
    assert {r["participant_code"] for r in rows} == {u.participant_code for u in users}
    assert "username" not in rows[0] and "user_id" not in rows[0]
    events_csv = b"".join(researcher_client.get(
        reverse("admin:experiments_experiment_export", args=[exp.pk, "events"])).streaming_content).decode()
    events = list(csv.DictReader(io.StringIO(events_csv)))
    assert len(events) == len(users) * 4 and {e["kind"] for e in events} == {"started", "completed", "skipped"}
    assert "secret-name" not in events_csv
    assert researcher_client.get(reverse("admin:experiments_experiment_export", args=[exp.pk, "users"])).status_code == 404
    assert researcher_client.get(reverse("admin:experiments_experiment_results", args=[99999])).status_code == 404


def test_participants_and_plain_staff_are_kept_out(client, participant, make_user, make_experiment):
    exp = make_experiment(start=True)
    urls = [reverse("admin:experiments_experiment_changelist"),
            reverse("admin:experiments_experiment_results", args=[exp.pk]),
            reverse("admin:experiments_experiment_export", args=[exp.pk, "sessions"]),
            reverse("admin:experiments_experiment_export", args=[exp.pk, "events"]),
            reverse("admin:experiments_experiment_power") + "?alpha=0.05&mde=0.1&sd=0.3&power=0.8"]
    for url in urls:
        assert client.get(url).status_code == 302  # anonymous: to the login page
    client.force_login(participant)
    for url in urls:
        assert client.get(url).status_code == 302  # not staff: to the admin login
    response = client.post(reverse("admin:experiments_experiment_do", args=[exp.pk, "stop"]))
    assert response.status_code == 302
    exp.refresh_from_db()
    assert exp.status == Status.RUNNING

    staff = make_user("participant")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client.force_login(staff)  # staff without the researchers group's permissions
    for url in urls:
        assert client.get(url).status_code == 403
    assert client.post(reverse("admin:experiments_experiment_recompute", args=[exp.pk])).status_code == 403
    assert not AnalysisResult.objects.exists()


def test_periodic_task_recomputes_running_experiments(make_experiment, consenting, make_session):
    from django_celery_beat.models import PeriodicTask

    from studies.experiments.tasks import analyses_recompute_running

    task = PeriodicTask.objects.get(task="studies.experiments.tasks.analyses_recompute_running")
    assert task.enabled and task.interval is not None
    running = make_experiment(start=True)
    make_experiment()  # draft: not analysed
    _run_sessions(running, [consenting() for _ in range(8)], make_session)
    ids = analyses_recompute_running.delay().get()
    assert len(ids) == 1
    snapshot = AnalysisResult.objects.get(pk=ids[0])
    assert snapshot.experiment_id == running.pk
    assert snapshot.result["n_sessions"] == 8 == Exposure.objects.filter(experiment=running).count()


def test_start_is_refused_when_a_variant_cannot_build_a_playlist(researcher_client, make_experiment, catalog):
    from recommender.models import Playlist

    exp = make_experiment(variants=(("gan", "gan", 1.0),))
    page = researcher_client.post(reverse("admin:experiments_experiment_do", args=[exp.pk, "start"]),
                                  follow=True).content.decode()
    assert "cannot start: variant &#x27;gan&#x27; (gan)" in page or "cannot start: variant 'gan' (gan)" in page
    exp.refresh_from_db()
    assert exp.status == Status.DRAFT and exp.started_at is None
    assert not Playlist.objects.exists()  # the pre-flight playlists were rolled back


def test_start_is_refused_on_an_empty_catalog(researcher_client, make_experiment):
    exp = make_experiment()
    page = researcher_client.post(reverse("admin:experiments_experiment_do", args=[exp.pk, "start"]),
                                  follow=True).content.decode()
    assert "cannot start" in page
    exp.refresh_from_db()
    assert exp.status == Status.DRAFT


def test_design_is_frozen_once_started(researcher_client, make_experiment):
    from django.core.exceptions import ValidationError

    exp = make_experiment(start=True)
    exp.alpha = 0.1
    with pytest.raises(ValidationError, match="frozen"):
        exp.full_clean()
    page = researcher_client.get(reverse("admin:experiments_experiment_change", args=[exp.pk])).content.decode()
    assert 'name="alpha"' not in page and 'name="hypothesis_null"' not in page and 'name="name"' in page
    # a crafted POST cannot change the frozen design
    researcher_client.post(reverse("admin:experiments_experiment_change", args=[exp.pk]), {
        "name": "renamed", "alpha": "0.2", "variants-TOTAL_FORMS": "2", "variants-INITIAL_FORMS": "2",
        "variants-MIN_NUM_FORMS": "0", "variants-MAX_NUM_FORMS": "1000",
        **{f"variants-{i}-id": str(v.pk) for i, v in enumerate(exp.variants.all())},
        **{f"variants-{i}-experiment": str(exp.pk) for i in range(2)}})
    exp.refresh_from_db()
    assert exp.alpha == 0.05


def test_srm_flag_shows_on_the_results_page(researcher_client, make_experiment, consenting, make_session):
    exp = make_experiment(start=True)
    _run_sessions(exp, [consenting() for _ in range(40)], make_session)
    control = exp.variants.get(is_control=True)
    # a logging bug sends almost everyone to the control: 38 vs 2 where 1:1 was planned
    ids = list(Exposure.objects.filter(experiment=exp).values_list("id", flat=True))
    Exposure.objects.filter(id__in=ids[:38]).update(variant=control)
    Exposure.objects.filter(id__in=ids[38:]).update(variant=exp.variants.exclude(pk=control.pk).get())
    page = researcher_client.post(reverse("admin:experiments_experiment_recompute", args=[exp.pk]),
                                  follow=True).content.decode()
    assert 'data-testid="srm-status" class="experiment-warning"' in page
    assert "Sample ratio mismatch: the split of participants does not match the weights" in page


def test_csv_cells_cannot_carry_formulas():
    from studies.experiments.exports import csv_lines, safe_cell

    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and safe_cell("@x") == "'@x"
    assert safe_cell(-0.5) == -0.5 and safe_cell(None) == "" and safe_cell("iso") == "iso"
    lines = list(csv_lines(["a", "b"], [("=1+1", 2)]))
    assert lines == ["a,b\r\n", "'=1+1,2\r\n"]


def test_experiment_export_neutralises_a_formula_title():
    from studies.experiments.exports import csv_response

    response = csv_response(experiment_name="=HYPERLINK(x)", what="events", header=["participant_code", "title", "n"],
                            rows=iter([("P-1", '=HYPERLINK("http://evil","x")', -3), ("P-2", "\t@x", 1.5)]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1] == ["P-1", "'=HYPERLINK(\"http://evil\",\"x\")", "-3"]
    assert rows[2] == ["P-2", "'\t@x", "1.5"]
    assert response["Content-Disposition"] == 'attachment; filename="hyperlinkx-events.csv"'


def test_power_endpoint_control_out_of_range(researcher_client):
    url = reverse("admin:experiments_experiment_power")
    response = researcher_client.get(url, {"alpha": 0.05, "mde": 0.1, "sd": 0.3, "power": 0.8, "weights": "1,1",
                                           "control": 5})
    assert response.status_code == 400 and "control" in response.json()["error"]


def test_old_snapshots_are_pruned(settings, make_experiment, monkeypatch):

    settings.ATTUNE_EXPERIMENT_SNAPSHOTS_KEPT = 2
    exp = make_experiment(start=True)
    ids = [services.analysis_compute(experiment=exp).pk for _ in range(4)]
    assert list(AnalysisResult.objects.filter(experiment=exp).order_by("id").values_list("id", flat=True)) == ids[2:]


def test_results_page_of_an_experiment_without_sessions(researcher_client, make_experiment):
    exp = make_experiment(start=True)
    page = researcher_client.post(reverse("admin:experiments_experiment_recompute", args=[exp.pk]),
                                  follow=True).content.decode()
    assert "not enough data yet" in page and 'data-testid="plot-' not in page
    assert "no exposures recorded yet" in page


def test_exposure_admin_hides_withdrawn_people_and_list_counts_in_one_query(
    researcher_client, make_experiment, consenting
):
    from accounts.services import consent_set
    from studies.experiments.models import Exposure

    exp = make_experiment(start=True)
    variant = exp.variants.first()
    stay, leave = consenting(), consenting()
    for n, user in enumerate([stay, leave, stay]):
        Exposure.objects.create(experiment=exp, variant=variant, user=user, session_id=9000 + n,
                                participant_code=user.participant_code)
    consent_set(user=leave, purpose="research_data", granted=False)
    page = researcher_client.get(reverse("admin:experiments_exposure_changelist")).content.decode()
    assert stay.participant_code in page and leave.participant_code not in page
    gone = Exposure.objects.get(user=leave)
    assert researcher_client.get(reverse("admin:experiments_exposure_change", args=[gone.pk])).status_code == 302

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:experiments_experiment_changelist")
    researcher_client.get(url)
    with CaptureQueriesContext(connection) as one:
        researcher_client.get(url)
    for i in range(4):  # more experiments must not mean more queries
        other = make_experiment(start=True)
        Exposure.objects.create(experiment=other, variant=other.variants.first(), user=stay, session_id=9100 + i,
                                participant_code=stay.participant_code)
    with CaptureQueriesContext(connection) as five:
        body = researcher_client.get(url).content.decode()
    assert len(five) == len(one)
    counts = re.findall(r'<td class="field-exposure_count">(\d+)</td>', body)
    assert sorted(counts) == ["1", "1", "1", "1", "2"]  # the withdrawn person's exposure is not counted


def test_within_subject_results_page_and_api_messages(researcher_client, make_experiment, consenting, make_session,
                                                       client, make_user):
    exp = make_experiment(design="within", sessions_per_participant=2, start=True)
    users, orders = [], {}
    while len(orders) < 2 or min(orders.values()) < 3:  # codes are random: enrol until both orders have 3
        user = consenting()
        order = services.crossover_order(participant_code=user.participant_code, salt=exp.salt, n_variants=2)
        orders[order] = orders.get(order, 0) + 1
        users.append(user)
    _run_sessions(exp, [u for u in users for _ in range(2)], make_session)  # one session per variant each
    page = researcher_client.post(reverse("admin:experiments_experiment_recompute", args=[exp.pk]),
                                  follow=True).content.decode()
    assert page.count("(within participant)") >= 1 and "Within-subject crossover" in page
    assert "Order groups: no sample ratio mismatch" in page  # SRM on the order groups
    api = researcher_client.get(reverse("experiment-results-api", args=[exp.pk])).json()
    cross = api["result"]["crossover"][0]
    assert cross["participants"] == len(users) and cross["error"] is None and cross["effect"] > 0.1  # iso moves further

    # an experiment with no analysis yet: a message, not an error
    fresh = make_experiment()
    empty = researcher_client.get(reverse("experiment-results-api", args=[fresh.pk]))
    assert empty.status_code == 200 and empty.json()["result"] is None and "No analysis yet" in empty.json()["message"]
    assert researcher_client.get(reverse("experiment-results-api", args=[99999])).status_code == 404
    assert researcher_client.get(reverse("admin:experiments_experiment_export",
                                         args=[fresh.pk, "results"])).status_code == 404
    # participants may not read results
    client.logout()
    client.force_login(make_user("participant"))
    assert client.get(reverse("experiment-results-api", args=[exp.pk])).status_code == 403
