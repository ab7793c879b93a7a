"""Celery tasks of the recommender: catalog imports and model training. Thin: call services.

Heavy ML work is named `ml_*` so the settings route it to the `ml` queue.
"""

from __future__ import annotations

from pathlib import Path

from celery import shared_task


@shared_task(name="recommender.tasks.catalog_import_csv")
def catalog_import_csv(run_id: int, path: str | None = None) -> str:
    """Import a Spotify-layout CSV for an ImportRun (its uploaded file, or `path`)."""
    from recommender.models import ImportRun
    from recommender.services import tracks_import_csv

    run = ImportRun.objects.get(pk=run_id)
    source = Path(path) if path else Path(run.upload.path)
    run = tracks_import_csv(run=run, path=source)
    return run.status


@shared_task(name="recommender.tasks.ml_extract_audio_features")
def ml_extract_audio_features(run_id: int, folder: str) -> str:
    """Analyse a folder of audio files with librosa (emotion/audio.py) into catalog tracks."""
    from recommender.models import ImportRun
    from recommender.services import tracks_import_audio

    run = tracks_import_audio(run=ImportRun.objects.get(pk=run_id), folder=Path(folder))
    return run.status


@shared_task(name="recommender.tasks.ml_train_gan")
def ml_train_gan(epochs: int | None = None, seed: int = 0) -> dict:
    """Train the playlist GAN (design 004) on the catalog; stored under settings.MODELS_DIR."""
    from recommender.services import gan_train

    return gan_train(epochs=epochs, seed=seed)
