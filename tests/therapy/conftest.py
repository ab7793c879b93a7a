"""Fixtures for the therapy tests: the listening tests' catalog and session factory, and the
recommender tests' labelled catalog with a fresh index cache per test (therapy builds playlists
through the recommender and plays them through studies.listening)."""

from tests.listening.conftest import catalog, make_session  # noqa: F401
from tests.recommender.conftest import _fresh_index_cache, labelled_catalog  # noqa: F401
