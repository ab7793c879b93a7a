"""How well a playlist travels from its start to its target, measured so that degenerate
playlists cannot score well.

Per playlist (tracks t_0..t_{n-1} in a label space, waypoints w_0..w_{n-1} on the planned path,
start s = w_0 and target g = w_{n-1}):

- ``coverage``: the fraction of the start→target distance actually travelled,
  (t_{n-1} - t_0)·(g - s) / |g - s|². 1 = the playlist moves the whole way, 0 = it stands still,
  0.02 = it moves 2% of the way; negative when it moves backwards. NaN when s = g.
- ``endpoint_distance``: |t_{n-1} - g|, how far the last track is from the target.
- ``mean_waypoint_distance``: mean |t_i - w_i|.
- ``step_cv``: coefficient of variation (std / mean) of the step sizes |t_{i+1} - t_i|.
  0 = perfectly even steps; a single jump among standing steps gives about sqrt(n - 2).
  NaN when the playlist does not move at all (coverage flags that) or has fewer than 3 tracks.
- ``smoothness``: a coefficient of determination of the tracks against the path pooled over
  *every* dimension of the space, 1 - Σ_ij (t_ij - w_ij)² / Σ_ij (w_ij - mean_i w_ij)².
  Unlike a per-dimension Pearson correlation it is not blind to scale and offset: 1 = the tracks
  sit on the path, 0 = no better than standing at the path's centre (a single jump from start to
  target scores about 0), negative = worse (standing still, 2% of the way, a path shifted away
  from the target, a reversed path all score below 0). Deviations in a dimension the path does
  not move in count too. NaN when the path does not move.
- ``artist_diversity``: distinct artists / tracks.

The measures follow the spirit of the smoothness/evenness measures used for mood-dynamic
playlists in the literature, but are defined here; no figure of a paper is reproduced.

Which space: by default the population labels the strategies searched (``index.va``), which
flatters the strategies. Pass ``judge_va`` (one valence/arousal row per index position, e.g. held-out
survey labels the strategy never saw) to judge in labels the strategy did not search; the report
says which space it used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .index import CatalogIndex
from .types import Playlist

SEARCHED_SPACE = "searched labels (valence/arousal of the labels the strategy searched)"


@dataclass(frozen=True)
class QualityReport:
    smoothness: float
    coverage: float
    endpoint_distance: float
    mean_waypoint_distance: float
    step_cv: float
    artist_diversity: float
    space: str = SEARCHED_SPACE

    def as_dict(self) -> dict[str, float]:
        return {
            "smoothness": self.smoothness,
            "coverage": self.coverage,
            "endpoint_distance": self.endpoint_distance,
            "mean_waypoint_distance": self.mean_waypoint_distance,
            "step_cv": self.step_cv,
            "artist_diversity": self.artist_diversity,
        }


NAN = float("nan")


def smoothness(track_va: np.ndarray, path_va: np.ndarray) -> float:
    """Pooled R² of the tracks against the path over every dimension (see the module docstring)."""
    track = np.asarray(track_va, dtype=np.float64)
    path = np.asarray(path_va, dtype=np.float64)
    if len(path) < 2:
        return NAN
    spread = float(((path - path.mean(axis=0)) ** 2).sum())
    if spread < 1e-12:
        return NAN
    return 1.0 - float(((track - path) ** 2).sum()) / spread


def coverage(track_va: np.ndarray, path_va: np.ndarray) -> float:
    track = np.asarray(track_va, dtype=np.float64)
    path = np.asarray(path_va, dtype=np.float64)
    way = path[-1] - path[0]
    d2 = float(way @ way)
    if len(track) < 2 or d2 < 1e-12:
        return NAN
    return float((track[-1] - track[0]) @ way) / d2


def step_cv(track_va: np.ndarray) -> float:
    track = np.asarray(track_va, dtype=np.float64)
    if len(track) < 3:
        return NAN
    steps = np.linalg.norm(np.diff(track, axis=0), axis=1)
    mean = float(steps.mean())
    if mean < 1e-12:
        return NAN
    return float(steps.std()) / mean


def path_quality(
    track_va: np.ndarray, path_va: np.ndarray, artist_codes: np.ndarray | None = None, *, space: str = SEARCHED_SPACE
) -> QualityReport:
    """Every measure on arrays: the tracks' positions and the waypoints, one row each, same order."""
    track = np.asarray(track_va, dtype=np.float64)
    path = np.asarray(path_va, dtype=np.float64)
    if track.shape != path.shape or track.ndim != 2:
        raise ValueError(f"track_va and path_va must be equal (n, d) arrays, got {track.shape} and {path.shape}")
    if len(track) == 0:
        return QualityReport(NAN, NAN, NAN, NAN, NAN, NAN, space)
    diversity = NAN if artist_codes is None else float(np.unique(artist_codes).size / len(track))
    return QualityReport(
        smoothness=smoothness(track, path),
        coverage=coverage(track, path),
        endpoint_distance=float(np.linalg.norm(track[-1] - path[-1])),
        mean_waypoint_distance=float(np.linalg.norm(track - path, axis=1).mean()),
        step_cv=step_cv(track),
        artist_diversity=diversity,
        space=space,
    )


def quality(
    playlist: Playlist, index: CatalogIndex, *, judge_va: np.ndarray | None = None, space: str | None = None
) -> QualityReport:
    """Measure a playlist. ``judge_va`` (len(index) x 2, aligned with the index positions) judges it
    in other labels than the ones searched; name them in ``space``."""
    if not playlist.steps:
        return QualityReport(NAN, NAN, NAN, NAN, NAN, NAN, space or SEARCHED_SPACE)
    pos = index.positions_of([s.track_id for s in playlist.steps], strict=True)
    if judge_va is None:
        track_va, where = index.va[pos], space or SEARCHED_SPACE
    else:
        judge_va = np.asarray(judge_va, dtype=np.float64)
        if judge_va.shape != index.va.shape:
            raise ValueError(f"judge_va must have one (valence, arousal) row per track: {index.va.shape}")
        track_va, where = judge_va[pos], space or "held-out labels"
    path = np.array([s.waypoint_va for s in playlist.steps], dtype=np.float64)
    return path_quality(track_va, path, index.artist_codes[pos], space=where)
