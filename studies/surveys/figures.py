"""Small inline SVG pictures for the survey admin page. Pure: no Django, no matplotlib.

Every function returns one `<svg role="img">` element with a `<title>` and a `<desc>` that
states the numbers, so a screen reader (or a person who would rather read) gets them too.
Colours: Okabe & Ito's colour-blind-safe blue and vermilion; the heat map is a single-hue
ramp, with the count printed in every cell.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

BLUE = "#0072B2"
VERMILION = "#D55E00"
GREY = "#767676"


def _attr(text: str) -> str:
    return escape(str(text), {'"': "&quot;"})


def _svg(width: float, height: float, title: str, desc: str, body: str, testid: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" data-testid="{_attr(testid)}" class="surveys-figure" '
        f'font-family="system-ui, sans-serif" font-size="12"><title>{escape(title)}</title>'
        f"<desc>{escape(desc)}</desc>{body}</svg>"
    )


def _fmt(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def alpha_bars(per_category: Sequence[tuple[str, float | None]], overall: float | None, *, title: str) -> str:
    """Krippendorff's alpha per category as horizontal bars on a -0.2..1 scale, overall last.
    Undefined alphas (too few overlapping raters) are drawn as a dashed empty bar "n/a"."""
    rows = [*per_category, ("Overall", overall)]
    label_w, bar_w, row_h, lo, hi = 170, 260, 22, -0.2, 1.0
    width, height = label_w + bar_w + 60, row_h * len(rows) + 30

    def x(v: float) -> float:
        return label_w + bar_w * (min(max(v, lo), hi) - lo) / (hi - lo)

    parts = []
    for tick in (0.0, 0.667, 0.8, 1.0):
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="4" x2="{x(tick):.1f}" y2="{height - 22}" stroke="{GREY}" '
            f'stroke-dasharray="{"" if tick == 0 else "2 3"}" stroke-width="1"/>'
            f'<text x="{x(tick):.1f}" y="{height - 8}" text-anchor="middle" fill="{GREY}">{tick:g}</text>'
        )
    for i, (name, value) in enumerate(rows):
        y = 6 + i * row_h
        weight = "bold" if name == "Overall" else "normal"
        parts.append(f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end" font-weight="{weight}">{escape(name)}</text>')
        if value is None or not math.isfinite(value):
            parts.append(
                f'<rect x="{x(0):.1f}" y="{y + 2}" width="{bar_w * 0.1:.1f}" height="{row_h - 8}" fill="none" '
                f'stroke="{GREY}" stroke-dasharray="3 2"/><text x="{x(0) + bar_w * 0.1 + 6:.1f}" y="{y + 13}" fill="{GREY}">n/a</text>'
            )
            continue
        x0, x1 = sorted((x(0.0), x(value)))
        colour = BLUE if value >= 0.667 else VERMILION
        parts.append(
            f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(x1 - x0, 1):.1f}" height="{row_h - 8}" fill="{colour}"/>'
            f'<text x="{max(x1, x(0)) + 6:.1f}" y="{y + 13}">{_fmt(value)}</text>'
        )
    desc = "; ".join(f"{name}: {_fmt(value)}" for name, value in rows)
    desc += ". Lines mark 0.667 (tentative) and 0.8 (reliable) agreement."
    return _svg(width, height, title, desc, "".join(parts), "alpha-bars")


def value_bars(rows: Sequence[tuple[str, float, str]], *, title: str, maximum: float = 1.0, testid: str) -> str:
    """Labelled horizontal bars for values in [0, maximum], e.g. rater weights; the third item
    of a row is the text printed after its bar."""
    label_w, bar_w, row_h = 130, 220, 20
    width, height = label_w + bar_w + 120, row_h * max(len(rows), 1) + 8
    parts = []
    for i, (name, value, note) in enumerate(rows):
        y = 4 + i * row_h
        share = 0.0 if maximum <= 0 or not math.isfinite(value) else min(max(value / maximum, 0.0), 1.0)
        colour = BLUE if share >= 0.5 else VERMILION
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 12}" text-anchor="end" font-family="ui-monospace, monospace">{escape(name)}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{bar_w}" height="{row_h - 7}" fill="#eef2f7"/>'
            f'<rect x="{label_w}" y="{y + 2}" width="{bar_w * share:.1f}" height="{row_h - 7}" fill="{colour}"/>'
            f'<text x="{label_w + bar_w + 6}" y="{y + 12}">{escape(note)}</text>'
        )
    desc = "; ".join(f"{name}: {note}" for name, _, note in rows) or "no rows"
    return _svg(width, height, title, desc, "".join(parts), testid)


def heat_map(matrix: Sequence[Sequence[float]], labels: Sequence[str], *, title: str,
             row_axis: str = "true", col_axis: str = "predicted") -> str:
    """A confusion matrix as a heat map, counts printed in the cells (rows: `row_axis`)."""
    n = len(labels)
    cell, left, top = 34, 130, 110
    width, height = left + cell * n + 10, top + cell * n + 10
    peak = max((max(row) for row in matrix if len(row)), default=0) or 1
    parts = [
        f'<text x="{left + cell * n / 2:.0f}" y="14" text-anchor="middle" fill="{GREY}">{escape(col_axis)} →</text>',
        f'<text x="12" y="{top + cell * n / 2:.0f}" fill="{GREY}" transform="rotate(-90 12 {top + cell * n / 2:.0f})" '
        f'text-anchor="middle">{escape(row_axis)} →</text>',
    ]
    for j, name in enumerate(labels):
        cx = left + j * cell + cell / 2
        parts.append(f'<text x="{cx:.0f}" y="{top - 6}" transform="rotate(-50 {cx:.0f} {top - 6})">{escape(name)}</text>')
    for i, row in enumerate(matrix):
        y = top + i * cell
        parts.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4:.0f}" text-anchor="end">{escape(labels[i])}</text>')
        for j, value in enumerate(row):
            share = float(value) / peak
            light = 97 - 62 * share
            ink = "#ffffff" if share > 0.55 else "#1a1a1a"
            outline = ' stroke="#1a1a1a"' if i == j else ""
            shown = int(value) if float(value).is_integer() else f"{value:.2f}"
            parts.append(
                f'<rect x="{left + j * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                f'fill="hsl(205, 80%, {light:.0f}%)"{outline}/>'
                f'<text x="{left + j * cell + cell / 2:.0f}" y="{y + cell / 2 + 4:.0f}" text-anchor="middle" '
                f'fill="{ink}">{shown}</text>'
            )
    total = sum(sum(r) for r in matrix)
    correct = sum(matrix[i][i] for i in range(min(n, len(matrix))))
    desc = f"{_fmt(correct, 0)} of {_fmt(total, 0)} held-out tracks on the diagonal. " + "; ".join(
        f"{labels[i]}: " + ", ".join(f"{labels[j]} {_fmt(float(v), 0)}" for j, v in enumerate(row) if v)
        for i, row in enumerate(matrix)
    )
    return _svg(width, height, title, desc, "".join(parts), "confusion-heat-map")
