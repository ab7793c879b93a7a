"""Settings of studies.recruitment, declared once (config/app_settings.py) and read at call time.

ATTUNE_INSTRUMENT_WORDING replaces item wording per instrument, e.g.
{"stai6": {"calm": "…", "tense": "…"}} — for instruments whose licence restricts
redistribution (STAI-6, I-PANAS-SF; see studies/instruments.py). Scoring is unchanged.
"""

from __future__ import annotations

from typing import Any

from config.app_settings import Setting, Settings
from studies import instruments

SETTINGS = Settings(
    Setting("ENTRY_RATE", "ATTUNE_RECRUITMENT_ENTRY_RATE", str, "20/min",
            "entry attempts allowed per client IP, DRF rate syntax; more get a 429 page"),
    Setting("INSTRUMENT_WORDING", "ATTUNE_INSTRUMENT_WORDING", "json", None,
            "replacement item wording per instrument (JSON object)"),
)


def __getattr__(name: str) -> Any:
    return SETTINGS.value(name)


def instrument(key: str) -> instruments.Instrument:
    """The instrument with this deployment's wording applied."""
    wording = (SETTINGS.value("INSTRUMENT_WORDING") or {}).get(key)
    inst = instruments.instrument(key)
    return instruments.with_wording(inst, wording) if wording else inst
