"""GAN training service (design 004): train the conditional GAN on the catalog and save it."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from recommender import conf, index_cache
from recommender.engine.gan import train_gan
from recommender.engine.types import EngineError
from recommender.services.playlists import _jsonable

# --- GAN (design 004) --------------------------------------------------------------------


def gan_train(*, epochs: int | None = None, seed: int = 0) -> dict:
    """Train the conditional GAN on the current catalog index's features and labels; save it."""

    arrays = index_cache.catalog_arrays()
    if len(arrays.track_ids) < 2:
        raise ValidationError("The catalog needs at least two tracks before a GAN can be trained.")
    try:
        model = train_gan(
            arrays.features,
            arrays.labels,
            epochs=int(epochs or conf.GAN_EPOCHS),
            seed=seed,
            feature_names=arrays.feature_names,
        )
    except EngineError as exc:
        raise ValidationError(str(exc)) from None
    path = index_cache.gan_model_path()
    tmp = path.with_name(path.stem + ".tmp.npz")
    model.save(tmp)
    tmp.replace(path)
    return {"path": str(path), "rows": len(arrays.track_ids), "features": list(arrays.feature_names), **_jsonable(model.meta)}
