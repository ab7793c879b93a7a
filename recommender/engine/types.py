"""The engine's request and result types. Pure: numpy and emotion/vocab.py only.

A listener's emotional state can come from a GEMS answer, a valence/arousal point or a
facial-expression label; every state is normalised here to both a (valence, arousal) point
and a GEMS distribution through the one circumplex table in emotion/vocab.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from emotion import vocab

STRATEGIES: tuple[str, ...] = (
    "interpolation",
    "iso",
    "cluster",
    "personal",
    "gan",
    "mapping",
    "seed_track",
    "random",
)

MAX_TRACKS = 1000
MAX_MINUTES = 24 * 60.0


class EngineError(ValueError):
    """A request the engine cannot serve; the message is meant for the person who made it."""


@dataclass(frozen=True)
class State:
    """An emotional state: a point on Russell's circumplex plus a GEMS distribution.

    `source` records how the state was given ("gems", "va" or "fer") and `label` the
    expression or dominant GEMS emotion, for explanations.
    """

    valence: float
    arousal: float
    gems: tuple[float, ...]
    source: str = "va"
    label: str = ""

    @classmethod
    def from_gems(cls, dist9: ArrayLike) -> State:
        try:
            dist = vocab.gems_distribution(dist9)
        except ValueError as exc:
            raise EngineError(f"Invalid GEMS state: {exc}") from None
        if dist.ndim != 1:
            raise EngineError("A GEMS state is one distribution of 9 numbers")
        va = dist @ vocab.GEMS_VA
        return cls(float(va[0]), float(va[1]), tuple(float(x) for x in dist), "gems", vocab.GEMS[int(dist.argmax())])

    @classmethod
    def from_va(cls, valence: float, arousal: float) -> State:
        try:
            v, a = float(valence), float(arousal)
        except (TypeError, ValueError):
            raise EngineError("Valence and arousal must be numbers") from None
        if not (math.isfinite(v) and math.isfinite(a)):
            raise EngineError("Valence and arousal must be finite numbers, not NaN or infinity")
        if abs(v) > 1.0 or abs(a) > 1.0:
            raise EngineError(f"Valence and arousal must lie in [-1, 1]; got ({v:g}, {a:g})")
        gems = vocab.va_to_gems([v, a])
        return cls(v, a, tuple(float(x) for x in gems), "va", vocab.GEMS[int(gems.argmax())])

    @classmethod
    def from_fer(cls, label: str) -> State:
        try:
            i = vocab.fer_index(str(label))
        except ValueError as exc:
            raise EngineError(str(exc)) from None
        v, a = vocab.FER_VA[i]
        gems = vocab.va_to_gems([v, a])
        return cls(float(v), float(a), tuple(float(x) for x in gems), "fer", vocab.FER[i])

    def to_va(self) -> np.ndarray:
        return np.array([self.valence, self.arousal], dtype=np.float64)

    def to_gems(self) -> np.ndarray:
        return np.array(self.gems, dtype=np.float64)

    def describe(self) -> str:
        name = self.label.replace("_", " ") if self.label else "state"
        return f"{name} (valence {self.valence:+.2f}, arousal {self.arousal:+.2f})"


def _check_state(state: object, what: str) -> State:
    if not isinstance(state, State):
        raise EngineError(f"The {what} state must be a State, got {type(state).__name__}")
    va = np.array([state.valence, state.arousal], dtype=np.float64)
    if not np.all(np.isfinite(va)) or np.any(np.abs(va) > 1.0 + 1e-9):
        raise EngineError(f"The {what} state must have finite valence and arousal in [-1, 1]")
    g = np.asarray(state.gems, dtype=np.float64)
    if g.shape != (vocab.N_GEMS,) or not np.all(np.isfinite(g)) or np.any(g < 0) or g.sum() <= 0:
        raise EngineError(f"The {what} state needs a GEMS distribution of 9 non-negative numbers")
    return state


@dataclass(frozen=True)
class Constraints:
    exclude_ids: frozenset[int] = frozenset()
    max_per_artist: int | None = None
    allow_explicit: bool = True
    preferred_genres: tuple[str, ...] = ()
    disliked_genres: tuple[str, ...] = ()
    max_minutes: float | None = None

    def validate(self) -> None:
        for what in ("preferred_genres", "disliked_genres"):
            value = getattr(self, what)
            if isinstance(value, str) or not all(isinstance(g, str) for g in value):
                raise EngineError(f"{what} must be a list of genre names")
        if isinstance(self.exclude_ids, str):
            raise EngineError("exclude_ids must be a set of track ids")
        if self.max_per_artist is not None and (
            isinstance(self.max_per_artist, bool)
            or not isinstance(self.max_per_artist, int | np.integer)
            or self.max_per_artist < 1
        ):
            raise EngineError("max_per_artist must be a whole number of at least 1")
        if self.max_minutes is not None:
            m = float(self.max_minutes)
            if not math.isfinite(m) or m <= 0 or m > MAX_MINUTES:
                raise EngineError(f"max_minutes must be a number in (0, {MAX_MINUTES:g}]")


@dataclass(frozen=True)
class PlaylistRequest:
    strategy: str
    start: State
    target: State | None
    n_tracks: int | None = None
    minutes: float | None = None
    constraints: Constraints = field(default_factory=Constraints)
    seed: int = 0
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    seed_track_id: int | None = None


@dataclass(frozen=True)
class ListenerProfile:
    """What one listener told us: their own GEMS answers for tracks, plus reactions."""

    track_ids: np.ndarray
    gems: np.ndarray
    liked_ids: tuple[int, ...] = ()
    disliked_ids: tuple[int, ...] = ()
    history_ids: tuple[int, ...] = ()
    history_imported: bool = False  # history_ids come (partly) from the listener's streaming-service export

    def validated(self) -> ListenerProfile:
        ids = np.asarray(self.track_ids, dtype=np.int64).reshape(-1)
        gems = np.asarray(self.gems, dtype=np.float64)
        if gems.size == 0:
            gems = gems.reshape(0, vocab.N_GEMS)
        if gems.ndim != 2 or gems.shape != (ids.size, vocab.N_GEMS):
            raise EngineError(
                f"A listener profile needs one 9-value GEMS answer per track; got {gems.shape} for {ids.size} tracks"
            )
        if ids.size and (not np.all(np.isfinite(gems)) or np.any(gems < 0) or np.any(gems.sum(axis=1) <= 0)):
            raise EngineError("A listener's GEMS answers must be finite, non-negative and not all zero")
        if ids.size:
            gems = gems / gems.sum(axis=1, keepdims=True)
        return ListenerProfile(
            ids, gems, tuple(self.liked_ids), tuple(self.disliked_ids), tuple(self.history_ids), self.history_imported
        )


@dataclass(frozen=True)
class Step:
    position: int
    waypoint_va: tuple[float, float]
    waypoint_gems: tuple[float, ...] | None
    track_id: int
    distance: float
    reason: str


@dataclass
class Playlist:
    strategy: str
    steps: list[Step]
    notes: list[str]
    diagnostics: dict[str, Any]

    @property
    def track_ids(self) -> list[int]:
        return [s.track_id for s in self.steps]
