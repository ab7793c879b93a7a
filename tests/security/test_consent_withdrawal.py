"""Defect 8 of issue 13 (consent): a participant who withdrew the research consent still
appeared, by participant code, in stored label-run figures until the next run."""

from __future__ import annotations

import pytest

from studies.surveys.models import LabelRun, RunKind


def _rater(code: str) -> dict:
    return {"code": code, "n_ratings": 12, "reliability": 0.8, "weight": 1.0, "attention_checks": 1,
            "attention_failures": 0, "reasons": []}


@pytest.mark.django_db
def test_withdrawing_research_consent_drops_the_person_from_stored_label_runs(
    client, make_user, django_capture_on_commit_callbacks
):
    leaving = make_user(username="leaving-rater", research_data=True)
    staying = make_user(username="staying-rater", research_data=True)
    runs = [
        LabelRun.objects.create(kind=RunKind.AGGREGATE, status="done", figures={
            "alpha": 0.61, "raters": [_rater(leaving.participant_code), _rater(staying.participant_code)]})
        for _ in range(2)
    ]
    other = LabelRun.objects.create(kind=RunKind.AGGREGATE, status="done",
                                    figures={"raters": [_rater(staying.participant_code)]})
    client.force_login(leaving)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.patch("/api/me/consents/", {"research_data": False}, content_type="application/json")
    assert answer.status_code == 200
    for run in runs:
        run.refresh_from_db()
        assert [r["code"] for r in run.figures["raters"]] == [staying.participant_code]
        assert run.figures["raters_withdrawn"] == 1 and run.figures["alpha"] == 0.61
    other.refresh_from_db()
    assert "raters_withdrawn" not in other.figures
    assert not LabelRun.objects.filter(figures__icontains=leaving.participant_code).exists()
