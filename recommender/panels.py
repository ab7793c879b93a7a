"""Dashboard panel contexts of the recommender (registered in apps.py)."""

from __future__ import annotations

from emotion.vocab import GEMS, GEMS_INFO
from recommender.selectors import persona_for


def persona_context(request) -> dict:
    persona = persona_for(user=request.user)
    if persona is None:
        return {"persona": None}
    info = GEMS_INFO[GEMS.index(persona.dominant)]
    if persona.variety < 0.35:
        variety_word = "focused"
    elif persona.variety < 0.7:
        variety_word = "varied"
    else:
        variety_word = "wide-ranging"
    return {
        "persona": persona,
        "label": f"The {info.label.lower()} listener",
        "emoji": info.emoji,
        "share": persona.dominant_share * 100,
        "variety_word": variety_word,
        "mix": [
            {"label": i.label, "emoji": i.emoji, "share": share, "percent": share * 100}
            for i, share in zip(GEMS_INFO, persona.mix, strict=True)
        ],
    }
