"""Long CSV, codebook, .sav and entry-log exports, read back with pandas and pyreadstat and
compared with the database; streaming in bounded memory; the STAI-6 change analysed."""

from __future__ import annotations

import io
import json
import tracemalloc

import pandas as pd
import pyreadstat
import pytest

from studies.recruitment import exports, services
from studies.recruitment.models import InstrumentResponse
from tests.recruitment.conftest import SAM_ANSWER

STAI_KEYS = ("calm", "tense", "upset", "relaxed", "content", "worried")


def stai(calm, tense, upset, relaxed, content, worried):
    return dict(zip(STAI_KEYS, (calm, tense, upset, relaxed, content, worried), strict=True))


def run_participant(link, i, *, pre, post, play_session, variant=None):
    """One recruited participant through the services: enter, consent, pre, session, post, finish."""
    result = services.enrollment_enter(link=link, params=services.EntryParams(external_id=f"{i:024x}"))
    e = services.enrollment_consent(enrollment=result.enrollment, consent=True, eligible=True)
    services.instrument_submit(enrollment=e, instrument="stai6", phase="pre", answers=pre)
    services.instrument_submit(enrollment=e, instrument="sam", phase="pre", answers=SAM_ANSWER)
    session = play_session(e.user, link.experiment, variant=variant)
    services.instrument_submit(enrollment=e, instrument="stai6", phase="post", answers=post)
    services.instrument_submit(enrollment=e, instrument="sam", phase="post", answers={**SAM_ANSWER, "pleasure": 7})
    services.enrollment_complete(enrollment=e)
    return e, session


