"""Synthetic catalogs that resemble streaming catalogs, for tests and the benchmark.

Not a stand-in for real data anywhere in the product: only tests and bench/ use it.

Marginals follow the shapes seen in the public Spotify tracks data sets (valence roughly
symmetric, energy skewed high, acousticness and instrumentalness piled near 0, speechiness
and liveness low, loudness in dB skewed toward -5, tempo around 120 BPM, about 64% major
mode), tied together by a Gaussian copula with the familiar correlations (energy-loudness
+0.76, energy-acousticness -0.72, valence-danceability +0.48, ...). Durations are
log-normal around 3.5 minutes, artists Zipf-distributed, genres long-tailed. GEMS labels
come from a valence/arousal reading of the features mapped through emotion/vocab.py's table,
plus rater noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from emotion import vocab

FEATURES: tuple[str, ...] = (
    "valence",
    "energy",
    "danceability",
    "acousticness",
    "instrumentalness",
    "speechiness",
    "liveness",
    "loudness",
    "tempo",
    "mode",
)

_LATENT = (
    "valence",
    "energy",
    "danceability",
    "acousticness",
    "loudness",
    "tempo",
    "instrumentalness",
    "speechiness",
    "liveness",
    "mode",
)
_CORR = {
    ("energy", "loudness"): 0.76,
    ("energy", "acousticness"): -0.72,
    ("loudness", "acousticness"): -0.58,
    ("valence", "danceability"): 0.48,
    ("valence", "energy"): 0.26,
    ("valence", "loudness"): 0.28,
    ("danceability", "energy"): 0.14,
    ("instrumentalness", "loudness"): -0.40,
    ("instrumentalness", "valence"): -0.30,
    ("acousticness", "valence"): -0.10,
    ("tempo", "energy"): 0.25,
    ("speechiness", "danceability"): 0.12,
    ("liveness", "energy"): 0.18,
    ("mode", "valence"): 0.10,
}

GENRES: tuple[str, ...] = (
    "pop",
    "rock",
    "hip-hop",
    "electronic",
    "indie",
    "dance",
    "r-n-b",
    "latin",
    "jazz",
    "classical",
    "folk",
    "country",
    "metal",
    "soul",
    "ambient",
    "blues",
    "reggae",
    "punk",
    "funk",
    "k-pop",
    "acoustic",
    "piano",
    "singer-songwriter",
    "house",
    "techno",
    "trance",
    "disco",
    "gospel",
    "opera",
    "study",
)


@dataclass
class SyntheticCatalog:
    track_ids: np.ndarray
    features: np.ndarray
    feature_names: tuple[str, ...]
    labels: np.ndarray
    artists: np.ndarray
    genres: np.ndarray
    explicit: np.ndarray
    durations_s: np.ndarray

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "track_ids": self.track_ids,
            "features": self.features,
            "feature_names": self.feature_names,
            "labels": self.labels,
            "artists": self.artists,
            "genres": self.genres,
            "explicit": self.explicit,
            "durations_s": self.durations_s,
        }


def _correlation() -> np.ndarray:
    k = len(_LATENT)
    c = np.eye(k)
    for (a, b), r in _CORR.items():
        i, j = _LATENT.index(a), _LATENT.index(b)
        c[i, j] = c[j, i] = r
    w, v = np.linalg.eigh(c)
    c = (v * np.maximum(w, 1e-3)) @ v.T
    d = np.sqrt(np.diag(c))
    return np.asarray(c / d[:, None] / d[None, :])


def label_va(
    valence: np.ndarray, energy: np.ndarray, acousticness: np.ndarray, tempo: np.ndarray, mode: np.ndarray
) -> np.ndarray:
    """The valence/arousal reading of Spotify-style features used to label synthetic tracks."""
    v = 0.85 * (2 * valence - 1) + 0.12 * (np.nan_to_num(mode, nan=0.5) - 0.5) * 2
    a = 0.7 * (2 * energy - 1) + 0.2 * np.clip((tempo - 120.0) / 60.0, -1, 1) + 0.15 * (1 - 2 * acousticness)
    return np.asarray(np.clip(np.stack([v, a], axis=1), -1.0, 1.0))


def synthetic_catalog(
    n: int, *, seed: int = 0, missing_rate: float = 0.02, label_noise: float = 0.12
) -> SyntheticCatalog:
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(_correlation())
    u = stats.norm.cdf(rng.standard_normal((n, len(_LATENT))) @ chol.T)
    col = {name: u[:, i] for i, name in enumerate(_LATENT)}
    valence = stats.beta.ppf(col["valence"], 2.2, 2.0)
    energy = stats.beta.ppf(col["energy"], 3.0, 1.6)
    dance = stats.beta.ppf(col["danceability"], 4.5, 3.0)
    acoustic = stats.beta.ppf(col["acousticness"], 0.45, 1.2)
    instr_u = col["instrumentalness"]
    instr = np.where(
        instr_u < 0.65, stats.beta.ppf(instr_u / 0.65, 0.3, 8.0), stats.beta.ppf((instr_u - 0.65) / 0.35, 1.5, 1.0)
    )
    speech = 0.022 + 0.9 * stats.beta.ppf(col["speechiness"], 1.0, 12.0)
    live = 0.015 + 0.95 * stats.beta.ppf(col["liveness"], 1.3, 5.0)
    loud = -1.5 - 28.0 * stats.beta.ppf(1.0 - col["loudness"], 1.5, 6.0)
    tempo = np.clip(stats.norm.ppf(col["tempo"], 121.0, 29.0), 50.0, 220.0)
    mode = (col["mode"] < 0.64).astype(np.float64)
    feats = np.stack([valence, energy, dance, acoustic, instr, speech, live, loud, tempo, mode], axis=1)
    va = label_va(valence, energy, acoustic, tempo, mode)
    va = np.clip(va + rng.normal(0.0, label_noise, va.shape), -1.0, 1.0)
    labels = 0.85 * vocab.va_to_gems(va) + 0.15 * rng.dirichlet(np.ones(vocab.N_GEMS), size=n)
    labels /= labels.sum(axis=1, keepdims=True)
    for name in ("instrumentalness", "speechiness", "liveness"):
        j = FEATURES.index(name)
        feats[rng.random(n) < missing_rate, j] = np.nan
    n_artists = max(5, n // 8)
    artist_idx = (rng.zipf(1.4, n) - 1) % n_artists
    artists = np.char.add("artist-", artist_idx.astype(str))
    ranks = np.arange(1, len(GENRES) + 1)
    p = 1.0 / ranks**0.8
    genres = np.asarray(GENRES)[rng.choice(len(GENRES), size=n, p=p / p.sum())]
    explicit = rng.random(n) < (0.05 + 0.6 * speech)
    durations = np.clip(rng.lognormal(np.log(210.0), 0.35, n), 30.0, 1200.0)
    return SyntheticCatalog(
        track_ids=np.arange(1, n + 1, dtype=np.int64) * 10,
        features=feats,
        feature_names=FEATURES,
        labels=labels,
        artists=artists,
        genres=genres,
        explicit=explicit,
        durations_s=durations,
    )
