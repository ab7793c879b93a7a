"""Attune's emotion vocabularies and the one circumplex mapping table. Pure: numpy only.

GEMS-9 (Zentner, Grandjean & Scherer 2008, "Emotions evoked by the sound of music",
Emotion 8(4)) for music; the seven FER2013 expression classes (Goodfellow et al. 2013) for
faces. Both are placed on Russell's circumplex (Russell 1980, "A circumplex model of affect",
J. Pers. Soc. Psychol. 39(6)): valence and arousal in [-1, 1].

Where the coordinates come from:
- FER classes: Russell's (1980) scaled positions of the nearest affect words (happy ->
  "happy", sad -> "sad", angry -> "angry", fear -> "afraid", disgust -> "distressed",
  surprise -> "astonished"), as tabulated in Paltoglou & Thelwall (2013, IEEE Trans.
  Affective Computing 4(1), Table 1); neutral is the origin.
- GEMS categories: GEMS has no published circumplex coordinates. We place each category
  at the Russell position of the affect words its GEMS scale is built from (e.g.
  peacefulness: "calm, relaxed, serene"; tension: "tense, agitated, nervous"), following
  the GEMS-to-circumplex reading of Aljanaki, Wiering & Veltkamp (2016, "Studying emotion
  induced by music through a crowdsourcing game", Inf. Process. Manage. 52(1)). These are
  approximations for ordering states, not measurements; change them here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GEMS: tuple[str, ...] = (
    "wonder",
    "transcendence",
    "tenderness",
    "nostalgia",
    "peacefulness",
    "power",
    "joyful_activation",
    "tension",
    "sadness",
)
N_GEMS = len(GEMS)

FER: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
N_FER = len(FER)


def _(message: str) -> str:
    """Marks a label for `makemessages` (this module imports nothing from Django); the pages
    show it translated through emotion.labels. The names (keys) stay English everywhere."""
    return message


@dataclass(frozen=True)
class EmotionInfo:
    name: str
    label: str
    emoji: str
    description: str
    valence: float
    arousal: float


GEMS_INFO: tuple[EmotionInfo, ...] = (
    EmotionInfo("wonder", _("Wonder"), "✨", _("filled with wonder, dazzled, moved"), 0.55, 0.45),
    EmotionInfo("transcendence", _("Transcendence"), "🌌", _("fascinated, overwhelmed, spiritual feeling"), 0.45, -0.05),
    EmotionInfo("tenderness", _("Tenderness"), "💗", _("tender, affectionate, in love, mellow"), 0.60, -0.25),
    EmotionInfo("nostalgia", _("Nostalgia"), "🕰️", _("nostalgic, sentimental, dreamy, melancholic"), 0.05, -0.35),
    EmotionInfo("peacefulness", _("Peacefulness"), "🕊️", _("calm, relaxed, serene, soothed"), 0.55, -0.60),
    EmotionInfo("power", _("Power"), "⚡", _("energetic, triumphant, strong, fiery"), 0.35, 0.75),
    EmotionInfo("joyful_activation", _("Joyful activation"), "😄", _("joyful, amused, bouncy, animated"), 0.80, 0.55),
    EmotionInfo("tension", _("Tension"), "😬", _("tense, agitated, nervous, irritated"), -0.55, 0.70),
    EmotionInfo("sadness", _("Sadness"), "😢", _("sad, sorrowful, tearful"), -0.75, -0.45),
)

FER_INFO: tuple[EmotionInfo, ...] = (
    EmotionInfo("angry", _("Angry"), "😠", _("angry"), -0.40, 0.79),
    EmotionInfo("disgust", _("Disgust"), "🤢", _("disgusted, distressed"), -0.71, 0.55),
    EmotionInfo("fear", _("Fear"), "😨", _("afraid"), -0.12, 0.79),
    EmotionInfo("happy", _("Happy"), "😊", _("happy"), 0.89, 0.17),
    EmotionInfo("sad", _("Sad"), "😞", _("sad"), -0.81, -0.40),
    EmotionInfo("surprise", _("Surprise"), "😮", _("astonished"), 0.16, 0.88),
    EmotionInfo("neutral", _("Neutral"), "😐", _("neutral"), 0.0, 0.0),
)

GEMS_VA = np.array([[e.valence, e.arousal] for e in GEMS_INFO], dtype=np.float64)  # (9, 2)
FER_VA = np.array([[e.valence, e.arousal] for e in FER_INFO], dtype=np.float64)  # (7, 2)


def _as_distribution(values, n: int, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape[-1] != n:
        raise ValueError(f"{what} needs {n} values, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{what} must be finite and non-negative")
    total = arr.sum(axis=-1, keepdims=True)
    if np.any(total <= 0):
        raise ValueError(f"{what} must not be all zeros")
    return arr / total


def gems_distribution(values) -> np.ndarray:
    """Validate and normalise a GEMS soft label (9 non-negative numbers) to sum to 1."""
    return _as_distribution(values, N_GEMS, "A GEMS distribution")


def gems_to_va(distribution) -> np.ndarray:
    """Expected (valence, arousal) of a GEMS distribution; works on (9,) or (n, 9)."""
    return gems_distribution(distribution) @ GEMS_VA


def fer_to_va(probabilities) -> np.ndarray:
    """Expected (valence, arousal) of the seven expression probabilities; (7,) or (n, 7)."""
    return _as_distribution(probabilities, N_FER, "Expression probabilities") @ FER_VA


def va_to_gems(point, temperature: float = 0.25) -> np.ndarray:
    """A soft GEMS label for a (valence, arousal) point: softmax of negative distances."""
    p = np.asarray(point, dtype=np.float64)
    if p.shape[-1] != 2 or not np.all(np.isfinite(p)) or np.any(np.abs(p) > 1.0 + 1e-9):
        raise ValueError("A valence/arousal point is two numbers in [-1, 1]")
    d = np.linalg.norm(p[..., None, :] - GEMS_VA, axis=-1)
    logits = -d / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    w = np.exp(logits)
    return w / w.sum(axis=-1, keepdims=True)


def gems_index(name: str) -> int:
    try:
        return GEMS.index(name)
    except ValueError:
        raise ValueError(f"Unknown GEMS emotion {name!r}; expected one of {', '.join(GEMS)}") from None


def fer_index(name: str) -> int:
    try:
        return FER.index(name)
    except ValueError:
        raise ValueError(f"Unknown expression {name!r}; expected one of {', '.join(FER)}") from None


def one_hot_gems(name: str) -> np.ndarray:
    out = np.zeros(N_GEMS)
    out[gems_index(name)] = 1.0
    return out
