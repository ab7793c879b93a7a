"""Import a song-emotion data set from a CSV file: soft GEMS, Emotify-layout per-rater answers,
valence/arousal on a scale, or tags (examples in docs/datasets/)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from studies.surveys.datasets import dataset_import_create, dataset_import_run
from studies.surveys.models import DatasetShape, RunStatus


class Command(BaseCommand):
    help = "Import a labelled song-emotion data set (e.g. Emotify, DEAM, PMEmo) into the catalog's dataset labels."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--name", required=True)
        parser.add_argument("--shape", required=True, choices=DatasetShape.values)
        parser.add_argument("--licence", default="", help="licence and citation note")
        parser.add_argument("--scale", default="1-9", help="valence/arousal scale LO-HI (default 1-9)")
        parser.add_argument("--tag-map", type=Path, help="JSON file {tag: {emotion: weight}} for the tags shape")

    def handle(self, *args, path: Path, name: str, shape: str, licence: str, scale: str, tag_map: Path | None, **opts):
        try:
            lo, hi = (float(x) for x in scale.split("-", 1))
        except ValueError:
            raise CommandError(f"--scale takes LO-HI, e.g. 1-9; got {scale!r}") from None
        try:
            data = path.read_bytes()
            mapping = json.loads(tag_map.read_text()) if tag_map else None
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(str(exc)) from None
        try:
            dataset = dataset_import_create(name=name, shape=shape, data=data, source_name=path.name, licence_note=licence,
                                            scale=(lo, hi), tag_map=mapping)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        dataset = dataset_import_run(dataset_id=dataset.pk)
        for line in dataset.errors:
            self.stderr.write(line)
        if dataset.status != RunStatus.DONE:
            raise CommandError(dataset.message)
        self.stdout.write(self.style.SUCCESS(dataset.message))
