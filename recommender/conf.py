"""Recommender settings: module-level values read from django.conf.settings with defaults.

Override any of them in the environment-driven settings as `ATTUNE_<NAME>`.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

# Feature columns the engine's catalog index uses, in order. A name is either a Track column
# (valence, energy, danceability, acousticness, instrumentalness, speechiness, liveness,
# loudness, tempo, key, mode, time_signature) or "desc:<descriptor name>" for a value in
# Track.descriptors (see emotion/audio.py DESCRIPTOR_NAMES). Columns no track has are dropped
# when the index is built. Changing this list is configuration, not code.
INDEX_FEATURES: tuple[str, ...] = tuple(
    getattr(
        settings,
        "ATTUNE_RECOMMENDER_INDEX_FEATURES",
        (
            "valence",
            "energy",
            "danceability",
            "acousticness",
            "instrumentalness",
            "loudness",
            "tempo",
            "mode",
            "desc:rms_mean",
            "desc:spectral_centroid_mean",
            "desc:onset_rate",
            "desc:mode_strength",
            "desc:tempogram_mean",
        ),
    )
)

# Catalog import.
IMPORT_MAX_BYTES: int = int(getattr(settings, "ATTUNE_CATALOG_IMPORT_MAX_BYTES", 200 * 1024 * 1024))
IMPORT_BATCH_SIZE: int = int(getattr(settings, "ATTUNE_CATALOG_IMPORT_BATCH_SIZE", 2000))
IMPORT_MAX_REPORTED_ERRORS: int = int(getattr(settings, "ATTUNE_CATALOG_IMPORT_MAX_REPORTED_ERRORS", 500))
AUDIO_EXTENSIONS: tuple[str, ...] = tuple(
    getattr(settings, "ATTUNE_CATALOG_AUDIO_EXTENSIONS", (".wav", ".flac", ".ogg", ".mp3"))
)
AUDIO_MAX_SECONDS: float = float(getattr(settings, "ATTUNE_CATALOG_AUDIO_MAX_SECONDS", 30.0))
# A track's audio uploaded in the admin (checked by content: recommender/uploads.py).
AUDIO_UPLOAD_MAX_BYTES: int = int(getattr(settings, "ATTUNE_CATALOG_AUDIO_UPLOAD_MAX_BYTES", 50 * 1024 * 1024))
AUDIO_UPLOAD_MAX_SECONDS: float = float(getattr(settings, "ATTUNE_CATALOG_AUDIO_UPLOAD_MAX_SECONDS", 30 * 60.0))

# Demo catalog (music21 corpus rendered to short clips), built once and cached.
DEMO_CATALOG_DIR: Path = Path(getattr(settings, "ATTUNE_DEMO_CATALOG_DIR", settings.VAR_DIR / "demo_catalog"))
DEMO_CATALOG_SIZE: int = int(getattr(settings, "ATTUNE_DEMO_CATALOG_SIZE", 240))
DEMO_CLIP_SECONDS: float = float(getattr(settings, "ATTUNE_DEMO_CLIP_SECONDS", 20.0))

# Playlists.
MAX_PLAYLIST_TRACKS: int = int(getattr(settings, "ATTUNE_MAX_PLAYLIST_TRACKS", 100))
MAX_PLAYLIST_MINUTES: float = float(getattr(settings, "ATTUNE_MAX_PLAYLIST_MINUTES", 240.0))
DEFAULT_TRACK_SECONDS: float = float(getattr(settings, "ATTUNE_DEFAULT_TRACK_SECONDS", 200.0))

# GAN model (design 004), trained by recommender.tasks.ml_train_gan.
GAN_MODEL_PATH: Path = Path(getattr(settings, "ATTUNE_GAN_MODEL_PATH", Path(settings.MODELS_DIR) / "playlist_gan.npz"))
GAN_EPOCHS: int = int(getattr(settings, "ATTUNE_GAN_EPOCHS", 200))

# The listener's streaming-history upload (recommender/streaming_history.py).
HISTORY_MAX_UPLOAD_BYTES: int = int(getattr(settings, "ATTUNE_HISTORY_MAX_UPLOAD_BYTES", 50 * 1024 * 1024))
HISTORY_MAX_UNCOMPRESSED_BYTES: int = int(getattr(settings, "ATTUNE_HISTORY_MAX_UNCOMPRESSED_BYTES", 300 * 1024 * 1024))
HISTORY_BATCH_SIZE: int = int(getattr(settings, "ATTUNE_HISTORY_BATCH_SIZE", 5000))

# How long the links in an exported M3U play without a log-in (recommender/audio_links.py).
AUDIO_LINK_DAYS: float = float(getattr(settings, "ATTUNE_AUDIO_LINK_DAYS", 7))
