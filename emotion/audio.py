"""Audio descriptors for music emotion recognition and the catalog. Pure: numpy + librosa.

One pass over a clip gives a fixed-order vector of musically meaningful statistics
(`DESCRIPTOR_NAMES`): tempo and tempogram statistics and MFCC means/deviations (the choice
of design 000), plus chroma, a Krumhansl-Schmuckler key and major/minor estimate, RMS
energy, spectral centroid and contrast, and onset rate. The magnitude spectrogram is
computed once and shared by every feature, so a 30 s clip takes well under a second.

Key finding follows Krumhansl & Kessler (1982, "Tracing the dynamic changes in perceived
tonal organization...", Psychol. Rev. 89(4)) via the Krumhansl-Schmuckler algorithm:
correlate the mean chroma vector with the 24 rotated major/minor key profiles and take the
best. `mode_strength` is the best major minus the best minor correlation (positive leans
major), a continuous cue that is more useful to a classifier than the hard 0/1 mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 22050
DEFAULT_MAX_SECONDS = 30.0
N_MFCC = 13
N_CONTRAST_BANDS = 7  # librosa's default: 6 bands + the residual
PITCH_CLASSES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
SILENCE_PEAK = 1e-4  # a clip whose loudest sample is below this is treated as silent
_N_FFT = 2048
_HOP = 512

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

DESCRIPTOR_NAMES: tuple[str, ...] = (
    "tempo_bpm",
    "tempogram_mean",
    "tempogram_std",
    "tempogram_peak",
    "onset_rate",
    "onset_strength_mean",
    *(f"mfcc_mean_{i}" for i in range(N_MFCC)),
    *(f"mfcc_std_{i}" for i in range(N_MFCC)),
    *(f"chroma_{pc}" for pc in PITCH_CLASSES),
    "mode",
    "mode_strength",
    "key_clarity",
    "rms_mean",
    "rms_std",
    "spectral_centroid_mean",
    "spectral_centroid_std",
    *(f"spectral_contrast_{i}" for i in range(N_CONTRAST_BANDS)),
)


class AudioError(ValueError):
    """Audio that cannot be analysed: unreadable, empty, too short or silent."""


@dataclass(frozen=True)
class AudioDescriptors:
    values: dict[str, float]
    duration_s: float
    tempo_bpm: float
    key: int  # pitch class of the tonic, 0 = C .. 11 = B
    mode: int  # 1 major, 0 minor

    def vector(self) -> np.ndarray:
        return np.array([self.values[name] for name in DESCRIPTOR_NAMES], dtype=np.float64)

    @property
    def key_name(self) -> str:
        return f"{PITCH_CLASSES[self.key]} {'major' if self.mode == 1 else 'minor'}"


def load_audio(path, *, sr: int = SAMPLE_RATE, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Read a file as mono float32 at `sr`, at most `max_seconds` from the start."""
    import librosa

    p = Path(path)
    if not p.is_file():
        raise AudioError(f"No audio file at {p}")
    if p.stat().st_size == 0:
        raise AudioError(f"{p.name} is empty")
    if max_seconds is not None and max_seconds <= 0:
        raise ValueError("max_seconds must be positive")
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # audioread fallback deprecation noise
            y, rate = librosa.load(str(p), sr=sr, mono=True, duration=max_seconds)
    except Exception as exc:  # soundfile/audioread raise many unrelated types
        raise AudioError(f"Could not read {p.name} as audio: {exc}") from exc
    return _checked(y), int(rate)


def _checked(y) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise AudioError("Audio must be a mono 1-D signal")
    if y.size == 0:
        raise AudioError("The audio contains no samples")
    if not np.all(np.isfinite(y)):
        raise AudioError("The audio contains non-finite samples")
    if float(np.max(np.abs(y))) < SILENCE_PEAK:
        raise AudioError("The audio is silent")
    return y


def estimate_key(chroma_mean: np.ndarray) -> tuple[int, int, float, float]:
    """Krumhansl-Schmuckler: (key 0-11, mode 1/0, mode_strength, key_clarity)."""
    c = np.asarray(chroma_mean, dtype=np.float64)
    if c.shape != (12,):
        raise ValueError("chroma_mean needs 12 values")
    if np.std(c) < 1e-12:
        return 0, 1, 0.0, 0.0
    major = np.array([np.corrcoef(c, np.roll(KK_MAJOR, k))[0, 1] for k in range(12)])
    minor = np.array([np.corrcoef(c, np.roll(KK_MINOR, k))[0, 1] for k in range(12)])
    best_major, best_minor = int(np.argmax(major)), int(np.argmax(minor))
    if major[best_major] >= minor[best_minor]:
        key, mode, clarity = best_major, 1, float(major[best_major])
    else:
        key, mode, clarity = best_minor, 0, float(minor[best_minor])
    return key, mode, float(major[best_major] - minor[best_minor]), clarity


