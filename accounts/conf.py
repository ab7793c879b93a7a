"""Settings of accounts, declared once (config/app_settings.py) and read at call time."""

from __future__ import annotations

from typing import Any

from config.app_settings import Setting, Settings

SETTINGS = Settings(
    Setting("WS_MAX_PER_USER", "ATTUNE_WS_MAX_PER_USER", int, 4,
            "open websockets one account may hold (all tabs and devices)"),
    Setting("WS_MAX_PER_IP", "ATTUNE_WS_MAX_PER_IP", int, 20,
            "open websockets one client address may hold (a shared network counts once)"),
    Setting("WS_COUNT_TTL", "ATTUNE_WS_COUNT_TTL", int, 6 * 3600, "seconds a socket count survives without being touched"),
)


def __getattr__(name: str) -> Any:
    return SETTINGS.value(name)
