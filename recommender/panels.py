"""Dashboard panel contexts of the recommender (registered in apps.py)."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from recommender import index_cache
from recommender.engine.clusters import persona
from recommender.engine.types import EngineError
from recommender.selectors import listening_history
from recommender.streaming_history import late_night_share

# The words the engine names clusters with (recommender.engine.clusters: a GEMS label, then
# "high"/"low" and a feature word), marked here so the persona card can show them translated.
CLUSTER_WORDS = (
    gettext_noop("valence"), gettext_noop("energy"), gettext_noop("danceability"), gettext_noop("acousticness"),
    gettext_noop("instrumentalness"), gettext_noop("loudness"), gettext_noop("tempo"), gettext_noop("major key"),
    gettext_noop("brightness"), gettext_noop("note density"), gettext_noop("rhythmic pulse"),
    gettext_noop("speechiness"), gettext_noop("liveness"), gettext_noop("middle of the catalog"),
)


def cluster_name(name: str) -> str:
    """A cluster name such as "Peacefulness: low energy, high valence (2)" in the active language,
    word by word (a word without a translation stays as it is)."""
    mood, sep, rest = name.partition(": ")
    if not sep:
        return _(name)
    number = re.search(r" \(\d+\)$", rest)
    words = rest[: number.start()] if number else rest
    parts = []
    for part in words.split(", "):
        level, space, feature = part.partition(" ")
        if space and level == "high":
            parts.append(_("high %(feature)s") % {"feature": _(feature)})
        elif space and level == "low":
            parts.append(_("low %(feature)s") % {"feature": _(feature)})
        else:
            parts.append(_(part))
    return f"{_(mood)}: {', '.join(parts)}{number.group(0) if number else ''}"


def persona_context(request) -> dict:
    """Design 003's persona card from the person's history: the mood cluster (k-means on the
    catalog's features, named from its centroid) most of their tracks fall in, the variety of
    clusters, the median minutes per sitting and, with an imported streaming history, the share of
plays between midnight and 5 a.m. Empty state while there is no history."""

    items, source = listening_history(user=request.user)
    if not items:
        return {"persona": None}
    minutes_by_sitting: dict[str, float] = {}
    for item in items:
        minutes_by_sitting[item.session_key] = minutes_by_sitting.get(item.session_key, 0.0) + item.seconds / 60.0
    try:
        card = persona(
            index_cache.get_index(),
            [item.track_id for item in items],
            session_minutes=list(minutes_by_sitting.values()),
        )
    except EngineError:
        card = None
    if card is None:
        return {"persona": None}
    if card.variety < 0.35:
        variety_word = _("focused")
    elif card.variety < 0.7:
        variety_word = _("varied")
    else:
        variety_word = _("wide-ranging")
    times = [item.played_at for item in items if item.played_at is not None]
    late = late_night_share(times)
    return {
        "persona": card,
        "dominant": cluster_name(card.dominant_cluster),
        "source": source,
        "imported": "imported" in source,
        "late_night": None if late is None else late * 100,
        "sittings": len(minutes_by_sitting),
        "share": card.dominant_share * 100,
        "variety_word": variety_word,
        "mix": [
            {"label": cluster_name(name), "percent": share * 100}
            for name, share in sorted(card.shares.items(), key=lambda kv: -kv[1])
            if share > 0
        ],
    }
