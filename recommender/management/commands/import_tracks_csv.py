"""manage.py import_tracks_csv PATH: import a Spotify-tracks-layout CSV into the catalog."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommender.models import ImportKind, RunStatus
from recommender.services.imports import import_run_create, tracks_import_csv


class Command(BaseCommand):
    help = "Upsert tracks from a CSV in the Spotify tracks data-set layout (by track_id); prints a row-level report."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--show-errors", type=int, default=20, help="How many row errors to print.")

    def handle(self, *args, path: Path, batch_size: int | None, show_errors: int, **options):
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        run = import_run_create(kind=ImportKind.CSV, source_name=str(path))
        run = tracks_import_csv(run=run, path=path, batch_size=batch_size)
        if run.status != RunStatus.DONE:
            raise CommandError(f"Import #{run.pk} failed: {run.message}")
        for error in run.report.get("errors", [])[:show_errors]:
            self.stdout.write(f"  line {error['line']}: {error['message']}")
        if run.report.get("columns_absent"):
            self.stdout.write(f"  columns not in the file (left empty): {', '.join(run.report['columns_absent'])}")
        self.stdout.write(self.style.SUCCESS(f"Import #{run.pk}: {run.message}"))