def extract_descriptors(y, sr: int) -> AudioDescriptors:
    """All descriptors of a mono signal. Raises AudioError for empty/silent/too-short input."""
    import librosa

    y = _checked(y)
    if sr <= 0:
        raise ValueError("sr must be positive")
    if y.size < _N_FFT:
        raise AudioError(f"The audio is too short ({y.size / sr:.3f} s)")
    duration = y.size / sr

    spec = np.abs(librosa.stft(y, n_fft=_N_FFT, hop_length=_HOP))
    power = spec**2
    mel = librosa.feature.melspectrogram(S=power, sr=sr)
    log_mel = librosa.power_to_db(mel, ref=np.max)
    mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=N_MFCC)

    oenv = librosa.onset.onset_strength(S=log_mel, sr=sr, hop_length=_HOP)
    tempo = float(np.atleast_1d(librosa.feature.tempo(onset_envelope=oenv, sr=sr, hop_length=_HOP))[0])
    tgram = librosa.feature.tempogram(onset_envelope=oenv, sr=sr, hop_length=_HOP)
    tg_mean = tgram.mean(axis=1)  # mean autocorrelation per lag, lag 0 normalised to 1
    onsets = librosa.onset.onset_detect(onset_envelope=oenv, sr=sr, hop_length=_HOP, units="frames")

    chroma = librosa.feature.chroma_stft(S=power, sr=sr, n_fft=_N_FFT, hop_length=_HOP)
    chroma_mean = chroma.mean(axis=1)
    key, mode, mode_strength, clarity = estimate_key(chroma_mean)

    rms = librosa.feature.rms(S=spec, frame_length=_N_FFT, hop_length=_HOP)[0]
    centroid = librosa.feature.spectral_centroid(S=spec, sr=sr, n_fft=_N_FFT, hop_length=_HOP)[0]
    contrast = librosa.feature.spectral_contrast(S=spec, sr=sr, n_fft=_N_FFT, hop_length=_HOP)

    values: dict[str, float] = {
        "tempo_bpm": tempo,
        "tempogram_mean": float(tg_mean[1:].mean()),
        "tempogram_std": float(tg_mean[1:].std()),
        "tempogram_peak": float(tg_mean[1:].max()),
        "onset_rate": float(len(onsets) / duration),
        "onset_strength_mean": float(oenv.mean()),
        "mode": float(mode),
        "mode_strength": mode_strength,
        "key_clarity": clarity,
        "rms_mean": float(rms.mean()),
        "rms_std": float(rms.std()),
        "spectral_centroid_mean": float(centroid.mean()),
        "spectral_centroid_std": float(centroid.std()),
    }
    for i in range(N_MFCC):
        values[f"mfcc_mean_{i}"] = float(mfcc[i].mean())
        values[f"mfcc_std_{i}"] = float(mfcc[i].std())
    for i, pc in enumerate(PITCH_CLASSES):
        values[f"chroma_{pc}"] = float(chroma_mean[i])
    for i in range(N_CONTRAST_BANDS):
        values[f"spectral_contrast_{i}"] = float(contrast[i].mean())
    values = {k: (v if np.isfinite(v) else 0.0) for k, v in values.items()}
    return AudioDescriptors(values=values, duration_s=float(duration), tempo_bpm=tempo, key=key, mode=mode)


def extract_file(path, *, sr: int = SAMPLE_RATE, max_seconds: float | None = DEFAULT_MAX_SECONDS) -> AudioDescriptors:
    """Load (at most `max_seconds`, default 30 s) and describe an audio file."""
    y, rate = load_audio(path, sr=sr, max_seconds=max_seconds)
    return extract_descriptors(y, rate)


def descriptor_matrix(descriptors) -> np.ndarray:
    """Stack AudioDescriptors into an (n, len(DESCRIPTOR_NAMES)) matrix."""
    rows = [d.vector() for d in descriptors]
    if not rows:
        return np.zeros((0, len(DESCRIPTOR_NAMES)))
    return np.vstack(rows)
