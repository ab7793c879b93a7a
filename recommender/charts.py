"""Small server-side SVG pictures for playlists. Pure: builds markup from numbers only."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

SIZE = 320
PAD = 34


def _(message: str) -> str:
    """Marks a word of the picture for `makemessages`; the caller passes `translate` (django's
    gettext) to show it in the page's language."""
    return message


def _xy(valence: float, arousal: float) -> tuple[float, float]:
    inner = SIZE - 2 * PAD
    return PAD + (valence + 1) / 2 * inner, PAD + (1 - arousal) / 2 * inner


def va_path_svg(
    *,
    waypoints: Sequence[tuple[float, float]],
    tracks: Sequence[tuple[float, float] | None],
    titles: Sequence[str],
    start: tuple[float, float],
    target: tuple[float, float] | None,
    translate: Callable[[str], str] | None = None,
) -> str:
    """The valence–arousal plane with the planned path (waypoints) and where each chosen track sits.

    Waypoints form a solid line; each chosen track is a numbered dot joined to its waypoint by
    a dotted line (that gap is the step's distance). Start is a square, target a diamond.
    Its words go through `translate` when given.
    """
    tr = translate or (lambda message: message)
    heading = _("The playlist's path in the valence–arousal plane")
    pleasant, unpleasant, energetic, calm = (escape(tr(w)) for w in (_("pleasant"), _("unpleasant"), _("energetic"), _("calm")))
    start_word, target_word = escape(tr(_("start"))), escape(tr(_("target")))
    desc = (_("%(count)s waypoints from the start mood to the target mood; dots are the chosen tracks.") if target
            else _("%(count)s waypoints from the start mood; dots are the chosen tracks."))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" class="va-plane" role="img" '
        'aria-labelledby="va-title va-desc">',
        f'<title id="va-title">{escape(tr(heading))}</title>',
        f'<desc id="va-desc">{escape(tr(desc) % {"count": len(waypoints)})}</desc>',
        f'<rect x="{PAD}" y="{PAD}" width="{SIZE - 2 * PAD}" height="{SIZE - 2 * PAD}" class="va-frame"/>',
    ]
    cx, cy = _xy(0, 0)
    parts.append(f'<line x1="{PAD}" y1="{cy}" x2="{SIZE - PAD}" y2="{cy}" class="va-axis"/>')
    parts.append(f'<line x1="{cx}" y1="{PAD}" x2="{cx}" y2="{SIZE - PAD}" class="va-axis"/>')
    parts.append(f'<text x="{SIZE - PAD}" y="{cy - 4}" text-anchor="end" class="va-label">{pleasant} →</text>')
    parts.append(f'<text x="{PAD}" y="{cy - 4}" class="va-label">← {unpleasant}</text>')
    parts.append(f'<text x="{cx + 4}" y="{PAD + 12}" class="va-label">{energetic}</text>')
    parts.append(f'<text x="{cx + 4}" y="{SIZE - PAD - 4}" class="va-label">{calm}</text>')
    for (wv, wa), point in zip(waypoints, tracks, strict=False):
        if point is None:
            continue
        x1, y1 = _xy(wv, wa)
        x2, y2 = _xy(*point)
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" class="va-gap"/>')
    if waypoints:
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (_xy(v, a) for v, a in waypoints))
        parts.append(f'<polyline points="{pts}" class="va-path"/>')
    for i, point in enumerate(tracks, start=1):
        if point is None or not all(math.isfinite(c) for c in point):
            continue
        x, y = _xy(*point)
        title = escape(titles[i - 1]) if i - 1 < len(titles) else ""
        parts.append(f'<g class="va-track"><circle cx="{x:.1f}" cy="{y:.1f}" r="7"><title>{i}. {title}</title></circle>'
                     f'<text x="{x:.1f}" y="{y + 3:.1f}" text-anchor="middle">{i}</text></g>')
    sx, sy = _xy(*start)
    parts.append(f'<rect x="{sx - 6:.1f}" y="{sy - 6:.1f}" width="12" height="12" class="va-start"><title>{start_word}</title></rect>')
    if target is not None:
        tx, ty = _xy(*target)
        parts.append(
            f'<polygon points="{tx:.1f},{ty - 8:.1f} {tx + 8:.1f},{ty:.1f} {tx:.1f},{ty + 8:.1f} {tx - 8:.1f},{ty:.1f}" '
            f'class="va-target"><title>{target_word}</title></polygon>'
        )
    parts.append("</svg>")
    return "".join(parts)
