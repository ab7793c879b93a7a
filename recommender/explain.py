"""Words a listener reads about playlists: what each strategy does, and why a track was chosen.

The engine records a technical reason per track (waypoints, feature distances, discriminator
scores) for researchers; this module turns the stored numbers into a sentence for the person
listening. Pure: plain values in, strings out; no Django.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from emotion.vocab import GEMS_INFO

# A short name for each strategy, shown on badges and in choices (the engine's name stays
# one click away for researchers).
STRATEGY_LABELS: dict[str, str] = {
    "iso": "Step by step",
    "interpolation": "A bridge between two pieces",
    "cluster": "From one mood group to another",
    "personal": "Tuned to your ratings",
    "gan": "Imagined pieces",
    "mapping": "A goal suggested for your mood",
    "seed_track": "From a favourite piece",
    "random": "A random mix",
}

STRATEGY_HELP: dict[str, str] = {
    "iso": "Starts where you are and moves step by step toward where you want to be (the iso principle of music therapy).",
    "interpolation": "Finds one piece for your mood now and one for your goal, then fills the gap with music that sounds in between.",
    "cluster": "Moves from the group of pieces that matches your mood now to the group that matches your goal, the mix shifting as it plays.",
    "personal": "Like step by step, but uses your own ratings of songs to judge which music moves you.",
    "gan": "A generative model imagines a piece for each step; the closest real pieces are played.",
    "mapping": "No goal needed: Attune suggests one from how you feel (from sad toward uplifting, from tense toward calm).",
    "seed_track": "Starts from a favourite piece and stays near its mood, or lifts it, with music that sounds similar.",
    "random": "Random pieces under the same rules (the comparison arm of studies; not aimed at a goal).",
}


def strategy_label(name: str) -> str:
    return STRATEGY_LABELS.get(name, name.replace("_", " ").capitalize())


def strategy_help(name: str) -> str:
    return STRATEGY_HELP.get(name, "")


def feeling_of(va: Sequence[float]) -> str:
    """The everyday word for the GEMS feeling nearest a valence/arousal point ("calm", "tense")."""
    v, a = float(va[0]), float(va[1])
    nearest = min(GEMS_INFO, key=lambda g: (g.valence - v) ** 2 + (g.arousal - a) ** 2)
    return nearest.description.split(",")[0]


def _share(fraction: float) -> str:
    if fraction < 0.2:
        return "near the start"
    if fraction < 0.4:
        return "about a third of the way"
    if fraction < 0.6:
        return "about halfway"
    if fraction < 0.8:
        return "about two thirds of the way"
    return "nearly there"


@dataclass(frozen=True)
class TrackChoice:
    """What is stored about one chosen track, as plain values."""

    position: int  # 0-based
    count: int
    strategy: str
    waypoint_va: tuple[float, float] | None
    track_va: tuple[float, float] | None
    start_va: tuple[float, float] | None
    target_va: tuple[float, float] | None


def listener_reason(choice: TrackChoice) -> str:
    """One or two sentences a listener understands: where this track sits on the way from their
    mood to their goal, and how well it matches that step."""
    n, k = max(choice.count, 1), choice.position
    head = f"Piece {k + 1} of {n}"
    if choice.strategy == "random":
        return f"{head}, picked at random: this playlist is the comparison mix of a study, not aimed at a goal."
    where = ""
    if choice.start_va is not None and choice.target_va is not None:
        start, goal = feeling_of(choice.start_va), feeling_of(choice.target_va)
        if k == 0:
            where = f"starts close to how you feel ({start})"
        elif k == n - 1:
            where = f"arrives at your goal ({goal})"
        else:
            where = f"{_share(k / (n - 1))} from {start} toward {goal}"
    elif choice.start_va is not None:
        where = f"stays with your mood ({feeling_of(choice.start_va)})"
    sentence = f"{head}{': ' + where if where else ''}."
    if choice.track_va is None:
        return sentence + " This piece has no emotion rating yet, so it was chosen for how it sounds."
    feel = feeling_of(choice.track_va)
    if choice.waypoint_va is None:
        return f"{sentence} It feels {feel}."
    gap = math.dist(choice.track_va, choice.waypoint_va)
    if gap < 0.15:
        fit = "right on this step"
    elif gap < 0.35:
        fit = "close to this step"
    else:
        fit = "the nearest the catalog has to this step"
    extra = {
        "personal": " Your own ratings helped choose it.",
        "seed_track": " It sounds like your favourite piece.",
        "interpolation": " It sounds in between the two pieces at either end.",
        "gan": " A model imagined a piece for this step; this real one is the closest.",
    }.get(choice.strategy, "")
    return f"{sentence} It feels {feel}: {fit}.{extra}"


def playlist_title(*, title: str, strategy: str, number: int) -> str:
    """A playlist's name for its owner: the title they gave, else its number and how it moves."""
    return title or f"Playlist {number} · {strategy_label(strategy).lower()}"
