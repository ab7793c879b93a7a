"""Settings of studies.listening, declared once (config/app_settings.py) and read at call time:
``conf.MAX_BATCH`` is ``settings.ATTUNE_LISTENING_MAX_BATCH`` or its default."""

from __future__ import annotations

from typing import Any

from config.app_settings import Setting, Settings

SETTINGS = Settings(
    Setting("STRATEGIES", "ATTUNE_LISTENING_STRATEGIES", tuple, ("iso", "interpolation", "mapping", "random"),
            "strategies a person may pick on the start page"),
    Setting("DEFAULT_STRATEGY", "ATTUNE_LISTENING_DEFAULT_STRATEGY", str, "iso",
            "used when the person picks none and no experiment decides"),
    Setting("DEFAULT_TRACKS", "ATTUNE_LISTENING_DEFAULT_TRACKS", int, 8, "length when neither tracks nor minutes are given"),
    Setting("MAX_TRACKS", "ATTUNE_LISTENING_MAX_TRACKS", int, 60, "longest session in tracks"),
    Setting("MAX_MINUTES", "ATTUNE_LISTENING_MAX_MINUTES", float, 180.0, "longest session in minutes"),
    Setting("CLOCK_SKEW_S", "ATTUNE_LISTENING_CLOCK_SKEW_S", float, 30.0,
            "how far a client's event time may lie in the future or before the start"),
    Setting("MAX_BATCH", "ATTUNE_LISTENING_MAX_BATCH", int, 100, "events per POST"),
    Setting("PLAN_CACHE_SESSIONS", "ATTUNE_LISTENING_PLAN_CACHE_SESSIONS", int, 4096,
            "active sessions whose plan a web process keeps between event posts (0: read it every time)"),
    Setting("PLAN_CACHE_SECONDS", "ATTUNE_LISTENING_PLAN_CACHE_SECONDS", float, 300.0,
            "how long a kept plan is used before it is read again"),
    Setting("MAX_PAYLOAD_BYTES", "ATTUNE_LISTENING_MAX_PAYLOAD_BYTES", int, 2048, "size of one event's JSON payload"),
    Setting("REPLAN_AFTER_TRACKS", "ATTUNE_LISTENING_REPLAN_AFTER_TRACKS", int, 3,
            "finished tracks (since start or the last re-plan) before 'no progress' re-plans"),
    Setting("REPLAN_MIN_PROGRESS", "ATTUNE_LISTENING_REPLAN_MIN_PROGRESS", float, 0.05,
            "valence/arousal distance toward the target that counts as progress"),
    Setting("REPLAN_AWAY_MARGIN", "ATTUNE_LISTENING_REPLAN_AWAY_MARGIN", float, 0.15,
            "moving this much further from the target re-plans after any finished track"),
    Setting("REPLAN_WINDOW_S", "ATTUNE_LISTENING_REPLAN_WINDOW_S", int, 20,
            "seconds of webcam trace averaged for 'then' and 'now'"),
    Setting("REPLAN_MIN_SECONDS", "ATTUNE_LISTENING_REPLAN_MIN_SECONDS", int, 5,
            "webcam seconds with a face needed in each window"),
    Setting("MAX_REPLANS", "ATTUNE_LISTENING_MAX_REPLANS", int, 3, "re-plans per session"),
    Setting("STALE_HOURS", "ATTUNE_LISTENING_STALE_HOURS", float, 12.0,
            "an active session this quiet is marked abandoned (task)"),
)

def __getattr__(name: str) -> Any:
    return SETTINGS.value(name)