@pytest.fixture
def study(running_experiment, make_link, play_session):
    link = make_link(running_experiment)
    variants = list(running_experiment.variants.order_by("id"))
    people = []
    answers = [
        (stai(1, 4, 3, 2, 1, 4), stai(3, 2, 2, 3, 3, 2)),
        (stai(2, 3, 3, 2, 2, 3), stai(4, 1, 1, 4, 4, 1)),
        (stai(1, 4, 4, 1, 1, 4), stai(2, 3, 2, 3, 2, 2)),
        (stai(2, 2, 2, 2, 2, 2), stai(3, 2, 1, 3, 3, 1)),
    ]
    for i, (pre, post) in enumerate(answers):
        people.append(run_participant(link, i + 1, pre=pre, post=post, play_session=play_session,
                                      variant=variants[i % 2]))
    return link, people


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.django_db
class TestStudyExports:
    def test_long_csv_matches_the_database(self, client, researcher, study):
        link, people = study
        client.force_login(researcher)
        response = client.get(f"/research/experiment/{link.experiment_id}/long.csv")
        assert response.status_code == 200
        frame = pd.read_csv(io.BytesIO(_body(response)), keep_default_na=False, dtype=str)
        assert tuple(frame.columns) == exports.LONG_COLUMNS
        assert set(frame["participant_code"]) == {e.participant_code for e, _ in people}
        for r in InstrumentResponse.objects.filter(instrument="stai6"):
            rows = frame[(frame.participant_code == r.participant_code) & (frame.phase == r.phase)
                         & (frame.variable == "stai6_total")]
            assert len(rows) == 1 and float(rows.value.iloc[0]) == pytest.approx(r.scores["total"], abs=1e-6)
            assert rows.unit_id.iloc[0] == str(r.session_id)
            calm = frame[(frame.participant_code == r.participant_code) & (frame.phase == r.phase)
                         & (frame.variable == "stai6_calm")]
            assert int(calm.value.iloc[0]) == r.answers["calm"]  # raw answer, not reverse-scored
        # SAM items are their own scores: no duplicate score rows
        assert not frame.variable.str.startswith("sam_").any() or "sam_pleasure" in set(frame.variable)
        assert (frame.variable == "sam_pleasure").sum() == 2 * len(people)
        # session measures, one row per session and variable, with the variant
        sessions = frame[frame.variable == "session_completed"]
        assert len(sessions) == len(people) and set(sessions.value) == {"1"}
        assert set(frame[frame.unit == "session"].variant) == {v.name for v in link.experiment.variants.all()}
        assert not frame.participant_code.str.startswith("r-").any()  # never a pseudonym

    def test_codebook_csv_and_json(self, client, researcher, study):
        link, _ = study
        client.force_login(researcher)
        cb = pd.read_csv(io.BytesIO(_body(client.get(f"/research/experiment/{link.experiment_id}/codebook.csv"))),
                         keep_default_na=False, dtype=str).set_index("variable")
        assert cb.loc["stai6_calm", "value_labels"].startswith("1 = Not at all; 2 = Somewhat")
        assert "reverse-scored" in cb.loc["stai6_calm", "label"]
        assert cb.loc["stai6_total", "allowed_values"] == "20–80"
        assert cb.loc["stai6_total", "direction"] == "lower_is_better"
        assert cb.loc["stai6_total", "sav_columns"] == "stai6_total_pre stai6_total_post"
        assert cb.loc["sam_pleasure", "allowed_values"] == "1–9"
        assert cb.loc["session_valence_change", "unit"] == "circumplex units"
        doc = json.loads(_body(client.get(f"/research/experiment/{link.experiment_id}/codebook.json")))
        assert "read.csv(" in doc["r"] and 'na.strings = ""' in doc["r"]
        assert {v["name"] for v in doc["variables"]} == set(cb.index)
        assert doc["instruments"]["stai6"]["reference"].startswith("Marteau & Bekker (1992)")
        # every variable of the long CSV is in the codebook
        long = pd.read_csv(io.BytesIO(_body(client.get(f"/research/experiment/{link.experiment_id}/long.csv"))),
                           keep_default_na=False, dtype=str)
        assert set(long.variable) <= set(cb.index)

    def test_sav_carries_values_and_labels(self, client, researcher, study, tmp_path):
        link, people = study
        client.force_login(researcher)
        response = client.get(f"/research/experiment/{link.experiment_id}/data.sav")
        assert response.status_code == 200
        path = tmp_path / "study.sav"
        path.write_bytes(_body(response))
        frame, meta = pyreadstat.read_sav(str(path))
        assert len(frame) == len(people)  # one row per participant and session
        labels = meta.column_names_to_labels
        assert labels["stai6_total_pre"] == "STAI-6 state anxiety (20–80) (pre)"
        assert meta.variable_value_labels["stai6_calm_pre"][1.0] == "Not at all"
        assert meta.variable_value_labels["stai6_calm_post"][4.0] == "Very much"
        for r in InstrumentResponse.objects.filter(instrument="stai6"):
            row = frame[frame.participant_code == r.participant_code].iloc[0]
            assert row[f"stai6_total_{r.phase}"] == pytest.approx(r.scores["total"])
            assert row[f"stai6_worried_{r.phase}"] == r.answers["worried"]
            assert row["unit_id"] == str(r.session_id)

    def test_entry_log_for_payment(self, client, researcher, study):
        link, people = study
        client.force_login(researcher)
        log = pd.read_csv(io.BytesIO(_body(client.get(f"/research/links/{link.pk}/entries.csv"))),
                          keep_default_na=False, dtype=str)
        done = log[log.event == "completed"]
        assert set(done.participant_code) == {e.participant_code for e, _ in people}
        assert set(done.code) == {"C1A2B3"}
        # a researcher reconciles by hashing the service's ids with the link's salt
        assert services.hash_external_id(salt=link.salt, external_id=f"{1:024x}") in set(done.external_id_hash)

    def test_only_researchers_export(self, client, participant, study):
        link, _ = study
        client.force_login(participant)
        assert client.get(f"/research/experiment/{link.experiment_id}/long.csv").status_code == 403
        assert client.get(f"/research/links/{link.pk}/entries.csv").status_code == 403

    def test_empty_experiment_gets_a_clear_message(self, client, researcher, make_experiment):
        empty = make_experiment(start=True)
        client.force_login(researcher)
        for url in (f"/research/experiment/{empty.pk}/long.csv", f"/research/experiment/{empty.pk}/data.sav"):
            response = client.get(url)
            assert response.status_code == 404 and b"no data to export yet" in response.content

    def test_withdrawn_consent_leaves_the_exports(self, client, researcher, study):
        from accounts.services import consent_set

        link, people = study
        gone = people[0][0]
        consent_set(user=gone.user, purpose="research_data", granted=False)
        client.force_login(researcher)
        frame = pd.read_csv(io.BytesIO(_body(client.get(f"/research/experiment/{link.experiment_id}/long.csv"))),
                            keep_default_na=False, dtype=str)
        assert gone.participant_code not in set(frame.participant_code)


