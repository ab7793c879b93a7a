"""A mood as a person states it: GEMS buttons, a point on the valence/arousal pad, or a
facial-expression label from the webcam mood check. Exactly one of the three.

Pure: numpy and the vocabulary in emotion/vocab.py only (no Django).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emotion import vocab


class MoodError(ValueError):
    """A mood that cannot be read; the message is for the person who gave it."""


@dataclass(frozen=True)
class MoodInput:
    gems: tuple[float, ...] | None = None
    valence: float | None = None
    arousal: float | None = None
    fer: str | None = None

    def __post_init__(self) -> None:
        given = [self.gems is not None, self.valence is not None or self.arousal is not None, self.fer is not None]
        if sum(given) != 1:
            raise MoodError("Give a mood in exactly one way: GEMS intensities, a valence/arousal point or an expression.")
        if self.gems is not None:
            try:
                values = tuple(float(v) for v in self.gems)
            except (TypeError, ValueError):
                raise MoodError("GEMS intensities must be numbers.") from None
            if any(isinstance(v, bool) for v in self.gems):
                raise MoodError("GEMS intensities must be numbers.")
            if len(values) != vocab.N_GEMS:
                raise MoodError(f"GEMS needs {vocab.N_GEMS} intensities, got {len(values)}.")
            if not all(math.isfinite(v) and v >= 0 for v in values):
                raise MoodError("GEMS intensities must be finite and not negative.")
            if sum(values) <= 0:
                raise MoodError("Choose at least one GEMS emotion.")
            object.__setattr__(self, "gems", values)
        elif self.fer is not None:
            if self.fer not in vocab.FER:
                raise MoodError(f"Unknown expression {str(self.fer)[:30]!r}; expected one of {', '.join(vocab.FER)}.")
        else:
            if self.valence is None or self.arousal is None:
                raise MoodError("A point on the pad needs both valence and arousal.")
            for name in ("valence", "arousal"):
                raw = getattr(self, name)
                if isinstance(raw, bool):
                    raise MoodError(f"{name.capitalize()} must be a number.")
                try:
                    v = float(raw)
                except (TypeError, ValueError):
                    raise MoodError(f"{name.capitalize()} must be a number.") from None
                if not math.isfinite(v) or abs(v) > 1.0:
                    raise MoodError(f"{name.capitalize()} must lie in [-1, 1].")
                object.__setattr__(self, name, v)

    @property
    def source(self) -> str:
        return "gems" if self.gems is not None else "fer" if self.fer is not None else "va"

    def va(self) -> tuple[float, float]:
        """The mood's (valence, arousal) on the circumplex (emotion/vocab.py)."""
        if self.gems is not None:
            v, a = vocab.gems_to_va(np.asarray(self.gems))
        elif self.fer is not None:
            v, a = vocab.FER_VA[vocab.fer_index(self.fer)]
        else:
            v, a = self.valence, self.arousal
        return float(np.clip(v, -1.0, 1.0)), float(np.clip(a, -1.0, 1.0))

    def gems_distribution(self) -> list[float]:
        """Nine numbers summing to 1: the stated GEMS, or the soft label of the mood's point."""
        if self.gems is not None:
            dist = vocab.gems_distribution(np.asarray(self.gems))
        else:
            dist = vocab.va_to_gems(np.asarray(self.va()))
        return [float(x) for x in dist]

    def stated_gems(self) -> list[float] | None:
        """The GEMS distribution only when the person gave GEMS (else None, as stored)."""
        return self.gems_distribution() if self.gems is not None else None

    @classmethod
    def from_dict(cls, data: object) -> MoodInput:
        """From a JSON object {"gems": [9]} | {"valence": v, "arousal": a} | {"fer": label}."""
        if not isinstance(data, dict):
            raise MoodError("A mood is an object with gems, valence and arousal, or fer.")
        unknown = set(data) - {"gems", "valence", "arousal", "fer"}
        if unknown:
            raise MoodError(f"Unknown mood field(s): {', '.join(sorted(str(k)[:20] for k in unknown))}.")
        gems = data.get("gems")
        if gems is not None and not isinstance(gems, list | tuple):
            raise MoodError("gems must be a list of 9 numbers.")
        fer = data.get("fer")
        if fer is not None and not isinstance(fer, str):
            raise MoodError("fer must be an expression name.")
        return cls(
            gems=tuple(gems) if gems is not None else None,
            valence=data.get("valence"),
            arousal=data.get("arousal"),
            fer=fer,
        )

    def as_dict(self) -> dict:
        if self.gems is not None:
            return {"gems": list(self.gems)}
        if self.fer is not None:
            return {"fer": self.fer}
        return {"valence": self.valence, "arousal": self.arousal}


def va_distance(a: tuple[float, float] | None, b: tuple[float, float] | None) -> float | None:
    """Euclidean distance in the valence/arousal plane, None when either point is missing."""
    if a is None or b is None or a[0] is None or a[1] is None or b[0] is None or b[1] is None:
        return None
    return float(math.hypot(a[0] - b[0], a[1] - b[1]))
