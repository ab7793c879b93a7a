"""A simulated crowd for tests and benchmarks of label aggregation. Pure: numpy only.

A catalog of tracks has hidden true soft GEMS labels: each track sits at a point on the
valence/arousal circumplex and its label is `emotion.vocab.va_to_gems` of that point at a
random temperature, so neighbouring emotions (nostalgia/sadness, power/joyful activation)
share mass as they do in real data (Aljanaki et al. 2016).

Raters come in four kinds:
- expert: what they feel is a Dirichlet draw around the truth (concentration 30);
- noisy: half truth, half a random distribution (concentration 4), so often off;
- spammer: either always presses the same buttons or clicks uniformly at random;
- adversarial: answers as if the track sat at the opposite point of the circumplex.

They answer in either format ("pick" up to three emotions, or "intensity" 0-4 for each),
each track is rated by `ratings_per_track` distinct raters, and each rater also answers the
same gold tracks (known label) and one repeated track, which give the attention checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emotion.vocab import GEMS_VA, N_GEMS, va_to_gems
from studies.labels import (
    FORMATS,
    MAX_INTENSITY,
    PICK,
    AttentionCheck,
    gold_check_passed,
    repeat_check_passed,
)

KINDS = ("expert", "noisy", "spammer", "adversarial")
DEFAULT_MIX = {"expert": 0.4, "noisy": 0.3, "spammer": 0.2, "adversarial": 0.1}


@dataclass(frozen=True)
class SimulatedCrowd:
    fmt: str
    true_labels: np.ndarray  # (n_tracks, 9)
    true_va: np.ndarray  # (n_tracks, 2)
    rater: np.ndarray  # (n,) rater index per answer
    track: np.ndarray  # (n,) track index per answer
    answers: np.ndarray  # (n, 9) in `fmt`
    rater_kind: np.ndarray  # (n_raters,) one of KINDS
    rater_codes: tuple[str, ...]
    attention: tuple[AttentionCheck, ...]

    @property
    def n_tracks(self) -> int:
        return len(self.true_labels)

    @property
    def n_raters(self) -> int:
        return len(self.rater_kind)


def true_catalog(n_tracks: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Hidden (soft labels, valence/arousal points) for a catalog."""
    va = rng.uniform(-0.9, 0.9, size=(n_tracks, 2))
    temps = rng.uniform(0.12, 0.3, size=n_tracks)
    labels = np.vstack([va_to_gems(p, temperature=t) for p, t in zip(va, temps, strict=True)])
    return labels, va


class _Rater:
    def __init__(self, kind: str, rng: np.random.Generator):
        self.kind = kind
        self.rng = rng
        self.random_clicker = kind == "spammer" and rng.random() < 0.5
        self.favourite = rng.dirichlet(np.full(N_GEMS, 0.3))  # a constant spammer's habit
        self.favourite_picks = np.sort(rng.choice(N_GEMS, size=rng.integers(1, 4), replace=False))

    def felt(self, truth: np.ndarray, va: np.ndarray) -> np.ndarray:
        rng = self.rng
        if self.kind == "expert":
            return rng.dirichlet(30 * truth + 1e-3)
        if self.kind == "noisy":
            return 0.5 * rng.dirichlet(4 * truth + 1e-3) + 0.5 * rng.dirichlet(np.ones(N_GEMS))
        if self.kind == "adversarial":
            return rng.dirichlet(30 * va_to_gems(-va, temperature=0.2) + 1e-3)
        if self.random_clicker:
            return rng.dirichlet(np.ones(N_GEMS))
        return self.favourite

    def answer(self, truth: np.ndarray, va: np.ndarray, fmt: str) -> np.ndarray:
        rng = self.rng
        if fmt == PICK and self.kind == "spammer" and not self.random_clicker:
            out = np.zeros(N_GEMS)
            out[self.favourite_picks] = 1
            return out
        p = self.felt(truth, va)
        p = np.clip(p, 1e-12, None)
        p = p / p.sum()
        if fmt == PICK:
            k = int(rng.choice([1, 2, 3], p=[0.4, 0.35, 0.25]))
            out = np.zeros(N_GEMS)
            out[rng.choice(N_GEMS, size=k, replace=False, p=p)] = 1
            return out
        raw = MAX_INTENSITY * p / p.max() + rng.normal(0, 0.4, size=N_GEMS)
        return np.clip(np.round(raw), 0, MAX_INTENSITY)


