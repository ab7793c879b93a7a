"""The `gan` strategy (design 004): a small conditional GAN over track features.

Training (TensorFlow/Keras, imported lazily inside `train_gan` only): the generator maps
noise z and a GEMS distribution c to a standardized feature vector; the discriminator sees a
feature vector and c and says how real the pair looks. The discriminator also has an
auxiliary head that predicts the GEMS label from the features alone (the AC-GAN idea, Odena
et al. 2017), which the generator is trained to satisfy, so generated points carry their
requested emotion. Inference needs no TensorFlow: the trained weights are plain numpy arrays
and the forward passes below are three matrix products each, so a GanModel loads and runs
anywhere and the same seed always gives the same imaginary tracks.

Playlist: waypoints along the valence/arousal path (as `iso`), each with its GEMS target
(the start and target GEMS distributions interpolated); for each waypoint the generator
makes a few imaginary tracks, the nearest unused real tracks are taken as candidates, and
among those within TIE_TOLERANCE of the best distance the discriminator's score for the
waypoint's emotion decides.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from emotion import vocab

from .context import Context, describe_va, gems_path, start_target_va, target_state, va_path
from .types import EngineError

NOISE_DIM = 8
HIDDEN = 64
SAMPLES_PER_WAYPOINT = 16
NEIGHBOURS_PER_SAMPLE = 8
TIE_TOLERANCE = 0.05
FORMAT = "attune-cgan-1"


def _leaky(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, 0.2 * x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -60, 60))))


@dataclass
class GanModel:
    feature_names: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    generator: list[np.ndarray]  # W1, b1, W2, b2, W3, b3
    discriminator: list[np.ndarray]  # W1, b1, W2, b2, W_real, b_real, W_class, b_class
    noise_dim: int = NOISE_DIM
    meta: dict[str, Any] = field(default_factory=dict)

    # -- numpy forward passes ---------------------------------------------------------
    def generate_standardized(self, gems: np.ndarray, noise: np.ndarray) -> np.ndarray:
        w1, b1, w2, b2, w3, b3 = self.generator
        h = _leaky(np.concatenate([noise, gems], axis=1) @ w1 + b1)
        h = _leaky(h @ w2 + b2)
        return np.asarray(h @ w3 + b3)

    def generate(self, gems: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """Imaginary tracks in the catalog's raw feature units, one per (gems, noise) row."""
        return np.asarray(self.generate_standardized(np.asarray(gems, float), np.asarray(noise, float)) * self.std + self.mean)

    def _trunk(self, x_std: np.ndarray) -> np.ndarray:
        w1, b1, w2, b2 = self.discriminator[:4]
        return _leaky(_leaky(x_std @ w1 + b1) @ w2 + b2)

    def score(self, raw_features: np.ndarray, gems: np.ndarray) -> np.ndarray:
        """Discriminator probability that (features, emotion) is a real track of that emotion."""
        x = (np.asarray(raw_features, float) - self.mean) / self.std
        h = self._trunk(np.nan_to_num(x))
        wr, br = self.discriminator[4:6]
        return _sigmoid(np.concatenate([h, np.asarray(gems, float)], axis=1) @ wr + br)[:, 0]

    def predict_gems(self, raw_features: np.ndarray) -> np.ndarray:
        """The auxiliary head's GEMS distribution for real or generated features."""
        x = (np.asarray(raw_features, float) - self.mean) / self.std
        wc, bc = self.discriminator[6:8]
        logits = self._trunk(np.nan_to_num(x)) @ wc + bc
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return np.asarray(p / p.sum(axis=1, keepdims=True))

    # -- persistence ------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        arrays = {f"g{i}": w for i, w in enumerate(self.generator)}
        arrays.update({f"d{i}": w for i, w in enumerate(self.discriminator)})
        header = {
            "format": FORMAT,
            "feature_names": list(self.feature_names),
            "noise_dim": self.noise_dim,
            "meta": self.meta,
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            np.savez(fh, mean=self.mean, std=self.std, header=np.array(json.dumps(header)), **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as bool

    @classmethod
    def load(cls, path: str | Path) -> GanModel:
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                if header.get("format") != FORMAT:
                    raise EngineError(f"{path} is not an Attune GAN model")
                gen = [data[f"g{i}"] for i in range(6)]
                disc = [data[f"d{i}"] for i in range(8)]
                mean, std = data["mean"], data["std"]
        except (OSError, KeyError, ValueError) as exc:
            if isinstance(exc, EngineError):
                raise
            raise EngineError(f"Could not load the GAN model from {path}: {exc}") from None
        return cls(
            tuple(header["feature_names"]), mean, std, gen, disc, int(header["noise_dim"]), header.get("meta", {})
        )


def train_gan(
    features: ArrayLike,
    labels: ArrayLike,
    *,
    epochs: int,
    seed: int,
    feature_names: Sequence[str] | None = None,
    batch_size: int = 256,
    max_rows: int = 50_000,
    noise_dim: int = NOISE_DIM,
    hidden: int = HIDDEN,
    learning_rate: float = 2e-3,
) -> GanModel:
    """Train the conditional GAN on track features (n, d; NaN = missing) and soft GEMS labels (n, 9)."""
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if x.ndim != 2 or y.shape != (x.shape[0], vocab.N_GEMS) or x.shape[0] < 2:
        raise EngineError("train_gan needs features (n, d) and GEMS labels (n, 9) for at least 2 tracks")
    if not np.all(np.isfinite(y)) or np.any(y < 0) or np.any(y.sum(axis=1) <= 0):
        raise EngineError("GEMS labels must be finite, non-negative and not all zero")
    if int(epochs) < 1:
        raise EngineError("epochs must be at least 1")
    names = tuple(feature_names) if feature_names is not None else tuple(f"f{i}" for i in range(x.shape[1]))
    if len(names) != x.shape[1]:
        raise EngineError("feature_names must name every feature column")
    y = y / y.sum(axis=1, keepdims=True)
    present = ~np.isnan(x)
    count = np.maximum(present.sum(axis=0), 1)
    mean = np.where(present, x, 0).sum(axis=0) / count
    std = np.sqrt(np.where(present, (x - mean) ** 2, 0).sum(axis=0) / count)
    std = np.where(std < 1e-12, 1.0, std)
    z = np.nan_to_num((x - mean) / std).astype(np.float32)
    rng = np.random.default_rng(seed)
    if z.shape[0] > max_rows:
        keep = rng.choice(z.shape[0], size=max_rows, replace=False)
        z, y = z[keep], y[keep]
    y = y.astype(np.float32)

    import keras  # lazily: TensorFlow is heavy and only training needs it
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    d = z.shape[1]
    g_in = keras.Input((noise_dim + vocab.N_GEMS,))
    h = keras.layers.LeakyReLU(negative_slope=0.2)(keras.layers.Dense(hidden)(g_in))
    h = keras.layers.LeakyReLU(negative_slope=0.2)(keras.layers.Dense(hidden)(h))
    gen = keras.Model(g_in, keras.layers.Dense(d)(h))
    x_in = keras.Input((d,))
    c_in = keras.Input((vocab.N_GEMS,))
    t = keras.layers.LeakyReLU(negative_slope=0.2)(keras.layers.Dense(hidden)(x_in))
    t = keras.layers.LeakyReLU(negative_slope=0.2)(keras.layers.Dense(hidden)(t))
    real_logit = keras.layers.Dense(1)(keras.layers.Concatenate()([t, c_in]))
    class_logits = keras.layers.Dense(vocab.N_GEMS)(t)
    disc = keras.Model([x_in, c_in], [real_logit, class_logits])
    g_opt = keras.optimizers.Adam(learning_rate, beta_1=0.5)
    d_opt = keras.optimizers.Adam(learning_rate, beta_1=0.5)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    cce = keras.losses.CategoricalCrossentropy(from_logits=True)

    @tf.function  # type: ignore[untyped-decorator]  # TensorFlow ships no type stubs
    def step(xb: Any, cb: Any, noise: Any) -> tuple[Any, Any]:  # TensorFlow tensors
        with tf.GradientTape() as gt, tf.GradientTape() as dt:
            fake = gen(tf.concat([noise, cb], axis=1), training=True)
            r_logit, r_class = disc([xb, cb], training=True)
            f_logit, f_class = disc([fake, cb], training=True)
            d_loss = bce(tf.ones_like(r_logit) * 0.9, r_logit) + bce(tf.zeros_like(f_logit), f_logit) + cce(cb, r_class)
            g_loss = bce(tf.ones_like(f_logit), f_logit) + cce(cb, f_class)
        d_opt.apply_gradients(zip(dt.gradient(d_loss, disc.trainable_variables), disc.trainable_variables, strict=True))
        g_opt.apply_gradients(zip(gt.gradient(g_loss, gen.trainable_variables), gen.trainable_variables, strict=True))
        return d_loss, g_loss

    n = z.shape[0]
    bs = int(min(batch_size, n))
    losses = (float("nan"), float("nan"))
    for _ in range(int(epochs)):
        order = rng.permutation(n)
        for lo in range(0, n - bs + 1, bs):
            b = order[lo : lo + bs]
            noise = rng.standard_normal((bs, noise_dim)).astype(np.float32)
            dl, gl = step(tf.constant(z[b]), tf.constant(y[b]), tf.constant(noise))
        losses = (float(dl), float(gl))

    def weights(model: Any) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for layer in model.layers:
            if isinstance(layer, keras.layers.Dense):
                out.extend(np.asarray(w, dtype=np.float64) for w in layer.get_weights())
        return out

    g_w = weights(gen)
    d_layers = [lyr for lyr in disc.layers if isinstance(lyr, keras.layers.Dense)]
    # functional-graph order: trunk1, trunk2, then the two heads in creation order
    d_w: list[np.ndarray] = []
    for lyr in d_layers:
        d_w.extend(np.asarray(w, dtype=np.float64) for w in lyr.get_weights())
    if d_w[4].shape[1] != 1:  # make sure the realness head comes before the class head
        d_w = d_w[:4] + d_w[6:8] + d_w[4:6]
    meta = {"epochs": int(epochs), "seed": int(seed), "rows": int(n), "d_loss": losses[0], "g_loss": losses[1]}
    return GanModel(names, mean, std, g_w, d_w, noise_dim, meta)


def _model_for(ctx: Context) -> GanModel:
    model = ctx.models.get("gan") if ctx.models else None
    if model is None:
        raise EngineError(
            "The gan strategy needs a trained GAN model: train one first (train_gan / the ml_train_gan task)"
        )
    if not isinstance(model, GanModel):
        raise EngineError("models['gan'] must be a GanModel")
    if tuple(model.feature_names) != tuple(ctx.index.feature_names):
        raise EngineError(
            "The GAN was trained on different feature columns than this catalog uses; retrain it "
            f"(model: {', '.join(model.feature_names)}; catalog: {', '.join(ctx.index.feature_names)})"
        )
    return model


def run_gan(ctx: Context) -> dict[str, Any]:
    index = ctx.index
    model = _model_for(ctx)
    start, target = start_target_va(ctx)
    m = ctx.param("samples", SAMPLES_PER_WAYPOINT, int, 1, 256)
    tol = ctx.param("tie_tolerance", TIE_TOLERANCE, float, 0.0, 1.0)
    easing = ctx.easing()
    path = va_path(start, target, ctx.n, easing)
    gpath = gems_path(ctx.request.start.to_gems(), target_state(ctx).to_gems(), ctx.n, easing)
    space = index.spaces["features"]
    for i, (wp, g) in enumerate(zip(path, gpath, strict=True)):
        noise = ctx.rng.standard_normal((m, model.noise_dim))
        raw = model.generate(np.repeat(g[None, :], m, axis=0), noise)
        imaginary = (raw - index.feature_mean) / index.feature_std
        best_d: dict[int, float] = {}
        near_d, near_p = space.query_many(imaginary, NEIGHBOURS_PER_SAMPLE)
        for d, pos in zip(near_d, near_p, strict=True):
            for dd, pp in zip(d.tolist(), pos.tolist(), strict=True):
                if dd < best_d.get(pp, np.inf):
                    best_d[pp] = dd
        cand = np.array(sorted(best_d), dtype=np.int64)
        cand = cand[ctx.acceptable(cand)]
        if cand.size == 0:
            got = ctx.pick("features", imaginary.mean(axis=0), k=32)
            if got is None:
                ctx.ran_out()
                break
            pos, dist = got
            tied, disc = 1, float(model.score(index.z[[pos]] * index.feature_std + index.feature_mean, g[None, :])[0])
        else:
            dist_c = np.array([best_d[int(p)] for p in cand])
            close = dist_c <= dist_c.min() * (1.0 + tol) + 1e-12
            tied = int(close.sum())
            raw_real = index.z[cand[close]].astype(np.float64) * index.feature_std + index.feature_mean
            scores = model.score(raw_real, np.repeat(g[None, :], tied, axis=0))
            realness = np.asarray(1.0 - scores)

            def by_realness(p: np.ndarray, d: np.ndarray, r: np.ndarray = realness) -> np.ndarray:
                return r

            pos, dist = ctx._best(cand[close], dist_c[close], by_realness)
            disc = float(scores[list(cand[close]).index(pos)])
        emotion = vocab.GEMS_INFO[int(np.argmax(g))].label.lower()
        reason = (
            f"Step {i + 1}: imaginary tracks generated for {emotion} at {describe_va(wp)}; nearest real track "
            f"(feature distance {dist:.2f}), discriminator score {disc:.2f}"
            + (f" (best of {tied} near-ties)" if tied > 1 else "")
        )
        ctx.take(pos, wp, g, dist, reason)
    return {"samples_per_waypoint": m, "tie_tolerance": tol, "model": dict(model.meta)}
