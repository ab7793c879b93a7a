"""ml_train_gan stores a model the gan strategy then uses."""

from __future__ import annotations

import json

from recommender import index_cache
from recommender.tasks import ml_train_gan


def test_train_gan_task_then_gan_strategy_works(api, labelled_catalog):
    result = ml_train_gan.delay(epochs=3, seed=1).get()
    assert index_cache.gan_model_path().exists() and result["rows"] == 60
    response = api.post(
        "/api/playlists/",
        json.dumps({"strategy": "gan", "start": {"emotion": "sadness"}, "target": {"emotion": "power"}, "n_tracks": 4}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert len(response.json()["items"]) == 4


def test_train_command_refuses_an_empty_catalog(db):
    import pytest
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="at least two tracks"):
        call_command("train_playlist_gan", "--epochs", "1")
    with pytest.raises(CommandError, match="at least 1"):
        call_command("train_playlist_gan", "--epochs", "0")
    assert not index_cache.gan_model_path().exists()
