"""The `prior` label: a documented heuristic from audio features to valence/arousal. Pure: numpy.

So that the demo works before any survey has run, a track with no label gets a prior from two
long-standing findings of music psychology, the rule design 001 cites (Kuo, Chiang, Shan & Lee
2005, "Emotion-based music recommendation by association discovery from film music", ACM MM;
reviewed in Gabrielsson & Lindström 2010, "The role of structure in the musical expression of
emotions", Handbook of Music and Emotion, ch. 14):

* valence: major mode and a brighter timbre sound happier; minor mode and a darker timbre sadder.
* arousal: faster tempo, more energy (loudness) and denser onsets sound more exciting or tense.

Each cue is mapped to [-1, 1]; a missing cue (NaN) is left out and the remaining weights are
renormalised; a track with no cue at all sits at the neutral origin. Cues and their maps:

    valence cues                                  weight
      mode_cue       = tanh(4 * mode_strength)  or 2*mode - 1 if only the hard mode is known  0.5
      brightness_cue = clip(log2(spectral_centroid_hz / 1500), -1, 1)                           0.3
      spotify_valence = 2 * valence - 1 (when a CSV supplied Spotify's own estimate)            0.2 (1.0 if present alone)
    arousal cues
      tempo_cue      = clip((tempo_bpm - 110) / 50, -1, 1)                                      0.35
      energy_cue     = clip((rms_db + 25) / 15, -1, 1), rms_db = 20 log10(rms_mean)             0.35
                       or 2 * energy - 1 for Spotify's energy
      onset_cue      = clip((onset_rate - 3) / 3, -1, 1)   (onsets per second)                  0.3

The result is shrunk by SHRINK (0.8): a heuristic should not claim the extremes. Valence and
arousal then become a soft GEMS label through emotion.vocab.va_to_gems. Confidence is
PRIOR_CONFIDENCE times the share of cue weight that was available.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emotion.vocab import va_to_gems

SHRINK = 0.8
PRIOR_CONFIDENCE = 0.25


@dataclass(frozen=True)
class PriorCues:
    """Per-track cue inputs, each an (n,) float array with NaN where unknown."""

    mode: np.ndarray  # 1 major, 0 minor
    mode_strength: np.ndarray  # best major minus best minor key-profile correlation
    spectral_centroid_hz: np.ndarray
    tempo_bpm: np.ndarray
    rms_mean: np.ndarray  # linear RMS amplitude (librosa)
    onset_rate: np.ndarray  # onsets per second
    spotify_valence: np.ndarray  # 0..1
    spotify_energy: np.ndarray  # 0..1

    @classmethod
    def empty(cls, n: int) -> PriorCues:
        nan = np.full(n, np.nan)
        return cls(*(nan.copy() for _ in range(8)))


def _combine(cues: list[tuple[np.ndarray, float]], n: int) -> tuple[np.ndarray, np.ndarray]:
    total = np.zeros(n)
    weight = np.zeros(n)
    for values, w in cues:
        ok = np.isfinite(values)
        total[ok] += w * values[ok]
        weight[ok] += w
    out = np.divide(total, weight, out=np.zeros(n), where=weight > 0)
    max_weight = sum(w for _, w in cues)
    return np.clip(out, -1.0, 1.0), weight / max_weight


def prior_va(cues: PriorCues) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) valence/arousal in [-SHRINK, SHRINK] and (n,) confidence in [0, PRIOR_CONFIDENCE]."""
    n = len(cues.mode)
    with np.errstate(divide="ignore", invalid="ignore"):
        mode_cue = np.where(np.isfinite(cues.mode_strength), np.tanh(4.0 * cues.mode_strength), 2.0 * cues.mode - 1.0)
        brightness = np.clip(np.log2(np.asarray(cues.spectral_centroid_hz, dtype=float) / 1500.0), -1.0, 1.0)
        brightness[~(cues.spectral_centroid_hz > 0)] = np.nan
        tempo_cue = np.clip((cues.tempo_bpm - 110.0) / 50.0, -1.0, 1.0)
        rms_db = 20.0 * np.log10(np.asarray(cues.rms_mean, dtype=float))
        energy_cue = np.where(
            np.isfinite(rms_db), np.clip((rms_db + 25.0) / 15.0, -1.0, 1.0), 2.0 * cues.spotify_energy - 1.0
        )
        onset_cue = np.clip((cues.onset_rate - 3.0) / 3.0, -1.0, 1.0)
    valence, v_share = _combine(
        [(mode_cue, 0.5), (brightness, 0.3), (2.0 * cues.spotify_valence - 1.0, 0.2)], n
    )
    arousal, a_share = _combine([(tempo_cue, 0.35), (energy_cue, 0.35), (onset_cue, 0.3)], n)
    va = np.column_stack([valence, arousal]) * SHRINK
    confidence = PRIOR_CONFIDENCE * (v_share + a_share) / 2.0
    return va, confidence


def prior_gems(cues: PriorCues) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gems (n, 9), va (n, 2), confidence (n,)) for the prior label."""
    va, confidence = prior_va(cues)
    return va_to_gems(va), va, confidence
