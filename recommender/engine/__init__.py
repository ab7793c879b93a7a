"""Attune's playlist engine. Pure: numpy, scipy, scikit-learn (and TensorFlow, imported lazily
inside recommender.engine.gan only when a GAN is trained). Nothing here imports Django.

Import each name from the module that defines it:

- types: State, Constraints, PlaylistRequest, Playlist, Step, ListenerProfile, EngineError, STRATEGIES
- index: CatalogIndex and build_index (the arrays and search spaces a catalog is reduced to)
- core: build_playlist (validates a request, runs its strategy, explains the steps)
- strategies, clusters, personal, gan: the strategies themselves
- quality: how good a playlist is (coverage, endpoint, smoothness, evenness)
- synthetic: synthetic catalogs for tests and benchmarks
"""
