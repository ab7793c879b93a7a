"""Smoothing over time: an exponential moving average of the seven probabilities with a
hold-time before the stable label changes, and per-second aggregates of a webcam trace. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from emotion.vocab import FER, N_FER, fer_to_va

# --------------------------------------------------------------------------- smoothing


@dataclass
class StableMood:
    label: str | None
    probabilities: np.ndarray  # the moving average, (7,)
    valence: float
    arousal: float
    changed: bool


class StabilizationBuffer:
    """Design 002's stabilization buffer: EMA of the probabilities + hysteresis on the label.

    - The average follows new frames with time constant `tau_s` (alpha = 1 - exp(-dt / tau)),
      so it behaves the same at 2 fps or 5 fps.
    - The stable label is the first leader; afterwards it changes only when another class has
      led the average continuously for `hold_s` seconds (a flicker resets the clock).
    """

    def __init__(self, *, tau_s: float = 1.0, hold_s: float = 1.5):
        if tau_s <= 0 or hold_s < 0:
            raise ValueError("tau_s must be > 0 and hold_s >= 0")
        self.tau_s = tau_s
        self.hold_s = hold_s
        self.reset()

    def reset(self) -> None:
        self.average: np.ndarray | None = None
        self.label: str | None = None
        self._last_t: float | None = None
        self._candidate: str | None = None
        self._candidate_since: float | None = None

    def update(self, probabilities: np.ndarray, t: float) -> StableMood:
        p = np.asarray(probabilities, dtype=np.float64)
        if p.shape != (N_FER,) or not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
            raise ValueError("update() needs seven non-negative probabilities")
        p = p / p.sum()
        if self.average is None or self._last_t is None:
            self.average = p.copy()
        else:
            dt = max(0.0, t - self._last_t)
            alpha = 1.0 - math.exp(-dt / self.tau_s)
            self.average = (1.0 - alpha) * self.average + alpha * p
        self._last_t = t
        leader = FER[int(np.argmax(self.average))]
        changed = False
        if self.label is None:
            self.label, changed = leader, True
        elif leader == self.label:
            self._candidate = self._candidate_since = None
        else:
            if leader != self._candidate:
                self._candidate, self._candidate_since = leader, t
            if self._candidate_since is not None and t - self._candidate_since >= self.hold_s:
                self.label, changed = leader, True
                self._candidate = self._candidate_since = None
        return self.current(changed=changed)

    def current(self, *, changed: bool = False) -> StableMood:
        if self.average is None:
            return StableMood(label=None, probabilities=np.zeros(N_FER), valence=0.0, arousal=0.0, changed=False)
        v, a = fer_to_va(self.average)
        return StableMood(
            label=self.label, probabilities=self.average.copy(), valence=float(v), arousal=float(a), changed=changed
        )


# --------------------------------------------------------------------------- per-second aggregates


@dataclass
class SecondAggregate:
    """What one second of webcam inference adds up to (for a listening session's trace)."""

    second: int  # unix time, whole seconds
    frames: int  # frames analysed in that second
    frames_with_face: int
    mean_probabilities: list[float] | None  # mean over the primary faces; None without a face
    valence: float | None
    arousal: float | None
    stable_label: str | None  # the stable label at the end of the second

    def as_dict(self) -> dict[str, Any]:
        return {
            "second": self.second,
            "frames": self.frames,
            "frames_with_face": self.frames_with_face,
            "mean_probabilities": dict(zip(FER, self.mean_probabilities, strict=True))
            if self.mean_probabilities
            else None,
            "valence": self.valence,
            "arousal": self.arousal,
            "stable_label": self.stable_label,
        }


class SecondAggregator:
    """Accumulates per-frame results; `add` returns the finished previous second when a new one starts."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._second: int | None = None
        self._frames = 0
        self._sum = np.zeros(N_FER)
        self._with_face = 0
        self._stable: str | None = None

    def add(self, t: float, probabilities: np.ndarray | None, stable_label: str | None) -> SecondAggregate | None:
        second = int(t)
        done = None
        if self._second is not None and second != self._second:
            done = self.flush()
        if self._second is None:
            self._second = second
        self._frames += 1
        if probabilities is not None:
            self._sum += probabilities
            self._with_face += 1
        self._stable = stable_label
        return done

    def flush(self) -> SecondAggregate | None:
        if self._second is None or self._frames == 0:
            return None
        mean = self._sum / self._with_face if self._with_face else None
        va = fer_to_va(mean) if mean is not None else None
        agg = SecondAggregate(
            second=self._second,
            frames=self._frames,
            frames_with_face=self._with_face,
            mean_probabilities=[float(x) for x in mean] if mean is not None else None,
            valence=float(va[0]) if va is not None else None,
            arousal=float(va[1]) if va is not None else None,
            stable_label=self._stable,
        )
        self._reset()
        return agg
