"""Consent revocation, the person's data export/erasure, and the researcher's dashboard panel."""

from __future__ import annotations

from django.urls import reverse

from accounts.services import consent_set, user_erase, user_export
from studies.experiments import selectors, services
from studies.experiments.models import AnalysisResult, Exposure
from studies.listening.hooks import choose_strategy


def _sessions(users, make_session):
    for user in users:
        choice = choose_strategy(user=user, mode="personal")
        session = make_session(user, post=(0.0, 0.0), status="completed", strategy=choice.strategy,
                               assignment_ref=choice.assignment_ref)
        choice.on_session_started(session)


def test_revoking_research_consent_removes_sessions_from_analysis_and_exports(make_experiment, consenting,
                                                                              make_session, researcher):
    exp = make_experiment(start=True)
    users = [consenting() for _ in range(6)]
    _sessions(users, make_session)
    leaver = users[0]
    consent_set(user=leaver, purpose="research_data", granted=False)
    snapshot = services.analysis_compute(experiment=exp)
    assert snapshot.result["n_sessions"] == 5
    rows = list(selectors.session_rows(viewer=researcher, experiment=exp))
    assert len(rows) == 5 and leaver.participant_code not in {r[0] for r in rows}
    assert sum(c.sessions for c in selectors.exposure_counts(viewer=researcher, experiment=exp).values()) == 5
    # and no new assignment for them
    assert choose_strategy(user=leaver, mode="personal") is None


def test_selectors_refuse_non_researchers(make_experiment, participant):
    import pytest
    from django.core.exceptions import PermissionDenied

    exp = make_experiment()
    with pytest.raises(PermissionDenied):
        list(selectors.session_rows(viewer=participant, experiment=exp))
    with pytest.raises(PermissionDenied):
        selectors.experiments_panel_for(viewer=participant)


def test_export_and_erasure_of_a_persons_exposures(make_experiment, make_user, make_session, settings):
    exp = make_experiment(start=True)
    kept = make_user("participant", research_data=True)
    gone = make_user("participant", research_data=True)
    _sessions([kept, gone], make_session)
    data = user_export(user=kept)
    section = data.get("experiment_exposures") or data.get("sections", {}).get("experiment_exposures")
    assert section and section[0]["experiment"] == exp.name and "participant_code" not in section[0]
    consent_set(user=gone, purpose="research_data", granted=False)
    user_erase(user=gone)
    assert not Exposure.objects.filter(user=gone).exists()
    user_erase(user=kept)  # research_data on: the exposure stays, keyed by participant code
    assert Exposure.objects.filter(user=kept).count() == 1


def test_dashboard_panel_for_researchers_only(client, researcher, participant, make_experiment, consenting,
                                              make_session):
    exp = make_experiment(start=True)
    _sessions([consenting() for _ in range(4)], make_session)
    services.analysis_compute(experiment=exp)
    client.force_login(researcher)
    page = client.get(reverse("dashboard")).content.decode()
    assert 'id="panel-experiments"' in page and exp.name in page
    assert reverse("admin:experiments_experiment_results", args=[exp.pk]) in page
    assert AnalysisResult.objects.get(experiment=exp).result["verdict"][:40] in page
    client.force_login(participant)
    assert 'id="panel-experiments"' not in client.get(reverse("dashboard")).content.decode()
