"""The Self-Assessment Manikin drawn as SVG (Bradley & Lang 1994). Pure: no Django.

One figure per scale point 1–9. Pleasure: the mouth goes from a frown to a smile; arousal: the
"heart" in the belly grows from a dot to a burst; dominance: the figure grows from small to
filling its box. Drawn by Attune after the published figures' principles, not copied.
"""

from __future__ import annotations

from html import escape


def _burst(cx: float, cy: float, r: float) -> str:
    import math

    pts = []
    for k in range(16):
        rr = r if k % 2 == 0 else r * 0.45
        a = math.pi * k / 8
        pts.append(f"{cx + rr * math.cos(a):.1f},{cy + rr * math.sin(a):.1f}")
    return f'<polygon points="{" ".join(pts)}" fill="currentColor" opacity="0.8"/>'


def manikin_svg(dimension: str, point: int, *, size: int = 56, label: str | None = None) -> str:
    """An accessible inline SVG of one SAM figure (dimension pleasure|arousal|dominance, point 1–9)."""
    if dimension not in ("pleasure", "arousal", "dominance") or not 1 <= point <= 9:
        raise ValueError(f"No SAM figure for {dimension!r} at {point!r}.")
    t = (point - 1) / 8  # 0 … 1
    scale = 0.55 + 0.45 * t if dimension == "dominance" else 0.9
    mouth_bend = (t - 0.5) * 16 if dimension == "pleasure" else 0.0
    parts = [
        f'<g transform="translate(50 55) scale({scale:.3f}) translate(-50 -55)" fill="none" stroke="currentColor" '
        'stroke-width="3" stroke-linecap="round">',
        '<circle cx="50" cy="24" r="15"/>',  # head
        '<circle cx="44" cy="21" r="1.8" fill="currentColor"/><circle cx="56" cy="21" r="1.8" fill="currentColor"/>',
        f'<path d="M42 30 Q50 {30 + mouth_bend:.1f} 58 30"/>',  # mouth
        '<path d="M30 92 L38 40 L62 40 L70 92 Z"/>',  # body
        '<path d="M38 48 L22 66 M62 48 L78 66"/>',  # arms
    ]
    if dimension == "arousal":
        parts.append(_burst(50, 66, 3 + 13 * t))
    parts.append("</g>")
    label = label or f"{dimension} {point} of 9"  # the page passes it in its language
    return (f'<svg viewBox="0 0 100 100" width="{size}" height="{size}" role="img" aria-label="{escape(label)}" '
            f'class="sam-figure" xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>'
            + "".join(parts) + "</svg>")
