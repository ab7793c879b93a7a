"""A mood as a person states it: GEMS buttons, a point on the valence/arousal pad, or a
facial-expression label from the webcam mood check. Exactly one of the three.

Pure: numpy and the vocabulary in emotion/vocab.py only (no Django).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emotion import vocab
from recommender.engine.strategies import seed_decision


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
            except (TypeError, ValueError, OverflowError):
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
                except (TypeError, ValueError, OverflowError):
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


# --- live adjustment (designs 001 and 002) ---------------------------------------------------


@dataclass(frozen=True)
class ReplanDecision:
    replan: bool
    reason: str
    progress: float | None = None  # distance to the target then minus now (positive = closer)
    current_va: tuple[float, float] | None = None
    new_target_va: tuple[float, float] | None = None
    mode: str = ""  # "modulate" or "enhance" (design 001)
    trigger: str = ""  # "away" (moving away from the target) or "stalled" (too little progress)


def replan_decision(
    *,
    then_va: np.ndarray,
    now_va: np.ndarray,
    target_va: tuple[float, float],
    tracks_since_plan: int,
    after_tracks: int,
    min_progress: float,
    away_margin: float,
    min_seconds: int,
    modulate_radius: float = 0.5,
) -> ReplanDecision:
    """Should the rest of the session be re-planned from the webcam's current state?

    `then_va` are the first per-second webcam readings (valence, arousal) since the plan
    started and `now_va` the latest ones; each is averaged (the stabilization buffer of
    design 002 already smooths the labels, averaging seconds smooths further). With `progress`
    = distance(then, target) - distance(now, target):

    - moved away (progress < -away_margin) after at least one finished track: re-plan;
    - not moved toward (progress < min_progress) after `after_tracks` finished tracks: re-plan;
    - otherwise keep the plan. Too few readings (< min_seconds in either window): keep it.

    The re-plan starts at the current state and follows design 001's rule
    (recommender.engine.strategies.seed_decision, with the session's target in place of the
    favourite): "modulate" when the target is near, "enhance" toward a brighter or more
    energetic target, and modulate around the current mood rather than push it darker.
    """

    then = np.asarray(then_va, dtype=np.float64).reshape(-1, 2)
    now = np.asarray(now_va, dtype=np.float64).reshape(-1, 2)
    if tracks_since_plan < 1:
        return ReplanDecision(False, "no track has finished since the plan started")
    if len(then) < min_seconds or len(now) < min_seconds:
        return ReplanDecision(False, f"fewer than {min_seconds} seconds of webcam readings")
    target = np.asarray(target_va, dtype=np.float64)
    then_mean, now_mean = then.mean(axis=0), now.mean(axis=0)
    progress = float(np.linalg.norm(then_mean - target) - np.linalg.norm(now_mean - target))
    if progress < -away_margin:
        trigger, why = "away", f"the webcam mood moved {-progress:.2f} away from the target"
    elif tracks_since_plan >= after_tracks and progress < min_progress:
        trigger = "stalled"
        why = f"after {tracks_since_plan} tracks the webcam mood moved only {progress:+.2f} toward the target"
    else:
        return ReplanDecision(False, "the mood is moving toward the target", progress)
    current = np.clip(now_mean, -1.0, 1.0)
    mode, new_target, how = seed_decision(current, target, modulate_radius)
    how = how.replace("the favourite feels", "the target feels")  # design 001's rule, with the target as reference
    new_target = np.clip(new_target, -1.0, 1.0)
    if np.linalg.norm(new_target - current) < 1e-3:  # already there: aim a little past the current point
        new_target = np.clip(current + 0.05 * np.sign(target - current + 1e-9), -1.0, 1.0)
    return ReplanDecision(
        True,
        f"{why}; {how}",
        progress,
        (float(current[0]), float(current[1])),
        (float(new_target[0]), float(new_target[1])),
        mode,
        trigger,
    )
