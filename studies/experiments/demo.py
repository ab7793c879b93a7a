"""Demo data for `manage.py load_demo` (DEBUG only): one iso-vs-random experiment with simulated
participants, left paused so the demo participant's own sessions stay their own choice."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from studies.experiments import services
from studies.experiments.models import Experiment
from studies.experiments.simulation import simulation_run

DEMO_NAME = "Demo: iso principle vs random order"
DEMO_PARTICIPANTS = 40


def demo_step(stdout) -> str:
    if Experiment.objects.filter(name=DEMO_NAME).exists():
        return f"{DEMO_NAME!r} exists already."
    experiment = services.experiment_create(
        name=DEMO_NAME,
        hypothesis_null="Iso-principle playlists move people toward their desired mood no more than random ones.",
        hypothesis_alt="Iso-principle playlists move people toward their desired mood more than random ones.",
        secondary_metrics=["completion_rate", "skip_rate", "reflection_rating"],
        minimum_detectable_effect=0.15, outcome_sd=0.3)
    services.variant_add_random_control(experiment=experiment)
    services.variant_add(experiment=experiment, name="iso", strategy="iso")
    try:
        services.experiment_start(experiment=experiment)
        report = simulation_run(experiment=experiment, participants=DEMO_PARTICIPANTS, tracks=3, seed=0)
    except ValidationError as exc:
        return f"demo experiment created but not simulated: {'; '.join(exc.messages)}"
    snapshot = services.analysis_compute(experiment=experiment)
    services.experiment_pause(experiment=experiment)
    return (f"{DEMO_NAME!r}: {report.sessions} simulated sessions, paused; results in the admin. "
            f"{snapshot.result['verdict'][:160]}")
