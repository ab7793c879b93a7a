"""Simulated participants take real listening sessions in a running experiment (DEBUG or --yes).

    manage.py simulate_experiment EXPERIMENT_ID --participants 60 [--sessions-per-participant 1-10]
        [--icc 0.3] [--tracks 4] [--seed 0] [--yes]

``--sessions-per-participant LO-HI`` draws each participant's number of sessions uniformly from
LO..HI (``--sessions N`` is the older spelling of exactly N); ``--icc`` sets the share of the
simulated person-to-person variance, so the plan's assumptions (ICC, sessions per participant)
can be seen playing out on the results page (observed ICC, effective sample size).

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
        parser.add_argument("--sessions", type=int, default=None, help="exactly this many sessions per participant")
        parser.add_argument("--sessions-per-participant", default=None, metavar="LO-HI",
                            help="sessions per participant drawn uniformly from LO..HI (e.g. 1-10), or one number")
        parser.add_argument("--icc", type=float, default=None,
                            help="intra-class correlation of the simulated outcome, in [0, 1)")
        parser.add_argument("--tracks", type=int, default=4, help="tracks per session")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--yes", action="store_true", help="run even when DEBUG is off (adds fake people!)")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["yes"]:
            raise CommandError("This adds simulated people to the database: run it with DEBUG on, or pass --yes.")
        n = options["participants"]
        if not 1 <= n <= conf.SIMULATE_MAX_PARTICIPANTS:
            raise CommandError(f"--participants must be between 1 and {conf.SIMULATE_MAX_PARTICIPANTS}.")
        lo, hi = _session_range(options["sessions"], options["sessions_per_participant"])
        if not 1 <= lo <= hi <= 20 or not 1 <= options["tracks"] <= 30:
            raise CommandError("sessions per participant must lie within 1..20 (LO ≤ HI) and --tracks 1..30.")
        icc = options["icc"]
        if icc is not None and not 0.0 <= icc < 1.0:
            raise CommandError(f"--icc must lie in [0, 1); got {icc:g}.")
        experiment = Experiment.objects.filter(pk=options["experiment_id"]).first()
        if experiment is None:
            raise CommandError(f"No experiment with id {options['experiment_id']}.")
        try:
            report = simulation_run(experiment=experiment, participants=n, sessions_per_participant=(lo, hi),
                                    tracks=options["tracks"], seed=options["seed"], icc=icc)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        split = ", ".join(f"{k}: {v}" for k, v in sorted(report.by_variant.items()))
        self.stdout.write(f"{report.participants} participants took {report.sessions} sessions "
                          f"({report.completed} completed, {report.abandoned} abandoned); "
                          f"{report.exposed_here} exposed in {experiment.name!r} ({split}).")
        snapshot = analysis_compute(experiment=experiment)
        icc_seen = (snapshot.result.get("icc") or {})
        if icc_seen:
            self.stdout.write(f"Observed ICC {icc_seen['icc']:.2f} (assumed {experiment.assumed_icc:g}); effective "
                              f"sample size {icc_seen['effective_n']:.1f} of {icc_seen['n_sessions']} sessions.")
        self.stdout.write(f"Analysis #{snapshot.pk}: {snapshot.result['verdict']}")


def _session_range(exact: int | None, spec: str | None) -> tuple[int, int]:
    if exact is not None and spec is not None:
        raise CommandError("give --sessions or --sessions-per-participant, not both.")
    if spec is None:
        return (exact or 1, exact or 1)
    try:
        parts = [int(p) for p in spec.split("-")]
    except ValueError:
        raise CommandError(f"--sessions-per-participant must look like 1-10 or 3; got {spec!r}.") from None
    if len(parts) == 1:
        return parts[0], parts[0]
    if len(parts) != 2:
        raise CommandError(f"--sessions-per-participant must look like 1-10 or 3; got {spec!r}.")
    return parts[0], parts[1]
