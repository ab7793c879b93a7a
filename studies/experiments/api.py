"""Read-only API of studies.experiments: the latest analysis snapshot of one experiment.

Researchers only (studies.experiments.selectors decides). The snapshot is the same JSON the
results page renders: unit of analysis, participant counts, observed ICC, effective sample size,
the interim flag, per-protocol, intention-to-treat and sequential results. Data the analysis
cannot support yet (one arm empty, one participant, a within-subject experiment with one
variant) is stated in the snapshot's notes and errors, never a 500.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from studies.experiments import selectors


class ExperimentResultsApi(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, experiment_id: int):
        experiment = selectors.experiment_get(viewer=request.user, experiment_id=experiment_id)
        if experiment is None:
            raise Http404("No such experiment.")
        snapshot = selectors.latest_analysis(viewer=request.user, experiment=experiment)
        if snapshot is None:
            return Response({"experiment": experiment.pk, "computed_at": None, "result": None,
                             "message": "No analysis yet: it is computed every hour while the experiment runs."})
        result = {k: v for k, v in snapshot.result.items() if k != "plots"}
        return Response({"experiment": experiment.pk, "computed_at": snapshot.computed_at, "result": result})
