"""The therapist's outcome figure: each finished session's shift toward its target."""

from __future__ import annotations

from django.utils.html import escape

from therapy.selectors import ClientSessionRow


def shift_series_svg(rows: list[ClientSessionRow], *, width: int = 520, height: int = 200) -> str:
    """A small bar chart of each finished session's shift toward its target, in time order
    (above the line: ended closer to the target). Inline SVG with a title and description."""
    points = [(r.session.created_at, r.outcome.shift_toward_target) for r in rows if r.outcome.shift_toward_target is not None]
    if not points:
        return ""
    points = points[-30:]
    pad_l, pad_r, pad_t, pad_b = 44, 10, 24, 28
    inner_w, inner_h = width - pad_l - pad_r, height - pad_t - pad_b
    top = max(0.5, max(abs(s) for _, s in points))
    mid = pad_t + inner_h / 2
    step = inner_w / len(points)
    bar_w = max(2.0, step * 0.7)
    parts = []
    for i, (when, shift) in enumerate(points):
        h = abs(shift) / top * (inner_h / 2)
        y = mid - h if shift >= 0 else mid
        colour = "#2a7d4f" if shift >= 0 else "#b3412e"
        label = f"{when:%d %b %H:%M}: {'closer to' if shift >= 0 else 'away from'} the target by {abs(shift):.2f}"
        parts.append(
            f'<rect x="{pad_l + i * step + (step - bar_w) / 2:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{max(h, 1):.1f}" '
            f'fill="{colour}"><title>{escape(label)}</title></rect>'
        )
    desc = "; ".join(f"{w:%d %b}: {s:+.2f}" for w, s in points)
    first, last = points[0][0], points[-1][0]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="shift-title shift-desc" class="shift-series">'
        f'<title id="shift-title">Mood shift toward the target, per session</title>'
        f'<desc id="shift-desc">Positive means the session ended closer to its target. {escape(desc)}</desc>'
        f'<line x1="{pad_l}" y1="{mid:.1f}" x2="{width - pad_r}" y2="{mid:.1f}" stroke="#777" stroke-width="1"/>'
        f'<text x="{pad_l - 6}" y="{pad_t + 4}" font-size="11" text-anchor="end">+{top:.1f}</text>'
        f'<text x="{pad_l - 6}" y="{mid + 4:.1f}" font-size="11" text-anchor="end">0</text>'
        f'<text x="{pad_l - 6}" y="{pad_t + inner_h + 4}" font-size="11" text-anchor="end">-{top:.1f}</text>'
        f'<text x="{pad_l}" y="{height - 8}" font-size="11">{first:%d %b}</text>'
        f'<text x="{width - pad_r}" y="{height - 8}" font-size="11" text-anchor="end">{last:%d %b}</text>'
        f'<text x="{pad_l}" y="14" font-size="12">closer to target ↑ · away ↓</text>'
        + "".join(parts)
        + "</svg>"
    )
