"""manage.py import_audio FOLDER: analyse wav/flac/ogg/mp3 files into catalog tracks."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommender.models import ImportKind, ImportRun, RunStatus
from recommender.services.imports import import_run_create
from recommender.tasks import ml_extract_audio_features


class Command(BaseCommand):
    help = "Import a folder of audio files: librosa descriptors per file; unreadable files are reported and skipped."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--queue", action="store_true", help="Send the work to the Celery ml queue and return.")

    def handle(self, *args, folder: Path, queue: bool, **options):
        if not folder.is_dir():
            raise CommandError(f"No such folder: {folder}")
        run = import_run_create(kind=ImportKind.AUDIO, source_name=str(folder.resolve()))
        if queue:
            ml_extract_audio_features.delay(run.pk, str(folder.resolve()))
            self.stdout.write(f"Import #{run.pk} queued; follow it in the admin (Import runs).")
            return
        ml_extract_audio_features.apply(args=(run.pk, str(folder.resolve())))
        run = ImportRun.objects.get(pk=run.pk)
        if run.status != RunStatus.DONE:
            raise CommandError(f"Import #{run.pk} failed: {run.message}")
        for problem in run.report.get("files", []):
            self.stdout.write(f"  skipped {problem['file']}: {problem['message']}")
        self.stdout.write(self.style.SUCCESS(f"Import #{run.pk}: {run.message}"))