def simulate_crowd(
    *,
    n_tracks: int = 200,
    n_raters: int = 60,
    ratings_per_track: int = 8,
    fmt: str = PICK,
    mix: dict[str, float] | None = None,
    n_gold: int = 3,
    seed: int = 0,
) -> SimulatedCrowd:
    if fmt not in FORMATS:
        raise ValueError(f"Unknown response format {fmt!r}")
    if ratings_per_track > n_raters:
        raise ValueError("ratings_per_track cannot exceed n_raters (one answer per rater and track)")
    mix = dict(DEFAULT_MIX if mix is None else mix)
    if set(mix) - set(KINDS) or any(v < 0 for v in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError(f"mix maps some of {KINDS} to non-negative shares")
    rng = np.random.default_rng(seed)
    truth, va = true_catalog(n_tracks, rng)
    shares = np.array([mix.get(k, 0.0) for k in KINDS])
    counts = np.floor(shares / shares.sum() * n_raters).astype(int)
    counts[np.argmax(shares)] += n_raters - counts.sum()
    kinds = np.array([k for k, c in zip(KINDS, counts, strict=True) for _ in range(c)])
    rng.shuffle(kinds)
    raters = [_Rater(str(k), np.random.default_rng(rng.integers(2**63))) for k in kinds]

    rater_idx, track_idx, answers = [], [], []
    for t in range(n_tracks):
        for r in rng.choice(n_raters, size=ratings_per_track, replace=False):
            rater_idx.append(int(r))
            track_idx.append(t)
            answers.append(raters[r].answer(truth[t], va[t], fmt))

    gold_truth, gold_va = true_catalog(n_gold, rng)
    attention: list[AttentionCheck] = []
    rater_idx_arr = np.array(rater_idx, dtype=np.int64)
    for r, person in enumerate(raters):
        for g in range(n_gold):
            ans = person.answer(gold_truth[g], gold_va[g], fmt)
            ok = gold_check_passed(ans, gold_truth[g], fmt)
            attention.append(
                AttentionCheck(r, ok, "" if ok else f"gold track {g + 1} answered far from its known label")
            )
        own = np.flatnonzero(rater_idx_arr == r)
        if len(own):
            i = int(rng.choice(own))
            again = person.answer(truth[track_idx[i]], va[track_idx[i]], fmt)
            ok = repeat_check_passed(answers[i], again, fmt)
            attention.append(
                AttentionCheck(r, ok, "" if ok else f"repeated track {track_idx[i]} answered inconsistently")
            )

    return SimulatedCrowd(
        fmt=fmt,
        true_labels=truth,
        true_va=va,
        rater=rater_idx_arr,
        track=np.array(track_idx, dtype=np.int64),
        answers=np.array(answers, dtype=np.float64).reshape(-1, N_GEMS),
        rater_kind=kinds,
        rater_codes=tuple(f"P-{r:04d}" for r in range(n_raters)),
        attention=tuple(attention),
    )


def argmax_answers(crowd: SimulatedCrowd, *, seed: int = 0) -> np.ndarray:
    """One category per answer (the strongest; ties, e.g. several picks, broken at random):
    the single-label view that classic Dawid-Skene implementations take."""
    rng = np.random.default_rng(seed)
    noise = rng.random(crowd.answers.shape) * 1e-3
    return np.argmax(crowd.answers + noise, axis=1)


def simulated_feature_catalog(
    n_tracks: int,
    *,
    n_features: int = 64,
    n_clusters: int = 40,
    latent_dim: int = 6,
    noise: float = 0.5,
    seed: int = 0,
    chunk: int = 200_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Audio-descriptor-like features (float32) with hidden soft labels that depend on them.

    Tracks lie in clusters ("genres") of a low-dimensional latent space; the latent point
    maps smoothly to a valence/arousal point (hence a soft GEMS label via va_to_gems) and
    linearly into `n_features` observed dimensions with isotropic noise. Nearby tracks in
    feature space therefore tend to share emotions, as propagation assumes, but not always."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2.0, size=(n_clusters, latent_dim))
    to_va = rng.normal(0, 0.6, size=(latent_dim, 2))
    embed = rng.normal(0, 1.0, size=(latent_dim, n_features)).astype(np.float32)
    X = np.empty((n_tracks, n_features), dtype=np.float32)
    labels = np.empty((n_tracks, N_GEMS), dtype=np.float64)
    for start in range(0, n_tracks, chunk):
        m = min(chunk, n_tracks - start)
        z = centres[rng.integers(0, n_clusters, size=m)] + rng.normal(0, 0.6, size=(m, latent_dim))
        va = np.tanh(z @ to_va / np.sqrt(latent_dim))
        temps = rng.uniform(0.12, 0.3, size=(m, 1))
        d = np.linalg.norm(va[:, None, :] - GEMS_VA[None, :, :], axis=-1)
        logits = -d / temps
        logits -= logits.max(axis=1, keepdims=True)
        w = np.exp(logits)
        labels[start : start + m] = w / w.sum(axis=1, keepdims=True)
        X[start : start + m] = z.astype(np.float32) @ embed + rng.normal(0, noise, size=(m, n_features)).astype(
            np.float32
        )
    return X, labels
