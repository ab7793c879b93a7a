"""Writes on the catalog, by domain; import each name from the module that defines it.

Every write that changes what the engine would see (tracks, features, labels) calls
`labels.catalog_touch()` so the per-process index cache (recommender/index_cache.py) rebuilds.

- labels: catalog version (catalog_touch/catalog_version/catalog_stamp), label writes, prior labels
- imports: import runs, CSV import, audio import
- demo_catalog: the demo catalog
- playlists: playlist_create and friends, privacy erasure and export
- history: the listener's imported streaming history
- gan: GAN training
"""
