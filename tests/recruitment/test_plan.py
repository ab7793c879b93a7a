"""The frozen analysis plan: written once at the first start, immutable, hashed, shown and exported."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.exceptions import PermissionDenied

from studies.experiments import services as experiments
from studies.recruitment import services
from studies.recruitment.models import AnalysisPlan


@pytest.mark.django_db
class TestFrozenPlan:
    def test_first_start_freezes_the_plan_with_its_hash(self, make_experiment, make_link):
        experiment = make_experiment(primary_metric="instrument:stai6:total", secondary_metrics=["completion_rate"])
        make_link(experiment)
        assert not AnalysisPlan.objects.exists()
        experiments.experiment_start(experiment=experiment)
        plan = AnalysisPlan.objects.get(experiment=experiment)
        doc = plan.plan
        assert plan.content_hash == hashlib.sha256(services.canonical_json(doc).encode()).hexdigest()
        assert doc["hypotheses"]["null"] == experiment.hypothesis_null
        assert doc["primary_metric"]["instrument"] == "stai6"
        assert doc["primary_metric"]["direction"] == "lower_is_better"
        assert [m["name"] for m in doc["secondary_metrics"]] == ["completion_rate"]
        assert sorted(v["name"] for v in doc["variants"]) == ["iso", "random (control)"]
        assert sum(v["allocation"] for v in doc["variants"]) == pytest.approx(1.0)
        assert doc["alpha"] == 0.05 and doc["planned_sample_size"] == experiment.__class__.objects.get(
            pk=experiment.pk).planned_sample_size
        assert doc["instruments"] == ["sam", "stai6"]
        # pause and restart: the plan is not rewritten
        experiments.experiment_pause(experiment=experiment)
        experiments.experiment_start(experiment=experiment)
        assert AnalysisPlan.objects.get(experiment=experiment).frozen_at == plan.frozen_at

    def test_plan_is_immutable(self, make_experiment):
        experiment = make_experiment(start=True)
        plan = AnalysisPlan.objects.get(experiment=experiment)
        plan.plan = {"alpha": 0.5}
        with pytest.raises(PermissionDenied):
            plan.save()
        with pytest.raises(PermissionDenied):
            AnalysisPlan.objects.filter(pk=plan.pk).update(content_hash="x")
        with pytest.raises(PermissionDenied):
            plan.delete()

    def test_deviations_are_shown(self, make_experiment, make_session):
        experiment = make_experiment(start=True)
        plan = AnalysisPlan.objects.get(experiment=experiment)
        assert services.plan_deviations(plan=plan, experiment=experiment, analysed_sessions=0) == []
        experiments.experiment_stop(experiment=experiment)
        experiment.refresh_from_db()
        out = services.plan_deviations(plan=plan, experiment=experiment, analysed_sessions=6, analysed_participants=3)
        assert any("before the planned size" in d and "Stopped at 3 of the" in d and "participants" in d for d in out)
        assert plan.plan["unit_of_analysis"].startswith("participant") and plan.plan["planned_participants"]
        # a tampered stored plan no longer matches its hash
        tampered = AnalysisPlan(experiment=experiment, plan={**plan.plan, "alpha": 0.2}, content_hash=plan.content_hash)
        assert any("content hash" in d for d in services.plan_deviations(plan=tampered, experiment=experiment))

    def test_variants_cannot_be_added_after_the_start(self, make_experiment):
        from django.core.exceptions import ValidationError

        experiment = make_experiment(start=True)
        with pytest.raises(ValidationError, match="frozen"):
            experiments.variant_add(experiment=experiment, name="late", strategy="iso")

    def test_page_and_json_for_researchers_only(self, client, make_experiment, researcher, participant):
        experiment = make_experiment(start=True)
        plan = AnalysisPlan.objects.get(experiment=experiment)
        client.force_login(researcher)
        page = client.get(f"/research/experiments/{experiment.pk}/plan/")
        assert page.status_code == 200
        assert plan.content_hash.encode() in page.content and b"No deviation" in page.content
        body = json.loads(client.get(f"/research/experiments/{experiment.pk}/plan.json").content)
        assert body["content_hash"] == plan.content_hash and body["plan"] == plan.plan
        draft = make_experiment()
        assert client.get(f"/research/experiments/{draft.pk}/plan/").status_code == 404
        client.force_login(participant)
        assert client.get(f"/research/experiments/{experiment.pk}/plan/").status_code == 403
