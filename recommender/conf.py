"""Recommender settings: module-level values read from django.conf.settings with defaults.

Override any of them in the environment-driven settings as `ATTUNE_<NAME>`.

Declared once (config/app_settings.py) and read at call time: ``conf.NAME`` is
``settings.ATTUNE_...`` or its default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from config.app_settings import Setting, Settings

SETTINGS = Settings(
    Setting('INDEX_FEATURES', 'ATTUNE_RECOMMENDER_INDEX_FEATURES', tuple, ('valence', 'energy', 'danceability', 'acousticness', 'instrumentalness', 'loudness', 'tempo', 'mode', 'desc:rms_mean', 'desc:spectral_centroid_mean', 'desc:onset_rate', 'desc:mode_strength', 'desc:tempogram_mean'),
            'Feature columns the engine\'s catalog index uses, in order. A name is either a Track column (valence, energy, danceability, acousticness, instrumentalness, speechiness, liveness, loudness, tempo, key, mode, time_signature) or "desc:<descriptor name>" for a value in Track.descriptors (see emotion/audio.py DESCRIPTOR_NAMES). Columns no track has are dropped when the index is built. Changing this list is configuration, not code.'),
    Setting('IMPORT_MAX_BYTES', 'ATTUNE_CATALOG_IMPORT_MAX_BYTES', int, 200 * 1024 * 1024,
            'Catalog import.'),
    Setting('IMPORT_BATCH_SIZE', 'ATTUNE_CATALOG_IMPORT_BATCH_SIZE', int, 2000,
            'rows written per batch by a catalog import'),
    Setting('IMPORT_MAX_REPORTED_ERRORS', 'ATTUNE_CATALOG_IMPORT_MAX_REPORTED_ERRORS', int, 500,
            'row errors listed in an import report (the rest are counted)'),
    Setting('AUDIO_EXTENSIONS', 'ATTUNE_CATALOG_AUDIO_EXTENSIONS', tuple, ('.wav', '.flac', '.ogg', '.mp3'),
            'audio file types a folder import reads'),
    Setting('AUDIO_MAX_SECONDS', 'ATTUNE_CATALOG_AUDIO_MAX_SECONDS', float, 30.0,
            'seconds of each file analysed by a folder import'),
    Setting('AUDIO_UPLOAD_MAX_BYTES', 'ATTUNE_CATALOG_AUDIO_UPLOAD_MAX_BYTES', int, 50 * 1024 * 1024,
            "A track's audio uploaded in the admin (checked by content: recommender/uploads.py)."),
    Setting('AUDIO_UPLOAD_MAX_SECONDS', 'ATTUNE_CATALOG_AUDIO_UPLOAD_MAX_SECONDS', float, 30 * 60.0,
            'longest audio a track upload may be (seconds)'),
    Setting('DEMO_CATALOG_DIR', 'ATTUNE_DEMO_CATALOG_DIR', Path, lambda s: s.VAR_DIR / 'demo_catalog',
            'Demo catalog (music21 corpus rendered to short clips), built once and cached.'),
    Setting('DEMO_CATALOG_SIZE', 'ATTUNE_DEMO_CATALOG_SIZE', int, 240,
            'pieces in the demo catalog'),
    Setting('DEMO_CLIP_SECONDS', 'ATTUNE_DEMO_CLIP_SECONDS', float, 20.0,
            'length of each demo clip (seconds)'),
    Setting('MAX_PLAYLIST_TRACKS', 'ATTUNE_MAX_PLAYLIST_TRACKS', int, 100,
            'Playlists.'),
    Setting('MAX_PLAYLIST_MINUTES', 'ATTUNE_MAX_PLAYLIST_MINUTES', float, 240.0,
            'longest playlist in minutes'),
    Setting('DEFAULT_TRACK_SECONDS', 'ATTUNE_DEFAULT_TRACK_SECONDS', float, 200.0,
            'length assumed for a track whose duration is unknown (seconds)'),
    Setting('GAN_MODEL_PATH', 'ATTUNE_GAN_MODEL_PATH', Path, lambda s: Path(s.MODELS_DIR) / 'playlist_gan.npz',
            'GAN model (design 004), trained by recommender.tasks.ml_train_gan.'),
    Setting('GAN_EPOCHS', 'ATTUNE_GAN_EPOCHS', int, 200,
            'training epochs of the playlist GAN'),
    Setting('HISTORY_MAX_UPLOAD_BYTES', 'ATTUNE_HISTORY_MAX_UPLOAD_BYTES', int, 50 * 1024 * 1024,
            "The listener's streaming-history upload (recommender/streaming_history.py)."),
    Setting('HISTORY_MAX_UNCOMPRESSED_BYTES', 'ATTUNE_HISTORY_MAX_UNCOMPRESSED_BYTES', int, 300 * 1024 * 1024,
            'largest unpacked size of a streaming-history upload (bytes)'),
    Setting('HISTORY_BATCH_SIZE', 'ATTUNE_HISTORY_BATCH_SIZE', int, 5000,
            'plays written per batch by a streaming-history import'),
    Setting('AUDIO_LINK_DAYS', 'ATTUNE_AUDIO_LINK_DAYS', float, 7,
            'How long the links in an exported M3U play without a log-in (recommender/audio_links.py).'),
)


def __getattr__(name: str) -> Any:
    return SETTINGS.value(name)
