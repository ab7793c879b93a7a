"""manage.py load_demo_catalog [--count N]: the music21 demo catalog (cached under var/demo_catalog/)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from recommender import conf
from recommender.services.demo_catalog import demo_catalog_load


class Command(BaseCommand):
    help = "Render real compositions from music21's corpus into short clips and load them as catalog tracks."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=conf.DEMO_CATALOG_SIZE)
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args, count: int, workers: int, **options):
        self.stdout.write(demo_catalog_load(count=count, workers=workers, stdout=self.stdout))
