"""manage.py survey_demo_tracks [--count N] [--no-analysis] [--survey]: a few synthesized tracks with audio."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from studies.surveys.demo import SKETCHES, demo_survey_ensure, demo_tracks_ensure


class Command(BaseCommand):
    help = "Create a few tiny synthesized tracks with audio (and optionally open a demo survey over them)."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=6, help=f"1 to {len(SKETCHES)} tracks")
        parser.add_argument("--no-analysis", action="store_true", help="Skip the librosa audio descriptors (faster).")
        parser.add_argument("--survey", action="store_true", help="Also open the demo survey over these tracks.")

    def handle(self, *args, count: int, no_analysis: bool, survey: bool, **options):
        try:
            tracks = demo_tracks_ensure(count=count, analyse=not no_analysis)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        for track in tracks:
            self.stdout.write(f"track {track.pk}: {track.title} ({track.audio_file.name})")
        if survey:
            opened = demo_survey_ensure(tracks=tracks)
            self.stdout.write(f"survey {opened.pk}: {opened.title} ({opened.get_status_display()})")
