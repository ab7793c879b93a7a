"""How well a playlist follows its path, with the measures used for smooth mood-dynamic
playlists (EvoMUSART 2024): smoothness and evenness, plus waypoint distance and artist
diversity. Track emotion is the population label's valence/arousal (labels @ GEMS_VA).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .index import CatalogIndex
from .types import Playlist


@dataclass(frozen=True)
class QualityReport:
    smoothness: float
    """Pearson correlation between the tracks' valence/arousal sequence and the waypoint path:
    per dimension in which the path moves, weighted by how far the path moves in it. 1 is a
    perfect follow, 0 no relation; NaN when the path does not move (nothing to follow)."""
    evenness: float
    """Variance of the step sizes (distance between consecutive tracks in the valence/arousal
    plane). Lower is more even; NaN with fewer than three tracks."""
    mean_waypoint_distance: float
    """Mean valence/arousal distance from each waypoint to its chosen track's label."""
    artist_diversity: float
    """Distinct artists divided by the number of tracks (1 = no artist repeats)."""

    def as_dict(self) -> dict[str, float]:
        return {
            "smoothness": self.smoothness,
            "evenness": self.evenness,
            "mean_waypoint_distance": self.mean_waypoint_distance,
            "artist_diversity": self.artist_diversity,
        }


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    xc, yc = x - x.mean(), y - y.mean()
    den = math.sqrt(float(xc @ xc) * float(yc @ yc))
    if den < 1e-12:
        return 0.0
    return float(xc @ yc) / den


def smoothness(track_va: np.ndarray, path_va: np.ndarray) -> float:
    track_va = np.asarray(track_va, dtype=np.float64)
    path_va = np.asarray(path_va, dtype=np.float64)
    if len(path_va) < 2:
        return float("nan")
    spread = path_va.max(axis=0) - path_va.min(axis=0)
    moving = spread > 1e-9
    if not moving.any():
        return float("nan")
    weights = spread[moving] / spread[moving].sum()
    rs = [_pearson(track_va[:, j], path_va[:, j]) for j in np.flatnonzero(moving)]
    return float(np.dot(weights, rs))


def quality(playlist: Playlist, index: CatalogIndex) -> QualityReport:
    if not playlist.steps:
        nan = float("nan")
        return QualityReport(nan, nan, nan, nan)
    pos = index.positions_of([s.track_id for s in playlist.steps], strict=True)
    track_va = index.va[pos]
    path = np.array([s.waypoint_va for s in playlist.steps], dtype=np.float64)
    steps = np.linalg.norm(np.diff(track_va, axis=0), axis=1)
    evenness = float(np.var(steps)) if steps.size >= 2 else float("nan")
    wp_dist = float(np.linalg.norm(track_va - path, axis=1).mean())
    diversity = float(np.unique(index.artist_codes[pos]).size / pos.size)
    return QualityReport(smoothness(track_va, path), evenness, wp_dist, diversity)
