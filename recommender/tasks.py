"""Celery tasks of the recommender: catalog imports and model training. Thin: call services.

Tasks import the services (never the other way round); the one use case that queues a task,
`csv_import_start`, lives here beside the task it queues.

Heavy ML work is named `ml_*` so the settings route it to the `ml` queue.
"""

from __future__ import annotations

from pathlib import Path

from celery import shared_task
from django.db import transaction

from recommender.models import ImportKind, ImportRun
from recommender.services.gan import gan_train
from recommender.services.imports import import_run_create, tracks_import_audio, tracks_import_csv


@shared_task(name="recommender.tasks.catalog_import_csv")
def catalog_import_csv(run_id: int, path: str | None = None) -> str:
    """Import a Spotify-layout CSV for an ImportRun (its uploaded file, or `path`)."""
    run = ImportRun.objects.get(pk=run_id)
    source = Path(path) if path else Path(run.upload.path)
    run = tracks_import_csv(run=run, path=source)
    return run.status


@shared_task(name="recommender.tasks.ml_extract_audio_features")
def ml_extract_audio_features(run_id: int, folder: str) -> str:
    """Analyse a folder of audio files with librosa (emotion/audio.py) into catalog tracks."""
    run = tracks_import_audio(run=ImportRun.objects.get(pk=run_id), folder=Path(folder))
    return run.status


@shared_task(name="recommender.tasks.ml_train_gan")
def ml_train_gan(epochs: int | None = None, seed: int = 0) -> dict:
    """Train the playlist GAN (design 004) on the catalog; stored under settings.MODELS_DIR."""
    return gan_train(epochs=epochs, seed=seed)


def csv_import_start(*, upload, created_by=None) -> ImportRun:
    """Store an uploaded CSV, create its ImportRun and queue the import (runs at commit)."""
    with transaction.atomic():
        run = import_run_create(kind=ImportKind.CSV, source_name=upload.name, created_by=created_by, upload=upload)
        transaction.on_commit(lambda: catalog_import_csv.delay(run.pk))
    return run
