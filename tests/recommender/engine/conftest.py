"""Engine fixtures: real arrays from the synthetic catalog generator (no database)."""

from __future__ import annotations

import pytest

from recommender.engine.index import build_index
from recommender.engine.synthetic import synthetic_catalog


@pytest.fixture(scope="session")
def catalog():
    return synthetic_catalog(3000, seed=11)


@pytest.fixture(scope="session")
def index(catalog):
    return build_index(**catalog.as_kwargs())


@pytest.fixture(scope="session")
def brute_index(catalog, index):
    brute = build_index(**catalog.as_kwargs(), search="brute")
    brute._cache = index._cache  # same fitted cluster models; only the neighbour search differs
    return brute
