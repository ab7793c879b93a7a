"""Settings of studies.listening, read at use time so tests can override them.

| setting | default | meaning |
| --- | --- | --- |
| ATTUNE_LISTENING_STRATEGIES | iso, interpolation, mapping, random | strategies a person may pick on the start page |
| ATTUNE_LISTENING_DEFAULT_STRATEGY | "iso" | used when the person picks none and no experiment decides |
| ATTUNE_LISTENING_DEFAULT_TRACKS | 8 | length when neither tracks nor minutes are given |
| ATTUNE_LISTENING_MAX_TRACKS | 60 | longest session in tracks |
| ATTUNE_LISTENING_MAX_MINUTES | 180 | longest session in minutes |
| ATTUNE_LISTENING_CLOCK_SKEW_S | 30 | how far a client's event time may lie in the future or before the start |
| ATTUNE_LISTENING_MAX_BATCH | 100 | events per POST |
| ATTUNE_LISTENING_MAX_PAYLOAD_BYTES | 2048 | size of one event's JSON payload |
| ATTUNE_LISTENING_REPLAN_AFTER_TRACKS | 3 | finished tracks (since start or the last re-plan) before "no progress" re-plans |
| ATTUNE_LISTENING_REPLAN_MIN_PROGRESS | 0.05 | valence/arousal distance toward the target that counts as progress |
| ATTUNE_LISTENING_REPLAN_AWAY_MARGIN | 0.15 | moving this much further from the target re-plans after any finished track |
| ATTUNE_LISTENING_REPLAN_WINDOW_S | 20 | seconds of webcam trace averaged for "then" and "now" |
| ATTUNE_LISTENING_REPLAN_MIN_SECONDS | 5 | webcam seconds with a face needed in each window |
| ATTUNE_LISTENING_MAX_REPLANS | 3 | re-plans per session |
| ATTUNE_LISTENING_STALE_HOURS | 12 | an active session this quiet is marked abandoned (task) |
"""

from __future__ import annotations

from django.conf import settings


def _get(name: str, default):
    return getattr(settings, f"ATTUNE_LISTENING_{name}", default)


def strategies() -> tuple[str, ...]:
    return tuple(_get("STRATEGIES", ("iso", "interpolation", "mapping", "random")))


def default_strategy() -> str:
    return str(_get("DEFAULT_STRATEGY", "iso"))


def default_tracks() -> int:
    return int(_get("DEFAULT_TRACKS", 8))


def max_tracks() -> int:
    return int(_get("MAX_TRACKS", 60))


def max_minutes() -> float:
    return float(_get("MAX_MINUTES", 180.0))


def clock_skew_s() -> float:
    return float(_get("CLOCK_SKEW_S", 30.0))


def max_batch() -> int:
    return int(_get("MAX_BATCH", 100))


def max_payload_bytes() -> int:
    return int(_get("MAX_PAYLOAD_BYTES", 2048))


def replan_after_tracks() -> int:
    return int(_get("REPLAN_AFTER_TRACKS", 3))


def replan_min_progress() -> float:
    return float(_get("REPLAN_MIN_PROGRESS", 0.05))


def replan_away_margin() -> float:
    return float(_get("REPLAN_AWAY_MARGIN", 0.15))


def replan_window_s() -> int:
    return int(_get("REPLAN_WINDOW_S", 20))


def replan_min_seconds() -> int:
    return int(_get("REPLAN_MIN_SECONDS", 5))


def max_replans() -> int:
    return int(_get("MAX_REPLANS", 3))


def stale_hours() -> float:
    """ATTUNE_LISTENING_STALE_HOURS (default 12): an active session this quiet is abandoned."""
    return float(_get("STALE_HOURS", 12.0))
