"""Settings of studies.recruitment (each can be set from the environment as ATTUNE_<NAME>).

- ATTUNE_RECRUITMENT_ENTRY_RATE: entry attempts allowed per client IP, DRF rate syntax
  (default "20/min"); more get a 429 page.
- ATTUNE_INSTRUMENT_WORDING: replacement item wording per instrument, e.g.
  {"stai6": {"calm": "…", "tense": "…"}} — for instruments whose licence restricts
  redistribution (STAI-6, I-PANAS-SF; see studies/instruments.py). Scoring is unchanged.
"""

from __future__ import annotations

from django.conf import settings

from studies import instruments


def entry_rate() -> str:
    return str(getattr(settings, "ATTUNE_RECRUITMENT_ENTRY_RATE", "20/min"))


def instrument(key: str) -> instruments.Instrument:
    """The instrument with this deployment's wording applied."""
    inst = instruments.instrument(key)
    wording = (getattr(settings, "ATTUNE_INSTRUMENT_WORDING", None) or {}).get(key)
    return instruments.with_wording(inst, wording) if wording else inst
