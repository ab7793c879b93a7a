"""Words a listener reads about playlists: what each strategy does, and why a track was chosen,
in the active language (Django's gettext; locale/nb has the Norwegian).

The engine records a technical reason per track (waypoints, feature distances, discriminator
scores) for researchers; this module turns the stored numbers into a sentence for the person
listening. Plain values in, strings out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from emotion.vocab import GEMS_INFO

# A short name for each strategy, shown on badges and in choices (the engine's name stays
# one click away for researchers).
STRATEGY_LABELS = {
    "iso": gettext_lazy("Step by step"),
    "interpolation": gettext_lazy("A bridge between two pieces"),
    "cluster": gettext_lazy("From one mood group to another"),
    "personal": gettext_lazy("Tuned to your ratings"),
    "gan": gettext_lazy("Imagined pieces"),
    "mapping": gettext_lazy("A goal suggested for your mood"),
    "seed_track": gettext_lazy("From a favourite piece"),
    "random": gettext_lazy("A random mix"),
}

STRATEGY_HELP = {
    "iso": gettext_lazy("Starts where you are and moves step by step toward where you want to be (the iso principle of music therapy)."),
    "interpolation": gettext_lazy("Finds one piece for your mood now and one for your goal, then fills the gap with music that sounds in between."),
    "cluster": gettext_lazy("Moves from the group of pieces that matches your mood now to the group that matches your goal, the mix shifting as it plays."),
    "personal": gettext_lazy("Like step by step, but uses your own ratings of songs to judge which music moves you."),
    "gan": gettext_lazy("A generative model imagines a piece for each step; the closest real pieces are played."),
    "mapping": gettext_lazy("No goal needed: Attune suggests one from how you feel (from sad toward uplifting, from tense toward calm)."),
    "seed_track": gettext_lazy("Starts from a favourite piece and stays near its mood, or lifts it, with music that sounds similar."),
    "random": gettext_lazy("Random pieces under the same rules (the comparison arm of studies; not aimed at a goal)."),
}

_EXTRA = {
    "personal": gettext_lazy("Your own ratings helped choose it."),
    "seed_track": gettext_lazy("It sounds like your favourite piece."),
    "interpolation": gettext_lazy("It sounds in between the two pieces at either end."),
    "gan": gettext_lazy("A model imagined a piece for this step; this real one is the closest."),
}


def strategy_label(name: str) -> str:
    label = STRATEGY_LABELS.get(name)
    return str(label) if label is not None else name.replace("_", " ").capitalize()


def strategy_help(name: str) -> str:
    return str(STRATEGY_HELP.get(name, ""))


def feeling_of(va: Sequence[float]) -> str:
    """The everyday word for the GEMS feeling nearest a valence/arousal point ("calm", "tense")."""
    v, a = float(va[0]), float(va[1])
    nearest = min(GEMS_INFO, key=lambda g: (g.valence - v) ** 2 + (g.arousal - a) ** 2)
    return _(nearest.description).split(",")[0]


def _share(fraction: float) -> str:
    if fraction < 0.2:
        return _("near the start")
    if fraction < 0.4:
        return _("about a third of the way")
    if fraction < 0.6:
        return _("about halfway")
    if fraction < 0.8:
        return _("about two thirds of the way")
    return _("nearly there")


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


def _where(choice: TrackChoice) -> str:
    n, k = max(choice.count, 1), choice.position
    if choice.start_va is not None and choice.target_va is not None:
        start, goal = feeling_of(choice.start_va), feeling_of(choice.target_va)
        if k == 0:
            return _("starts close to how you feel (%(feeling)s)") % {"feeling": start}
        if k == n - 1:
            return _("arrives at your goal (%(feeling)s)") % {"feeling": goal}
        return _("%(share)s from %(start)s toward %(goal)s") % {"share": _share(k / (n - 1)), "start": start, "goal": goal}
    if choice.start_va is not None:
        return _("stays with your mood (%(feeling)s)") % {"feeling": feeling_of(choice.start_va)}
    return ""


def listener_reason(choice: TrackChoice) -> str:
    """One or two sentences a listener understands: where this track sits on the way from their
    mood to their goal, and how well it matches that step."""
    n, k = max(choice.count, 1), choice.position
    head = _("Piece %(number)s of %(count)s") % {"number": k + 1, "count": n}
    if choice.strategy == "random":
        return _("%(head)s, picked at random: this playlist is the comparison mix of a study, not aimed at a goal.") % {
            "head": head}
    where = _where(choice)
    sentence = (_("%(head)s: %(where)s.") % {"head": head, "where": where}) if where else f"{head}."
    if choice.track_va is None:
        return f"{sentence} " + _("This piece has no emotion rating yet, so it was chosen for how it sounds.")
    feel = feeling_of(choice.track_va)
    if choice.waypoint_va is None:
        return f"{sentence} " + _("It feels %(feeling)s.") % {"feeling": feel}
    gap = math.dist(choice.track_va, choice.waypoint_va)
    if gap < 0.15:
        fit = _("right on this step")
    elif gap < 0.35:
        fit = _("close to this step")
    else:
        fit = _("the nearest the catalog has to this step")
    extra = _EXTRA.get(choice.strategy)
    text = f"{sentence} " + _("It feels %(feeling)s: %(fit)s.") % {"feeling": feel, "fit": fit}
    return f"{text} {extra}" if extra is not None else text


def playlist_title(*, title: str, strategy: str, number: int) -> str:
    """A playlist's name for its owner: the title they gave, else its number and how it moves."""
    return title or _("Playlist %(number)s · %(strategy)s") % {"number": number, "strategy": strategy_label(strategy).lower()}
