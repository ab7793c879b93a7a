"""Simulated participants take real listening sessions in a running experiment (DEBUG or --yes).

    manage.py simulate_experiment EXPERIMENT_ID --participants 60 [--sessions 1] [--tracks 4] [--seed 0] [--yes]

The simulation model (what effect each strategy has) is documented in
studies/experiments/simulation.py. The analysis is recomputed at the end.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from studies.experiments import conf
from studies.experiments.models import Experiment
from studies.experiments.services import analysis_compute
from studies.experiments.simulation import simulation_run


class Command(BaseCommand):
    help = "Create simulated participants (research consent on) who take sessions in a running experiment."

    def add_arguments(self, parser):
        parser.add_argument("experiment_id", type=int)
        parser.add_argument("--participants", type=int, required=True)
        parser.add_argument("--sessions", type=int, default=1, help="sessions per participant")
        parser.add_argument("--tracks", type=int, default=4, help="tracks per session")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--yes", action="store_true", help="run even when DEBUG is off (adds fake people!)")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["yes"]:
            raise CommandError("This adds simulated people to the database: run it with DEBUG on, or pass --yes.")
        n = options["participants"]
        if not 1 <= n <= conf.SIMULATE_MAX_PARTICIPANTS:
            raise CommandError(f"--participants must be between 1 and {conf.SIMULATE_MAX_PARTICIPANTS}.")
        if not 1 <= options["sessions"] <= 20 or not 1 <= options["tracks"] <= 30:
            raise CommandError("--sessions must be 1..20 and --tracks 1..30.")
        experiment = Experiment.objects.filter(pk=options["experiment_id"]).first()
        if experiment is None:
            raise CommandError(f"No experiment with id {options['experiment_id']}.")
        try:
            report = simulation_run(experiment=experiment, participants=n, sessions_per_participant=options["sessions"],
                                    tracks=options["tracks"], seed=options["seed"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        split = ", ".join(f"{k}: {v}" for k, v in sorted(report.by_variant.items()))
        self.stdout.write(f"{report.participants} participants took {report.sessions} sessions "
                          f"({report.completed} completed, {report.abandoned} abandoned); "
                          f"{report.exposed_here} exposed in {experiment.name!r} ({split}).")
        snapshot = analysis_compute(experiment=experiment)
        self.stdout.write(f"Analysis #{snapshot.pk}: {snapshot.result['verdict']}")
