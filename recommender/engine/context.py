"""What every strategy works with: waypoint paths, the shared track picker (Context) and the
descriptions of moods. Strategies import this module; the dispatcher (core.py) imports the
strategies, so nothing here imports a strategy."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emotion import vocab

from .index import CatalogIndex, Space
from .types import (
    EngineError,
    ListenerProfile,
    PlaylistRequest,
    State,
    Step,
)

# A strategy's re-scoring of candidates: (positions, distances) -> scores, lower is better.
ScoreFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

DEFAULT_TRACKS = 20
EASINGS = ("linear", "ease-in-out", "ease-in", "ease-out")
PREFERRED_GENRE_BONUS = 0.8  # a preferred-genre candidate's score is multiplied by this
SAME_STATE_TOLERANCE = 1e-3
MAX_CANDIDATES_BEFORE_SCAN = 4096


def ease(t: np.ndarray, easing: str) -> np.ndarray:
    if easing == "linear":
        return t
    if easing == "ease-in-out":
        return np.asarray(t * t * (3.0 - 2.0 * t))
    if easing == "ease-in":
        return np.asarray(t * t)
    if easing == "ease-out":
        return 1.0 - (1.0 - t) ** 2
    raise EngineError(f"Unknown easing {easing!r}; expected one of {', '.join(EASINGS)}")


def fractions(n: int, easing: str = "linear") -> np.ndarray:
    """n path positions in [0, 1], the first 0 and (for n > 1) the last 1."""
    if n <= 1:
        return np.zeros(max(n, 0))
    return ease(np.linspace(0.0, 1.0, n), easing)


def va_path(start: np.ndarray, target: np.ndarray, n: int, easing: str = "linear") -> np.ndarray:
    t = fractions(n, easing)[:, None]
    return np.asarray((1.0 - t) * np.asarray(start, dtype=np.float64) + t * np.asarray(target, dtype=np.float64))


def gems_path(start: np.ndarray, target: np.ndarray, n: int, easing: str = "linear") -> np.ndarray:
    p = va_path(start, target, n, easing)
    return np.asarray(p / p.sum(axis=1, keepdims=True))


@dataclass
class Context:
    """One request in flight: eligibility, what is already used, and the steps so far."""

    request: PlaylistRequest
    index: CatalogIndex
    profile: ListenerProfile | None
    models: Mapping[str, Any]
    eligible: np.ndarray
    n: int
    notes: list[str]
    rng: np.random.Generator
    steps: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.used = np.zeros(len(self.index), dtype=bool)
        self.artist_counts = np.zeros(self.index.artist_names.size, dtype=np.int32)
        c = self.request.constraints
        self.max_per_artist = c.max_per_artist
        self.preferred = self.index.genre_code_set(c.preferred_genres) if c.preferred_genres else None
        self.params = self.request.params

    # -- parameters ---------------------------------------------------------------------
    def param(self, name: str, default: Any, kind: type | tuple[type, ...] = float, lo: float | None = None,
              hi: float | None = None) -> Any:
        value = self.params.get(name, default)
        if value is None:
            return default
        if kind in (float, int):
            try:
                num = float(value)
            except (TypeError, ValueError):
                raise EngineError(f"Parameter {name!r} must be a number") from None
            if not math.isfinite(num) or (lo is not None and num < lo) or (hi is not None and num > hi):
                raise EngineError(f"Parameter {name!r} must be a number in [{lo}, {hi}]")
            return int(num) if kind is int else num
        if not isinstance(value, kind):
            raise EngineError(f"Parameter {name!r} has the wrong type")
        return value

    # -- picking ------------------------------------------------------------------------
    def acceptable(self, pos: np.ndarray) -> np.ndarray:
        ok = self.eligible[pos] & ~self.used[pos]
        if self.max_per_artist is not None:
            ok &= self.artist_counts[self.index.artist_codes[pos]] < self.max_per_artist
        return np.asarray(ok)

    def _prefer(self, pos: np.ndarray, score: np.ndarray) -> np.ndarray:
        if self.preferred is None or self.preferred.size == 0:
            return score
        liked = np.isin(self.index.genre_codes[pos], self.preferred)
        return np.where(liked, score * PREFERRED_GENRE_BONUS, score)

    def pick(
        self,
        space: Space | str,
        point: np.ndarray,
        *,
        k: int = 24,
        score: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    ) -> tuple[int, float] | None:
        """The best acceptable track near `point`: (catalog position, distance) or None.

        Candidates are the k nearest rows of the space; if none is acceptable (used,
        excluded, artist cap) k grows, and past a limit the acceptable rows are scanned.
        `score(pos, dist)` re-ranks candidates (lower is better); ties go to the nearer.
        """
        sp = self.index.spaces[space] if isinstance(space, str) else space
        n = len(sp)
        while True:
            d, pos = sp.query(point, k)
            ok = self.acceptable(pos)
            if ok.any():
                return self._best(pos[ok], d[ok], score)
            if k >= n:
                return None
            k *= 8
            if k > MAX_CANDIDATES_BEFORE_SCAN:
                return self._scan(sp, point, score)

    def pick_from(
        self,
        space: Space | str,
        point: np.ndarray,
        cand: tuple[np.ndarray, np.ndarray] | None,
        *,
        score: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    ) -> tuple[int, float] | None:
        """Like pick, but first from precomputed (distances, positions) candidates for this
        point (from a batch query); falls back to pick when none of them is acceptable."""
        if cand is not None:
            d, pos = cand
            ok = self.acceptable(pos)
            if ok.any():
                return self._best(pos[ok], d[ok], score)
            k = 8 * len(pos)
        else:
            k = 24
        return self.pick(space, point, k=k, score=score)

    def _scan(self, sp: Space, point: np.ndarray, score: ScoreFn | None) -> tuple[int, float] | None:
        rows_pos = sp.positions if sp.positions is not None else np.arange(len(sp))
        ok = self.acceptable(rows_pos)
        if not ok.any():
            return None
        data = sp.data[ok]
        diff = data - np.asarray(point, dtype=data.dtype)
        d = np.sqrt(np.einsum("ij,ij->i", diff, diff)).astype(np.float64)
        pos = rows_pos[ok]
        keep = np.argsort(d, kind="stable")[:256]
        return self._best(pos[keep], d[keep], score)

    def _best(self, pos: np.ndarray, d: np.ndarray, score: ScoreFn | None) -> tuple[int, float]:
        s = d if score is None else np.asarray(score(pos, d), dtype=np.float64)
        s = self._prefer(pos, s)
        order = np.lexsort((pos, d, s))
        j = int(order[0])
        return int(pos[j]), float(d[j])

    def take(self, pos: int, waypoint_va: np.ndarray, waypoint_gems: np.ndarray | None, distance: float,
             reason: str) -> Step:
        self.used[pos] = True
        self.artist_counts[self.index.artist_codes[pos]] += 1
        gems = None if waypoint_gems is None else tuple(round(float(x), 6) for x in waypoint_gems)
        step = Step(
            position=len(self.steps),
            waypoint_va=(round(float(waypoint_va[0]), 6), round(float(waypoint_va[1]), 6)),
            waypoint_gems=gems,
            track_id=int(self.index.track_ids[pos]),
            distance=round(float(distance), 6),
            reason=reason,
        )
        self.steps.append(step)
        return step

    def ran_out(self) -> None:
        self.notes.append(
            f"Only {len(self.steps)} of {self.n} tracks could be chosen under the constraints; "
            "the playlist is shorter than asked"
        )

    def easing(self) -> str:
        value = self.param("easing", "linear", str)
        if value not in EASINGS:
            raise EngineError(f"Unknown easing {value!r}; expected one of {', '.join(EASINGS)}")
        return str(value)


def nearest_gems(va: np.ndarray) -> int:
    """The GEMS category nearest a valence/arousal point (= argmax of vocab.va_to_gems)."""
    d = (vocab.GEMS_VA[:, 0] - va[0]) ** 2 + (vocab.GEMS_VA[:, 1] - va[1]) ** 2
    return int(d.argmin())


def describe_va(va: np.ndarray) -> str:
    name = vocab.GEMS_INFO[nearest_gems(va)].label.lower()
    return f"{name} (valence {va[0]:+.2f}, arousal {va[1]:+.2f})"


def target_state(ctx: Context) -> State:
    """The request's target; strategies that move toward one raise a clear error without it."""
    req = ctx.request
    if req.target is None:
        raise EngineError(f"The {req.strategy} strategy needs a target state (or use 'mapping' to choose one)")
    return req.target


def start_target_va(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    return ctx.request.start.to_va(), target_state(ctx).to_va()


def state_from_va(va: np.ndarray) -> State:
    v = np.clip(np.asarray(va, dtype=np.float64), -1.0, 1.0)
    return State.from_va(float(v[0]), float(v[1]))
