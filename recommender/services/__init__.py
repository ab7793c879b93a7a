"""Writes on the catalog: labels, the catalog version, imports and playlists.

Every write that changes what the engine would see (tracks, features, labels) calls
`catalog_touch()` so the per-process index cache (recommender/index_cache.py) rebuilds.

The code lives in submodules by domain; this package re-exports their public names, so
`from recommender.services import playlist_create` keeps working:

- labels: catalog version (catalog_touch/_version/_stamp), label writes, prior labels
- imports: import runs, CSV import, audio import
- demo_catalog: the demo catalog
- playlists: playlist_create and friends, privacy erasure and export
- gan: GAN training

A monkeypatch must target the submodule that looks the name up, e.g.
`recommender.services.imports.catalog_touch`, not this package.
"""

from recommender.services.demo_catalog import demo_catalog_load
from recommender.services.gan import gan_train
from recommender.services.imports import (
    audio_files_in,
    csv_import_start,
    import_run_create,
    track_fields_from_descriptors,
    track_upsert_from_audio,
    tracks_import_audio,
    tracks_import_csv,
)
from recommender.services.labels import (
    catalog_stamp,
    catalog_touch,
    catalog_version,
    prior_labels_fill,
    track_label_set,
    track_labels_bulk_set,
)
from recommender.services.playlists import (
    GAN_NOT_TRAINED,
    constraints_with_profile,
    playlist_create,
    playlist_delete,
    playlists_erase,
    playlists_export,
)

__all__ = [
    "GAN_NOT_TRAINED",
    "audio_files_in",
    "catalog_stamp",
    "catalog_touch",
    "catalog_version",
    "constraints_with_profile",
    "csv_import_start",
    "demo_catalog_load",
    "gan_train",
    "import_run_create",
    "playlist_create",
    "playlist_delete",
    "playlists_erase",
    "playlists_export",
    "prior_labels_fill",
    "track_fields_from_descriptors",
    "track_label_set",
    "track_labels_bulk_set",
    "track_upsert_from_audio",
    "tracks_import_audio",
    "tracks_import_csv",
]
