"""Template filters of the experiment pages: p-values never display as 0.0000."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def pvalue(value) -> str:
    """'< 0.0001', '0.0042' or '0.213' (the convention of studies.stats._fmt_p, without the 'p =')."""
    if value is None or value == "":
        return "—"
    p = float(value)
    if p < 1e-4:
        return "< 0.0001"
    return f"{p:.4f}" if p < 0.01 else f"{p:.3f}"