@pytest.mark.django_db
def test_stai6_change_is_the_primary_metric_of_the_analysis(study, researcher, client):
    """The experiment's primary metric is the STAI-6 change; the results are computed on it."""
    from studies.experiments.services import analysis_compute

    link, people = study
    result = analysis_compute(experiment=link.experiment).result
    assert result["primary_metric"] == "instrument:stai6:total"
    assert "STAI-6" in result["metric_label"] and "lower is better" in result["metric_label"]
    assert result["n_sessions"] == len(people)
    # hand-computed per-session changes, by variant
    changes = services.instrument_change_by_session(session_ids=[s.pk for _, s in people],
                                                    metric="instrument:stai6:total")
    summaries = {v["name"]: v["summary"] for v in result["variants"]}
    from studies.experiments.models import Exposure

    for variant in link.experiment.variants.all():
        sessions = Exposure.objects.filter(variant=variant).values_list("session_id", flat=True)
        mean = sum(changes[s] for s in sessions) / len(sessions)
        assert summaries[variant.name]["mean"] == pytest.approx(mean)
    comparison = result["comparisons"][0]
    assert comparison["label"].startswith("STAI-6")
    # the participant is the unit (issue 10): one session each here, so the CR2-clustered
    # difference is the plain difference of the session means
    difference = comparison["primary"]["difference"]
    assert "CR2" in difference["method"]
    treatment = [changes[s] for s in Exposure.objects.filter(variant_id=comparison["variant_id"])
                 .values_list("session_id", flat=True)]
    control = [changes[s] for s in Exposure.objects.filter(variant__is_control=True).values_list("session_id", flat=True)]
    assert difference["effect"] == pytest.approx(sum(treatment) / len(treatment) - sum(control) / len(control))
    # the results page shows it
    client.force_login(researcher)
    page = client.get(f"/admin/experiments/experiment/{link.experiment_id}/results/")
    assert page.status_code == 200 and "STAI-6" in page.content.decode()
    assert f'href="/research/experiments/{link.experiment_id}/plan/" data-testid="plan-link"' in page.content.decode()


@pytest.mark.django_db
def test_long_csv_streams_100k_rows_in_bounded_memory(make_experiment, consenting):
    """100,002 long rows from 14,286 instrument answers: peak traced memory stays a small
    fraction of the output, so it does not grow with the study."""
    from studies.experiments.models import Exposure

    experiment = make_experiment(start=True)
    variant = experiment.variants.first()
    people = [consenting() for _ in range(10)]
    n_sessions = 7143
    Exposure.objects.bulk_create([
        Exposure(experiment=experiment, variant=variant, user=people[i % 10], session_id=10_000 + i,
                 participant_code=people[i % 10].participant_code) for i in range(n_sessions)], batch_size=2000)
    answers = {"calm": 2, "tense": 3, "upset": 1, "relaxed": 2, "content": 3, "worried": 2}
    InstrumentResponse.objects.bulk_create([
        InstrumentResponse(user=people[i % 10], participant_code=people[i % 10].participant_code,
                           session_id=10_000 + i, instrument="stai6", phase=phase, answers=answers,
                           scores={"total": 40.0})
        for i in range(n_sessions) for phase in ("pre", "post")], batch_size=2000)
    study = exports.Study("experiment", experiment)
    tracemalloc.start()
    try:
        lines = 0
        size = 0
        for line in exports.long_csv_lines(study):
            lines += 1
            size += len(line)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == 1 + n_sessions * 2 * 7
    assert size > 7_000_000
    # A whole-table load would hold every row as Python objects (several times the output size);
    # streaming holds one database chunk (exports.CHUNK rows) at a time.
    assert peak < size / 4, f"peak {peak / 1e6:.1f} MB for {size / 1e6:.1f} MB of CSV"


@pytest.mark.django_db
def test_instrument_change_as_a_secondary_metric(make_experiment, make_link, play_session):
    """Primary: valence change; secondary: the STAI-6 change, analysed (Holm) beside it."""
    from studies.experiments.services import analysis_compute

    experiment = make_experiment(start=True, primary_metric="valence_change",
                                 secondary_metrics=["instrument:stai6:total", "completion_rate"])
    link = make_link(experiment)
    variants = list(experiment.variants.order_by("id"))
    for i in range(6):
        run_participant(link, 100 + i, pre=stai(1, 4, 3, 2, 1, 4), post=stai(2 + i % 3, 2, 2, 3, 3, 2),
                        play_session=play_session, variant=variants[i % 2])
    result = analysis_compute(experiment=experiment).result
    secondary = {s["metric"]: s for s in result["comparisons"][0]["secondary"]}
    stai_row = secondary["instrument:stai6:total"]
    assert stai_row["error"] is None and stai_row["p_holm"] is not None
    assert "STAI-6" in stai_row["label"]
